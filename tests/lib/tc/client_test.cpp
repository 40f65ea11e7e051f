// The typed Taskcluster client against the loopback test server: request shapes, Hawk,
// retries, error classification.
#include "lib/tc/client.hpp"

#include "lib/common/base64.hpp"
#include "lib/http/client.hpp"
#include "lib/providers/parse.hpp"
#include "lib/tc/hawk.hpp"
#include "tests/lib/tc/tc_test_util.hpp"
#include "tests/support/hawk_verify.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <regex>
#include <set>

using namespace sw;
using namespace sw::test;
namespace json = boost::json;

namespace {

const std::string issuer_token = "issuer-token-for-tests-0123456789";
const std::string wm_issuer = "static/taskcluster/worker-manager";

credentials worker_creds(const sw::clock& clk) {
    tc::temp_creds_request r;
    r.issuer_client_id = wm_issuer;
    r.issuer_access_token = issuer_token;
    r.name = "worker/static-prov/proj/pool/wg/wid";
    r.scopes = {"worker-manager:should-worker-terminate:proj/pool/wg/wid"};
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clk.now().time_since_epoch()).count();
    r.start_ms = now_ms - 15 * 60'000;
    r.expiry_ms = now_ms + 3600'000;
    return tc::create_temporary_credentials(r);
}

std::optional<hawk_client> lookup(const std::string& id) {
    if (id == wm_issuer) return hawk_client{issuer_token, {"*"}};
    if (id == "tester") return hawk_client{"no-secret-but-long", {"*"}};
    return std::nullopt;
}

// A server that records requests and answers from a script (last entry repeats).
struct scripted {
    std::mutex mu;
    std::vector<http_request> seen;
    std::vector<http_response> script;
    std::size_t next = 0;
    std::unique_ptr<http_server> server;

    explicit scripted(std::vector<http_response> s, const tls_files* tls = nullptr)
        : script(std::move(s)) {
        server = std::make_unique<http_server>(
            [this](const http_request& r) {
                std::lock_guard lock(mu);
                seen.push_back(r);
                const auto& out = script[std::min(next, script.size() - 1)];
                ++next;
                return out;
            },
            0, tls);
    }
    std::size_t count() {
        std::lock_guard lock(mu);
        return seen.size();
    }
    http_request at(std::size_t i) {
        std::lock_guard lock(mu);
        return seen.at(i);
    }
};

http_response ok(json::value body) {
    http_response r;
    r.body = json::serialize(body);
    return r;
}

http_response status(unsigned s, std::string body = "") {
    http_response r;
    r.status = s;
    r.body = std::move(body);
    return r;
}

http_response reset() {
    http_response r;
    r.reset = true;
    return r;
}

json::object register_answer(const sw::clock& clk) {
    const auto c = worker_creds(clk);
    return json::object{{"expires", "2030-01-02T03:04:05.678Z"},
                        {"credentials",
                         {{"clientId", c.client_id},
                          {"accessToken", c.access_token},
                          {"certificate", c.certificate}}},
                        {"workerConfig", {{"genericWorker", {{"config", {{"x", 1}}}}}}},
                        {"secret", std::string(44, 's')}};
}

struct fixture {
    boost::asio::io_context ioc;
    http::client http{ioc.get_executor()};
};

/// Retry delays at 1/100: no test sleeps for seconds.
tc::client_options scaled_options() {
    tc::client_options o;
    o.retry_scale = 0.01;
    return o;
}

}  // namespace

TEST_CASE("backoff delays grow, are jittered and capped", "[tc][client]") {
    seeded_random rng(42);
    tc::retry_policy p;
    p.base = std::chrono::milliseconds(200);
    p.cap = std::chrono::milliseconds(1000);
    for (int i = 0; i < 100; ++i) {
        const auto d1 = tc::backoff_delay(1, p, rng).count();
        const auto d3 = tc::backoff_delay(3, p, rng).count();
        const auto d9 = tc::backoff_delay(9, p, rng).count();
        CHECK((d1 >= 150 && d1 <= 250));
        CHECK((d3 >= 600 && d3 <= 1000));
        CHECK((d9 >= 750 && d9 <= 1250));
    }
    std::set<long> distinct;
    for (int i = 0; i < 20; ++i) distinct.insert(tc::backoff_delay(2, p, rng).count());
    CHECK(distinct.size() > 5);
}

