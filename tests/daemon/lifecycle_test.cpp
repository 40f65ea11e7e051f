// End to end: the worker's life with the static provider against the Taskcluster stand-in and
// the fake worker: credential renewal, stop checks, stop signals, the worker's shutdown message,
// a worker that never says hello, a log flood and the worker's messages.
#include "lib/tc/hawk.hpp"
#include "tests/daemon/e2e_checks.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>

using namespace sw::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string with_faults(std::string config_json, const std::string& faults_json) {
    auto o = json::parse(config_json).as_object();
    o["faults"] = json::parse(faults_json);
    return json::serialize(o);
}

/// Stand-in config: the harness default plus a worker-pool secret with `deploymentId`.
std::string with_deployment(const std::string& id) {
    auto o = json::parse(harness::default_standin_config()).as_object();
    o["secrets"] =
        json::object{{"worker-pool:proj/pool", json::object{{"config", {{"deploymentId", id}}}}}};
    return json::serialize(o);
}

std::vector<json::object> graceful_messages(const harness& h) {
    return h.worker_events("received", "graceful-termination");
}

bool finish_tasks(const json::object& received) {
    return received.at("message").at("finish-tasks").as_bool();
}

/// Waits until the fake worker has started and sent hello.
bool worker_ready(const harness& h, std::chrono::milliseconds timeout = 20s) {
    return eventually([&] { return !h.worker_events("sent", "hello").empty(); }, timeout);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// Sends SIGTERM to start-worker, checks its exit code; returns how many seconds the stop took.
double stop_with_sigterm(background_process& p, int expected_code) {
    const auto sent = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    CHECK(p.wait(15s) == expected_code);
    return seconds_since(sent);
}

/// The worker got no graceful-termination and exactly one SIGTERM (`ignored` by it or not).
void check_sigterm_only(const harness& h, bool ignored) {
    CHECK(graceful_messages(h).empty());
    const auto signals = h.worker_events("signal");
    REQUIRE(signals.size() == 1);
    CHECK(signals[0].at("signal") == "SIGTERM");
    CHECK(signals[0].at("ignored") == ignored);
}

}  // namespace

