// The destinations of CONTRACT.md "Logging destinations": json lines, journald's native
// protocol and syslog (RFC 3164), each against a socket this test binds itself.
#include "lib/log/destination.hpp"
#include "lib/log/formats.hpp"
#include "lib/log/log.hpp"
#include "tests/lib/log/datagram_socket.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

boost::json::object obj(const char* json) {
    return boost::json::parse(json).as_object();
}

/// Puts the process-wide log back as the other tests expect it: stdio, no identity.
struct restore_log {
    restore_log() { sw::log::set_identity("", "", ""); }
    ~restore_log() {
        sw::log::set_sink_for_testing({});
        sw::log::set_identity("", "", "");
        sw::log::configure({});
    }
};

/// Other tests' background work (a provider's coroutine still winding down) may log while a
/// test here runs: its records are told apart by this mark.
const std::string mark = "dest-test: ";

/// Records delivered by the writer, one string per record.
struct records {
    std::mutex mu;
    std::vector<std::string> got;
    records() {
        sw::log::set_capture({});
        sw::log::set_sink_for_testing([this](std::string_view r) {
            std::lock_guard lock(mu);
            got.emplace_back(r);
        });
    }
    ~records() {
        sw::log::set_sink_for_testing({});
        sw::log::set_identity("", "", "");
        sw::log::configure({});
    }
    /// The records that carry `mark` (or `also`).
    std::vector<std::string> take(const std::string& also = mark) {
        REQUIRE(sw::log::flush());
        std::lock_guard lock(mu);
        std::vector<std::string> mine;
        for (auto& r : got)
            if (r.find(mark) != std::string::npos || r.find(also) != std::string::npos)
                mine.push_back(std::move(r));
        got.clear();
        return mine;
    }
};

/// The test's own stand-in for journald or /dev/log (tests/lib/log/datagram_socket.hpp).
struct datagram_server {
    sw::test::temp_dir dir;
    std::string path = dir.file("sock");
    sw::test::datagram_socket sock{path};

    ~datagram_server() {
        sw::log::configure({});  // the destination lets go of the socket
    }

    /// The next datagram that carries `mark` (others are skipped).
    std::string receive() {
        for (;;) {
            auto d = receive_any();
            if (d.find(mark) != std::string::npos) return d;
        }
    }

    /// One datagram (waits up to 5 s); a descriptor sent with it is read whole instead.
    std::string receive_any() {
        auto d = sock.receive(5000);
        REQUIRE(d);
        return std::move(d->bytes);
    }
};

using sw::test::parse_journal;

std::string one(const std::multimap<std::string, std::string>& m, const std::string& k) {
    REQUIRE(m.count(k) == 1);
    return m.find(k)->second;
}

}  // namespace

TEST_CASE("parse_destination knows the contract's four names", "[log][log-dest]") {
    CHECK(sw::log::parse_destination("stdio") == sw::log::destination::stdio);
    CHECK(sw::log::parse_destination("json") == sw::log::destination::json);
    CHECK(sw::log::parse_destination("journald") == sw::log::destination::journald);
    CHECK(sw::log::parse_destination("syslog") == sw::log::destination::syslog);
    CHECK_FALSE(sw::log::parse_destination("fancy").has_value());
    CHECK_FALSE(sw::log::parse_destination("JSON").has_value());
}

