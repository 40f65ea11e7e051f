// End to end: every exit code of CONTRACT.md produced by a real run (70, "internal error", has
// no honest trigger from outside: it is a bug by definition).
#include "tests/daemon/e2e_checks.hpp"

using namespace sw::test;
using namespace std::chrono_literals;

TEST_CASE("exit 0 and 1: standalone, the worker's own exit status", "[e2e][exit-codes]") {
    harness h;
    h.start_standin(standalone_standin());
    const auto cfg = h.write_config(standalone_config(h, standalone_token));
    SECTION("clean exit -> 0") {
        auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        // Standalone never talks to worker-manager; its own credentials read the secrets.
        CHECK(h.requests("/worker-manager/").empty());
        const auto secret = h.requests("worker-pool%3Aproj%2Fpool", "GET");
        REQUIRE(secret.size() == 1);
        CHECK(secret[0].at("clientId") == standalone_client);
        check_no_secrets(h, r.err);
    }
    SECTION("worker exits 3 -> 1, the code logged") {
        auto r = h.run({cfg}, {{"FAKE_WORKER_SCRIPT", "exit:3"}}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err, Catch::Contains("Worker exited with code 3"));
        check_no_secrets(h, r.err);
    }
}

TEST_CASE("exit 3: --once and a reboot exit code", "[e2e][exit-codes]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:67"}}, 60s);
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("would run: shutdown -r now"));
    check_no_secrets(h, r.err);
}

TEST_CASE("exit 4: --once, static, and the worker's shutdown message", "[e2e][exit-codes]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "shutdown;exit:0"}}, 60s);
    INFO(r.err);
    CHECK(r.exit_code == 4);
    check_no_secrets(h, r.err);
}

TEST_CASE("exit 64: bad command line", "[e2e][exit-codes]") {
    harness h;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"--bogus", "x.yml"}, {"--once"}, {"a.yml", "b.yml"}}) {
        auto r = h.run(args, {}, 10s);
        CHECK(r.exit_code == 64);
        CHECK_THAT(r.err, Catch::Contains("Usage: start-worker"));
    }
}

TEST_CASE("exit 69: Taskcluster unreachable, within a bounded time", "[e2e][exit-codes]") {
    harness h;
    const auto port = free_port();  // nothing listens there
    const std::string root = "http://127.0.0.1:" + std::to_string(port);
    const auto cfg = h.write_config(
        "provider:\n  providerType: static\n  rootURL: " + root +
        "\n  providerID: static-prov\n  workerPoolID: proj/pool\n  workerGroup: wg\n"
        "  workerID: wid\n  staticSecret: " +
        static_secret + "\nworker:\n  implementation: generic-worker\n  path: " +
        harness::fake_worker() + "\n  configPath: " + h.dir.file("worker-config.json") + "\n");
    const auto started = std::chrono::steady_clock::now();
    auto r = h.run({"--once", cfg}, {}, 60s);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(r.err);
    CHECK(r.exit_code == 69);
    CHECK(took < 30s);
    CHECK_THAT(r.err, Catch::Contains(root + "/api/worker-manager/v1/worker/register"));
    CHECK(h.worker_record().empty());  // no worker was started
    CHECK(r.err.find(static_secret) == std::string::npos);
}

TEST_CASE("exit 77: refused by Taskcluster", "[e2e][exit-codes]") {
    harness h;
    SECTION("static: a wrong staticSecret gets 400 InputError") {
        h.start_standin();
        std::string wrong(static_secret);
        wrong[5] = wrong[5] == 'x' ? 'y' : 'x';
        auto text = h.static_config();
        text.replace(text.find(static_secret), wrong.size(), wrong);
        const auto cfg = h.write_config(text);
        auto r = h.run({"--once", cfg}, {}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK_THAT(r.err, Catch::Contains("bad staticSecret"));
        CHECK(h.requests("/worker/register", "POST").size() == 1);  // not retried
        CHECK(h.worker_record().empty());
        CHECK(r.err.find(wrong) == std::string::npos);
        check_no_secrets(h, r.err);
    }
    SECTION("standalone: a wrong accessToken gets 401 on the secrets") {
        h.start_standin(standalone_standin());
        std::string wrong(standalone_token);
        wrong[3] = wrong[3] == 'x' ? 'y' : 'x';
        const auto cfg = h.write_config(standalone_config(h, wrong));
        auto r = h.run({"--once", cfg}, {}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK_THAT(r.err, Catch::Contains("401"));
        CHECK_THAT(r.err, Catch::Contains(h.standin->root_url() + "/api/secrets/v1/secret/"));
        CHECK(h.worker_record().empty());
        CHECK(r.err.find(wrong) == std::string::npos);
        check_no_secrets(h, r.err);
    }
}

TEST_CASE("exit 78: an invalid runner config contacts nothing", "[e2e][exit-codes]") {
    harness h;
    h.start_standin();
    auto text = h.static_config();
    const std::string line = "  workerPoolID: proj/pool\n";
    text.erase(text.find(line), line.size());
    const auto cfg = h.write_config(text);
    auto r = h.run({"--once", cfg}, {}, 30s);
    INFO(r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Catch::Contains("provider.workerPoolID"));
    CHECK(h.standin->requests().empty());
    CHECK(h.worker_record().empty());
    CHECK(r.err.find(static_secret) == std::string::npos);
}
