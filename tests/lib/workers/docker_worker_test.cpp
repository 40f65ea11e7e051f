#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "lib/workers/worker.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

sw::config::runner_config dw_config(const std::string& path, const std::string& config_path) {
    sw::config::runner_config cfg;
    cfg.worker_implementation = "docker-worker";
    cfg.worker = {{"path", path}, {"configPath", config_path}};
    return cfg;
}

sw::run_state base_state() {
    sw::run_state s;
    s.root_url = "https://tc.example.com";
    s.creds = {"ci", "at", ""};
    s.worker_pool_id = "prov/wt";
    s.worker_group = "wg";
    s.worker_id = "wi";
    s.worker_location = {{"cloud", "aws"}, {"region", "us-east-1"}};
    return s;
}

std::string get(const sw::run_state& s, const char* path) {
    return sw::json::to_sorted_json(sw::json::get_path(s.worker_config, path));
}

}  // namespace

TEST_CASE("docker-worker: config keys", "[workers][docker-worker]") {
    sw::log::set_capture([](sw::log::level, std::string_view) {});
    auto w = sw::workers::make_worker(dw_config("/opt/dw", "/etc/dw.json"));
    CHECK(w->name() == "docker-worker");
    auto s = base_state();
    s.creds.certificate = "{\"version\":1}";
    s.worker_config = boost::json::parse(R"({"taskcluster":{"other":1},"capacity":2})");
    s.provider_metadata = boost::json::parse(R"({
        "public-hostname": "h.example.com", "public-ipv4": "1.2.3.4", "local-ipv4": "10.0.0.1",
        "instance-type": "m5.large", "instance-id": "i-1", "region": "us-east-1"})")
                              .as_object();
    w->configure_run(s);
    sw::log::set_capture({});
    CHECK(get(s, "host") == R"("h.example.com")");
    CHECK(get(s, "publicIp") == R"("1.2.3.4")");
    CHECK(get(s, "privateIp") == R"("10.0.0.1")");
    CHECK(get(s, "workerNodeType") == R"("m5.large")");
    CHECK(get(s, "instanceType") == R"("m5.large")");
    CHECK(get(s, "instanceId") == R"("i-1")");
    CHECK(get(s, "region") == R"("us-east-1")");
    CHECK(get(s, "workerLocation") == R"("{\"cloud\":\"aws\",\"region\":\"us-east-1\"}")");
    CHECK(get(s, "rootUrl") == R"("https://tc.example.com")");
    CHECK(get(s, "taskcluster") ==
          R"({"accessToken":"at","certificate":"{\"version\":1}","clientId":"ci","other":1})");
    CHECK(get(s, "workerId") == R"("wi")");
    CHECK(get(s, "workerGroup") == R"("wg")");
    CHECK(get(s, "provisionerId") == R"("prov")");
    CHECK(get(s, "workerType") == R"("wt")");
    CHECK(get(s, "capacity") == "2");
    // No generic-worker keys.
    CHECK_THROWS(sw::json::get_path(s.worker_config, "workerTypeMetadata"));
    CHECK_THROWS(sw::json::get_path(s.worker_config, "rootURL"));
}

TEST_CASE("docker-worker: no certificate, and a pool id without a slash",
          "[workers][docker-worker]") {
    sw::log::set_capture([](sw::log::level, std::string_view) {});
    auto w = sw::workers::make_worker(dw_config("/opt/dw", "/etc/dw.json"));
    auto s = base_state();
    w->configure_run(s);
    CHECK(get(s, "taskcluster") == R"({"accessToken":"at","clientId":"ci"})");
    auto bad = base_state();
    bad.worker_pool_id = "noslash";
    CHECK_THROWS_WITH(w->configure_run(bad), R"(workerPoolID "noslash" does not contain a slash)");
    // A worker config whose "taskcluster" is not an object cannot take the credentials.
    auto clash = base_state();
    clash.worker_config = boost::json::parse(R"({"taskcluster":"x"})");
    try {
        w->configure_run(clash);
        FAIL("no error");
    } catch (const sw::failure& f) {
        CHECK(f.code() == sw::errc::config);
        CHECK(std::string(f.what()).find("taskcluster.clientId") != std::string::npos);
    }
    sw::log::set_capture({});
}

// The removed Go tests TestStartWorkerReleaseTarball and TestStartWorkerJSFile.
TEST_CASE("docker-worker: argv with and without bin/docker-worker", "[workers][docker-worker]") {
    sw::test::temp_dir dir;
    const auto root = dir.path().string();
    auto w = sw::workers::make_worker(dw_config(root, dir.file("dw.json")));
    auto s = base_state();

    SECTION("repository checkout: node src/bin/worker.js") {
        const auto p = w->plan_start(s);
        CHECK(p.argv == std::vector<std::string>{"node", root + "/src/bin/worker.js", "--host",
                                                 "worker-runner", "production"});
        CHECK(p.extra_env == std::vector<std::pair<std::string, std::string>>{
                                 {"DOCKER_WORKER_CONFIG", dir.file("dw.json")}});
        CHECK(p.config_path == dir.file("dw.json"));
        CHECK(p.protocol);
    }
    SECTION("release tarball: bin/docker-worker") {
        dir.write("bin/docker-worker", "#!/bin/sh\n", 0700);
        const auto p = w->plan_start(s);
        CHECK(p.argv == std::vector<std::string>{root + "/bin/docker-worker", "--host",
                                                 "worker-runner", "production"});
        CHECK(p.extra_env.size() == 1);
        CHECK(boost::json::parse(p.config_contents) == s.worker_config);
    }
}

TEST_CASE("docker-worker: config errors name the key", "[workers][docker-worker]") {
    sw::config::runner_config cfg;
    cfg.worker_implementation = "docker-worker";
    cfg.worker = {{"configPath", "c"}};
    CHECK_THROWS_WITH(sw::workers::make_worker(cfg), "worker.path: missing");
    cfg.worker = {{"path", "p"}};
    CHECK_THROWS_WITH(sw::workers::make_worker(cfg), "worker.configPath: missing");
    cfg.worker = {{"path", true}, {"configPath", "c"}};
    CHECK_THROWS_WITH(sw::workers::make_worker(cfg), "worker.path: must be a string");
}