TEST_CASE("renewal delivers exactly the new credentials before expiry, surviving two 500s",
          "[e2e][lifecycle]") {
    harness h;
    // 36 s credentials: renewal is due 30 s before expiry, i.e. ~6 s after registration.
    h.start_standin(with_faults(harness::default_standin_config(36),
                                R"([{"path": "worker/reregister", "status": 500, "count": 2}])"));
    const auto cfg = h.write_config(h.static_config("lifecycle:\n  killTimeout: 5\n"));
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "wait-credentials;exit:0"}}, 60s);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);

    // The first credentials, as the worker got them in its config file at start.
    const auto configs = h.worker_events("config");
    REQUIRE(configs.size() == 1);
    const auto& first = configs[0].at("config").as_object();
    const auto first_cert = json::parse(first.at("certificate").as_string()).as_object();
    const long long first_expiry = first_cert.at("expiry").to_number<long long>();

    // Two 500s, then success with the first credentials and the same secret (the stand-in
    // refuses any other: a 500 answer left it unrotated).
    const auto rereg = h.requests("/worker/reregister", "POST");
    REQUIRE(rereg.size() == 3);
    CHECK(rereg[0].at("status") == 500);
    CHECK(rereg[1].at("status") == 500);
    CHECK(rereg[2].at("status") == 200);
    CHECK(rereg[2].at("clientId") == first.at("clientId"));
    // Quickly: retried by the client within a second or so, not at the next renewal attempt.
    sw::time_point first_try, success;
    REQUIRE(sw::parse_rfc3339(std::string(rereg[0].at("time").as_string()), first_try));
    REQUIRE(sw::parse_rfc3339(std::string(rereg[2].at("time").as_string()), success));
    CHECK(success - first_try < 3s);

    // Exactly one new-credentials, before the first credentials expired.
    const auto creds = h.worker_events("received", "new-credentials");
    REQUIRE(creds.size() == 1);
    CHECK(t_of(creds[0]) < first_expiry);
    const auto& m = creds[0].at("message").as_object();
    CHECK(m.at("client-id") == first.at("clientId"));
    CHECK(m.at("access-token") != first.at("accessToken"));
    CHECK(m.at("certificate") != first.at("certificate"));

    // They are what the stand-in issued on the successful reregister: a certificate signed by
    // the stand-in's issuer for this worker, expiring a full lifetime after that call, and the
    // access token derived from its seed.
    const auto cert = json::parse(m.at("certificate").as_string()).as_object();
    const std::string issuer_token = h.standin->issuer_access_token();
    CHECK(m.at("access-token") ==
          sw::tc::temp_access_token(issuer_token, cert.at("seed").as_string()).c_str());
    std::vector<std::string> scopes;
    for (const auto& s : cert.at("scopes").as_array()) scopes.emplace_back(s.as_string());
    const auto sig_string = sw::tc::certificate_signature_string(
        std::string(m.at("client-id").as_string()), std::string(cert.at("issuer").as_string()),
        std::string(cert.at("seed").as_string()), cert.at("start").to_number<std::int64_t>(),
        cert.at("expiry").to_number<std::int64_t>(), scopes);
    CHECK(cert.at("signature") == sw::tc::certificate_signature(issuer_token, sig_string).c_str());
    const auto renewed_expiry = cert.at("expiry").to_number<long long>();
    CHECK(renewed_expiry > first_expiry);
    // The successful reregister's time (RFC 3339, ms) + 36 s is the new expiry.
    const std::string when(rereg[2].at("time").as_string());
    sw::time_point rereg_at;
    REQUIRE(sw::parse_rfc3339(when, rereg_at));
    const auto rereg_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(rereg_at.time_since_epoch()).count();
    CHECK(std::abs(renewed_expiry - rereg_ms - 36'000) <= 1);
    CHECK(rereg_ms < first_expiry);

    // The worker config file on disk was rewritten with the same new credentials.
    const auto rewritten = json::parse(h.dir.read("worker-config.json")).as_object();
    CHECK(rewritten.at("accessToken") == m.at("access-token"));
    CHECK(rewritten.at("certificate") == m.at("certificate"));
    CHECK(harness::mode_of(h.dir.file("worker-config.json")) == 0600);
    check_no_secrets(h, r.err);
}

TEST_CASE("stop checks: shouldWorkerTerminate or a deploymentId change -> finish-tasks true",
          "[e2e][lifecycle]") {
    harness h;
    std::function<void()> change;
    std::string expected_log;
    SECTION("worker-manager says terminate") {
        h.start_standin();
        change = [&] {
            h.standin->set_should_terminate("proj/pool/wg/wid", true, "pool is being replaced");
        };
        expected_log = "pool is being replaced";
        REQUIRE(h.standin);
    }
    SECTION("the worker-pool secret's deploymentId changes") {
        h.start_standin(with_deployment("deploy-1"));
        change = [&] {
            h.standin->set_secret("worker-pool:proj/pool",
                                  json::object{{"config", {{"deploymentId", "deploy-2"}}}});
        };
        expected_log = "deploymentId changed";
        REQUIRE(h.standin);
    }
    const auto cfg = h.write_config(h.static_config("lifecycle:\n  stopCheckInterval: 1\n"));
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful"}});
    REQUIRE(worker_ready(h));
    // Checks run (both questions each time) and, while nothing changed, nothing happens.
    REQUIRE(eventually(
        [&] {
            return h.requests("/should-terminate", "GET").size() >= 2 &&
                   h.requests("worker-pool%3Aproj%2Fpool", "GET").size() >= 3;
        },
        10s));
    CHECK(graceful_messages(h).empty());

    const auto set_at = now_ms();
    change();
    REQUIRE(eventually([&] { return !graceful_messages(h).empty(); }, 5s));
    const auto g = graceful_messages(h);
    REQUIRE(g.size() == 1);
    CHECK(finish_tasks(g[0]));
    CHECK(t_of(g[0]) - set_at <= 2500);  // within one interval (1 s) and the check's own time
    CHECK(p->wait(10s) == 0);
    const auto err = h.dir.read("stderr.log");
    CHECK_THAT(err, Catch::Contains(expected_log));
    check_no_secrets(h, err);
}

TEST_CASE("stop checks: failures are logged and not fatal", "[e2e][lifecycle]") {
    harness h;
    // Two whole checks fail (each tries 3 times), then worker-manager answers again.
    h.start_standin(with_faults(harness::default_standin_config(),
                                R"([{"path": "should-terminate", "status": 500, "count": 6}])"));
    const auto cfg = h.write_config(h.static_config("lifecycle:\n  stopCheckInterval: 1\n"));
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful"}});
    REQUIRE(worker_ready(h));
    auto answered = [&] {
        for (const auto& q : h.requests("/should-terminate", "GET"))
            if (q.at("status") == 200) return true;
        return false;
    };
    REQUIRE(eventually(answered, 20s));
    CHECK(p->running());
    CHECK(graceful_messages(h).empty());
    const auto err = h.dir.read("stderr.log");
    CHECK_THAT(err, Catch::Contains("Stop check failed"));

    // Still checking: a later "terminate" is acted on.
    h.standin->set_should_terminate("proj/pool/wg/wid", true, "now");
    REQUIRE(eventually([&] { return !graceful_messages(h).empty(); }, 5s));
    CHECK(finish_tasks(graceful_messages(h)[0]));
    CHECK(p->wait(10s) == 0);
    check_no_secrets(h, h.dir.read("stderr.log"));
}

TEST_CASE("SIGTERM twice: finish-tasks true, then false, then the kill", "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(
        h.static_config("lifecycle:\n  gracefulStopTimeout: 60\n  killTimeout: 2\n"));
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "ignore-graceful;sleep:60000"}});
    REQUIRE(worker_ready(h));
    p->signal(SIGTERM);
    REQUIRE(eventually([&] { return graceful_messages(h).size() == 1; }, 5s));
    CHECK(finish_tasks(graceful_messages(h)[0]));
    p->signal(SIGTERM);
    const auto second = std::chrono::steady_clock::now();
    REQUIRE(eventually([&] { return graceful_messages(h).size() == 2; }, 5s));
    CHECK_FALSE(finish_tasks(graceful_messages(h)[1]));
    // The worker ignores both; it is killed killTimeout after finish-tasks false.
    CHECK(p->wait(10s) == 1);
    const double took = seconds_since(second);
    CHECK(took >= 1.5);
    CHECK(took <= 5.0);
    const auto err = h.dir.read("stderr.log");
    CHECK_THAT(err, Catch::Contains("Killing the worker"));
    check_no_secrets(h, err);
}

