// Issue 14: faults the runner must survive, against the real binary (reliability helper's file;
// the other integration tests belong to the daemon's owners).
#include "tests/daemon/harness.hpp"

#include <algorithm>
#include <csignal>
#include <optional>
#include <thread>

using namespace sw::test;
using namespace std::chrono_literals;

// Item 10 (decided): SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM used to kill the runner (their default
// action) and leave the worker running unsupervised. They are logged and ignored; SIGTERM still
// stops the worker gracefully.
TEST_CASE("SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM do not kill the runner", "[e2e][faults]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful;exit:0"}});
    REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 30s));
    for (const int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM}) {
        CAPTURE(sig);
        p->signal(sig);
        // The warning says so; the runner and its worker keep running.
        REQUIRE(eventually(
            [&] {
                return h.dir.read("stderr.log").find("Ignoring signal " + std::to_string(sig)) !=
                       std::string::npos;
            },
            10s));
        CHECK(p->running());
    }
    CHECK(h.worker_events("received", "graceful-termination").empty());
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 0);
    CHECK_FALSE(h.worker_events("received", "graceful-termination").empty());
}

// Finding 2: each error-report used to start its own reportWorkerError call, so 3000 reports of
// 200 KB against a worker-manager that never answers took the runner to 1.99 GB RSS and 3015
// open descriptors. Now one call is in flight, a bounded number wait, and the rest are dropped,
// counted in /metrics and logged once. The runner's peak RSS and descriptors are measured here
// from /proc while the flood arrives.
TEST_CASE("thousands of large error reports against a worker-manager that never answers",
          "[e2e][faults][reports]") {
    constexpr int reports = 2000;
    constexpr int bytes = 200'000;
    harness h;
    auto& tc = h.start_standin();
    tc_fault never_answers;
    never_answers.path_regex = "worker-pool-errors";
    never_answers.stall = true;
    tc.add_fault(never_answers);
    const auto port = free_port();
    const auto cfg =
        h.write_config(h.static_config("health:\n  listen: 127.0.0.1:" + std::to_string(port) +
                                       "\nlifecycle:\n  stopCheckInterval: 0\n"));
    auto p = h.start(
        {cfg}, memory_test_env({{"FAKE_WORKER_SCRIPT", "error-flood:" + std::to_string(reports) +
                                                           ":" + std::to_string(bytes) +
                                                           ";log:flood-done;wait-graceful"}}));
    REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 30s));
    const auto before = usage_of(p->pid());
    INFO("before the flood: RSS " << before.rss_kib << " KiB, " << before.fds << " descriptors");

    // Sample while the runner reads the flood, until it has counted every report.
    proc_usage most = before;
    std::string metrics;
    const auto received =
        "start_worker_protocol_messages_total{direction=\"received\",type="
        "\"error-report\"}";
    const bool all_read = eventually(
        [&] {
            const auto u = usage_of(p->pid());
            most.fds = std::max(most.fds, u.fds);
            most.peak_kib = std::max(most.peak_kib, u.peak_kib);
            metrics = http_get(port, "/metrics");
            return metric_value(metrics, received) == reports;
        },
        120s);
    const auto after = usage_of(p->pid());
    most.fds = std::max(most.fds, after.fds);
    most.peak_kib = std::max(most.peak_kib, after.peak_kib);
    INFO("during the flood: peak RSS " << most.peak_kib << " KiB, at most " << most.fds
                                       << " descriptors");
    INFO("error-reports received: " << metric_value(metrics, received));
    INFO(h.dir.read("stderr.log"));
    REQUIRE(all_read);

    // Bounded: the queue holds at most 4 MiB of reports; the flood was 400 MB.
    CHECK(most.peak_kib < memory_bound_kib(before, 64 * 1024));
    CHECK(most.fds <= before.fds + 4);
    // One reportWorkerError reached worker-manager (it never answered).
    CHECK(h.requests("worker-pool-errors", "POST").size() == 1);
    const double pending = metric_value(metrics, "start_worker_error_reports_pending");
    const double dropped = metric_value(metrics, "start_worker_error_reports_dropped_total");
    CHECK(pending >= 1);
    CHECK(pending <= 17);  // the one in flight and at most 16 waiting
    CHECK(dropped + pending == reports);

    // The runner still works: a stop goes through, and the drops are logged once, with the
    // count, when the queue is given up at exit.
    p->signal(SIGTERM);
    CHECK(p->wait(60s) == 0);
    CHECK_FALSE(h.worker_events("received", "graceful-termination").empty());
    const auto log = h.dir.read("stderr.log");
    const auto drop_line =
        "Dropped " + std::to_string(static_cast<long>(dropped)) + " error report";
    CHECK(log.find(drop_line) != std::string::npos);
    std::size_t drop_lines = 0;
    for (auto at = log.find("Dropped "); at != std::string::npos; at = log.find("Dropped ", at + 1))
        ++drop_lines;
    CHECK(drop_lines == 1);
    CHECK(log.find(std::to_string(static_cast<long>(pending) - 1) + " error report(s) not sent") !=
          std::string::npos);
}

namespace {

/// The step record of `name` in the fake worker's record, if it ran.
std::optional<boost::json::object> step_of(const harness& h, const std::string& name) {
    for (const auto& s : h.worker_events("step"))
        if (s.at("step") == name.c_str()) return s;
    return std::nullopt;
}

}  // namespace

