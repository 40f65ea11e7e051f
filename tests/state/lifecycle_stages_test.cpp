// Issue 10: what every kind of event means in every stage, the stop while registering on a
// cloud provider, the machine's own decisions (dummy, --once, reboot check, deploymentId), and
// issue 9's start-up items (termination at boot, readiness, a cloud VM whose start-up fails).
#include "tests/state/lifecycle_harness.hpp"

#include <string>
#include <vector>

using namespace sw;
using namespace sw::state;
using namespace sw::state::testing;

namespace {

enum class where {
    checking_termination,
    loading_state,
    configuring,
    registering,
    fetching_secrets,
    preparing,
    starting_worker,
    before_hello,
    running,
    removing,
    host_action,
    startup_failed,
};

const char* name(where w) {
    switch (w) {
        case where::checking_termination:
            return "checking_termination";
        case where::loading_state:
            return "loading_state";
        case where::configuring:
            return "configuring";
        case where::registering:
            return "registering";
        case where::fetching_secrets:
            return "fetching_secrets";
        case where::preparing:
            return "preparing";
        case where::starting_worker:
            return "starting_worker";
        case where::before_hello:
            return "running, before hello";
        case where::running:
            return "running";
        case where::removing:
            return "removing";
        case where::host_action:
            return "host_action";
        case where::startup_failed:
            return "startup_failed";
    }
    return "?";
}

lifecycle_options table_opts() {
    auto o = cloud_opts();
    o.check_termination_at_boot = true;
    return o;
}

/// Drives a fresh cloud run (aws-like: termination check at boot, state file) to `w`.
void drive(harness& h, where w) {
    switch (w) {
        case where::checking_termination:
            return h.run_to(stage::checking_termination);
        case where::loading_state:
            return h.run_to(stage::loading_state);
        case where::configuring:
            return h.run_to(stage::configuring);
        case where::registering:
            return h.run_to(stage::registering);
        case where::startup_failed:
            h.run_to(stage::registering);
            h.failed(failure_class::permanent, "registerWorker: 400");
            return;
        case where::fetching_secrets:
            return h.run_to(stage::fetching_secrets);
        case where::preparing:
            return h.run_to(stage::preparing);
        case where::starting_worker:
            return h.run_to(stage::starting_worker);
        case where::before_hello:
            return h.run_to(stage::running);
        case where::running:
        case where::removing:
        case where::host_action:
            break;
    }
    h.run_to(stage::running);
    h.hello();
    if (w == where::running) return;
    h.exited(0);
    if (w == where::removing) return;
    h.feed(E::removed);
}

struct row {
    where w;
    std::vector<A> signal, notice, exit0, failed;
    stage after_failed;
};

}  // namespace