TEST_CASE("registerWorker: request shape, unauthenticated, response parsed", "[tc][client]") {
    fixture fx;
    scripted srv({ok(register_answer(real_clock()))});
    tc::client c(fx.http, srv.server->base_url() + "/", credentials{"someone", "tok", ""});
    time_point boot;
    REQUIRE(parse_rfc3339("2025-01-01T00:00:00Z", boot));
    const auto r = run_coro(fx.ioc, c.register_worker("proj/pool", "static-prov", "wg", "wid",
                                                      json::object{{"staticSecret", "xyz"}}, boot));
    REQUIRE(srv.count() == 1);
    const auto req = srv.at(0);
    CHECK(req.method == "POST");
    CHECK(req.target == "/api/worker-manager/v1/worker/register");
    CHECK(req.header("Content-Type") == "application/json");
    CHECK(req.header("Authorization").empty());
    const auto body = json::parse(req.body).as_object();
    CHECK(body.at("workerPoolId") == "proj/pool");
    CHECK(body.at("providerId") == "static-prov");
    CHECK(body.at("workerGroup") == "wg");
    CHECK(body.at("workerId") == "wid");
    CHECK(body.at("workerIdentityProof").as_object().at("staticSecret") == "xyz");
    CHECK(body.at("systemBootTime") == "2025-01-01T00:00:00.000Z");
    CHECK(body.size() == 6);

    CHECK(r.creds.client_id == "worker/static-prov/proj/pool/wg/wid");
    CHECK(!r.creds.certificate.empty());
    CHECK(r.secret == std::string(44, 's'));
    CHECK(format_rfc3339_ms(r.expires) == "2030-01-02T03:04:05.678Z");
    CHECK(r.worker_config.as_object().contains("genericWorker"));

    // Without a boot time the key is omitted.
    scripted srv2({ok(register_answer(real_clock()))});
    tc::client c2(fx.http, srv2.server->base_url(), std::nullopt);
    run_coro(fx.ioc, c2.register_worker("proj/pool", "p", "wg", "wid", {}, std::nullopt));
    CHECK(!json::parse(srv2.at(0).body).as_object().contains("systemBootTime"));
}

TEST_CASE("registerWorker: permanent credentials (no certificate) and missing workerConfig",
          "[tc][client]") {
    fixture fx;
    scripted srv({ok(json::object{{"expires", "2030-01-02T03:04:05Z"},
                                  {"credentials", {{"clientId", "c"}, {"accessToken", "t"}}},
                                  {"secret", "s"}})});
    tc::client c(fx.http, srv.server->base_url(), std::nullopt);
    const auto r = run_coro(fx.ioc, c.register_worker("a/b", "p", "g", "i", {}, std::nullopt));
    CHECK(r.creds.certificate.empty());
    CHECK(r.worker_config.is_null());
}

