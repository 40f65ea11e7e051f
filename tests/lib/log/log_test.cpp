#include "lib/log/log.hpp"

#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <regex>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

std::string unstructured(const char* json) {
    return sw::log::to_unstructured(boost::json::parse(json).as_object());
}

/// Captures log lines for the lifetime of the object.
struct capture {
    std::vector<std::pair<sw::log::level, std::string>> lines;
    capture() {
        sw::log::set_capture([this](sw::log::level l, std::string_view s) {
            lines.emplace_back(l, std::string(s));
        });
    }
    ~capture() { sw::log::set_capture({}); }
};

/// Runs `fn` with file descriptor 2 pointed at a file; returns what was written to it.
template <class F>
std::string stderr_of(F&& fn) {
    sw::test::temp_dir dir;
    const auto path = dir.file("stderr");
    std::fflush(stderr);
    const int saved = ::dup(2);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(saved >= 0);
    REQUIRE(fd >= 0);
    ::dup2(fd, 2);
    ::close(fd);
    fn();
    REQUIRE(sw::log::flush());
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    return dir.read("stderr");
}

}  // namespace

// Go TestToUnstructured (convert_test.go).
TEST_CASE("to_unstructured follows the Go rules", "[log]") {
    CHECK(unstructured("{}") == "{}");
    CHECK(unstructured(R"({"a":"uh","b":"oh"})") == "a: uh; b: oh");
    CHECK(unstructured(R"({"b":"oh","a":"uh"})") == "a: uh; b: oh");
    CHECK(unstructured(R"({"textPayload":"uhoh","level":"bad"})") == "uhoh; level: bad");
    CHECK(unstructured(R"({"textPayload":["uh","oh"],"level":"bad"})") ==
          R"(level: bad; textPayload: ["uh","oh"])");
    CHECK(unstructured(R"({"array":[1,2],"bool":false,"number":4})") ==
          "array: [1,2]; bool: false; number: 4");
    // Go TestLoggingProtocol: numbers are float64 there; 10.0 prints as 10.
    CHECK(unstructured(R"({"metric":"foos","value":10.0})") == "metric: foos; value: 10");
    CHECK(unstructured(R"({"value":1.5,"obj":{"z":null,"a":"<x>"}})") ==
          R"(obj: {"a":"\u003cx\u003e","z":null}; value: 1.5)");
    // An empty string textPayload disappears, as in Go.
    CHECK(unstructured(R"({"textPayload":""})") == "{}");
    CHECK(unstructured(R"({"textPayload":"","k":"v"})") == "k: v");
    CHECK(unstructured(R"({"textPayload":"only"})") == "only");
}

TEST_CASE("redact: no secrets means no change", "[log]") {
    // Whatever other tests registered, this text holds none of it.
    CHECK(sw::log::redact("plain text 1234") == "plain text 1234");
    CHECK(sw::log::redact("") == "");
}

TEST_CASE("redact: every occurrence of every secret", "[log]") {
    sw::log::add_secret("tok-AAAA-log-test");
    sw::log::add_secret("pw-BBBB-log-test");
    CHECK(sw::log::redact("a tok-AAAA-log-test b pw-BBBB-log-test c tok-AAAA-log-test") ==
          "a <redacted> b <redacted> c <redacted>");
    CHECK(sw::log::redact("tok-AAAA-log-test") == "<redacted>");
    CHECK(sw::log::redact("tok-AAAA-log-tes") == "tok-AAAA-log-tes");
    // Adjacent secrets: one marker, no fragments.
    CHECK(sw::log::redact("xtok-AAAA-log-testpw-BBBB-log-testx") == "x<redacted>x");
}

TEST_CASE("redact: overlapping secrets leave no fragment", "[log]") {
    sw::log::add_secret("ovl-123456");
    sw::log::add_secret("3456-ovl-tail");
    // The two overlap in "3456": the whole covered span goes.
    CHECK(sw::log::redact("<ovl-123456-ovl-tail>") == "<<redacted>>");
    // A secret inside a longer one.
    sw::log::add_secret("inner-zzzz");
    sw::log::add_secret("outer-inner-zzzz-outer");
    CHECK(sw::log::redact("[outer-inner-zzzz-outer]") == "[<redacted>]");
    // Self-overlap.
    sw::log::add_secret("qqqqqq");
    CHECK(sw::log::redact("-qqqqqqqqq-") == "-<redacted>-");
}