TEST_CASE("a worker that ignores the graceful stop is killed on time", "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg =
        h.write_config(h.static_config("lifecycle:\n  gracefulStopTimeout: 2\n  killTimeout: 2\n"));
    SECTION("graceful-termination true and false ignored") {
        auto p =
            h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "ignore-term;ignore-graceful;sleep:60000"}});
        REQUIRE(worker_ready(h));
        const double took = stop_with_sigterm(*p, 1);
        // true at once, false after gracefulStopTimeout, SIGKILL killTimeout later.
        CHECK(took >= 3.5);
        CHECK(took <= 7.0);
        const auto g = graceful_messages(h);
        REQUIRE(g.size() == 2);
        CHECK(finish_tasks(g[0]));
        CHECK_FALSE(finish_tasks(g[1]));
        const auto gap = t_of(g[1]) - t_of(g[0]);
        CHECK(gap >= 1500);
        CHECK(gap <= 3500);
        check_no_secrets(h, h.dir.read("stderr.log"));
    }
    SECTION("no graceful capability: SIGTERM ignored, then SIGKILL") {
        auto p = h.start({cfg}, {{"FAKE_WORKER_CAPS", "log"},
                                 {"FAKE_WORKER_SCRIPT", "ignore-term;sleep:60000"}});
        REQUIRE(worker_ready(h));
        const double took = stop_with_sigterm(*p, 1);
        CHECK(took >= 1.5);
        CHECK(took <= 5.0);
        check_sigterm_only(h, true);
        check_no_secrets(h, h.dir.read("stderr.log"));
    }
}