TEST_CASE("authenticated calls carry a Hawk header that verifies, with the certificate in ext",
          "[tc][client]") {
    fixture fx;
    std::mutex mu;
    std::vector<hawk_auth_result> results;
    std::vector<http_request> seen;
    http_server srv([&](const http_request& r) {
        std::lock_guard lock(mu);
        seen.push_back(r);
        results.push_back(hawk_authenticate(r, false, lookup, real_clock().now()));
        if (!results.back().ok)
            return status(401, R"({"code":"AuthenticationFailed","message":"x"})");
        return ok(json::object{{"terminate", true}, {"reason", "because"}});
    });
    const auto creds = worker_creds(real_clock());
    tc::client c(fx.http, srv.base_url(), creds);
    const auto r = run_coro(fx.ioc, c.should_worker_terminate("proj/pool", "wg", "wid"));
    CHECK(r.terminate);
    CHECK(r.reason == "because");
    REQUIRE(results.size() == 1);
    CHECK(results[0].ok);
    CHECK(results[0].message.empty());
    CHECK(results[0].client_id == creds.client_id);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/api/worker-manager/v1/workers/proj%2Fpool/wg/wid/should-terminate");
    CHECK(seen[0].header("Content-Type").empty());
    const std::string auth = seen[0].header("Authorization");
    std::smatch m;
    REQUIRE(std::regex_search(auth, m, std::regex(R"re(ext="([^"]+)")re")));
    const auto ext = json::parse(sw::base64_decode(m[1].str())).as_object();
    CHECK(ext.at("certificate").is_object());
    CHECK(ext.at("certificate").as_object().at("issuer").as_string() == wm_issuer);

    // A tampered access token does not verify.
    auto bad = creds;
    bad.access_token[0] = bad.access_token[0] == 'A' ? 'B' : 'A';
    c.set_credentials(bad);
    const auto e = expect_error<tc::api_error>(
        [&] { run_coro(fx.ioc, c.should_worker_terminate("proj/pool", "wg", "wid")); });
    CHECK(e.status() == 401);
    CHECK(e.code() == errc::refused);
    CHECK(results.back().message == "Unauthorized: Bad mac");
}

TEST_CASE("through an HTTP proxy the origin's target, host and port are signed", "[tc][client]") {
    fixture fx;
    std::mutex mu;
    std::vector<http_request> seen;
    std::vector<hawk_auth_result> results;
    http_server proxy([&](const http_request& r) {
        std::lock_guard lock(mu);
        seen.push_back(r);
        // What the origin would see once the proxy forwards the request.
        http_request origin = r;
        const auto scheme_end = r.target.find("://");
        const auto path_start = r.target.find('/', scheme_end + 3);
        origin.target = r.target.substr(path_start);
        results.push_back(hawk_authenticate(origin, false, lookup, real_clock().now()));
        return ok(json::object{});
    });
    env_var proxy_var("HTTP_PROXY", proxy.base_url().c_str());
    env_var no_proxy("NO_PROXY", nullptr);
    env_var no_proxy_lower("no_proxy", nullptr);
    tc::client c(fx.http, "http://tc.example.com:8080",
                 credentials{"tester", "no-secret-but-long", ""});
    run_coro(fx.ioc, c.remove_worker("proj/pool", "wg", "wid"));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "DELETE");
    CHECK(seen[0].target ==
          "http://tc.example.com:8080/api/worker-manager/v1/workers/proj%2Fpool/wg/wid");
    CHECK(seen[0].header("Host") == "tc.example.com:8080");
    REQUIRE(results.size() == 1);
    CHECK(results[0].ok);
    CHECK(results[0].message.empty());
}

TEST_CASE("5xx, 429 and resets are retried until success", "[tc][client]") {
    fixture fx;
    scripted srv({status(500, R"({"code":"InternalServerError","message":"oops"})"),
                  status(429, "slow down"), reset(), ok(json::object{})});
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""},
                 scaled_options());
    run_coro(fx.ioc, c.remove_worker("proj/pool", "wg", "wid"));
    CHECK(srv.count() == 4);
    for (std::size_t i = 0; i < 4; ++i) CHECK(srv.at(i).method == "DELETE");
}

TEST_CASE("other 4xx are 'permanent': fail at once with the service's code and message",
          "[tc][client]") {
    fixture fx;
    scripted srv({status(400, R"({"code":"InputError","message":"Worker pool proj/pool not )"
                              R"(associated\n\n---\n\n* details: more","requestInfo":{}})")});
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""},
                 scaled_options());
    tc::error_report rep{"k", "t", "d", {}};
    const auto e = expect_error<tc::api_error>(
        [&] { run_coro(fx.ioc, c.report_worker_error("proj/pool", "wg", "wid", rep)); });
    CHECK(srv.count() == 1);
    CHECK(e.status() == 400);
    CHECK(e.tc_code() == "InputError");
    CHECK(e.code() == errc::permanent);
    CHECK(is_permanent(e.code()));
    CHECK(!is_refused(e.code()));
    CHECK(!is_retryable(e.code()));
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("Worker pool proj/pool not associated"));
    CHECK_THAT(msg, Catch::Contains(srv.server->base_url() +
                                    "/api/worker-manager/v1/worker-pool-errors/proj%2Fpool"));
    CHECK_THAT(msg, !Catch::Contains("details"));
    CHECK(!e.maybe_delivered());
}

