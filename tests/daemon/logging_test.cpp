// The real binary's log destinations (CONTRACT.md "Logging destinations"): every line in the
// configured format, including those written before the config was read.
#include "tests/daemon/e2e_checks.hpp"
#include "tests/lib/log/datagram_socket.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace sw::test;
using namespace std::chrono_literals;

namespace {

std::string config(const std::string& logging) {
    return R"(
provider:
  providerType: standalone
  rootURL: https://tc.example.com/
  clientID: project/dummy
  accessToken: sup3r-s3cret-t0ken-logging
  workerPoolID: proj/dummy
  workerGroup: local
  workerID: dummy-1
worker:
  implementation: dummy
getSecrets: false
)" + logging;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

}  // namespace

TEST_CASE("logging json: every line is a JSON object, the first ones too", "[log-dest][cli]") {
    temp_dir d;
    const auto cfg = d.write("c.yml", config("logging:\n  implementation: json\n"));
    const auto r = run_process({SW_BINARY, "--once", cfg}, {}, 60s);
    CHECK(r.exit_code == 0);
    const auto lines = lines_of(r.err);
    REQUIRE(lines.size() >= 3);
    bool saw_identity = false;
    for (const auto& l : lines) {
        INFO(l);
        boost::system::error_code ec;
        const auto v = boost::json::parse(l, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(v.is_object());
        const auto& o = v.as_object();
        CHECK(o.contains("time"));
        CHECK(o.contains("level"));
        CHECK(o.contains("msg"));
        if (o.contains("workerPoolId")) {
            saw_identity = true;
            CHECK(o.at("workerPoolId") == "proj/dummy");
            CHECK(o.at("workerGroup") == "local");
            CHECK(o.at("workerId") == "dummy-1");
        }
    }
    // Written before the config was read, held, then written as JSON.
    CHECK(std::string(boost::json::parse(lines[0]).at("msg").as_string())
              .rfind("Loading worker-runner configuration from", 0) == 0);
    CHECK(saw_identity);
    CHECK(r.err.find("sup3r-s3cret-t0ken-logging") == std::string::npos);
}

TEST_CASE("logging stdio and unknown values: the Go runner's format on every line",
          "[log-dest][cli]") {
    const std::regex go_line(R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} .*)");
    for (const char* logging :
         {"", "logging:\n  implementation: stdio\n", "logging:\n  implementation: fancy\n"}) {
        temp_dir d;
        const auto cfg = d.write("c.yml", config(logging));
        const auto r = run_process({SW_BINARY, "--once", cfg}, {}, 60s);
        CHECK(r.exit_code == 0);
        const auto lines = lines_of(r.err);
        REQUIRE_FALSE(lines.empty());
        // The first line was held until the config was read; a multi-line message (the state
        // dump) continues without a prefix, as in Go.
        CHECK(std::regex_match(lines[0], go_line));
        CHECK(lines[0].find("Loading worker-runner configuration from") != std::string::npos);
        for (const auto& l : lines) {
            INFO(l);
            if (l.find("Identified as worker local/dummy-1") != std::string::npos)
                CHECK(std::regex_match(l, go_line));
            CHECK(l.rfind("{\"time\"", 0) != 0);
        }
        const bool unknown = std::string(logging).find("fancy") != std::string::npos;
        CHECK((r.err.find("Unrecognized logging implementation fancy (falling back to stdio)") !=
               std::string::npos) == unknown);
    }
}

TEST_CASE("logging journald without a journal: stderr, with a warning", "[log-dest][cli]") {
    // The production socket path: on a machine without systemd-journald it is absent, and the
    // runner falls back to stderr. Where a journal runs, the lines went there instead.
    temp_dir d;
    const auto cfg = d.write("c.yml", config("logging:\n  implementation: journald\n"));
    const auto r = run_process({SW_BINARY, "--once", cfg}, {}, 60s);
    CHECK(r.exit_code == 0);
    if (std::filesystem::exists("/run/systemd/journal/socket")) {
        WARN("SKIP: a journal runs here; the fallback cannot be observed");
        return;
    }
    CHECK(r.err.find("Cannot log to /run/systemd/journal/socket") != std::string::npos);
    CHECK(r.err.find("Identified as worker local/dummy-1") != std::string::npos);
}

