// Issue 14: faults the runner must survive, against the real binary (reliability helper's file;
// the other integration tests belong to the daemon's owners).
#include "tests/daemon/harness.hpp"

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