TEST_CASE("401 and 403 are 'refused'", "[tc][client]") {
    for (unsigned s : {401u, 403u}) {
        fixture fx;
        scripted srv(
            {status(s, R"({"code":"AuthenticationFailed","message":"Unauthorized: Bad mac"})")});
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""});
        const auto e =
            expect_error<tc::api_error>([&] { run_coro(fx.ioc, c.get_secret("worker-pool:a/b")); });
        CHECK(e.code() == errc::refused);
        CHECK(e.status() == s);
        CHECK(srv.count() == 1);
    }
}

TEST_CASE("exhausted retries are 'unavailable' and name the URL; non-JSON bodies are summarised",
          "[tc][client]") {
    fixture fx;
    const std::string html = "<html>\n<body>Bad Gateway" + std::string(500, 'x') + "</body></html>";
    scripted srv({status(502, html)});
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""},
                 scaled_options());
    const auto e = expect_error<tc::api_error>(
        [&] { run_coro(fx.ioc, c.should_worker_terminate("proj/pool", "wg", "wid")); });
    CHECK(e.code() == errc::unavailable);
    CHECK(e.status() == 502);
    CHECK(srv.count() == 3);  // shouldWorkerTerminate tries 3 times
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("giving up after 3 attempts"));
    CHECK_THAT(msg, Catch::Contains(srv.server->base_url() + "/api/worker-manager/v1/workers/"));
    CHECK_THAT(msg, Catch::Contains("(non-JSON body) <html> <body>Bad Gateway"));
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.size() < 600);
}

TEST_CASE("reregisterWorker is retried after the service's own 5xx answers", "[tc][client]") {
    // worker-manager rotates the secret as the last step before replying: an error body from
    // the service means the secret is unchanged, so the same request may go out again.
    fixture fx;
    const std::string secret(44, 'q');
    const auto answer = register_answer(real_clock());
    json::object rereg{{"expires", answer.at("expires")},
                       {"credentials", answer.at("credentials")},
                       {"secret", std::string(44, 'n')}};
    scripted srv({status(500, R"({"code":"InternalServerError","message":"boom"})"),
                  status(503, R"({"code":"ProviderSetupFailed","message":"later"})"), ok(rereg)});
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""},
                 scaled_options());
    const auto r = run_coro(fx.ioc, c.reregister_worker("proj/pool", "wg", "wid", secret));
    CHECK(r.secret == std::string(44, 'n'));
    REQUIRE(srv.count() == 3);
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(json::parse(srv.at(i).body).at("secret") == secret.c_str());

    SECTION("exhausted: unavailable, and known not to have been consumed") {
        scripted down({status(500, R"({"code":"InternalServerError","message":"boom"})")});
        tc::client c2(fx.http, down.server->base_url(),
                      credentials{"tester", "no-secret-but-long", ""}, scaled_options());
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c2.reregister_worker("proj/pool", "wg", "wid", secret)); });
        CHECK(down.count() == 6);
        CHECK(e.code() == errc::unavailable);
        CHECK(e.status() == 500);
        CHECK(!e.maybe_delivered());
        CHECK(std::string(e.what()).find(secret) == std::string::npos);
    }
}

TEST_CASE("reregisterWorker is not retried once the request may have been delivered",
          "[tc][client]") {
    fixture fx;
    const std::string secret(44, 'q');
    SECTION("a 5xx that is not the service's answer (a proxy's gateway error)") {
        scripted srv({status(504, "<html>Gateway Timeout</html>"), ok(json::object{})});
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""}, scaled_options());
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.reregister_worker("proj/pool", "wg", "wid", secret)); });
        CHECK(srv.count() == 1);
        CHECK(e.maybe_delivered());
        CHECK(e.status() == 504);
        CHECK_THAT(std::string(e.what()), Catch::Contains("may have been delivered"));
        CHECK(std::string(e.what()).find(secret) == std::string::npos);
    }
    SECTION("connection reset") {
        scripted srv({reset(), ok(json::object{})});
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""}, scaled_options());
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.reregister_worker("proj/pool", "wg", "wid", secret)); });
        CHECK(srv.count() == 1);
        CHECK(e.maybe_delivered());
    }
}