TEST_CASE("SIGTERM and a worker that exits cleanly after finish-tasks true: exit 0",
          "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg =
        h.write_config(h.static_config("lifecycle:\n  gracefulStopTimeout: 2\n  killTimeout: 2\n"));
    auto p = h.start({cfg});
    REQUIRE(worker_ready(h));
    stop_with_sigterm(*p, 0);
    const auto g = graceful_messages(h);
    REQUIRE(g.size() == 1);
    CHECK(finish_tasks(g[0]));
    const auto exits = h.worker_events("exit");
    REQUIRE(exits.size() == 1);
    CHECK(exits[0].at("reason") == "graceful-termination");
    check_no_secrets(h, h.dir.read("stderr.log"));
}

TEST_CASE("the worker's shutdown message on static: exit 4 once the worker exits",
          "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    // Not --once: a static provider never shuts the host down, whatever the mode.
    auto r = h.run({cfg}, {{"FAKE_WORKER_SCRIPT", "shutdown;sleep:300;exit:0"}}, 60s);
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("Worker requested a shutdown"));
    CHECK_THAT(r.err, Catch::Contains("does not perform"));
    CHECK(h.requests("/workers/", "DELETE").empty());  // no removeWorker on static
    check_no_secrets(h, r.err);
}

TEST_CASE("a worker that never says hello does not stall a SIGTERM stop", "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg =
        h.write_config(h.static_config("lifecycle:\n  gracefulStopTimeout: 2\n  killTimeout: 2\n"));
    auto p = h.start({cfg}, {{"FAKE_WORKER_NO_HELLO", "1"}});
    REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 20s));
    // Capabilities unknown: no protocol message; after gracefulStopTimeout the worker gets
    // SIGTERM (and dies of it: a non-zero exit), long before the 30 s hello timeout.
    const double took = stop_with_sigterm(*p, 1);
    CHECK(took >= 1.5);
    CHECK(took <= 5.0);
    check_sigterm_only(h, false);
    const auto err = h.dir.read("stderr.log");
    CHECK_THAT(err, Catch::Contains("Sending SIGTERM to the worker"));
    check_no_secrets(h, err);
}

TEST_CASE("a log flood does not block the worker, and a SIGTERM right after still stops it",
          "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg =
        h.write_config(h.static_config("lifecycle:\n  gracefulStopTimeout: 2\n  killTimeout: 2\n"));
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "flood:20000;log:flood-done"}});
    auto step = [&](const std::string& name) -> std::optional<json::object> {
        for (const auto& s : h.worker_events("step"))
            if (s.at("step") == name.c_str()) return s;
        return std::nullopt;
    };
    REQUIRE(eventually([&] { return step("log:flood-done").has_value(); }, 30s));
    CHECK(stop_with_sigterm(*p, 0) <= 4.0);
    // 20000 lines (~0.7 MB) went through a 64 KiB pipe: the runner kept reading.
    CHECK(t_of(*step("log:flood-done")) - t_of(*step("flood:20000")) < 10'000);
    const auto err = h.dir.read("stderr.log");
    CHECK_THAT(err, Catch::Contains("flood 1/20000"));
    check_no_secrets(h, err);
}