TEST_CASE("every stage: a signal, a notice, a worker exit, a failure", "[lifecycle][stages]") {
    using V = std::vector<A>;
    const V stop_at_once{A::notify_stopping, A::cancel, A::exit};
    const V stop_and_remove{A::notify_stopping, A::cancel, A::persist, A::remove_worker};
    const std::vector<row> table{
        {where::checking_termination, stop_at_once, {}, {}, {}, stage::startup_failed},
        {where::loading_state, stop_at_once, {}, {}, {}, stage::startup_failed},
        {where::configuring, stop_at_once, {}, {}, {}, stage::startup_failed},
        // registerWorker is let finish, then the worker is removed (see below).
        {where::registering, {A::notify_stopping}, {}, {}, {}, stage::startup_failed},
        {where::fetching_secrets,
         stop_and_remove,
         {},
         {},
         {A::report_error},
         stage::startup_failed},
        {where::preparing, stop_and_remove, {}, {}, {A::report_error}, stage::startup_failed},
        // Spawning is immediate: the stop applies once the worker runs.
        {where::starting_worker,
         {A::notify_stopping},
         {},
         {},
         {A::report_error},
         stage::startup_failed},
        // Capability-dependent decisions wait for hello.
        // A task beside the worker that fails is reported, never dropped; the worker runs on.
        {where::before_hello,
         {A::notify_stopping},
         {A::persist},
         {A::persist, A::remove_worker},
         {A::report_error},
         stage::running},
        {where::running,
         {A::notify_stopping, A::send_graceful},
         {A::persist, A::send_graceful},
         {A::persist, A::remove_worker},
         {A::report_error},
         stage::running},
        {where::removing, {A::notify_stopping}, {}, {}, {A::shutdown_host}, stage::host_action},
        {where::host_action, {A::notify_stopping}, {}, {}, {A::report_error, A::exit}, stage::done},
        {where::startup_failed, {A::exit}, {}, {}, {}, stage::startup_failed},
    };
    for (const auto& r : table) {
        DYNAMIC_SECTION(name(r.w)) {
            {
                INFO("a signal");
                harness h(table_opts());
                drive(h, r.w);
                CHECK(types(h.feed(E::signal)) == r.signal);
            }
            {
                INFO("a notice");
                harness h(table_opts());
                drive(h, r.w);
                const auto before = h.fsm.current();
                CHECK(types(h.notice(t0 + 2min)) == r.notice);
                if (r.notice.empty()) CHECK(h.fsm.current() == before);
            }
            {
                INFO("a worker exit");
                harness h(table_opts());
                drive(h, r.w);
                const auto before = h.fsm.current();
                CHECK(types(h.exited(0)) == r.exit0);
                if (r.exit0.empty()) CHECK(h.fsm.current() == before);
            }
            {
                INFO("a failure");
                harness h(table_opts());
                drive(h, r.w);
                CHECK(types(h.failed(failure_class::refused)) == r.failed);
                CHECK(h.fsm.current() == r.after_failed);
            }
        }
    }
}

TEST_CASE("a stop while registering on a cloud provider removes the registered worker",
          "[lifecycle][stages]") {
    harness h(cloud_opts());
    h.feed(E::start);
    h.feed(E::state_missing);
    CHECK(types(h.feed(E::provider_configured)) == std::vector{A::register_worker});
    CHECK(types(h.feed(E::signal)) == std::vector{A::notify_stopping});
    CHECK(h.fsm.status().find("removeWorker") != std::string::npos);
    SECTION("registration succeeds: removeWorker, then exit 0 without a host shutdown") {
        auto acts = h.registered(t0 + 96h);
        REQUIRE(types(acts) == std::vector{A::persist, A::remove_worker});
        CHECK(acts[0].persist_phase == phase::stopping);  // a restart starts afresh
        acts = h.feed(E::removed);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::ok);
    }
    SECTION("removal fails: still no host shutdown") {
        h.registered(t0 + 96h);
        event f;
        f.type = E::remove_failed;
        f.reason = "500";
        auto acts = h.feed(f);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::ok);
    }
    SECTION("registration fails: nothing to remove, exit 0") {
        auto acts = h.failed(failure_class::permanent, "400");
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::ok);
    }
    SECTION("a second signal cancels registerWorker") {
        auto acts = h.feed(E::signal);
        REQUIRE(types(acts) == std::vector{A::cancel, A::exit});
        CHECK(acts[0].target == A::register_worker);
        CHECK(acts[1].code == exit_code::ok);
        CHECK(h.registered(t0 + 96h).empty());  // a late completion is ignored
    }
}