TEST_CASE("registerWorker gives up after 6 attempts (a boot-time call)", "[tc][client]") {
    fixture fx;
    scripted srv({status(500, R"({"code":"InternalServerError","message":"boom"})")});
    tc::client c(fx.http, srv.server->base_url(), std::nullopt, scaled_options());
    const auto e = expect_error<tc::api_error>([&] {
        run_coro(fx.ioc, c.register_worker("proj/pool", "p", "wg", "wid", {}, std::nullopt));
    });
    CHECK(srv.count() == 6);
    CHECK(e.code() == errc::unavailable);
    CHECK_THAT(std::string(e.what()), Catch::Contains("giving up after 6 attempts"));
}

namespace {
/// Each reading is `step` after the previous one: every attempt "takes" that long.
class stepping_clock final : public monotonic_clock {
  public:
    explicit stepping_clock(std::chrono::seconds step) : step_(step) {}
    steady_time_point now() const override { return now_ += step_; }

  private:
    std::chrono::seconds step_;
    mutable steady_time_point now_{};
};
}  // namespace

TEST_CASE("the retry deadline is measured on the injected monotonic clock", "[tc][client]") {
    fixture fx;
    scripted srv({status(500, R"({"code":"InternalServerError","message":"boom"})")});
    // registerWorker's deadline is 60 s: with 61 s between two readings of the clock the
    // client gives up after the first attempt, although hardly any real time passed.
    stepping_clock steady(std::chrono::seconds(61));
    auto opts = scaled_options();
    opts.retry_scale = 1.0;
    opts.steady = &steady;
    tc::client c(fx.http, srv.server->base_url(), std::nullopt, opts);
    const auto e = expect_error<tc::api_error>([&] {
        run_coro(fx.ioc, c.register_worker("proj/pool", "p", "wg", "wid", {}, std::nullopt));
    });
    CHECK(srv.count() == 1);
    CHECK(e.code() == errc::unavailable);
    CHECK(is_retryable(e.code()));
    CHECK_THAT(std::string(e.what()), Catch::Contains("giving up after 1 attempt:"));
}

TEST_CASE("the same seed gives the same backoff delays", "[tc][client]") {
    const tc::retry_policy p;
    seeded_random a(7), b(7), other(8);
    std::vector<long> da, db, dother;
    for (int n = 1; n <= 8; ++n) {
        da.push_back(tc::backoff_delay(n, p, a).count());
        db.push_back(tc::backoff_delay(n, p, b).count());
        dother.push_back(tc::backoff_delay(n, p, other).count());
    }
    CHECK(da == db);
    CHECK(da != dother);
}

TEST_CASE("reregisterWorker is retried after connection refused", "[tc][client]") {
    fixture fx;
    // Find a free port, then leave it closed until the first attempt has failed.
    std::uint16_t port = 0;
    {
        http_server probe([](const http_request&) { return http_response{}; });
        port = probe.port();
    }
    const auto answer = register_answer(real_clock());
    json::object rereg{{"expires", answer.at("expires")},
                       {"credentials", answer.at("credentials")},
                       {"secret", std::string(44, 'n')}};
    std::atomic<int> hits{0};
    std::unique_ptr<http_server> late;
    boost::asio::steady_timer start_later(fx.ioc, std::chrono::milliseconds(50));
    start_later.async_wait([&](auto) {
        late = std::make_unique<http_server>(
            [&](const http_request&) {
                ++hits;
                return ok(rereg);
            },
            port);
    });
    tc::client c(fx.http, "http://127.0.0.1:" + std::to_string(port),
                 credentials{"tester", "no-secret-but-long", ""});
    const auto r =
        run_coro(fx.ioc, c.reregister_worker("proj/pool", "wg", "wid", std::string(44, 'o')));
    CHECK(r.secret == std::string(44, 'n'));
    CHECK(hits == 1);

    // Nothing listening at all: exhausted, and known not to have been delivered.
    late.reset();
    tc::client fast(fx.http, "http://127.0.0.1:" + std::to_string(port),
                    credentials{"tester", "no-secret-but-long", ""}, scaled_options());
    const auto e = expect_error<tc::api_error>([&] {
        run_coro(fx.ioc, fast.reregister_worker("proj/pool", "wg", "wid", std::string(44, 'o')));
    });
    CHECK(e.code() == errc::unavailable);
    CHECK(!e.maybe_delivered());
    CHECK(e.status() == 0);
}