TEST_CASE("redact: short values are ignored, JSON-escaped spellings are not", "[log]") {
    sw::log::add_secret("a");
    sw::log::add_secret("abc");
    CHECK(sw::log::redact("a abc") == "a abc");
    sw::log::add_secret(R"({"version":1,"sig":"c2lnbmF0dXJl<&>"})");
    CHECK(sw::log::redact(R"(cert {"version":1,"sig":"c2lnbmF0dXJl<&>"})") == "cert <redacted>");
    // The same certificate inside a JSON document (boost and Go escaping).
    CHECK(sw::log::redact(R"("certificate":"{\"version\":1,\"sig\":\"c2lnbmF0dXJl<&>\"}")") ==
          R"("certificate":"<redacted>")");
    CHECK(sw::log::redact(
              R"("certificate":"{\"version\":1,\"sig\":\"c2lnbmF0dXJl\u003c\u0026\u003e\"}")") ==
          R"("certificate":"<redacted>")");
}

TEST_CASE("redact: a large message with many secrets", "[log]") {
    std::vector<std::string> secrets;
    for (int i = 0; i < 20; ++i) {
        secrets.push_back("bulk-secret-" + std::to_string(i) + "-value");
        sw::log::add_secret(secrets.back());
    }
    std::string msg;
    std::size_t count = 0;
    while (msg.size() < 4 * 1024 * 1024) {
        msg += "some ordinary log text ";
        if (msg.size() % 7 == 0) {
            msg += secrets[count % secrets.size()];
            ++count;
        }
    }
    const auto out = sw::log::redact(msg);
    CHECK(out.find("bulk-secret-") == std::string::npos);
    std::size_t markers = 0;
    for (auto p = out.find("<redacted>"); p != std::string::npos; p = out.find("<redacted>", p + 1))
        ++markers;
    CHECK(markers == count);
}

TEST_CASE("write: captured, redacted, one message per call", "[log]") {
    sw::log::add_secret("cap-secret-9999");
    capture c;
    sw::log::info("hello {} {}", "world", 42);
    sw::log::warn("token cap-secret-9999 used");
    sw::log::error("line one\nline two\n\n");
    sw::log::debug("debug {}", 1);
    sw::log::structured(
        boost::json::parse(R"({"textPayload":"x cap-secret-9999","k":1})").as_object());
    REQUIRE(c.lines.size() == 5);
    CHECK(c.lines[0] == std::pair{sw::log::level::info, std::string("hello world 42")});
    CHECK(c.lines[1] == std::pair{sw::log::level::warn, std::string("token <redacted> used")});
    CHECK(c.lines[2] == std::pair{sw::log::level::error, std::string("line one\nline two")});
    CHECK(c.lines[3] == std::pair{sw::log::level::debug, std::string("debug 1")});
    CHECK(c.lines[4] == std::pair{sw::log::level::info, std::string("x <redacted>; k: 1")});
}

TEST_CASE("write: the capture hook can be removed", "[log]") {
    std::vector<std::string> got;
    sw::log::set_capture([&](sw::log::level, std::string_view s) { got.emplace_back(s); });
    sw::log::info("one");
    sw::log::set_capture({});
    const auto err = stderr_of([] { sw::log::info("two"); });
    CHECK(got == std::vector<std::string>{"one"});
    CHECK(err.find("two") != std::string::npos);
}

TEST_CASE("stderr: Go's log format, local time, multi-line kept together", "[log]") {
    sw::log::set_capture({});
    sw::log::init();
    sw::log::init();  // twice is fine
    const auto out = stderr_of([] {
        sw::log::info("uhoh!");
        sw::log::structured(boost::json::parse(R"({"level":"bad"})").as_object());
        sw::log::info("first\nsecond");
    });
    const std::regex whole(R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} uhoh!\n)"
                           R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} level: bad\n)"
                           R"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} first\nsecond\n)");
    CHECK(std::regex_match(out, whole));
}

TEST_CASE("stderr: debug lines only with START_WORKER_DEBUG", "[log]") {
    sw::log::set_capture({});
    const char* old = std::getenv("START_WORKER_DEBUG");
    const std::string saved = old ? old : "";
    ::unsetenv("START_WORKER_DEBUG");
    sw::log::init();
    const auto quiet = stderr_of([] { sw::log::debug("hidden-debug-line"); });
    ::setenv("START_WORKER_DEBUG", "1", 1);
    sw::log::init();
    const auto loud = stderr_of([] { sw::log::debug("shown-debug-line"); });
    if (old)
        ::setenv("START_WORKER_DEBUG", saved.c_str(), 1);
    else
        ::unsetenv("START_WORKER_DEBUG");
    sw::log::init();
    CHECK(quiet.empty());
    CHECK(loud.find("shown-debug-line") != std::string::npos);
}
