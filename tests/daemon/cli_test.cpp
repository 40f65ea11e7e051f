// The command line and config handling of the real binary (CONTRACT.md: CLI, exit codes).
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace sw::test;
using namespace std::chrono_literals;

namespace {

proc_result sw_run(std::vector<std::string> args, const env_list& env = {}) {
    args.insert(args.begin(), SW_BINARY);
    return run_process(args, env, 60s);
}

const char* standalone_dummy = R"(
provider:
  providerType: standalone
  rootURL: https://tc.example.com/
  clientID: project/dummy
  accessToken: sup3r-s3cret-t0ken
  workerPoolID: proj/dummy
  workerGroup: local
  workerID: dummy-1
worker:
  implementation: dummy
getSecrets: false
)";

}  // namespace

TEST_CASE("--version and --short-version", "[cli]") {
    auto r = sw_run({"--version"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.rfind("start-worker ", 0) == 0);
    auto s = sw_run({"--short-version"});
    CHECK(s.exit_code == 0);
    CHECK(r.out == "start-worker " + s.out);
    CHECK(s.out.find('.') != std::string::npos);
}

TEST_CASE("--help documents providers, workers, keys and exit codes", "[cli]") {
    for (const char* flag : {"--help", "-h"}) {
        auto r = sw_run({flag});
        CHECK(r.exit_code == 0);
        for (const char* word : {"standalone",
                                 "static",
                                 "aws",
                                 "google",
                                 "azure",
                                 "aws-provisioner",
                                 "generic-worker",
                                 "docker-worker",
                                 "dummy",
                                 "workerPoolID",
                                 "staticSecret",
                                 "configPath",
                                 "cacheOverRestarts",
                                 "getSecrets",
                                 "stopCheckInterval",
                                 "gracefulStopTimeout",
                                 "killTimeout",
                                 "rebootExitCodes",
                                 "shutdownCommand",
                                 "rebootCommand",
                                 "autologin",
                                 "health",
                                 "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                 "NOTIFY_SOCKET",
                                 "--once",
                                 "--validate",
                                 "78"}) {
            INFO(word);
            CHECK(r.out.find(word) != std::string::npos);
        }
    }
}

TEST_CASE("bad command lines exit 64", "[cli]") {
    CHECK(sw_run({}).exit_code == 64);
    CHECK(sw_run({"--bogus"}).exit_code == 64);
    CHECK(sw_run({"--once"}).exit_code == 64);
    CHECK(sw_run({"a.yml", "b.yml"}).exit_code == 64);
    CHECK(sw_run({"--version", "x"}).exit_code == 64);
}

TEST_CASE("a missing or invalid config exits 78 and names the problem", "[cli]") {
    temp_dir d;
    auto r = sw_run({d.file("nope.yml")});
    CHECK(r.exit_code == 78);
    CHECK(r.err.find("nope.yml") != std::string::npos);

    const auto bad = d.write("bad.yml",
                             "provider:\n  providerType: standalone\nworker:\n"
                             "  implementation: generic-worker\n");
    r = sw_run({"--validate", bad});
    CHECK(r.exit_code == 78);
    CHECK(r.err.find("provider.rootURL") != std::string::npos);

    const auto unknown = d.write("unknown.yml",
                                 "provider:\n  providerType: nimbus\n"
                                 "worker:\n  implementation: dummy\n");
    r = sw_run({unknown});
    CHECK(r.exit_code == 78);
    CHECK(r.err.find("provider.providerType") != std::string::npos);

    const auto notmap = d.write("notmap.yml", "- a\n- b\n");
    CHECK(sw_run({notmap}).exit_code == 78);
}

TEST_CASE("--validate prints the normalized config with secrets redacted", "[cli]") {
    temp_dir d;
    const auto cfg = d.write("c.yml", standalone_dummy);
    auto r = sw_run({"--validate", cfg});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("sup3r-s3cret-t0ken") == std::string::npos);
    CHECK(r.err.find("sup3r-s3cret-t0ken") == std::string::npos);
    CHECK(r.out.find("redacted") != std::string::npos);
    CHECK(r.out.find("proj/dummy") != std::string::npos);
}