TEST_CASE("secrets: value, 404 -> nullopt, name escaped", "[tc][client]") {
    fixture fx;
    scripted srv({ok(json::object{{"secret", {{"config", {{"a", 1}}}}},
                                  {"expires", "2030-01-01T00:00:00.000Z"}}),
                  status(404, R"({"code":"ResourceNotFound","message":"Secret not found"})")});
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""});
    const auto v = run_coro(fx.ioc, c.get_secret("worker-pool:proj/pool"));
    REQUIRE(v);
    CHECK(v->as_object().at("config").as_object().at("a") == 1);
    CHECK(srv.at(0).target == "/api/secrets/v1/secret/worker-pool%3Aproj%2Fpool");
    const auto missing = run_coro(fx.ioc, c.get_secret("worker-type:proj/pool"));
    CHECK(!missing);
    CHECK(srv.count() == 2);
}

TEST_CASE("malformed responses give clear errors without quoting secrets", "[tc][client]") {
    fixture fx;
    SECTION("not JSON") {
        scripted srv({status(200, "{\"secret\": ")});
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""});
        const auto e = expect_error<tc::api_error>([&] { run_coro(fx.ioc, c.get_secret("x")); });
        CHECK_THAT(std::string(e.what()), Catch::Contains("malformed JSON"));
        CHECK(e.code() == errc::unavailable);
    }
    SECTION("missing fields") {
        scripted srv({ok(json::object{{"expires", "2030-01-01T00:00:00Z"}, {"secret", "s"}})});
        tc::client c(fx.http, srv.server->base_url(), std::nullopt);
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.register_worker("a/b", "p", "g", "i", {}, std::nullopt)); });
        CHECK_THAT(std::string(e.what()), Catch::Contains("missing field credentials"));
    }
    SECTION("bad types") {
        scripted srv({ok(json::object{{"expires", "tomorrow"},
                                      {"credentials", {{"clientId", "c"}, {"accessToken", "t"}}},
                                      {"secret", "s"}})});
        tc::client c(fx.http, srv.server->base_url(), std::nullopt);
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.register_worker("a/b", "p", "g", "i", {}, std::nullopt)); });
        CHECK_THAT(std::string(e.what()), Catch::Contains("expires"));
    }
    SECTION("an error message echoing a secret is scrubbed") {
        const std::string proof_secret = "static-secret-value-0123456789";
        scripted srv(
            {status(400, R"({"code":"InputError","message":"bad )" + proof_secret + R"("})")});
        tc::client c(fx.http, srv.server->base_url(), std::nullopt);
        const auto e = expect_error<tc::api_error>([&] {
            run_coro(fx.ioc,
                     c.register_worker("a/b", "p", "g", "i",
                                       json::object{{"staticSecret", proof_secret}}, std::nullopt));
        });
        CHECK(std::string(e.what()).find(proof_secret) == std::string::npos);
        CHECK_THAT(std::string(e.what()), Catch::Contains("<redacted>"));
        CHECK(e.code() == errc::permanent);
    }
}

TEST_CASE("reportWorkerError: body shape, truncation and kind sanitising", "[tc][client]") {
    fixture fx;
    scripted srv({ok(json::object{})});
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""});
    tc::error_report rep;
    rep.kind = "Bad Kind!";
    std::string title;
    for (int i = 0; i < 100; ++i) title += "\xc3\xa9";  // 100 two-byte characters
    title += std::string(100, 't');
    rep.title = title;
    rep.description = std::string(20000, 'd');
    rep.extra = json::object{{"n", 1}};
    run_coro(fx.ioc, c.report_worker_error("proj/pool", "wg", "wid", rep));
    const auto req = srv.at(0);
    CHECK(req.method == "POST");
    CHECK(req.target == "/api/worker-manager/v1/worker-pool-errors/proj%2Fpool");
    const auto body = json::parse(req.body).as_object();
    CHECK(body.at("workerGroup") == "wg");
    CHECK(body.at("workerId") == "wid");
    CHECK(body.at("kind") == "bad-kind-");
    const std::string t(body.at("title").as_string());
    CHECK(t.size() == 200 + 28);  // 100 x 2 bytes + 28 ASCII = 128 characters
    CHECK(body.at("description").as_string().size() == 10240);
    CHECK(body.at("extra").as_object().at("n") == 1);

    rep.kind = "";
    run_coro(fx.ioc, c.report_worker_error("proj/pool", "wg", "wid", rep));
    CHECK(json::parse(srv.at(1).body).as_object().at("kind") == "worker-error");
}

