#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "lib/workers/worker.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

sw::config::runner_config gw_config(const char* worker_json) {
    sw::config::runner_config cfg;
    cfg.worker_implementation = "generic-worker";
    cfg.worker = boost::json::parse(worker_json).as_object();
    return cfg;
}

sw::run_state base_state() {
    sw::run_state s;
    s.root_url = "ru";
    s.creds = {"ci", "at", "cert"};
    s.worker_pool_id = "prov/wt";
    s.worker_group = "wg";
    s.worker_id = "wi";
    return s;
}

std::string get(const sw::run_state& s, const char* path) {
    return sw::json::to_sorted_json(sw::json::get_path(s.worker_config, path));
}

bool has(const sw::run_state& s, const char* path) {
    try {
        sw::json::get_path(s.worker_config, path);
        return true;
    } catch (const std::out_of_range&) {
        return false;
    }
}

std::string failure_message(const sw::config::runner_config& cfg) {
    try {
        sw::workers::make_worker(cfg);
    } catch (const sw::failure& f) {
        CHECK(f.code() == sw::errc::config);
        return f.what();
    }
    return "(no error)";
}

struct log_capture {
    std::vector<std::string> lines;
    log_capture() {
        sw::log::set_capture([this](sw::log::level, std::string_view l) { lines.emplace_back(l); });
    }
    ~log_capture() { sw::log::set_capture({}); }
};

}  // namespace

// Go TestConfigureRunWithProviderMetadataConfig.
TEST_CASE("generic-worker: provider metadata and identity keys", "[workers][generic-worker]") {
    auto w = sw::workers::make_worker(gw_config(R"({"configPath":"/no/such/path","path":"gw"})"));
    CHECK(w->name() == "generic-worker");
    auto s = base_state();
    s.worker_config = boost::json::parse(R"({"workerTypeMetadata":{"from-worker-pool":"yup"}})");
    s.provider_metadata = boost::json::parse(R"({
        "public-ipv4": "1.2.3.4", "local-ipv4": "10.1.1.1", "availability-zone": "mars",
        "region": "sol", "instance-type": "13xlarge", "instance-id": "1234"})")
                              .as_object();
    s.worker_location = {{"cloud", "aws"}, {"region", "us-west-2"}, {"availabilityZone", "z"}};
    log_capture logs;
    w->configure_run(s);
    CHECK(logs.lines.empty());

    CHECK(get(s, "publicIP") == R"("1.2.3.4")");
    CHECK(get(s, "privateIP") == R"("10.1.1.1")");
    CHECK(get(s, "availabilityZone") == R"("mars")");
    CHECK(get(s, "region") == R"("sol")");
    CHECK(get(s, "instanceType") == R"("13xlarge")");
    CHECK(get(s, "instanceID") == R"("1234")");
    CHECK(get(s, "rootURL") == R"("ru")");
    CHECK(get(s, "clientId") == R"("ci")");
    CHECK(get(s, "accessToken") == R"("at")");
    CHECK(get(s, "provisionerId") == R"("prov")");
    CHECK(get(s, "workerType") == R"("wt")");
    CHECK(get(s, "workerGroup") == R"("wg")");
    CHECK(get(s, "workerId") == R"("wi")");
    CHECK(get(s, "certificate") == R"("cert")");
    // A JSON string, keys sorted.
    CHECK(get(s, "workerLocation") ==
          R"("{\"availabilityZone\":\"z\",\"cloud\":\"aws\",\"region\":\"us-west-2\"}")");
    CHECK(get(s, "workerTypeMetadata") ==
          R"({"availability-zone":"mars","from-worker-pool":"yup","instance-id":"1234",)"
          R"("instance-type":"13xlarge","local-ipv4":"10.1.1.1","public-ipv4":"1.2.3.4",)"
          R"("region":"sol"})");
}

// Go TestConfigureRunWithoutProviderMetadataConfig.
TEST_CASE("generic-worker: without provider metadata", "[workers][generic-worker]") {
    auto w = sw::workers::make_worker(gw_config(R"({"configPath":"/no/such/path","path":"gw"})"));
    auto s = base_state();
    s.creds.certificate.clear();
    log_capture logs;
    w->configure_run(s);
    for (const char* k :
         {"publicIP", "privateIP", "availabilityZone", "region", "instanceType", "instanceID"}) {
        INFO(k);
        CHECK_FALSE(has(s, k));
    }
    CHECK(get(s, "workerTypeMetadata") == "{}");
    CHECK(get(s, "workerLocation") == R"("{}")");
    CHECK_FALSE(has(s, "certificate"));  // only set when non-empty
    CHECK(get(s, "rootURL") == R"("ru")");
    CHECK(get(s, "workerId") == R"("wi")");
    REQUIRE(logs.lines.size() == 6);
    CHECK(logs.lines[0] ==
          "provider metadata public-ipv4 not available; not setting config publicIP");
}

TEST_CASE("generic-worker: derived keys override the worker config", "[workers][generic-worker]") {
    log_capture quiet;
    auto w = sw::workers::make_worker(gw_config(R"({"configPath":"c","path":"gw"})"));
    auto s = base_state();
    s.worker_config = boost::json::parse(
        R"({"rootURL":"evil","accessToken":"old","publicIP":"9.9.9.9","keep":{"x":[1]}})");
    s.provider_metadata = boost::json::parse(R"({"public-ipv4":"1.2.3.4"})").as_object();
    w->configure_run(s);
    CHECK(get(s, "rootURL") == R"("ru")");
    CHECK(get(s, "accessToken") == R"("at")");
    CHECK(get(s, "publicIP") == R"("1.2.3.4")");
    CHECK(get(s, "keep") == R"({"x":[1]})");
}

