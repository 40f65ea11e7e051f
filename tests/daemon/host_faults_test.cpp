// Issue 14, the fault list: a worker that never reads its stdin, metadata services that answer
// 429, and a state directory that is full or read-only, against the real binary.
#include "tests/daemon/harness.hpp"

#include <algorithm>
#include <csignal>
#include <thread>

using namespace sw::test;
using namespace std::chrono_literals;

namespace {

/// The stand-in config with credentials that live `lifetimes` seconds, the n-th issue (register
/// or reregister) using the n-th entry, the last repeating.
std::string standin_with_lifetimes(const std::string& lifetimes) {
    return R"({"providers": {"static-prov": {"type": "static", "workers": {"wg/wid":
               {"staticSecret": ")" +
           std::string(static_secret) + R"("}}}},
             "workerPools": {"proj/pool": {"credentialLifetimeSeconds": )" +
           lifetimes + R"(,
               "workerConfig": {"genericWorker": {"config": {"fromWM": true}}}}}})";
}

}  // namespace

// Fault list, the worker: it never reads its stdin. Its pipe is shrunk to one page and filled
// before anything else arrives, so every message the runner writes waits. The runner does not
// block: credentials are renewed (worker config rewritten) every 0.75 s, /healthz answers, the
// outgoing queue stays bounded (a newer new-credentials or graceful-termination replaces an
// unsent one), and a stop still ends the worker: graceful-termination cannot be read, so it is
// killed gracefulStopTimeout + killTimeout later and the runner exits 1 (the worker did not
// exit cleanly after the stop request, CONTRACT.md).
TEST_CASE("a worker that never reads its stdin does not block the runner",
          "[e2e][faults][worker][stdin]") {
    harness h;
    h.start_standin(standin_with_lifetimes("3"));  // renewed every 0.75 s
    const auto port = free_port();
    const auto cfg = h.write_config(h.static_config(
        "health:\n  listen: 127.0.0.1:" + std::to_string(port) +
        "\nlifecycle:\n  stopCheckInterval: 0\n  gracefulStopTimeout: 1\n  killTimeout: 1\n"));
    auto p = h.start({cfg}, memory_test_env({{"FAKE_WORKER_STDIN", "stalled"}}));
    REQUIRE(eventually([&] { return !h.worker_events("stdin-stalled").empty(); }, 30s));
    const auto stalled = h.worker_events("stdin-stalled").at(0);
    INFO(boost::json::serialize(stalled));
    REQUIRE(stalled.at("pipe_size") == 4096);
    REQUIRE(stalled.at("filled").to_number<long long>() > 3000);
    REQUIRE(eventually([&] { return h.requests("/worker/reregister", "POST").size() >= 1; }, 30s));
    const auto before = usage_of(p->pid());
    const auto first_config = h.dir.read("worker-config.json");

    // Renewals go on while nothing the runner writes is read.
    long peak = before.peak_kib;
    const auto renewals_then = h.requests("/worker/reregister", "POST").size();
    const bool renewed = eventually(
        [&] {
            peak = std::max(peak, usage_of(p->pid()).peak_kib);
            return h.requests("/worker/reregister", "POST").size() >= renewals_then + 4;
        },
        30s);
    INFO(h.dir.read("stderr.log"));
    REQUIRE(renewed);
    CHECK(h.dir.read("worker-config.json") != first_config);  // rewritten with new credentials
    CHECK(http_get(port, "/healthz") == "200 ok\n");
    CHECK(h.worker_events("received").empty());  // it really read nothing
    CHECK_THAT(h.dir.read("stderr.log"), Catch::Contains("it will get only the newest one"));
    peak = std::max(peak, usage_of(p->pid()).peak_kib);
    INFO("RSS before " << before.rss_kib << " KiB, peak " << peak << " KiB");
    CHECK(peak < memory_bound_kib(before, 64 * 1024));

    // The stop: graceful-termination is queued behind the stuck write; the kill follows.
    const auto stop_at = std::chrono::steady_clock::now();
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 1);
    const auto took = std::chrono::steady_clock::now() - stop_at;
    CHECK(took < 10s);  // gracefulStopTimeout 1 s + killTimeout 1 s, and slack for a loaded box
    const auto log = h.dir.read("stderr.log");
    CHECK_THAT(log, Catch::Contains("Killing the worker"));
    CHECK_THAT(log, Catch::Contains("Worker exited with code 137"));
    CHECK_THAT(log, !Catch::Contains("did not end after cancellation"));
}

// The same worker reads its stdin again after four renewals. It gets the message that was being
// written when its pipe filled (welcome, or the first new credentials if welcome got in before
// the pipe was filled), then only the newest credentials: the ones in between were replaced.
// What it gets last are the credentials in the rewritten worker config.
TEST_CASE("a worker that reads its stdin late gets only the newest credentials",
          "[e2e][faults][worker][stdin]") {
    harness h;
    // Registration and three renewals with 3 s credentials (renewed every 0.75 s), then 96 h.
    h.start_standin(standin_with_lifetimes("[3, 3, 3, 3, 345600]"));
    const auto cfg = h.write_config(h.static_config("lifecycle:\n  stopCheckInterval: 0\n"));
    const auto go = h.dir.file("go");
    auto p = h.start({cfg}, {{"FAKE_WORKER_STDIN", "stalled"},
                             {"FAKE_WORKER_SCRIPT", "wait-file:" + go + ";read-stdin"}});
    REQUIRE(eventually([&] { return h.requests("/worker/reregister", "POST").size() >= 4; }, 30s));
    // The fourth renewal's credentials reach the worker config (the last write of the run).
    std::this_thread::sleep_for(500ms);
    CHECK(h.worker_events("received").empty());
    const auto config = boost::json::parse(h.dir.read("worker-config.json"));
    h.dir.write("go", "");
    INFO(h.dir.read("stderr.log"));
    REQUIRE(
        eventually([&] { return !h.worker_events("received", "new-credentials").empty(); }, 30s));
    std::this_thread::sleep_for(500ms);  // anything else queued would have arrived by now
    const auto creds = h.worker_events("received", "new-credentials");
    INFO(h.dir.read("stderr.log"));
    CHECK(h.requests("/worker/reregister", "POST").size() == 4);
    // At most the one being written when the pipe filled, then the newest: of the four, the
    // others were replaced.
    REQUIRE((creds.size() == 1 || creds.size() == 2));
    CHECK(h.worker_events("received", "welcome").size() == 1);
    const auto& newest = creds.back().at("message").as_object();
    const auto& gw = config.as_object();
    INFO(boost::json::serialize(gw));
    CHECK(newest.at("access-token") == gw.at("accessToken"));
    CHECK(newest.at("certificate") == gw.at("certificate"));
    if (creds.size() == 2)
        CHECK(creds.front().at("message").at("certificate") != newest.at("certificate"));
    CHECK_THAT(h.dir.read("stderr.log"),
               Catch::Contains("meanwhile " + std::to_string(4 - creds.size()) +
                               " message(s) were replaced by newer ones and 0 dropped"));
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 0);
}