TEST_CASE("json: one object per line with time, level, msg, identity and worker fields",
          "[log][log-dest]") {
    restore_log guard;
    sw::log::configure({.dest = sw::log::destination::json});
    records r;
    sw::log::info("dest-test: before identity");
    sw::log::set_identity("proj/pool", "us-east-1", "i-123");
    sw::log::warn("dest-test: a \"quoted\" warning\nwith a second line");
    sw::log::error("dest-test: an error");
    sw::log::structured(obj(
        R"({"textPayload":"dest-test: task done","taskId":"abc","n":3,"nested":{"a":[1,2]},"level":"x"})"));
    sw::log::structured(obj(
        R"({"textPayload":"dest-test: fields","apiToken":"tok-in-field-1234","note":"see https://u:p4ss@h.example/x"})"));
    const auto lines = r.take();
    REQUIRE(lines.size() == 5);
    std::vector<boost::json::object> o;
    for (const auto& l : lines) {
        REQUIRE(l.back() == '\n');
        REQUIRE(std::count(l.begin(), l.end(), '\n') == 1);  // one object per line
        o.push_back(boost::json::parse(l).as_object());
    }
    const std::regex rfc3339_ms_utc(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
    for (const auto& x : o)
        CHECK(std::regex_match(std::string(x.at("time").as_string()), rfc3339_ms_utc));
    CHECK(o[0].at("level") == "info");
    CHECK(o[0].at("msg") == "dest-test: before identity");
    CHECK_FALSE(o[0].contains("workerPoolId"));
    CHECK(o[1].at("level") == "warning");
    CHECK(o[1].at("msg") == "dest-test: a \"quoted\" warning\nwith a second line");
    CHECK(o[1].at("workerPoolId") == "proj/pool");
    CHECK(o[1].at("workerGroup") == "us-east-1");
    CHECK(o[1].at("workerId") == "i-123");
    CHECK(o[2].at("level") == "error");
    // The worker's structured message keeps its fields; textPayload becomes msg.
    CHECK(o[3].at("level") == "info");
    CHECK(o[3].at("msg") == "dest-test: task done");
    CHECK_FALSE(o[3].contains("textPayload"));
    CHECK(o[3].at("taskId") == "abc");
    CHECK(o[3].at("n") == 3);
    CHECK(o[3].at("nested") == boost::json::parse(R"({"a":[1,2]})"));
    CHECK(o[3].at("worker.level") == "x");  // a worker field never overrides ours
    CHECK(o[3].at("workerId") == "i-123");
    // Secrets in fields are redacted at the sink.
    CHECK(o[4].at("apiToken") == "<redacted>");
    CHECK(o[4].at("note") == "see https://<redacted>@h.example/x");
    CHECK(o[4].at("msg") == "dest-test: fields");
}

TEST_CASE("journald: native protocol entries with identity and WORKER_ fields", "[log][log-dest]") {
    restore_log guard;
    datagram_server srv;
    sw::log::configure({.dest = sw::log::destination::journald, .journald_socket = srv.path});
    sw::log::set_capture({});
    sw::log::info("dest-test: plain message");
    sw::log::set_identity("proj/pool", "grp", "wid");
    sw::log::warn("dest-test: two\nlines");
    sw::log::structured(obj(
        R"({"textPayload":"dest-test: from worker","task-id":"T1","n":7,"multi":"a\nb","secretKey":"xyzw-1234"})"));
    REQUIRE(sw::log::flush());

    const auto e1 = parse_journal(srv.receive());
    CHECK(one(e1, "MESSAGE") == "dest-test: plain message");
    CHECK(one(e1, "PRIORITY") == "6");
    CHECK(one(e1, "SYSLOG_IDENTIFIER") == "start-worker");
    CHECK(e1.count("WORKER_POOL_ID") == 0);

    const auto e2 = parse_journal(srv.receive());
    CHECK(one(e2, "MESSAGE") == "dest-test: two\nlines");  // the binary form
    CHECK(one(e2, "PRIORITY") == "4");
    CHECK(one(e2, "WORKER_POOL_ID") == "proj/pool");
    CHECK(one(e2, "WORKER_GROUP") == "grp");
    CHECK(one(e2, "WORKER_ID") == "wid");

    const auto e3 = parse_journal(srv.receive());
    CHECK(one(e3, "MESSAGE") == "dest-test: from worker");
    CHECK(one(e3, "WORKER_TASK_ID") == "T1");  // upper case, '-' as '_'
    CHECK(one(e3, "WORKER_N") == "7");
    CHECK(one(e3, "WORKER_MULTI") == "a\nb");
    CHECK(one(e3, "WORKER_SECRETKEY") == "<redacted>");
    CHECK(e3.count("WORKER_TEXTPAYLOAD") == 0);
    sw::log::set_identity("", "", "");
}

TEST_CASE("journald: an entry too large for a datagram goes through a sealed memfd",
          "[log][log-dest]") {
    restore_log guard;
    datagram_server srv;
    sw::log::configure({.dest = sw::log::destination::journald, .journald_socket = srv.path});
    sw::log::set_capture({});
    const std::string big =
        mark + std::string(3 * 1024 * 1024,
                           'm');  // beyond any datagram (the default limit ~208 KiB)
    sw::log::info("{}", big);
    REQUIRE(sw::log::flush());
    const auto e = parse_journal(srv.receive());
    CHECK(one(e, "MESSAGE") == big);
    CHECK(one(e, "SYSLOG_IDENTIFIER") == "start-worker");
}

TEST_CASE("journald: truncation keeps MESSAGE's start, PRIORITY and the marker",
          "[log][log-dest]") {
    // The last resort when even a memfd fails.
    const std::string entry = "MESSAGE\n" +
                              [] {
                                  std::string len(8, '\0');
                                  std::uint64_t n = 10000;
                                  for (int i = 0; i < 8; ++i)
                                      len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
                                  return len;
                              }() +
                              std::string(9999, 'x') + "\n" +
                              "\nPRIORITY=3\nSYSLOG_IDENTIFIER=start-worker\nWORKER_X=y\n";
    const auto cut = parse_journal(sw::log::truncate_journald_entry(entry));
    CHECK(one(cut, "MESSAGE") == std::string(4096, 'x') + std::string(sw::log::truncated_marker));
    CHECK(one(cut, "PRIORITY") == "3");
    CHECK(cut.count("WORKER_X") == 0);
}

TEST_CASE("journald: truncation never cuts a UTF-8 sequence in half", "[log][log-dest]") {
    // 4095 bytes, then a 3-byte character across the 4096-byte limit (found by cppcheck: the
    // check read one past the kept part and never backed off).
    const std::string message = std::string(4095, 'x') + "\xE2\x82\xAC" + std::string(100, 'y');
    std::string len(8, '\0');
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<char>((std::uint64_t{message.size()} >> (8 * i)) & 0xff);
    const std::string entry = "MESSAGE\n" + len + message + "\nPRIORITY=4\n";
    const auto cut = parse_journal(sw::log::truncate_journald_entry(entry));
    CHECK(one(cut, "MESSAGE") == std::string(4095, 'x') + std::string(sw::log::truncated_marker));
    CHECK(one(cut, "PRIORITY") == "4");
}

TEST_CASE("journald: a missing socket falls back to stderr in the stdio format, with a warning",
          "[log][log-dest]") {
    restore_log guard;
    sw::test::temp_dir d;
    sw::log::set_capture({});
    records r;  // stands in for stderr: the fallback's records are delivered to it
    sw::log::configure(
        {.dest = sw::log::destination::journald, .journald_socket = d.file("no-such-socket")});
    sw::log::set_sink_for_testing([&r](std::string_view rec) {
        std::lock_guard lock(r.mu);
        r.got.emplace_back(rec);
    });
    sw::log::info("dest-test: after fallback");
    const auto lines = r.take("no-such-socket");
    REQUIRE(lines.size() == 2);
    const std::regex go_format(R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (.*)\n)");
    std::smatch m;
    REQUIRE(std::regex_match(lines[0], m, go_format));
    CHECK(m[1].str().find("no-such-socket") != std::string::npos);
    CHECK(m[1].str().find("logging to stderr") != std::string::npos);
    CHECK(std::regex_match(lines[1], m, go_format));
    CHECK(m[1] == "dest-test: after fallback");
}

TEST_CASE("syslog: RFC 3164 datagrams, facility daemon, tag start-worker[pid]", "[log][log-dest]") {
    restore_log guard;
    datagram_server srv;
    sw::log::configure({.dest = sw::log::destination::syslog, .syslog_socket = srv.path});
    sw::log::set_capture({});
    sw::log::info("dest-test: hello syslog");
    sw::log::warn("dest-test: careful");
    sw::log::error("dest-test: broken");
    sw::log::structured(obj(R"({"textPayload":"dest-test: worker says","k":"v"})"));
    sw::log::info("{}{}", mark, std::string(sw::log::max_syslog_message + 100, 'z'));
    REQUIRE(sw::log::flush());
    const std::string pid = std::to_string(::getpid());
    const std::regex header(R"(<(\d+)>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d )"
                            R"(\d{2}:\d{2}:\d{2} start-worker\[(\d+)\]: ([^]*))");
    std::smatch m;
    const auto a = srv.receive();
    REQUIRE(std::regex_match(a, m, header));
    CHECK(m[1] == "30");  // daemon (3) * 8 + info (6)
    CHECK(m[3] == pid);
    CHECK(m[4] == "dest-test: hello syslog");
    const auto b = srv.receive();
    REQUIRE(std::regex_match(b, m, header));
    CHECK(m[1] == "28");
    CHECK(m[4] == "dest-test: careful");
    const auto c = srv.receive();
    REQUIRE(std::regex_match(c, m, header));
    CHECK(m[1] == "27");
    const auto d = srv.receive();
    REQUIRE(std::regex_match(d, m, header));
    CHECK(m[4] == "dest-test: worker says; k: v");
    const auto e = srv.receive();
    REQUIRE(std::regex_match(e, m, header));
    CHECK(m[4] == mark + std::string(sw::log::max_syslog_message - mark.size(), 'z') +
                      std::string(sw::log::truncated_marker));
}

// Issue 14, item 10: a worker's text cannot drive the terminal that shows the log. Control bytes
// other than tab and newline are written as \xNN in the text destinations (stdio, syslog); the
// json and journald destinations keep them (JSON escapes them; journalctl shows them escaped).
TEST_CASE("stdio and syslog: terminal control bytes are written as \\xNN", "[log][log-dest]") {
    restore_log guard;
    {
        records r;
        sw::log::configure({.dest = sw::log::destination::stdio});
        sw::log::info("dest-test: plain\x1b[2J\rover\x7fwrite\ttab");
        sw::log::structured(obj(R"({"textPayload":"dest-test: worker\u001b]0;title\u0007"})"));
        const auto lines = r.take("dest-test:");
        REQUIRE(lines.size() == 2);
        CHECK_THAT(lines[0], Catch::Matchers::EndsWith(
                                 " dest-test: plain\\x1b[2J\\x0dover\\x7fwrite\ttab\n"));
        CHECK_THAT(lines[1], Catch::Matchers::EndsWith(" dest-test: worker\\x1b]0;title\\x07\n"));
    }
    datagram_server srv;
    sw::log::configure({.dest = sw::log::destination::syslog, .syslog_socket = srv.path});
    sw::log::set_capture({});
    sw::log::info("dest-test: \x1b[31mred");
    // A C1 control in UTF-8 (U+009B, CSI) too; other UTF-8 stays as it is.
    sw::log::info(
        "dest-test: \xc2\x9b"
        "2J caf\xc3\xa9 \xc2\xa9");
    // The length limit is on what is sent, escapes included, and never cuts one in half.
    const std::string controls(sw::log::max_syslog_message, '\x01');
    sw::log::info("{}{}", mark, controls);
    REQUIRE(sw::log::flush());
    CHECK_THAT(srv.receive(), Catch::Matchers::EndsWith("]: dest-test: \\x1b[31mred"));
    CHECK_THAT(srv.receive(),
               Catch::Matchers::EndsWith("]: dest-test: \\xc2\\x9b2J caf\xc3\xa9 \xc2\xa9"));
    const auto cut = srv.receive();
    const auto body = cut.substr(cut.find("]: ") + 3 + mark.size());
    REQUIRE(body.size() > sw::log::truncated_marker.size());
    const auto escapes = body.substr(0, body.size() - sw::log::truncated_marker.size());
    CHECK(mark.size() + escapes.size() <= sw::log::max_syslog_message);
    CHECK(escapes.size() % 4 == 0);
    CHECK(mark.size() + escapes.size() + 4 > sw::log::max_syslog_message);
    CHECK(escapes.substr(escapes.size() - 4) == "\\x01");
    CHECK_THAT(body, Catch::Matchers::EndsWith(std::string(sw::log::truncated_marker)));
}