TEST_CASE("worker messages: error-report validation, messages before hello, unknown types",
          "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    // Everything before hello; the worker exits right after (no wait for the report).
    const std::string script =
        R"(raw:~{"type":"error-report","kind":"worker-error","description":"no title"};)"
        R"(error-report:worker-error:a valid report;)"
        R"(raw:~{"type":"frobnicate","x":1};)"
        R"(log:said before hello;hello;exit:0)";
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_NO_HELLO", "1"}, {"FAKE_WORKER_SCRIPT", script}},
                   60s);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    const auto reports = h.standin->error_reports();
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].at("title") == "a valid report");
    CHECK(reports[0].at("kind") == "worker-error");
    CHECK(reports[0].at("extra").at("source") == "fake-worker");
    CHECK_THAT(r.err, Catch::Contains("Error processing error-report message"));
    CHECK_THAT(r.err, Catch::Contains("frobnicate"));
    CHECK_THAT(r.err, Catch::Contains("said before hello"));
    check_no_secrets(h, r.err);
}

TEST_CASE("short-lived credentials are renewed before any stop (issue 9.1)", "[e2e][lifecycle]") {
    // The Go rule (reference 11.0): renew 30 min before expiry, at least 5 min after now, but
    // no later than 30 s before expiry: 8 s -> at once, 40 s -> after 10 s, 60 s -> after 30 s.
    struct lifetime_case {
        int seconds;
        double earliest, latest;  ///< first reregister, seconds after registerWorker
    };
    for (const auto& lc :
         {lifetime_case{8, 0, 6}, lifetime_case{40, 8, 20}, lifetime_case{60, 27, 40}}) {
        DYNAMIC_SECTION("credentials for " << lc.seconds << " s") {
            harness h;
            h.start_standin(harness::default_standin_config(lc.seconds));
            // Default lifecycle (killTimeout 30): the worker exits once it has new credentials.
            const auto cfg = h.write_config(h.static_config());
            auto r =
                h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "wait-credentials;exit:0"}}, 90s);
            INFO(r.err);
            CHECK(r.exit_code == 0);
            const auto registered = h.requests("/worker/register", "POST");
            const auto renewals = h.requests("/worker/reregister", "POST");
            REQUIRE(registered.size() == 1);
            REQUIRE_FALSE(renewals.empty());
            CHECK(renewals[0].at("status") == 200);
            const double after =
                static_cast<double>(t_of(renewals[0]) - t_of(registered[0])) / 1000.0;
            CHECK(after >= lc.earliest);
            CHECK(after <= lc.latest);
            // Never stopped: no graceful-termination, no signal; the renewed credentials
            // reached the worker, after its hello.
            CHECK(graceful_messages(h).empty());
            CHECK(h.worker_events("signal").empty());
            const auto creds = h.worker_events("received", "new-credentials");
            REQUIRE_FALSE(creds.empty());
            const auto hello = h.worker_events("sent", "hello");
            REQUIRE(hello.size() == 1);
            CHECK(t_of(creds[0]) >= t_of(hello[0]));
            check_no_secrets(h, r.err);
        }
    }
}

TEST_CASE("welcome offers autologin only when an autologin section is configured (issue 9.6)",
          "[e2e][lifecycle]") {
    harness h;
    h.start_standin();
    // The fake worker stays a moment so it reads the welcome before it exits.
    auto offered = [&]() -> std::vector<std::string> {
        const auto welcome = h.worker_events("received", "welcome");
        REQUIRE(welcome.size() == 1);
        std::vector<std::string> caps;
        for (const auto& c : welcome[0].at("message").at("capabilities").as_array())
            caps.emplace_back(c.as_string());
        std::sort(caps.begin(), caps.end());
        return caps;
    };
    const std::vector<std::string> go_runner{"error-report", "graceful-termination", "log",
                                             "new-credentials", "shutdown"};
    SECTION("without an autologin section: the Go runner's five") {
        const auto cfg = h.write_config(h.static_config());
        auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "sleep:1000;exit:0"}}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(offered() == go_runner);
    }
    SECTION("with one: autologin too") {
        const auto cfg = h.write_config(h.static_config("autologin:\n  username: tester\n"));
        auto r = h.run(
            {"--once", cfg},
            {{"FAKE_WORKER_SCRIPT", "sleep:1000;exit:0"}, {"START_WORKER_TEST_ROOT", h.dir.path()}},
            60s);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        auto expected = go_runner;
        expected.insert(expected.begin(), "autologin");
        CHECK(offered() == expected);
    }
}