// Fault list, the worker: a crash (SIGSEGV) at each phase ends the run with the worker's
// outcome (exit 1, the signal's status logged), never a hang or a runner crash.
TEST_CASE("the worker crashes at each phase", "[e2e][faults][worker]") {
    struct phase {
        const char* name;
        env_list env;
        int lifetime_s;
    };
    const std::vector<phase> phases{
        {"before hello", {{"FAKE_WORKER_NO_HELLO", "1"}, {"FAKE_WORKER_SCRIPT", "crash"}}, 345600},
        {"after hello", {{"FAKE_WORKER_SCRIPT", "sleep:200;crash"}}, 345600},
        // 30 s credentials are renewed at once: the crash follows the new-credentials message.
        {"after a renewal", {{"FAKE_WORKER_SCRIPT", "wait-credentials;crash"}}, 30},
    };
    for (const auto& ph : phases) {
        DYNAMIC_SECTION(ph.name) {
            harness h;
            h.start_standin(harness::default_standin_config(ph.lifetime_s));
            const auto cfg = h.write_config(h.static_config());
            auto r = h.run({"--once", cfg}, ph.env, 60s);
            INFO(r.err);
            CHECK(r.exit_code == 1);
            CHECK_THAT(r.err, Catch::Contains("Worker exited with code 139"));
            const auto exits = h.worker_events("exit");
            REQUIRE(exits.size() == 1);
            CHECK(exits[0].at("reason") == "crash");
            if (std::string(ph.name) == "after a renewal")
                CHECK(h.worker_events("received", "new-credentials").size() == 1);
        }
    }
    SECTION("during a graceful stop") {
        harness h;
        h.start_standin();
        const auto cfg = h.write_config(h.static_config());
        auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful;crash"}});
        REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 30s));
        p->signal(SIGTERM);
        CHECK(p->wait(30s) == 1);
        CHECK_THAT(h.dir.read("stderr.log"), Catch::Contains("Worker exited with code 139"));
    }
}

// Fault list, the worker: it closes its stdout (the protocol's output) and keeps running. The
// runner keeps supervising it: the stop still reaches it over stdin.
TEST_CASE("the worker closes stdout but keeps running", "[e2e][faults][worker]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    // The hello goes out first (from the script, not in answer to welcome, so it cannot race
    // with the close).
    auto p = h.start({cfg}, {{"FAKE_WORKER_NO_HELLO", "1"},
                             {"FAKE_WORKER_SCRIPT", "hello;close-stdout;wait-graceful"}});
    REQUIRE(eventually([&] { return step_of(h, "wait-graceful").has_value(); }, 30s));
    std::this_thread::sleep_for(500ms);
    CHECK(p->running());
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 0);
    INFO(h.dir.read("stderr.log"));
    CHECK(h.worker_events("received", "graceful-termination").size() == 1);
}

// Fault list, the worker: a grandchild keeps the worker's stdout open after the worker exits.
// The runner sees the exit, drains for a bounded moment and ends; it does not wait for the
// grandchild's 30 s.
TEST_CASE("a grandchild that keeps stdout open after the worker exits", "[e2e][faults][worker]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    // In the background, stderr to a file: the grandchild holds the runner's stderr too, so a
    // captured stderr pipe would only close when the grandchild ends.
    auto p = h.start({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "grandchild:30000;exit:3"}});
    CHECK(p->wait(20s) == 1);
    CHECK_THAT(h.dir.read("stderr.log"), Catch::Contains("Worker exited with code 3"));
    CHECK(h.worker_events("grandchild").size() == 1);
}

// Fault list, the worker: 1 GiB of output. The runner reads it through and its peak RSS stays
// bounded (measured from /proc/<pid>/status while the output flows).
TEST_CASE("1 GiB of worker output keeps the runner's memory bounded", "[e2e][faults][worker]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    auto p = h.start(
        {cfg}, memory_test_env({{"FAKE_WORKER_SCRIPT", "bulk:1024;log:bulk-done;wait-graceful"}}));
    REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 30s));
    const auto before = usage_of(p->pid());
    long peak = before.peak_kib;
    const bool done = eventually(
        [&] {
            peak = std::max(peak, usage_of(p->pid()).peak_kib);
            return h.dir.read("stderr.log").find("bulk-done") != std::string::npos;
        },
        300s);
    peak = std::max(peak, usage_of(p->pid()).peak_kib);
    INFO("RSS before " << before.rss_kib << " KiB, peak " << peak << " KiB");
    REQUIRE(done);
    CHECK(peak < memory_bound_kib(before, 64 * 1024));
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 0);
    CHECK_THAT(h.dir.read("stderr.log"), Catch::Contains("over-long line"));
}

// Fault list, the host: the runner config changed while running is ignored until the next
// start, and said once.
TEST_CASE("the runner config changed while running: ignored, said once", "[e2e][faults]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config());
    // The config is looked at every minute, scaled here to 1.5 s.
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful"},
                             {"START_WORKER_TEST_TIME_SCALE", "0.025"}});
    REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 30s));
    const std::string said = "The runner config " + cfg + " changed";
    // An edit that would change the worker's path: nothing happens to the running worker.
    h.write_config(h.static_config("# edited\nlifecycle:\n  killTimeout: 1\n"));
    REQUIRE(
        eventually([&] { return h.dir.read("stderr.log").find(said) != std::string::npos; }, 30s));
    h.write_config(h.static_config("# edited again\n"));
    std::this_thread::sleep_for(4s);  // more than two looks
    const auto log = h.dir.read("stderr.log");
    CHECK(log.find(said) == log.rfind(said));  // said once
    CHECK(p->running());
    CHECK(h.worker_events("start").size() == 1);
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 0);
}
