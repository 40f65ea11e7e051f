// The loopback Taskcluster stand-in driven by our client: the worker lifecycle's calls, the
// single-use secret, Hawk and scope checks, faults, the request log.
#include "lib/http/client.hpp"
#include "lib/tc/client.hpp"
#include "lib/tc/hawk.hpp"
#include "tests/lib/tc/tc_test_util.hpp"
#include "tests/support/tc_standin.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <fstream>

using namespace sw;
using namespace sw::test;
namespace json = boost::json;

namespace {

const std::string static_secret = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";

json::object standin_config() {
    return json::parse(R"({
      "issuer": {"accessToken": "wm-issuer-token-0123456789"},
      "providers": {
        "static-prov": {"type": "static", "workers": {"wg/wid": {"staticSecret": ")" +
                       static_secret + R"("}}},
        "aws-prov": {"type": "aws"}
      },
      "workerPools": {
        "proj/pool": {"workerConfig": {"genericWorker": {"config": {"x": 1}}},
                      "credentialLifetimeSeconds": 3600}
      },
      "secrets": {"worker-pool:proj/pool": {"config": {"fromSecret": true}}},
      "faults": [{"path": "^/api/worker-manager/v1/workers/.*/should-terminate$", "status": 503,
                  "count": 1}]
    })")
        .as_object();
}

struct env {
    temp_dir dir;
    manual_clock clk{time_point(std::chrono::seconds(1'900'000'000))};
    std::unique_ptr<tc_standin> standin;
    boost::asio::io_context ioc;
    http::client http{ioc.get_executor()};

    env() {
        tc_standin_options o;
        o.config = standin_config();
        o.state_dir = dir.file("state");
        o.clk = &clk;
        standin = std::make_unique<tc_standin>(std::move(o));
    }
    tc::client client(std::optional<credentials> c) { return client(std::move(c), 0.01); }
    tc::client client(std::optional<credentials> c, double retry_scale) {
        tc::client_options o;
        o.wall = &clk;
        o.retry_scale = retry_scale;
        tc::client tc(http, standin->root_url(), std::move(c), o);
        return tc;
    }
    tc::register_result register_static() {
        auto c = client(std::nullopt);
        return run_coro(ioc, c.register_worker("proj/pool", "static-prov", "wg", "wid",
                                               json::object{{"staticSecret", static_secret}},
                                               clk.now() - std::chrono::hours(1)));
    }
};

}  // namespace

TEST_CASE("stand-in: register, reregister, secrets, should-terminate, error report, remove",
          "[tc][standin]") {
    env e;
    const auto reg = e.register_static();
    CHECK(reg.creds.client_id == "worker/static-prov/proj/pool/wg/wid");
    CHECK(reg.secret.size() == 44);
    CHECK(reg.expires == e.clk.now() + std::chrono::hours(1));
    CHECK(reg.worker_config.as_object().contains("genericWorker"));
    const auto cert = json::parse(reg.creds.certificate).as_object();
    CHECK(cert.at("issuer").as_string() == "static/taskcluster/worker-manager");
    CHECK(cert.at("scopes").as_array().size() == 10);
    CHECK(cert.at("start").as_int64() ==
          std::chrono::duration_cast<std::chrono::milliseconds>(
              (e.clk.now() - std::chrono::minutes(15)).time_since_epoch())
              .count());
    CHECK(e.standin->registration_secret("proj/pool/wg/wid") == reg.secret);

    auto c = e.client(reg.creds);
    e.clk.advance(std::chrono::minutes(30));
    const auto rr = run_coro(e.ioc, c.reregister_worker("proj/pool", "wg", "wid", reg.secret));
    CHECK(rr.secret != reg.secret);
    CHECK(rr.creds.access_token != reg.creds.access_token);
    CHECK(rr.expires == e.clk.now() + std::chrono::hours(1));

    c.set_credentials(rr.creds);
    const auto s = run_coro(e.ioc, c.get_secret("worker-pool:proj/pool"));
    REQUIRE(s);
    CHECK(s->as_object().at("config").as_object().at("fromSecret").as_bool());
    CHECK(!run_coro(e.ioc, c.get_secret("worker-type:proj/pool")));

    // The configured fault answers 503 once; the client retries.
    auto st = run_coro(e.ioc, c.should_worker_terminate("proj/pool", "wg", "wid"));
    CHECK(!st.terminate);
    e.standin->set_should_terminate("proj/pool/wg/wid", true, "scale down");
    st = run_coro(e.ioc, c.should_worker_terminate("proj/pool", "wg", "wid"));
    CHECK(st.terminate);
    CHECK(st.reason == "scale down");

    tc::error_report rep{"crash", "it broke", "details", json::object{{"n", 1}}};
    run_coro(e.ioc, c.report_worker_error("proj/pool", "wg", "wid", rep));
    const auto reports = e.standin->error_reports();
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].at("kind").as_string() == "crash");
    CHECK(reports[0].at("extra").as_object().at("workerId").as_string() == "wid");

