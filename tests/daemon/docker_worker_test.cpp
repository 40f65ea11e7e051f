// docker-worker (reference 5.3) end to end, with the fake worker standing in for its release
// tarball (<path>/bin/docker-worker).
#include <filesystem>

#include "tests/daemon/harness.hpp"

using namespace sw::test;
using namespace std::chrono_literals;

TEST_CASE("docker-worker: argv, DOCKER_WORKER_CONFIG, config keys and new credentials",
          "[e2e][docker-worker]") {
    harness h;
    h.start_standin(harness::default_standin_config(40));
    const auto root = h.dir.file("docker_worker");
    std::filesystem::create_directories(root + "/bin");
    std::filesystem::create_symlink(harness::fake_worker(), root + "/bin/docker-worker");
    const auto cfg_path = h.dir.file("docker-worker.json");
    std::string yaml = h.static_config("lifecycle:\n  killTimeout: 5\n");
    // Swap the generic-worker section for docker-worker.
    yaml = yaml.substr(0, yaml.find("worker:\n")) + "worker:\n  implementation: docker-worker\n"
           "  path: " + root + "\n  configPath: " + cfg_path + "\nlifecycle:\n  killTimeout: 5\n";
    const auto cfg = h.write_config(yaml);
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "wait-credentials;exit:0"}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);

    const auto start = h.worker_events("start");
    REQUIRE(start.size() == 1);
    CHECK(start[0].at("mode") == "docker-worker");
    const auto argv = boost::json::serialize(start[0].at("argv"));
    CHECK(argv.find(R"("--host","worker-runner","production")") != std::string::npos);

    // The config file named by DOCKER_WORKER_CONFIG, 0600, with docker-worker's keys.
    const auto config = h.worker_events("config");
    REQUIRE(config.size() == 1);
    CHECK(config[0].at("path") == cfg_path.c_str());
    CHECK(config[0].at("mode") == "0600");
    const auto& wc = config[0].at("config").as_object();
    CHECK(wc.at("rootUrl") == h.standin->root_url().c_str());
    CHECK(wc.at("provisionerId") == "proj");
    CHECK(wc.at("workerType") == "pool");
    CHECK(wc.at("workerGroup") == "wg");
    CHECK(wc.at("workerId") == "wid");
    const auto& tc = wc.at("taskcluster").as_object();
    CHECK(tc.at("clientId") == "worker/static-prov/proj/pool/wg/wid");
    CHECK(tc.contains("accessToken"));
    CHECK(tc.contains("certificate"));

    // Renewal reached it as new-credentials, and the file on disk follows.
    const auto creds = h.worker_events("received", "new-credentials");
    REQUIRE(creds.size() == 1);
    const auto& m = creds[0].at("message").as_object();
    CHECK(m.at("client-id") == "worker/static-prov/proj/pool/wg/wid");
    CHECK(m.at("access-token") != tc.at("accessToken"));
    const auto rewritten = boost::json::parse(h.dir.read("docker-worker.json")).as_object();
    CHECK(rewritten.at("taskcluster").at("accessToken") == m.at("access-token"));
}