// Issue 14, item 10: --validate changes nothing; a run tightens the mode (reference section 3).
TEST_CASE("a group-readable config: --validate says so, a run tightens it to 0600", "[cli]") {
    temp_dir d;
    const auto cfg = d.write("c.yml", standalone_dummy, 0644);
    const auto mode = [&] {
        struct stat sb {};
        REQUIRE(::stat(cfg.c_str(), &sb) == 0);
        return sb.st_mode & 0777;
    };
    auto r = sw_run({"--validate", cfg});
    CHECK(r.exit_code == 0);
    CHECK(mode() == 0644);
    CHECK(r.err.find("insecure permissions (mode 0644)") != std::string::npos);
    CHECK(r.err.find("--validate changes nothing") != std::string::npos);

    r = sw_run({"--once", cfg});
    CHECK(r.exit_code == 0);
    CHECK(mode() == 0600);
    CHECK(r.err.find("has been tightened") != std::string::npos);
}

TEST_CASE("a loose config owned by someone else: a run refuses it (77), --validate fails (78)",
          "[cli]") {
    if (::geteuid() != 0) {
        WARN("SKIPPED: not root, so the config cannot be given to another user (chown)");
        return;
    }
    temp_dir d;
    const auto cfg = d.write("c.yml", standalone_dummy, 0644);
    REQUIRE(::chown(cfg.c_str(), 65534, 65534) == 0);
    ::chmod(d.path().c_str(), 0755);
    auto r = sw_run({"--validate", cfg});
    CHECK(r.exit_code == 78);
    CHECK(r.err.find(cfg) != std::string::npos);
    r = sw_run({"--once", cfg});
    CHECK(r.exit_code == 77);
    CHECK(r.err.find("cannot secure runner config file " + cfg) != std::string::npos);
}

TEST_CASE("every example config validates", "[cli]") {
    temp_dir d;
    int n = 0;
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(SW_SOURCE_DIR) + "/units/examples")) {
        const auto copy = d.file(e.path().filename().string());
        std::filesystem::copy_file(e.path(), copy);
        ::chmod(copy.c_str(), 0600);
        auto r = sw_run({"--validate", copy});
        INFO(e.path().string() << "\n" << r.err);
        CHECK(r.exit_code == 0);
        ++n;
    }
    CHECK(n >= 6);
}

TEST_CASE("standalone + dummy runs under --once and logs no secret", "[cli]") {
    temp_dir d;
    const auto cfg = d.write("c.yml", standalone_dummy);
    auto r = sw_run({"--once", cfg});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());  // nothing on stdout but version and help
    CHECK(r.err.find("State information") != std::string::npos);
    CHECK(r.err.find("dummy-1") != std::string::npos);
    CHECK(r.err.find("sup3r-s3cret-t0ken") == std::string::npos);
}

TEST_CASE("the standalone example runs under --once", "[cli]") {
    temp_dir d;
    const auto copy = d.file("standalone-dummy.json");
    std::filesystem::copy_file(std::string(SW_SOURCE_DIR) + "/units/examples/standalone-dummy.json",
                               copy);
    ::chmod(copy.c_str(), 0600);
    auto r = sw_run({"--once", copy});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("Identified as worker local/dummy-1") != std::string::npos);
}

TEST_CASE("a runner config path that is not a file exits 78 naming it and what it is",
          "[cli][config-path]") {
    temp_dir d;
    SECTION("a directory") {
        auto r = sw_run({"--validate", d.path().string()});
        INFO(r.err);
        CHECK(r.exit_code == 78);
        CHECK(r.err.find(d.path().string() + " is a directory") != std::string::npos);
    }
    SECTION("a FIFO (without blocking on it)") {
        const auto fifo = d.file("config.yml");
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        auto r = sw_run({"--once", fifo});
        INFO(r.err);
        CHECK(r.exit_code == 78);
        CHECK(r.err.find(fifo + " is a FIFO") != std::string::npos);
    }
    SECTION("a device") {
        auto r = sw_run({"--validate", "/dev/null"});
        INFO(r.err);
        CHECK(r.exit_code == 78);
        CHECK(r.err.find("/dev/null is a character device") != std::string::npos);
    }
}

TEST_CASE("an empty runner config says that provider and worker are required", "[cli]") {
    temp_dir d;
    for (const char* text : {"", "# nothing but a comment\n"}) {
        const auto cfg = d.write("empty.yml", text, 0600);
        auto r = sw_run({"--validate", cfg});
        INFO(r.err);
        CHECK(r.exit_code == 78);
        CHECK(r.err.find(cfg) != std::string::npos);
        CHECK(r.err.find("is empty") != std::string::npos);
        CHECK(r.err.find("`provider`") != std::string::npos);
        CHECK(r.err.find("`worker`") != std::string::npos);
    }
}
