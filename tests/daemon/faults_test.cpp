// Issue 14: faults the runner must survive, against the real binary (reliability helper's file;
// the other integration tests belong to the daemon's owners).
#include "tests/daemon/harness.hpp"

#include <algorithm>
#include <csignal>

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
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "error-flood:" + std::to_string(reports) + ":" +
                                                        std::to_string(bytes) +
                                                        ";log:flood-done;wait-graceful"}});
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
    REQUIRE(all_read);

    // Bounded: the queue holds at most 4 MiB of reports; the flood was 400 MB.
    CHECK(most.peak_kib < 64 * 1024);
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
