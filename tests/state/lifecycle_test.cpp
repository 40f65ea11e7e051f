// The lifecycle state machine as transcripts: events in, actions out. No sockets, no clocks.
#include "tests/state/lifecycle_harness.hpp"

#include <string>
#include <vector>

using namespace sw;
using namespace sw::state;
using namespace std::chrono_literals;
using namespace sw::state::testing;

TEST_CASE("renew_before_expire follows the Go runner's table", "[lifecycle]") {
    using std::chrono::milliseconds;
    CHECK(renew_before_expire(90min) == milliseconds(60min));
    CHECK(renew_before_expire(31min) == milliseconds(5min));
    CHECK(renew_before_expire(20min) == milliseconds(5min));
    CHECK(renew_before_expire(240s) == milliseconds(210s));
    CHECK(renew_before_expire(30s) == milliseconds(0));
    CHECK(renew_before_expire(0s) == milliseconds(0));
}

TEST_CASE("a fresh static run goes register, secrets, prepare, start, exit", "[lifecycle]") {
    harness h(static_opts());
    CHECK(types(h.feed(E::start)) == std::vector{A::load_state});
    CHECK(types(h.feed(E::state_missing)) == std::vector{A::configure_provider});
    CHECK(types(h.feed(E::provider_configured)) == std::vector{A::register_worker});
    auto acts = h.registered(t0 + 96h);
    REQUIRE(types(acts) == std::vector{A::persist, A::fetch_secrets});
    CHECK(acts[0].persist_phase == phase::starting);
    CHECK(types(h.feed(E::secrets_fetched)) == std::vector{A::prepare_worker});
    CHECK(types(h.feed(E::worker_prepared)) == std::vector{A::start_worker});
    acts = h.feed(E::worker_started);
    CHECK(types(acts) == std::vector{A::persist});  // READY=1 waits for hello (issue 9.5)
    CHECK(acts[0].persist_phase == phase::running);
    CHECK(types(h.hello()) == std::vector{A::notify_ready});
    acts = h.exited(0);
    REQUIRE(types(acts) == std::vector{A::exit});
    CHECK(acts[0].code == exit_code::ok);
}

TEST_CASE("standalone fetches secrets without registering and has no renewal", "[lifecycle]") {
    lifecycle_options o;
    o.registers = false;
    harness h(o);
    CHECK(types(h.feed(E::start)) == std::vector{A::configure_provider});
    CHECK(types(h.feed(E::provider_configured)) == std::vector{A::fetch_secrets});
    h.feed(E::secrets_fetched);
    h.feed(E::worker_prepared);
    h.feed(E::worker_started);
    h.hello();
    CHECK_FALSE(h.fsm.next_deadline().has_value());
    CHECK(h.exited(3).back().code == exit_code::worker_failed);
}

TEST_CASE("credentials are renewed on the wall clock and handed to the worker", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_running(t0 + 96h);
    REQUIRE(h.fsm.next_deadline() == t0 + 96h - 30min);
    CHECK(h.tick_at(t0 + 95h).empty());
    // A suspend jumps the clock past the renewal time: the next tick renews at once.
    CHECK(types(h.tick_at(t0 + 95h + 45min)) == std::vector{A::reregister});
    CHECK(h.tick_at(t0 + 95h + 46min).empty());  // one renewal at a time
    event ok;
    ok.type = E::reregistered;
    ok.deadline = t0 + 200h;
    auto acts = h.feed(ok);
    CHECK(types(acts) == std::vector{A::persist, A::send_new_credentials});
    CHECK(h.fsm.next_deadline() == h.now + (200h - 95h - 46min - 30min));
}

TEST_CASE("failed renewals retry with backoff, then stop the worker before expiry", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_running(t0 + 1h);
    CHECK(types(h.tick_at(t0 + 30min)) == std::vector{A::reregister});
    event fail;
    fail.type = E::reregister_failed;
    CHECK(h.feed(fail).empty());
    REQUIRE(h.fsm.next_deadline() == h.now + 30s);
    CHECK(types(h.tick_at(h.now + 30s)) == std::vector{A::reregister});
    CHECK(h.feed(fail).empty());
    REQUIRE(h.fsm.next_deadline() == h.now + 60s);
    // ... until the hard deadline (expiry - killTimeout - 10 s): finish-tasks false.
    h.now = t0 + 1h - 39s;
    auto acts = h.feed(fail);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK_FALSE(acts[0].finish_tasks);
    // And the kill follows killTimeout later (renewal attempts may go on for the runner's own
    // calls).
    CHECK(find(h.tick_at(h.now + 30s), A::kill_worker) != nullptr);
}