// The journald and syslog destinations of the real binary, against sockets the test binds
// itself. START_WORKER_TEST_ROOT (the daemon's context: an undocumented test hook, "/" in
// production) moves /run/systemd/journal/socket and /dev/log under the test's directory; the
// runner reads no variable of their own.
namespace {

/// A worker life that logs through every path: a structured log message with fields of its own
/// (one of them a secret value in a field whose name says nothing), an unstructured line that
/// carries a secret, a message type the runner does not know (a warning), and a line of
/// 600 000 bytes (beyond any datagram: the default send buffer is 208 KiB).
std::string worker_script() {
    return std::string(
               "raw:~{\"type\":\"log\",\"body\":{\"textPayload\":\"task finished\","
               "\"taskId\":\"T-1\",\"exit-code\":0,\"note\":\"") +
           static_secret +
           "\"}};"
           "log:the static secret is " +
           static_secret +
           ";"
           "raw:~{\"type\":\"no-such-message\"};"
           "oversize:600000;"
           "exit:0";
}

/// The test root with the directories the log sockets live in.
std::string make_root(const harness& h) {
    const auto root = h.dir.file("root");
    std::filesystem::create_directories(root + "/run/systemd/journal");
    std::filesystem::create_directories(root + "/dev");
    return root;
}

/// Every datagram the runner `p` sends, received while it runs (a Unix datagram socket queues
/// only net.unix.max_dgram_qlen = 10 datagrams), until it has exited and none came for 1 s;
/// then its exit code.
std::pair<std::vector<datagram_socket::datagram>, int> collect(datagram_socket& s,
                                                               background_process& p) {
    std::vector<datagram_socket::datagram> out;
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (p.running() && std::chrono::steady_clock::now() < deadline)
        if (auto d = s.receive(100)) out.push_back(std::move(*d));
    const int code = p.wait(5s);
    while (auto d = s.receive(1000)) out.push_back(std::move(*d));
    return {std::move(out), code};
}

/// One worker life of the real binary with `logging.implementation: impl`, its datagrams
/// received on a socket bound at <test root><socket_path>.
struct socket_life {
    harness h;
    std::string root, cfg, err;
    std::vector<datagram_socket::datagram> got;
    int code = -1, pid = -1;

    socket_life(const std::string& impl, const std::string& socket_path) {
        h.start_standin();
        root = make_root(h);
        datagram_socket sock(root + socket_path);
        cfg = h.write_config(h.static_config("logging:\n  implementation: " + impl + "\n"));
        auto p = h.start({"--once", cfg}, {{"START_WORKER_TEST_ROOT", root},
                                           {"FAKE_WORKER_SCRIPT", worker_script()}});
        pid = p->pid();
        std::tie(got, code) = collect(sock, *p);
        err = read_file(h.dir.file("stderr.log"));
    }
};

void check_no_secret_in(const harness& h, const std::string& what) {
    for (const auto& secret : run_secrets(h)) {
        if (secret.size() < 4) continue;
        INFO("a secret value appears in " << what.substr(0, 200));
        CHECK(what.find(secret) == std::string::npos);
    }
}

}  // namespace

TEST_CASE("logging journald: the real binary's entries on the journal's native socket",
          "[log-dest][e2e][cli]") {
    socket_life life("journald", "/run/systemd/journal/socket");
    const auto& [h, cfg, err, got] = std::tie(life.h, life.cfg, life.err, life.got);
    CHECK(life.code == 0);
    INFO(err);
    REQUIRE(got.size() >= 6);

    std::vector<std::multimap<std::string, std::string>> entries;
    for (const auto& d : got) entries.push_back(parse_journal(d.bytes));
    auto one = [](const std::multimap<std::string, std::string>& e, const std::string& k) {
        REQUIRE(e.count(k) == 1);
        return e.find(k)->second;
    };
    for (const auto& e : entries) {
        CHECK(one(e, "SYSLOG_IDENTIFIER") == "start-worker");
        CHECK(std::regex_match(one(e, "PRIORITY"), std::regex("[0-7]")));
        CHECK(e.count("MESSAGE") == 1);
    }
    // The first entry was written before the config was read, held, then sent as an entry:
    // it has no identity yet.
    CHECK(one(entries[0], "MESSAGE").rfind("Loading worker-runner configuration from " + cfg, 0) ==
          0);
    CHECK(one(entries[0], "PRIORITY") == "6");
    CHECK(entries[0].count("WORKER_POOL_ID") == 0);

    auto find = [&](const std::string& start) -> const std::multimap<std::string, std::string>* {
        for (const auto& e : entries)
            if (e.count("MESSAGE") && e.find("MESSAGE")->second.rfind(start, 0) == 0) return &e;
        return nullptr;
    };
    // The worker's structured message: its fields as WORKER_<KEY>, the identity once known, a
    // secret value redacted whatever the field's name.
    const auto* done = find("task finished");
    REQUIRE(done);
    CHECK(one(*done, "PRIORITY") == "6");
    CHECK(one(*done, "WORKER_POOL_ID") == "proj/pool");
    CHECK(one(*done, "WORKER_GROUP") == "wg");
    CHECK(one(*done, "WORKER_ID") == "wid");
    CHECK(one(*done, "WORKER_TASKID") == "T-1");
    CHECK(one(*done, "WORKER_EXIT_CODE") == "0");
    CHECK(one(*done, "WORKER_NOTE") == "<redacted>");
    const auto* said = find("the static secret is");
    REQUIRE(said);
    CHECK(one(*said, "MESSAGE") == "the static secret is <redacted>");
    // A warning has the syslog priority 4.
    const auto* unknown = find("No callback registered for message no-such-message");
    REQUIRE(unknown);
    CHECK(one(*unknown, "PRIORITY") == "4");
    // The 600 000-byte line went whole through a sealed memfd (datagram_socket checks the seal).
    bool big = false;
    for (const auto& d : got) {
        if (!d.via_memfd) continue;
        const auto e = parse_journal(d.bytes);
        CHECK(one(e, "MESSAGE") == std::string(600000, 'x'));
        CHECK(one(e, "PRIORITY") == "6");  // worker output that is not a protocol message: info
        CHECK(one(e, "WORKER_ID") == "wid");
        big = true;
    }
    CHECK(big);
    // Nothing of the runner's own went to stderr; no secret went anywhere.
    CHECK(err.find("Loading worker-runner configuration") == std::string::npos);
    CHECK(err.find("Worker exited with code") == std::string::npos);
    CHECK(find("Worker exited with code 0"));
    for (const auto& d : got) check_no_secret_in(h, d.bytes);
    check_no_secret_in(h, err);
}