TEST_CASE("generic-worker: the worker pool id split", "[workers][generic-worker]") {
    log_capture quiet;
    auto w = sw::workers::make_worker(gw_config(R"({"configPath":"c","path":"gw"})"));
    auto s = base_state();
    s.worker_pool_id = "a/b/c";
    w->configure_run(s);
    CHECK(get(s, "provisionerId") == R"("a")");
    CHECK(get(s, "workerType") == R"("b/c")");

    auto bad = base_state();
    bad.worker_pool_id = "noslash";
    try {
        w->configure_run(bad);
        FAIL("no error");
    } catch (const sw::failure& f) {
        CHECK(std::string(f.what()) == R"(workerPoolID "noslash" does not contain a slash)");
    }
}

TEST_CASE("generic-worker: start plan", "[workers][generic-worker]") {
    log_capture quiet;
    auto w = sw::workers::make_worker(gw_config(
        R"({"configPath":"/etc/gw/config.yaml","path":"/usr/local/bin/generic-worker"})"));
    auto s = base_state();
    w->configure_run(s);
    const auto p = w->plan_start(s);
    CHECK(p.argv == std::vector<std::string>{"/usr/local/bin/generic-worker", "run", "--config",
                                             "/etc/gw/config.yaml", "--with-worker-runner"});
    CHECK(p.extra_env.empty());
    CHECK(p.protocol);
    CHECK(p.config_path == "/etc/gw/config.yaml");
    // Indented JSON with sorted keys, even for a .yaml path.
    CHECK(p.config_contents.rfind("{\n  \"accessToken\": \"at\",\n  \"certificate\": \"cert\",\n",
                                  0) == 0);
    CHECK(boost::json::parse(p.config_contents) == s.worker_config);
}

TEST_CASE("generic-worker: config errors name the key", "[workers][generic-worker]") {
    CHECK(failure_message(gw_config(R"({"path":"gw"})")) == "worker.configPath: missing");
    CHECK(failure_message(gw_config(R"({"path":"gw","configPath":7})")) ==
          "worker.configPath: must be a string");
    CHECK(failure_message(gw_config(R"({"path":"gw","configPath":""})")) ==
          "worker.configPath: must not be empty");
    CHECK(failure_message(gw_config(R"({"configPath":"c"})")) ==
          "worker.path: missing (specify exactly one of worker.path and worker.service)");
    CHECK(failure_message(gw_config(R"({"configPath":"c","service":"Generic Worker"})")) ==
          "worker.service: only supported on Windows");
    CHECK(failure_message(gw_config(R"({"configPath":"c","path":"gw","protocolPipe":[]})")) ==
          "worker.protocolPipe: must be a string");
    CHECK(failure_message(
              gw_config(R"({"configPath":"c","path":"gw","protocolPipe":"\\\\.\\pipe\\x"})")) ==
          "(no error)");
}

TEST_CASE("make_worker: unknown implementations", "[workers]") {
    sw::config::runner_config cfg;
    CHECK(failure_message(cfg) == "worker.implementation: missing");
    cfg.worker_implementation = "best-worker";
    CHECK(failure_message(cfg) ==
          "worker.implementation: unrecognized worker implementation \"best-worker\" (known: "
          "docker-worker, dummy, generic-worker)");
}

TEST_CASE("dummy: no process, no protocol, no config changes", "[workers][dummy]") {
    sw::config::runner_config cfg;
    cfg.worker_implementation = "dummy";
    auto w = sw::workers::make_worker(cfg);
    CHECK(w->name() == "dummy");
    auto s = base_state();
    const auto before = s.worker_config;
    w->configure_run(s);
    CHECK(s.worker_config == before);
    const auto p = w->plan_start(s);
    CHECK(p.argv.empty());
    CHECK_FALSE(p.protocol);
    CHECK(p.config_path.empty());
    CHECK(p.config_contents.empty());
}

TEST_CASE("set_credentials updates only the credential keys", "[workers]") {
    for (const char* impl : {"generic-worker", "docker-worker"}) {
        INFO(impl);
        sw::config::runner_config cfg;
        cfg.worker_implementation = impl;
        cfg.worker = boost::json::parse(R"({"path":"/x","configPath":"/c.json"})").as_object();
        const auto w = sw::workers::make_worker(cfg);
        const std::string prefix = std::string(impl) == "docker-worker" ? "taskcluster." : "";
        auto s = base_state();
        w->configure_run(s);
        CHECK(get(s, (prefix + "certificate").c_str()) == R"("cert")");
        const auto before = sw::json::to_sorted_json(s.worker_config);

        s.creds = {"ci2", "at2", "cert2"};
        w->set_credentials(s);
        CHECK(get(s, (prefix + "clientId").c_str()) == R"("ci2")");
        CHECK(get(s, (prefix + "accessToken").c_str()) == R"("at2")");
        CHECK(get(s, (prefix + "certificate").c_str()) == R"("cert2")");

        // Permanent credentials after temporary ones: no stale certificate is left behind.
        s.creds = {"ci", "at", ""};
        w->set_credentials(s);
        CHECK_FALSE(has(s, (prefix + "certificate").c_str()));
        s.creds = {"ci", "at", "cert"};
        w->set_credentials(s);
        CHECK(sw::json::to_sorted_json(s.worker_config) == before);
    }
}