TEST_CASE("a refused secret lets tasks finish, then stops before expiry", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_running(t0 + 1h);
    h.tick_at(t0 + 30min);
    event fail;
    fail.type = E::reregister_failed;
    fail.failure = failure_class::refused;
    auto acts = h.feed(fail);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK(acts[0].finish_tasks);
    acts = h.tick_at(t0 + 1h - 40s);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK_FALSE(acts[0].finish_tasks);
}

TEST_CASE("a worker without new-credentials is stopped at renewal time", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_started(t0 + 2h);
    h.hello(true, false);
    auto acts = h.tick_at(t0 + 90min);
    // The renewal attempt comes first, then the stop it implies (issue 9.1).
    REQUIRE(types(acts) == std::vector{A::reregister, A::send_graceful});
    CHECK_FALSE(acts[1].finish_tasks);
    event ok;
    ok.type = E::reregistered;
    ok.deadline = t0 + 100h;
    CHECK(types(h.feed(ok)) == std::vector{A::persist});
}

TEST_CASE("SIGTERM twice: finish-tasks true, then false, then a kill", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_running();
    auto acts = h.feed(E::signal);
    REQUIRE(types(acts) == std::vector{A::notify_stopping, A::send_graceful});
    CHECK(acts[1].finish_tasks);
    acts = h.feed(E::signal);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK_FALSE(acts[0].finish_tasks);
    CHECK(h.tick_at(t0 + 29s).empty());
    CHECK(types(h.tick_at(t0 + 30s)) == std::vector{A::kill_worker});
    acts = h.exited(137);
    CHECK(acts.back().code == exit_code::worker_failed);
}

TEST_CASE("a worker that ignores the graceful stop is escalated and killed on time",
          "[lifecycle]") {
    auto o = static_opts();
    o.graceful_stop_timeout = 100s;
    o.kill_timeout = 10s;
    harness h(o);
    h.run_to_running();
    h.feed(E::signal);
    CHECK(h.fsm.next_deadline() == t0 + 100s);
    auto acts = h.tick_at(t0 + 100s);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK_FALSE(acts[0].finish_tasks);
    CHECK(h.fsm.next_deadline() == t0 + 110s);
    CHECK(types(h.tick_at(t0 + 110s)) == std::vector{A::kill_worker});
    CHECK(h.exited(0).back().code == exit_code::worker_failed);  // killed: not a clean stop
}

TEST_CASE("a graceful stop that completes exits 0 and keeps the state resumable", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_running();
    h.feed(E::signal);
    auto acts = h.exited(0);
    REQUIRE(types(acts) == std::vector{A::exit});
    CHECK(acts[0].code == exit_code::ok);
}

TEST_CASE("a termination notice: finish-tasks false once, remove, shut down", "[lifecycle]") {
    auto o = cloud_opts();
    o.kill_timeout = 60s;
    harness h(o);
    h.run_to_running();
    event n;
    n.type = E::notice;
    n.deadline = t0 + 20s;
    n.reason = "spot";
    auto acts = h.feed(n);
    REQUIRE(types(acts) == std::vector{A::persist, A::send_graceful});
    CHECK_FALSE(acts[1].finish_tasks);
    CHECK(h.fsm.termination_deadline() == t0 + 20s);
    CHECK(h.feed(n).empty());  // once, not every poll
    // The notice's deadline shortens the kill timeout.
    CHECK(h.fsm.next_deadline() == t0 + 15s);
    acts = h.exited(0);
    REQUIRE(types(acts) == std::vector{A::acknowledge_notice, A::persist, A::remove_worker});
    CHECK(acts[1].persist_phase == phase::stopping);
    CHECK(types(h.feed(E::removed)) == std::vector{A::shutdown_host});
    event done;
    done.type = E::host_action_done;
    acts = h.feed(done);
    CHECK(acts.back().code == exit_code::ok);
}