    run_coro(e.ioc, c.remove_worker("proj/pool", "wg", "wid"));
    // A removed static worker cannot register again.
    const auto err = expect_error<tc::api_error>([&] { e.register_static(); });
    CHECK(err.status() == 400);
    CHECK_THAT(std::string(err.what()), Catch::Contains("worker is not running"));

    // The request log: one line per request, secrets redacted, authenticated clientId.
    std::ifstream log(e.dir.file("state/requests.jsonl"));
    std::vector<json::object> lines;
    for (std::string line; std::getline(log, line);) lines.push_back(json::parse(line).as_object());
    CHECK(lines.size() == e.standin->requests().size());
    REQUIRE(lines.size() == 10);
    CHECK(lines[0].at("clientId").is_null());
    CHECK(
        lines[0].at("body").as_object().at("workerIdentityProof").as_object().at("staticSecret") ==
        "<redacted>");
    CHECK(lines[1].at("body").as_object().at("secret") == "<redacted>");
    CHECK(lines[1].at("clientId").as_string() == reg.creds.client_id);
    CHECK(lines[2].at("params").as_object().at("name").as_string() == "worker-pool:proj/pool");
    CHECK(lines[4].at("status").as_int64() == 503);
    CHECK(lines[8].at("method") == "DELETE");
    CHECK(lines[8].at("params").as_object().at("workerPoolId").as_string() == "proj/pool");
    const std::string all = e.dir.read("state/requests.jsonl");
    CHECK(all.find(static_secret) == std::string::npos);
    CHECK(all.find(reg.secret) == std::string::npos);
}

TEST_CASE("stand-in: a stale registration secret gets 400", "[tc][standin]") {
    env e;
    const auto reg = e.register_static();
    auto c = e.client(reg.creds);
    run_coro(e.ioc, c.reregister_worker("proj/pool", "wg", "wid", reg.secret));
    const auto err = expect_error<tc::api_error>(
        [&] { run_coro(e.ioc, c.reregister_worker("proj/pool", "wg", "wid", reg.secret)); });
    CHECK(err.status() == 400);
    CHECK(err.tc_code() == "InputError");
    CHECK(err.code() == errc::permanent);
    CHECK_THAT(std::string(err.what()),
               Catch::Contains("Could not generate credentials for this secret"));
}

TEST_CASE("stand-in: an answer lost after reregistration burns the secret", "[tc][standin]") {
    env e;
    const auto reg = e.register_static();
    tc_fault lost;
    lost.path_regex = "/worker/reregister$";
    lost.reset = true;
    lost.after = true;
    lost.count = 1;
    e.standin->add_fault(lost);
    auto c = e.client(reg.creds);
    const auto err = expect_error<tc::api_error>(
        [&] { run_coro(e.ioc, c.reregister_worker("proj/pool", "wg", "wid", reg.secret)); });
    CHECK(err.maybe_delivered());
    CHECK(e.standin->registration_secret("proj/pool/wg/wid") != reg.secret);
    // The next attempt with the old secret is refused; the old credentials still work meanwhile.
    const auto again = expect_error<tc::api_error>(
        [&] { run_coro(e.ioc, c.reregister_worker("proj/pool", "wg", "wid", reg.secret)); });
    CHECK(again.status() == 400);
    CHECK(run_coro(e.ioc, c.get_secret("worker-pool:proj/pool")));
}