TEST_CASE("TLS verification failure is 'refused', names the URL and is not retried",
          "[tc][client]") {
    temp_dir dir;
    const auto files = make_test_certificates(dir.path().string());
    fixture fx;
    scripted srv({ok(json::object{})}, &files);
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""},
                 scaled_options());
    const auto e = expect_error<tc::api_error>([&] { run_coro(fx.ioc, c.get_secret("x")); });
    CHECK(e.code() == errc::refused);
    CHECK_THAT(std::string(e.what()), Catch::Contains(srv.server->base_url()));
    CHECK(srv.count() == 0);
}

TEST_CASE("a private CA given in SSL_CERT_FILE is trusted", "[tc][client]") {
    temp_dir dir;
    const auto files = make_test_certificates(dir.path().string());
    scripted srv({ok(json::object{{"secret", {{"a", 1}}}})}, &files);
    env_var ca_file("SSL_CERT_FILE", dir.file("ca.pem").c_str());
    fixture fx;  // the TLS context is created on first use, after the variable is set
    tc::client c(fx.http, srv.server->base_url(), credentials{"tester", "no-secret-but-long", ""});
    const auto v = run_coro(fx.ioc, c.get_secret("x"));
    REQUIRE(v);
    CHECK(v->as_object().at("a") == 1);
    // Signed for the default https port when the URL names it.
    const auto req = srv.at(0);
    CHECK(hawk_authenticate(req, true, lookup, real_clock().now()).ok);
}

// Issue 14, fault list: 429 (and 503) with Retry-After. The wait asked for is honoured, scaled
// like every delay (1/100 here), and capped at the policy's longest wait (30 s, here 300 ms).
TEST_CASE("Retry-After on 429 and 503 is honoured and capped", "[tc][client][faults]") {
    using namespace std::chrono_literals;
    const auto timed_remove = [](scripted& srv, const tc::client_options& o) {
        fixture fx;
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""}, o);
        const auto t0 = std::chrono::steady_clock::now();
        run_coro(fx.ioc, c.remove_worker("proj/pool", "wg", "wid"));
        return std::chrono::steady_clock::now() - t0;
    };
    SECTION("delay-seconds: the retry comes no sooner than asked") {
        auto slow = status(429, R"({"code":"TooManyRequests","message":"slow down"})");
        slow.headers.emplace_back("Retry-After", "25");  // 250 ms at 1/100; backoff alone: ~2 ms
        scripted srv({slow, ok(json::object{})});
        const auto waited = timed_remove(srv, scaled_options());
        CHECK(srv.count() == 2);
        CHECK(waited >= 250ms);
    }
    SECTION("an HTTP-date on a 503, read against the injected wall clock") {
        sw::time_point server_now;
        REQUIRE(providers::parse::parse_rfc1123("Sun, 06 Nov 1994 08:49:37 GMT", server_now));
        manual_clock clk(server_now);
        auto busy = status(503, R"({"code":"ServiceUnavailable","message":"busy"})");
        busy.headers.emplace_back("Retry-After", "Sun, 06 Nov 1994 08:50:02 GMT");  // +25 s
        scripted srv({busy, ok(json::object{})});
        auto o = scaled_options();
        o.wall = &clk;
        const auto waited = timed_remove(srv, o);
        CHECK(srv.count() == 2);
        CHECK(waited >= 250ms);
    }
    SECTION("a day: capped, the call still succeeds") {
        auto slow = status(429, R"({"code":"TooManyRequests","message":"slow down"})");
        slow.headers.emplace_back("Retry-After", "86400");  // 864 s at 1/100; the cap: 300 ms
        scripted srv({slow, ok(json::object{})});
        const auto waited = timed_remove(srv, scaled_options());
        CHECK(srv.count() == 2);
        CHECK(waited >= 300ms);
        CHECK(waited < 60s);
    }
    SECTION("when the wait would pass the deadline, the call gives up naming Retry-After") {
        auto slow = status(429, R"({"code":"TooManyRequests","message":"slow down"})");
        slow.headers.emplace_back("Retry-After", "86400");
        scripted srv({slow});
        auto o = scaled_options();
        fixture fx;
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""}, o);
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.remove_worker("proj/pool", "wg", "wid")); });
        CHECK(e.code() == errc::unavailable);
        CHECK_THAT(std::string(e.what()), Catch::Contains("Retry-After 86400 s"));
        CHECK(srv.count() >= 2);
    }
}