TEST_CASE("--once: host actions end with exit 3 or 4", "[lifecycle]") {
    SECTION("shutdown") {
        auto o = cloud_opts();
        o.once = true;
        harness h(o);
        h.run_to_running();
        h.exited(0);
        auto acts = h.feed(E::remove_failed);  // falls back to a shutdown too
        REQUIRE(types(acts) == std::vector{A::shutdown_host, A::exit});
        CHECK(acts[0].dry_run);
        CHECK(acts[1].code == exit_code::shutdown_skipped);
    }
    SECTION("reboot") {
        auto o = static_opts();
        o.once = true;
        harness h(o);
        h.run_to_running();
        auto acts = h.exited(67);
        REQUIRE(types(acts) == std::vector{A::persist, A::reboot_host, A::exit});
        CHECK(acts[0].persist_phase == phase::rebooting);
        CHECK(acts[1].dry_run);
        CHECK(acts[2].code == exit_code::reboot_skipped);
    }
}

TEST_CASE("a failed reboot command is reported and exits 3", "[lifecycle]") {
    harness h(static_opts());
    h.run_to_running();
    h.exited(67);
    event done;
    done.type = E::host_action_done;
    done.ok = false;
    done.reason = "exit status 1";
    auto acts = h.feed(done);
    REQUIRE(types(acts) == std::vector{A::report_error, A::exit});
    CHECK(acts[1].code == exit_code::reboot_skipped);
}

TEST_CASE("resuming skips registration, secrets and files", "[lifecycle]") {
    harness h(static_opts());
    h.feed(E::start);
    auto loaded = state_loaded(phase::rebooting, t0 + 50h);
    CHECK(types(h.feed(loaded)) == std::vector{A::resume_provider});
    CHECK(types(h.feed(E::provider_configured)) == std::vector{A::prepare_worker});
    CHECK(h.fsm.resumed());
    CHECK(types(h.feed(E::worker_prepared)) == std::vector{A::start_worker});
}

TEST_CASE("resuming near expiry renews before the worker starts", "[lifecycle]") {
    harness h(static_opts());
    h.feed(E::start);
    auto loaded = state_loaded(phase::rebooting, t0 + 10min);
    h.feed(loaded);
    CHECK(types(h.feed(E::provider_configured)) == std::vector{A::reregister});
    event ok;
    ok.type = E::reregistered;
    ok.deadline = t0 + 96h;
    auto acts = h.feed(ok);
    REQUIRE(types(acts) == std::vector{A::persist, A::prepare_worker});
    CHECK(acts[0].persist_phase == phase::rebooting);
}

TEST_CASE("resuming with expired credentials", "[lifecycle]") {
    auto loaded = state_loaded(phase::running, t0 - 1s);
    SECTION("a provider that cannot prove itself again refuses with 77") {
        auto o = static_opts();
        o.can_register_again = false;
        harness h(o);
        h.feed(E::start);
        h.feed(loaded);
        auto acts = h.feed(E::provider_configured);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::refused);
    }
    SECTION("a cloud provider registers afresh") {
        harness h(cloud_opts());
        h.feed(E::start);
        h.feed(loaded);
        CHECK(types(h.feed(E::provider_configured)) ==
              std::vector{A::remove_state, A::configure_provider});
        CHECK(types(h.feed(E::provider_configured)) == std::vector{A::register_worker});
    }
    SECTION("the static provider registers afresh too, and says why") {
        auto o = static_opts();
        o.can_register_again = true;  // as the daemon sets it for every registering provider
        harness h(o);
        h.feed(E::start);
        h.feed(loaded);
        const auto acts = h.feed(E::provider_configured);
        REQUIRE(types(acts) == std::vector{A::remove_state, A::configure_provider});
        CHECK(acts[0].reason.find("expired") != std::string::npos);
        CHECK_FALSE(h.fsm.resumed());
    }
}

TEST_CASE("a state file from a finished lifecycle starts afresh", "[lifecycle]") {
    harness h(static_opts());
    h.feed(E::start);
    auto loaded = state_loaded(phase::stopping);
    const auto acts = h.feed(loaded);
    CHECK(types(acts) == std::vector{A::remove_state, A::configure_provider});
    CHECK(acts[0].reason.find("stopping") != std::string::npos);
    CHECK_FALSE(h.fsm.resumed());
}