TEST_CASE("a stop before the worker runs cancels the action in flight", "[lifecycle][stages]") {
    SECTION("static provider: registerWorker is cancelled (a restart registers again)") {
        harness h(static_opts());
        h.run_to(stage::registering);
        auto acts = h.feed(E::signal);
        REQUIRE(types(acts) == std::vector{A::notify_stopping, A::cancel, A::exit});
        CHECK(acts[1].target == A::register_worker);
        CHECK(acts[2].code == exit_code::ok);
    }
    SECTION("a resumed cloud run is not removed: a restart resumes it") {
        harness h(cloud_opts());
        h.feed(E::start);
        auto loaded = state_loaded(phase::running, t0 + 50h);
        h.feed(loaded);
        auto acts = h.feed(E::signal);
        REQUIRE(types(acts) == std::vector{A::notify_stopping, A::cancel, A::exit});
        CHECK(acts[1].target == A::resume_provider);
    }
    SECTION("renewing cached credentials before the start: cancelled, the state kept") {
        harness h(cloud_opts());
        h.feed(E::start);
        h.feed(state_loaded(phase::rebooting, t0 + 10min));
        CHECK(types(h.feed(E::provider_configured)) == std::vector{A::reregister});
        auto acts = h.feed(E::signal);
        REQUIRE(types(acts) == std::vector{A::notify_stopping, A::cancel, A::exit});
        CHECK(acts[1].target == A::reregister);
        CHECK(acts[2].code == exit_code::ok);
    }
    SECTION("a signal while spawning stops the worker once it runs") {
        harness h(static_opts());
        h.run_to(stage::starting_worker);
        h.feed(E::signal);
        CHECK(types(h.feed(E::worker_started)) == std::vector{A::persist});
        auto acts = h.hello();
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK(acts[1].finish_tasks);
    }
}

TEST_CASE("the at-boot termination check comes before anything is registered",
          "[lifecycle][issue9]") {
    auto o = cloud_opts();
    o.check_termination_at_boot = true;
    harness h(o);
    CHECK(types(h.feed(E::start)) == std::vector{A::check_termination});
    SECTION("already terminating: exit 4, nothing registered, fetched, written or started") {
        event ev;
        ev.type = E::termination_checked;
        ev.terminate = true;
        ev.reason = "spot termination-time";
        auto acts = h.feed(ev);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::shutdown_skipped);
        CHECK(h.fsm.current() == stage::done);
    }
    SECTION("not terminating: carry on") {
        CHECK(types(h.feed(E::termination_checked)) == std::vector{A::load_state});
    }
}

TEST_CASE("READY=1 once the worker is up, STATUS= says what the runner waits for",
          "[lifecycle][issue9]") {
    SECTION("after hello, once") {
        harness h(static_opts());
        CHECK(find(h.run_to_started(), A::notify_ready) == nullptr);
        CHECK(h.fsm.status() == "running: waiting for the worker's hello");
        CHECK(types(h.hello()) == std::vector{A::notify_ready});
        CHECK(h.fsm.status() == "running");
        CHECK(h.hello().empty());
    }
    SECTION("after the hello timeout") {
        auto o = static_opts();
        o.hello_timeout = 20s;
        harness h(o);
        h.run_to_started();
        CHECK(h.tick_at(t0 + 19s).empty());
        CHECK(types(h.tick_at(t0 + 20s)) == std::vector{A::notify_ready});
    }
    SECTION("dummy: the machine ends the run at start (exit 0)") {
        auto o = static_opts();
        o.has_process = false;
        harness h(o);
        auto acts = h.run_to_started();
        REQUIRE(types(acts) == std::vector{A::persist, A::notify_ready, A::exit});
        CHECK(acts[2].code == exit_code::ok);
    }
}