TEST_CASE("logging syslog: the real binary's RFC 3164 datagrams on /dev/log",
          "[log-dest][e2e][cli]") {
    socket_life life("syslog", "/dev/log");
    const auto& [h, cfg, err, got] = std::tie(life.h, life.cfg, life.err, life.got);
    const int pid = life.pid;
    CHECK(life.code == 0);
    INFO(err);
    REQUIRE(got.size() >= 6);

    // glibc's syslog(3) framing: <PRI>Mmm dd hh:mm:ss tag[pid]: message, no newline.
    const std::regex header(R"(<(\d+)>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d )"
                            R"(\d{2}:\d{2}:\d{2} start-worker\[(\d+)\]: ([^]*))");
    std::vector<std::pair<int, std::string>> msgs;  // (PRI, message)
    for (const auto& d : got) {
        INFO(d.bytes.substr(0, 200));
        CHECK_FALSE(d.via_memfd);
        std::smatch m;
        REQUIRE(std::regex_match(d.bytes, m, header));
        CHECK(m[3] == std::to_string(pid));
        msgs.emplace_back(std::stoi(m[1]), m[4]);
    }
    // The first line was held until the config was read, then sent in this format.
    CHECK(msgs[0].first == 30);  // facility daemon (3) * 8 + info (6)
    CHECK(msgs[0].second.rfind("Loading worker-runner configuration from " + cfg, 0) == 0);
    auto find = [&](const std::string& start) -> const std::pair<int, std::string>* {
        for (const auto& m : msgs)
            if (m.second.rfind(start, 0) == 0) return &m;
        return nullptr;
    };
    // The worker's structured message, rendered as the Go runner renders it, redacted.
    const auto* done = find("task finished");
    REQUIRE(done);
    CHECK(done->first == 30);
    CHECK(done->second == "task finished; exit-code: 0; note: <redacted>; taskId: T-1");
    const auto* said = find("the static secret is");
    REQUIRE(said);
    CHECK(said->second == "the static secret is <redacted>");
    const auto* unknown = find("No callback registered for message no-such-message");
    REQUIRE(unknown);
    CHECK(unknown->first == 28);  // daemon, warning
    // The 600 000-byte line is cut with the marker.
    const auto* big = find("xxxxxxxx");
    REQUIRE(big);
    CHECK(big->first == 30);  // worker output that is not a protocol message: info
    CHECK(big->second.size() < 600000);
    CHECK(big->second.find("(truncated)") != std::string::npos);
    CHECK(err.find("Loading worker-runner configuration") == std::string::npos);
    CHECK(find("Worker exited with code 0"));
    for (const auto& d : got) check_no_secret_in(h, d.bytes);
    check_no_secret_in(h, err);
}

TEST_CASE("logging journald and syslog: a missing socket falls back to stderr, Go's format",
          "[log-dest][e2e][cli]") {
    const std::regex go_line(R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} .*)");
    for (const auto& [impl, path] :
         {std::pair<std::string, std::string>{"journald", "/run/systemd/journal/socket"},
          {"syslog", "/dev/log"}}) {
        INFO(impl);
        harness h;
        h.start_standin();
        const auto root = make_root(h);  // the directories, but no socket in them
        const auto cfg =
            h.write_config(h.static_config("logging:\n  implementation: " + impl + "\n"));
        const auto r = h.run({"--once", cfg}, {{"START_WORKER_TEST_ROOT", root},
                                               {"FAKE_WORKER_SCRIPT", worker_script()}});
        INFO(r.err.substr(0, 4000));
        CHECK(r.exit_code == 0);
        const auto lines = lines_of(r.err);
        REQUIRE(lines.size() >= 3);
        // The held first line, then the warning, both in the stdio format.
        CHECK(std::regex_match(lines[0], go_line));
        CHECK(lines[0].find("Loading worker-runner configuration from " + cfg) !=
              std::string::npos);
        CHECK(r.err.find("Cannot log to " + root + path) != std::string::npos);
        CHECK(r.err.find("logging to stderr instead") != std::string::npos);
        bool done = false;
        for (const auto& l : lines) {
            if (l.find("task finished") == std::string::npos) continue;
            CHECK(std::regex_match(l, go_line));
            CHECK(l.find("note: <redacted>") != std::string::npos);
            done = true;
        }
        CHECK(done);
        CHECK(r.err.find("Worker exited with code 0") != std::string::npos);
        check_no_secret_in(h, r.err);
    }
}