TEST_CASE("a stop before hello waits for hello or its timeout", "[lifecycle]") {
    auto o = static_opts();
    o.hello_timeout = 30s;
    harness h(o);
    h.run_to_started();
    SECTION("hello arrives") {
        CHECK(types(h.feed(E::signal)) == std::vector{A::notify_stopping});
        auto acts = h.hello();
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK(acts[1].finish_tasks);
    }
    SECTION("no hello: SIGTERM to the worker instead") {
        h.feed(E::signal);
        CHECK(types(h.tick_at(t0 + 30s)) == std::vector{A::notify_ready, A::terminate_worker});
        CHECK(types(h.tick_at(t0 + 60s)) == std::vector{A::kill_worker});
    }
}

TEST_CASE("stop checks ask for finish-tasks true and never escalate", "[lifecycle]") {
    auto o = cloud_opts();
    o.stop_check_interval = 300s;
    harness h(o);
    h.run_to_running();
    CHECK(h.fsm.next_deadline() == t0 + 300s);
    CHECK(types(h.tick_at(t0 + 300s)) == std::vector{A::stop_check});
    event r;
    r.type = E::stop_check_result;
    r.terminate = false;
    CHECK(h.feed(r).empty());
    CHECK(types(h.tick_at(t0 + 600s)) == std::vector{A::stop_check});
    r.terminate = true;
    r.reason = "deploymentId changed";
    auto acts = h.feed(r);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK(acts[0].finish_tasks);
    CHECK(h.tick_at(t0 + 5000s).empty());
    acts = h.exited(0);
    CHECK(types(acts) == std::vector{A::persist, A::remove_worker});
}

TEST_CASE("a stop check due while the worker stops leaves no deadline in the past", "[lifecycle]") {
    // Found by tests/fuzz/handlers_fuzz (corpus: regression-stop-check-while-stopping): the
    // stop check's time stayed in next_deadline() while on_tick skipped the check because a stop
    // was under way, so the shell's loop woke at once, ticked, and did it again: a full core for
    // the whole graceful stop (up to gracefulStopTimeout, 15 minutes by default).
    auto o = cloud_opts();
    o.stop_check_interval = 300s;
    SECTION("stopping after hello") {
        harness h(o);
        h.run_to_running();
        h.feed(E::signal);
        REQUIRE(h.fsm.stopping_level() == stop_level::draining);
        CHECK(h.tick_at(t0 + 300s).empty());  // no stop check while stopping
        REQUIRE(h.fsm.next_deadline());
        CHECK(*h.fsm.next_deadline() > h.now);
        CHECK(*h.fsm.next_deadline() == t0 + o.graceful_stop_timeout);
    }
    SECTION("a stop held until hello") {
        harness h(o);
        h.run_to_started();
        h.feed(E::signal);  // held: the capabilities are not known yet
        REQUIRE(h.fsm.stopping_level() == stop_level::none);
        h.now = t0 + 10s;
        h.hello();
        REQUIRE(h.fsm.stopping_level() == stop_level::draining);
        CHECK(h.tick_at(t0 + 300s).empty());
        REQUIRE(h.fsm.next_deadline());
        CHECK(*h.fsm.next_deadline() > h.now);
    }
}

TEST_CASE("the worker's shutdown message", "[lifecycle]") {
    SECTION("standalone and static exit 4") {
        harness h(static_opts());
        h.run_to_running();
        CHECK(h.feed(E::shutdown_requested).empty());
        auto acts = h.exited(68);
        CHECK(acts.back().code == exit_code::shutdown_skipped);
    }
    SECTION("cloud providers remove the worker even after a non-zero exit") {
        harness h(cloud_opts());
        h.run_to_running();
        h.feed(E::shutdown_requested);
        CHECK(types(h.exited(68)) == std::vector{A::persist, A::remove_worker});
    }
    SECTION("a worker that does not exit after asking is killed") {
        harness h(static_opts());
        h.run_to_running();
        h.feed(E::shutdown_requested);
        CHECK(types(h.tick_at(t0 + 30s)) == std::vector{A::kill_worker});
    }
}