TEST_CASE("stand-in: Hawk and scope failures", "[tc][standin]") {
    env e;
    const auto reg = e.register_static();
    SECTION("tampered token -> 401") {
        auto bad = reg.creds;
        bad.access_token[3] = bad.access_token[3] == 'x' ? 'y' : 'x';
        auto c = e.client(bad);
        const auto err = expect_error<tc::api_error>(
            [&] { run_coro(e.ioc, c.get_secret("worker-pool:proj/pool")); });
        CHECK(err.status() == 401);
        CHECK(err.code() == errc::refused);
        CHECK_THAT(std::string(err.what()), Catch::Contains("Bad mac"));
    }
    SECTION("expired certificate -> 401") {
        e.clk.advance(std::chrono::hours(2));
        auto c = e.client(reg.creds);
        const auto err = expect_error<tc::api_error>(
            [&] { run_coro(e.ioc, c.get_secret("worker-pool:proj/pool")); });
        CHECK(err.status() == 401);
        CHECK_THAT(std::string(err.what()), Catch::Contains("ext.certificate.expiry < now"));
    }
    SECTION("certificate omitted -> 401") {
        auto c = e.client(credentials{reg.creds.client_id, reg.creds.access_token, ""});
        const auto err = expect_error<tc::api_error>(
            [&] { run_coro(e.ioc, c.get_secret("worker-pool:proj/pool")); });
        CHECK(err.status() == 401);
    }
    SECTION("another worker's secret -> 403") {
        auto c = e.client(reg.creds);
        const auto err = expect_error<tc::api_error>(
            [&] { run_coro(e.ioc, c.get_secret("worker-pool:other/pool")); });
        CHECK(err.status() == 403);
        CHECK(err.tc_code() == "InsufficientScopes");
    }
    SECTION("unauthenticated -> 403") {
        auto c = e.client(std::nullopt);
        const auto err = expect_error<tc::api_error>(
            [&] { run_coro(e.ioc, c.remove_worker("proj/pool", "wg", "wid")); });
        CHECK(err.status() == 403);
    }
}

TEST_CASE("stand-in: registration refusals", "[tc][standin]") {
    env e;
    auto c = e.client(std::nullopt);
    auto reg = [&](const std::string& pool, const std::string& prov, const std::string& wid,
                   json::object proof) {
        return expect_error<tc::api_error>([&] {
            run_coro(e.ioc, c.register_worker(pool, prov, "wg", wid, proof, std::nullopt));
        });
    };
    CHECK_THAT(std::string(reg("proj/pool", "static-prov", "wid",
                               json::object{{"staticSecret", std::string(44, 'x')}})
                               .what()),
               Catch::Contains("bad staticSecret in workerIdentityProof"));
    CHECK(reg("proj/pool", "static-prov", "nope", json::object{{"staticSecret", "x"}}).status() ==
          404);
    CHECK(reg("no/pool", "static-prov", "wid", {}).status() == 404);
    CHECK(reg("proj/pool", "aws-prov", "i-1", json::object{{"document", "d"}}).status() == 400);
    // aws: any proof with the right keys is accepted.
    const auto ok =
        run_coro(e.ioc, c.register_worker("proj/pool", "aws-prov", "wg", "i-1",
                                          json::object{{"document", "d"}, {"signature", "s"}},
                                          std::nullopt));
    CHECK(ok.creds.client_id == "worker/aws-prov/proj/pool/wg/i-1");
}

TEST_CASE("stand-in: runtime files (faults.json, secrets.json) are re-read per request",
          "[tc][standin]") {
    env e;
    const auto reg = e.register_static();
    auto c = e.client(reg.creds);
    e.dir.write("state/secrets.json", R"({"worker-type:proj/pool": {"config": {"a": 2}}})");
    const auto v = run_coro(e.ioc, c.get_secret("worker-type:proj/pool"));
    REQUIRE(v);
    CHECK(v->as_object().at("config").as_object().at("a") == 2);

    e.dir.write("state/faults.json", R"([{"path": "/secret/", "status": 500}])");
    // secrets.get keeps trying for 15 minutes unscaled
    auto fast = e.client(reg.creds, 0.0005);
    const auto err = expect_error<tc::api_error>(
        [&] { run_coro(e.ioc, fast.get_secret("worker-type:proj/pool")); });
    CHECK(err.code() == errc::unavailable);
    CHECK(err.status() == 500);

    e.dir.write("state/faults.json", "[]");
    CHECK(run_coro(e.ioc, c.get_secret("worker-type:proj/pool")));
}

TEST_CASE("stand-in: malformed config is refused naming the key", "[tc][standin]") {
    tc_standin_options o;
    o.config = json::parse(R"({"providers": {"p": {"type": "nimbus"}}})").as_object();
    CHECK_THROWS_WITH(tc_standin(o), Catch::Contains("providers.p.type"));
    o.config = json::parse(R"({"faults": [{"path": "("}]})").as_object();
    CHECK_THROWS_WITH(tc_standin(o), Catch::Contains("fault.path"));
}