TEST_CASE("a cloud VM whose start-up cannot succeed shuts down after the delay",
          "[lifecycle][issue9]") {
    auto o = cloud_opts();
    o.startup_failure_shutdown_delay = 900s;
    auto to_registering = [](harness& h) { h.run_to(stage::registering); };
    SECTION("registerWorker refused (400): wait, shut down, exit 77") {
        harness h(o);
        to_registering(h);
        CHECK(h.failed(failure_class::permanent, "registerWorker: 400").empty());
        CHECK(h.fsm.current() == stage::startup_failed);
        CHECK(h.fsm.next_deadline() == t0 + 900s);
        CHECK(h.fsm.status().find("shutting the host down at") != std::string::npos);
        CHECK(h.tick_at(t0 + 899s).empty());
        auto acts = h.tick_at(t0 + 900s);
        REQUIRE(types(acts) == std::vector{A::shutdown_host});
        CHECK_FALSE(acts[0].dry_run);
        event done;
        done.type = E::host_action_done;
        acts = h.feed(done);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::refused);
    }
    SECTION("the shutdown command fails: still the original code") {
        harness h(o);
        to_registering(h);
        h.failed(failure_class::refused, "registerWorker: 403");
        h.tick_at(t0 + 900s);
        event done;
        done.type = E::host_action_done;
        done.ok = false;
        done.reason = "exit status 1";
        CHECK(h.feed(done).back().code == exit_code::refused);
    }
    SECTION("a bad worker config after registration is reported first (exit 78)") {
        harness h(o);
        to_registering(h);
        h.registered(t0 + 96h);
        h.feed(E::secrets_fetched);
        auto acts = h.failed(failure_class::config, "files[0].path: bad");
        REQUIRE(types(acts) == std::vector{A::report_error});
        CHECK(types(h.tick_at(t0 + 900s)) == std::vector{A::shutdown_host});
        event done;
        done.type = E::host_action_done;
        CHECK(h.feed(done).back().code == exit_code::config);
    }
    SECTION("--once: log what would happen, do not wait") {
        auto once = o;
        once.once = true;
        harness h(once);
        to_registering(h);
        auto acts = h.failed(failure_class::permanent, "registerWorker: 400");
        REQUIRE(types(acts) == std::vector{A::shutdown_host, A::exit});
        CHECK(acts[0].dry_run);
        CHECK(acts[0].reason.find("900") != std::string::npos);
        CHECK(acts[1].code == exit_code::refused);
    }
    SECTION("a stop signal while waiting: exit without shutting down") {
        harness h(o);
        to_registering(h);
        h.failed(failure_class::permanent, "registerWorker: 400");
        auto acts = h.feed(E::signal);
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::refused);
    }
    SECTION("a failure a restart can fix exits at once (69)") {
        harness h(o);
        to_registering(h);
        auto acts = h.failed(failure_class::retryable, "registerWorker: unreachable");
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::unavailable);
    }
    SECTION("delay 0 = never shut down") {
        auto never = o;
        never.startup_failure_shutdown_delay = 0s;
        harness h(never);
        to_registering(h);
        auto acts = h.failed(failure_class::permanent, "registerWorker: 400");
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::refused);
    }
    SECTION("a static provider never shuts its host down") {
        harness h(static_opts());
        to_registering(h);
        auto acts = h.failed(failure_class::permanent, "registerWorker: 400");
        REQUIRE(types(acts) == std::vector{A::exit});
        CHECK(acts[0].code == exit_code::refused);
    }
}

TEST_CASE("after a requested reboot that did not happen, the error is reported",
          "[lifecycle][stages]") {
    harness h(static_opts());
    h.feed(E::start);
    auto loaded = state_loaded(phase::rebooting, t0 + 50h);
    loaded.state_written = t0 - 10min;
    SECTION("booted before the state was written: no reboot") {
        loaded.boot_time = t0 - 1h;
        auto acts = h.feed(loaded);
        REQUIRE(types(acts) == std::vector{A::report_error, A::resume_provider});
        CHECK(acts[0].reason.find("reboot did not happen") != std::string::npos);
    }
    SECTION("booted after: resume quietly") {
        loaded.boot_time = t0 - 5min;
        CHECK(types(h.feed(loaded)) == std::vector{A::resume_provider});
    }
}

