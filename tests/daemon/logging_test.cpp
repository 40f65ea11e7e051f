// The real binary's log destinations (CONTRACT.md "Logging destinations"): every line in the
// configured format, including those written before the config was read.
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
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