// Issue 14, fault list: a 401 "stale timestamp" from a clock 20 minutes off says to fix the
// clock, with the offset measured against the server's Date.
TEST_CASE("401 stale timestamp: the message says to fix the clock", "[tc][client][faults]") {
    sw::time_point server_now;
    REQUIRE(providers::parse::parse_rfc1123("Mon, 30 Nov 2026 04:00:00 GMT", server_now));
    for (const bool ahead : {true, false}) {
        CAPTURE(ahead);
        manual_clock clk(ahead ? server_now + std::chrono::minutes(20)
                               : server_now - std::chrono::minutes(20));
        auto stale = status(401, R"({"code":"AuthenticationFailed","message":"Unauthorized: )"
                                 R"(Stale timestamp\n\n---\n\n* method: x"})");
        stale.headers.emplace_back("Date", "Mon, 30 Nov 2026 04:00:00 GMT");
        stale.headers.emplace_back("WWW-Authenticate",
                                   R"(Hawk ts="1796011200", tsm="x", error="Stale timestamp")");
        scripted srv({stale});
        auto o = scaled_options();
        o.wall = &clk;
        fixture fx;
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""}, o);
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.remove_worker("proj/pool", "wg", "wid")); });
        CHECK(srv.count() == 1);  // not retried: the clock does not fix itself
        CHECK(e.code() == errc::refused);
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains(ahead ? "1200 s ahead of Taskcluster's"
                                              : "1200 s behind Taskcluster's"));
        CHECK_THAT(msg, Catch::Contains("fix the clock"));
    }
    SECTION("other 401s get no clock advice") {
        scripted srv({status(401, R"({"code":"AuthenticationFailed","message":"Bad mac"})")});
        fixture fx;
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""}, scaled_options());
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.remove_worker("proj/pool", "wg", "wid")); });
        CHECK_THAT(std::string(e.what()), !Catch::Contains("clock"));
    }
}

// Issue 14, fault list: wrong content types. A response is judged by its body, not by what its
// Content-Type says: JSON labelled text/html is read; an HTML page labelled application/json is
// a clear error naming the call and the URL, never quoting the body.
TEST_CASE("wrong content types: the body decides", "[tc][client][faults]") {
    fixture fx;
    SECTION("JSON labelled text/html") {
        auto r = ok(json::object{{"terminate", true}, {"reason", "scaled down"}});
        r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
        scripted srv({r});
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""});
        const auto res = run_coro(fx.ioc, c.should_worker_terminate("proj/pool", "wg", "wid"));
        CHECK(res.terminate);
        CHECK(res.reason == "scaled down");
    }
    SECTION("an HTML page labelled application/json") {
        auto r = status(200, "<html><body>captive portal: no-secret-but-long</body></html>");
        r.headers.emplace_back("Content-Type", "application/json");
        scripted srv({r});
        tc::client c(fx.http, srv.server->base_url(),
                     credentials{"tester", "no-secret-but-long", ""});
        const auto e = expect_error<tc::api_error>(
            [&] { run_coro(fx.ioc, c.should_worker_terminate("proj/pool", "wg", "wid")); });
        const std::string msg = e.what();
        CHECK(e.code() == errc::unavailable);
        CHECK_THAT(msg, Catch::Contains("shouldWorkerTerminate"));
        CHECK_THAT(msg, Catch::Contains("malformed JSON"));
        CHECK_THAT(msg, Catch::Contains(srv.server->base_url()));
        CHECK_THAT(msg, !Catch::Contains("captive portal"));
        CHECK_THAT(msg, !Catch::Contains("no-secret-but-long"));
    }
}
