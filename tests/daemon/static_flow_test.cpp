// End to end with the static provider against the Taskcluster stand-in and the fake worker.
#include "tests/daemon/harness.hpp"

using namespace sw::test;
using namespace std::chrono_literals;

TEST_CASE("static: a full run registers, fetches secrets, extracts files, writes the config",
          "[e2e][static]") {
    harness h;
    auto& standin = h.start_standin(R"({
      "providers": {"static-prov": {"type": "static",
                    "workers": {"wg/wid": {"staticSecret": ")" +
                                    std::string(static_secret) + R"("}}}},
      "workerPools": {"proj/pool": {"workerConfig": {"genericWorker": {
          "config": {"fromWM": "wm", "shared": "wm", "list": ["wm"]},
          "files": [{"description": "greeting", "path": ")" +
                                    h.dir.file("files/greeting.txt") +
                                    R"(", "content": "SGVsbG8sIFdvcmxk", "encoding": "base64",
                     "format": "file"}]}}}},
      "secrets": {
        "worker-type:proj/pool": {"config": {"fromLegacy": true, "shared": "legacy"}},
        "worker-pool:proj/pool": {"config": {"fromSecret": true, "shared": "secret",
                                             "list": ["secret"]}}}})");
    const auto cfg = h.write_config(
        h.static_config("workerConfig:\n  fromRunner: true\n  shared: runner\n  list: [runner]\n"
                        "  clientId: must-be-overridden\n"));
    auto r = h.run({"--once", cfg},
                   {{"FAKE_WORKER_SCRIPT",
                     "log:hello;error-report:worker-error:something broke;sleep:200;exit:0"}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);

    // Registration, both secrets, authenticated with the temporary credentials.
    const auto reg = h.requests("/worker/register", "POST");
    REQUIRE(reg.size() == 1);
    CHECK(reg[0].at("clientId").is_null());
    CHECK(h.requests("worker-type%3Aproj%2Fpool").size() == 1);
    const auto pool_secret = h.requests("worker-pool%3Aproj%2Fpool");
    REQUIRE(pool_secret.size() == 1);
    CHECK(pool_secret[0].at("clientId") == "worker/static-prov/proj/pool/wg/wid");

    // The file, and the worker config with the documented precedence.
    CHECK(h.dir.read("files/greeting.txt") == "Hello, World");
    const auto cfg_path = h.dir.file("worker-config.json");
    CHECK(harness::mode_of(cfg_path) == 0600);
    const auto wc = boost::json::parse(h.dir.read("worker-config.json")).as_object();
    CHECK(wc.at("fromRunner") == true);
    CHECK(wc.at("fromWM") == "wm");
    CHECK(wc.at("fromLegacy") == true);
    CHECK(wc.at("fromSecret") == true);
    CHECK(wc.at("shared") == "secret");
    CHECK(boost::json::serialize(wc.at("list")) == R"(["runner","wm","secret"])");
    CHECK(wc.at("clientId") == "worker/static-prov/proj/pool/wg/wid");
    CHECK(wc.at("provisionerId") == "proj");
    CHECK(wc.at("workerType") == "pool");
    CHECK(wc.at("workerGroup") == "wg");
    CHECK(wc.at("workerId") == "wid");
    CHECK(wc.at("rootURL") == standin.root_url().c_str());
    CHECK(wc.at("workerLocation") == R"({"cloud":"static"})");
    REQUIRE(wc.contains("certificate"));
    const auto cert = boost::json::parse(wc.at("certificate").as_string()).as_object();
    CHECK(cert.at("issuer") == "static/taskcluster/worker-manager");
    const std::string access_token(wc.at("accessToken").as_string());

    // The worker's error report reached worker-manager, authenticated.
    const auto reports = standin.error_reports();
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].at("kind") == "worker-error");
    CHECK(reports[0].at("title") == "something broke");
    CHECK(reports[0].at("extra").at("workerId") == "wid");

    // The worker's log line came through; no secret appears in any log line.
    CHECK(r.err.find("hello") != std::string::npos);
    CHECK(r.err.find(access_token) == std::string::npos);
    CHECK(r.err.find(static_secret) == std::string::npos);
    CHECK(r.err.find(std::string(cert.at("signature").as_string())) == std::string::npos);
    CHECK(r.out.empty());
}