TEST_CASE("a cloud worker that never registered (aws-provisioner) is not removed", "[lifecycle]") {
    auto o = cloud_opts();
    o.registers = false;
    o.can_register_again = false;
    harness h(o);
    h.run_to_started();
    h.hello();
    CHECK(types(h.exited(0)) == std::vector{A::persist, A::shutdown_host});
}

TEST_CASE("a non-zero exit on a cloud provider does not remove the worker", "[lifecycle]") {
    harness h(cloud_opts());
    h.run_to_running();
    auto acts = h.exited(2);
    REQUIRE(types(acts) == std::vector{A::exit});
    CHECK(acts[0].code == exit_code::worker_failed);
}

TEST_CASE("failures after registration are reported before exiting", "[lifecycle]") {
    harness h(static_opts());
    h.feed(E::start);
    h.feed(E::state_missing);
    event f;
    f.type = E::failed;
    f.failure = failure_class::retryable;
    f.reason = "registerWorker: unreachable";
    SECTION("before registration: no report") {
        h.feed(E::provider_configured);
        auto acts = h.feed(f);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::unavailable);
    }
    SECTION("after registration: reported") {
        h.feed(E::provider_configured);
        h.registered(t0 + 96h);
        f.reason = "secrets: 500";
        auto acts = h.feed(f);
        REQUIRE(types(acts) == std::vector{A::report_error, A::exit});
        CHECK(acts[0].reason == "secrets: 500");
    }
}

TEST_CASE("an instance already marked for termination does not start its worker", "[lifecycle]") {
    harness h(cloud_opts());
    h.feed(E::start);
    h.feed(E::state_missing);
    h.feed(E::provider_configured);
    h.registered(t0 + 96h);
    event n;
    n.type = E::notice;
    n.deadline = t0 + 60s;
    CHECK(h.feed(n).empty());
    h.feed(E::secrets_fetched);
    auto acts = h.feed(E::worker_prepared);
    REQUIRE(types(acts) == std::vector{A::report_error, A::exit});
    CHECK(acts[1].code == exit_code::shutdown_skipped);
    CHECK(find(acts, A::start_worker) == nullptr);
}

TEST_CASE("a state file that cannot be written: start-up fails, or the worker is stopped, 78",
          "[lifecycle][state-write]") {
    const auto write_failed = [] {
        event ev;
        ev.type = E::state_write_failed;
        ev.reason = "the state file /s/state.json (cacheOverRestarts) cannot be written: No space";
        return ev;
    };
    SECTION("the first write, before the worker starts") {
        harness h(static_opts());
        h.run_to(stage::fetching_secrets);
        const auto acts = h.feed(write_failed());
        // The secrets being fetched beside the write are cancelled; registered: reported.
        REQUIRE(types(acts) == std::vector{A::cancel, A::report_error, A::exit});
        CHECK(acts.front().target == A::fetch_secrets);
        CHECK(acts.back().code == exit_code::config);
        CHECK(acts.back().reason.find("/s/state.json") != std::string::npos);
    }
    SECTION("while the worker runs: stopped, then 78 (no reboot from a stale file)") {
        harness h(static_opts());
        h.run_to_running();
        auto acts = h.feed(write_failed());
        REQUIRE(types(acts) == std::vector{A::report_error, A::send_graceful});
        CHECK_FALSE(acts[1].finish_tasks);
        CHECK(h.feed(write_failed()).empty());  // said once
        acts = h.exited(67);                    // even a reboot request
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::config);
        CHECK(acts[0].reason.find("/s/state.json") != std::string::npos);
    }
    SECTION("a cloud VM: stopped, removed from worker-manager, shut down (not left idle)") {
        harness h(cloud_opts());
        h.run_to_running();
        auto acts = h.feed(write_failed());
        REQUIRE(types(acts) == std::vector{A::report_error, A::send_graceful});
        acts = h.exited(0);
        REQUIRE(types(acts) == std::vector{A::remove_worker});
        CHECK(acts[0].reason.find("/s/state.json") != std::string::npos);
        CHECK(types(h.feed(E::removed)) == std::vector{A::shutdown_host});
    }
}