TEST_CASE("the machine compares deploymentIds in stop checks", "[lifecycle][stages]") {
    auto o = cloud_opts();
    o.stop_check_interval = 300s;
    harness h(o);
    h.run_to(stage::preparing);
    event prepared;
    prepared.type = E::worker_prepared;
    prepared.deployment_id = "\"v1\"";
    h.feed(prepared);
    h.feed(E::worker_started);
    h.hello();
    event r;
    r.type = E::stop_check_result;
    h.tick_at(t0 + 300s);
    r.deployment_id = "\"v1\"";
    CHECK(h.feed(r).empty());
    h.tick_at(t0 + 600s);
    r.deployment_id = "";  // the secret had no deploymentId this time: not a change
    CHECK(h.feed(r).empty());
    h.tick_at(t0 + 900s);
    r.ok = false;  // the check failed: try again at the next interval
    r.deployment_id = "\"v2\"";
    CHECK(h.feed(r).empty());
    CHECK(types(h.tick_at(t0 + 1200s)) == std::vector{A::stop_check});
    r.ok = true;
    auto acts = h.feed(r);
    REQUIRE(types(acts) == std::vector{A::send_graceful});
    CHECK(acts[0].finish_tasks);
    CHECK(acts[0].reason.find("v2") != std::string::npos);
}

TEST_CASE("a hello or an exit that overtakes worker_started is not lost", "[lifecycle][stages]") {
    harness h(static_opts());
    h.run_to(stage::starting_worker);
    SECTION("hello") {
        CHECK(h.hello().empty());
        CHECK(types(h.feed(E::worker_started)) == std::vector{A::persist, A::notify_ready});
        CHECK(h.fsm.hello_received());
        auto acts = h.feed(E::signal);
        REQUIRE(types(acts) == std::vector{A::notify_stopping, A::send_graceful});
        CHECK(acts[1].finish_tasks);
    }
    SECTION("exit") {
        CHECK(h.exited(3).empty());
        auto acts = h.feed(E::worker_started);
        REQUIRE(types(acts) == std::vector{A::persist, A::exit});
        CHECK(acts[1].code == exit_code::worker_failed);
    }
    SECTION("a stop asked for before an exit that overtook worker_started sends nothing") {
        // Found by tests/fuzz/handlers_fuzz (corpus: regression-stop-sent-to-exited-worker).
        CHECK(h.hello().empty());
        CHECK(types(h.feed(E::signal)) == std::vector{A::notify_stopping});
        CHECK(h.exited(0).empty());
        auto acts = h.feed(E::worker_started);
        CHECK(types(acts) == std::vector{A::persist, A::notify_ready, A::exit});
        CHECK(acts.back().code == exit_code::ok);
    }
    SECTION("the same with credentials that expired meanwhile") {
        CHECK(h.hello().empty());
        CHECK(h.exited(0).empty());
        h.now = t0 + 200h;  // past the credentials' expiry (t0 + 96h)
        auto acts = h.feed(E::worker_started);
        CHECK(types(acts) == std::vector{A::persist, A::notify_ready, A::exit});
    }
    SECTION("the same with a termination notice") {
        h.notice();
        CHECK(h.exited(0).empty());
        for (const auto& a : h.feed(E::worker_started)) {
            CHECK(a.type != A::send_graceful);
            CHECK(a.type != A::terminate_worker);
            CHECK(a.type != A::kill_worker);
        }
    }
}

TEST_CASE("operations and commands", "[lifecycle][stages]") {
    for (auto a :
         {A::check_termination, A::load_state, A::configure_provider, A::resume_provider,
          A::register_worker, A::reregister, A::fetch_secrets, A::prepare_worker, A::start_worker,
          A::stop_check, A::remove_worker, A::shutdown_host, A::reboot_host})
        CHECK(is_operation(a));
    for (auto a :
         {A::cancel, A::persist, A::remove_state, A::send_graceful, A::send_new_credentials,
          A::terminate_worker, A::kill_worker, A::acknowledge_notice, A::report_error,
          A::notify_ready, A::notify_stopping, A::exit})
        CHECK_FALSE(is_operation(a));
}
