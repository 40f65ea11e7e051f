// The lifecycle before the worker runs: one operation at a time, signals, start-up failures.
#include "state/lifecycle_detail.hpp"
#include "state/rules.hpp"

#include <algorithm>

namespace sw::state {

using namespace std::chrono;
using detail::act;
using detail::append;
using detail::lower;

// ---- before the worker runs: one operation at a time ---------------------------------------

std::vector<action> lifecycle::begin(action_type op) {
    in_flight_ = op;
    return {act(op)};
}

std::vector<action> lifecycle::start_configuring() {
    if (opts_.cache) {
        stage_ = stage::loading_state;
        return begin(action_type::load_state);
    }
    stage_ = stage::configuring;
    return begin(action_type::configure_provider);
}

std::vector<action> lifecycle::finish(exit_code code, std::string reason) {
    stage_ = stage::done;
    in_flight_.reset();
    action a{action_type::exit};
    a.code = code;
    a.reason = std::move(reason);
    return {a};
}

std::vector<action> lifecycle::startup_failure(failure_class c, std::string reason,
                                               time_point now) {
    actions out;
    // Report where possible: reportWorkerError needs the worker's credentials.
    if (registered_) out.push_back(act(action_type::report_error, reason));
    const exit_code code = exit_code_for(c);
    const auto delay = opts_.startup_failure_shutdown_delay;
    if (!opts_.dynamic || restart_can_fix(c) || delay.count() <= 0) {
        append(out, finish(code, std::move(reason)));
        return out;
    }
    // A cloud VM whose start-up cannot succeed: the unit will not restart us, so shut the VM
    // down (after a delay that leaves time to log in) instead of idling until worker-manager's
    // timeout.
    if (opts_.once) {
        action s{action_type::shutdown_host};
        s.dry_run = true;
        s.reason = "start-up failed; would shut down after " + std::to_string(delay.count()) +
                   " s (lifecycle.startupFailureShutdownDelay): " + reason;
        out.push_back(std::move(s));
        append(out, finish(code, std::move(reason)));
        return out;
    }
    stage_ = stage::startup_failed;
    in_flight_.reset();
    failure_code_ = code;
    failure_reason_ = std::move(reason);
    shutdown_at_ = now + delay;
    return out;
}

std::vector<action> lifecycle::after_provider(time_point now) {
    if (resumed_) {
        if (expire_ && *expire_ <= now) {
            if (opts_.can_register_again) {
                resumed_ = false;
                registered_ = false;
                expire_.reset();
                stage_ = stage::configuring;
                actions out{act(action_type::remove_state,
                                "cached worker credentials have expired; registering afresh")};
                append(out, begin(action_type::configure_provider));
                return out;
            }
            // No report: reportWorkerError needs the credentials that have expired.
            registered_ = false;
            return startup_failure(failure_class::refused,
                                   "cached worker credentials have expired; cannot re-register",
                                   now);
        }
        // Renew before the worker starts if the normal schedule would renew within the lead
        // time of a fresh start.
        if (opts_.registers && expire_ && *expire_ - now <= minutes(30) + seconds(30)) {
            stage_ = stage::renewing_before_start;
            renewal_ = renewal_state::in_flight;
            return begin(action_type::reregister);
        }
        return after_secrets();
    }
    if (opts_.registers) {
        stage_ = stage::registering;
        return begin(action_type::register_worker);
    }
    return after_identity();
}

std::vector<action> lifecycle::after_identity() {
    if (opts_.get_secrets && !resumed_) {
        stage_ = stage::fetching_secrets;
        return begin(action_type::fetch_secrets);
    }
    return after_secrets();
}

std::vector<action> lifecycle::after_secrets() {
    stage_ = stage::preparing;
    return begin(action_type::prepare_worker);
}

std::vector<action> lifecycle::remove_after_stop(std::string reason) {
    actions out{persist(phase::stopping)};
    append(out, end_cloud_worker(std::move(reason)));
    return out;
}

std::vector<action> lifecycle::on_signal_before_worker(const event& ev) {
    ++signals_;
    actions out;
    if (signals_ == 1) out.push_back(act(action_type::notify_stopping));
    if (stage_ == stage::starting_worker) {
        // Spawning is immediate: stop the worker once it runs (worker_started).
        return out;
    }
    const bool fresh_cloud_registration = opts_.dynamic && opts_.registers && !resumed_;
    if (stage_ == stage::registering && fresh_cloud_registration && signals_ == 1) {
        // Cancelling registerWorker could leave worker-manager with a worker that will never
        // run (the request may have reached it): let it finish, then remove the worker.
        return out;
    }
    append(out, cancel_in_flight("stop requested"));
    if (registered_ && fresh_cloud_registration) {
        append(out, remove_after_stop("stop requested before the worker started"));
        return out;
    }
    (void)ev;
    append(out, finish(exit_code::ok, "stop requested before the worker started"));
    return out;
}

std::vector<action> lifecycle::before_worker(const event& ev) {
    const auto now = ev.now;
    switch (ev.type) {
        case event_type::signal:
            return on_signal_before_worker(ev);
        case event_type::notice:
            // Acted on before the worker would start (worker_prepared).
            if (!notice_) {
                notice_ = true;
                notice_deadline_ = ev.deadline;
            }
            return {};
        case event_type::state_write_failed: {
            // Go's rule (reference 9.3): the first write of the state is part of the start-up.
            // The step started beside the write (fetching secrets, preparing the worker's
            // files) is cancelled: it would go on writing to a failing disk for nothing.
            actions out = cancel_in_flight("the state file cannot be written");
            append(out, startup_failure(failure_class::config, ev.reason, now));
            return out;
        }
        case event_type::failed:
            if (!in_flight_) return {};
            in_flight_.reset();
            if (signals_ > 0) return finish(exit_code::ok, "stop requested; " + ev.reason);
            return startup_failure(ev.failure, ev.reason, now);
        default:
            break;
    }

    switch (stage_) {
        case stage::init:
            if (ev.type != event_type::start) return {};
            if (opts_.check_termination_at_boot) {
                stage_ = stage::checking_termination;
                return begin(action_type::check_termination);
            }
            return start_configuring();

        case stage::checking_termination:
            if (ev.type != event_type::termination_checked) return {};
            in_flight_.reset();
            if (ev.terminate) {
                // Nothing is registered, fetched, written or started on an instance that is
                // already going away.
                notice_ = true;
                notice_deadline_ = ev.deadline;
                return finish(exit_code::shutdown_skipped,
                              "the instance is already marked for termination (" + ev.reason +
                                  "); not registering");
            }
            return start_configuring();

        case stage::loading_state:
            if (ev.type == event_type::state_missing) {
                in_flight_.reset();
                stage_ = stage::configuring;
                return begin(action_type::configure_provider);
            }
            if (ev.type != event_type::state_loaded) return {};
            in_flight_.reset();
            if (ev.loaded_phase == phase::running || ev.loaded_phase == phase::rebooting) {
                resumed_ = true;
                loaded_phase_ = ev.loaded_phase;
                expire_ = ev.deadline;
                registered_ = true;
                stage_ = stage::resuming;
                actions out;
                if (ev.loaded_phase == phase::rebooting &&
                    !reboot_happened(ev.boot_time, ev.state_written))
                    out.push_back(act(action_type::report_error,
                                      "a requested reboot did not happen (the system booted at " +
                                          format_rfc3339_ms(*ev.boot_time) +
                                          ", before the reboot was requested at " +
                                          format_rfc3339_ms(*ev.state_written) + ")"));
                append(out, begin(action_type::resume_provider));
                return out;
            }
            // The previous lifecycle ended (stopping) or never started its worker (starting):
            // start afresh rather than resume half a run.
            stage_ = stage::configuring;
            {
                actions out{act(action_type::remove_state,
                                "the state file's phase is " +
                                    std::string(to_string(ev.loaded_phase)) + ": starting afresh")};
                append(out, begin(action_type::configure_provider));
                return out;
            }

        case stage::configuring:
        case stage::resuming:
            if (ev.type != event_type::provider_configured) return {};
            in_flight_.reset();
            return after_provider(now);

        case stage::registering: {
            if (ev.type != event_type::registered) return {};
            in_flight_.reset();
            registered_ = true;
            expire_ = ev.deadline;
            if (signals_ > 0) return remove_after_stop("stop requested while registering");
            actions out{persist(phase::starting)};
            append(out, after_identity());
            return out;
        }

        case stage::renewing_before_start:
            if (ev.type == event_type::reregistered) {
                in_flight_.reset();
                renewal_ = renewal_state::idle;
                renew_failures_ = 0;
                expire_ = ev.deadline;
                actions out{persist(loaded_phase_)};
                append(out, after_secrets());
                return out;
            }
            if (ev.type == event_type::reregister_failed) {
                in_flight_.reset();
                ++renew_failures_;
                renewal_ = renewal_state::backing_off;
                if (expire_ && *expire_ <= now) {
                    registered_ = false;  // the credentials to report with have expired
                    return startup_failure(
                        failure_class::refused,
                        "cached worker credentials expired and could not be renewed: " + ev.reason,
                        now);
                }
                // Still valid: start with them; the renewal schedule tries again.
                return after_secrets();
            }
            return {};

        case stage::fetching_secrets:
            if (ev.type != event_type::secrets_fetched) return {};
            in_flight_.reset();
            return after_secrets();

        case stage::preparing: {
            if (ev.type != event_type::worker_prepared) return {};
            in_flight_.reset();
            deployment_id_ = ev.deployment_id.value_or("");
            if (notice_) {
                // Refuse to start a worker on an instance that is already going away.
                const std::string why =
                    "the instance is already marked for termination; not starting the worker";
                actions out;
                if (registered_) out.push_back(act(action_type::report_error, why));
                append(out, finish(exit_code::shutdown_skipped, why));
                return out;
            }
            stage_ = stage::starting_worker;
            return begin(action_type::start_worker);
        }

        case stage::starting_worker: {
            // The worker's first words (or its end) may overtake the report that it started.
            if (ev.type == event_type::hello) {
                early_hello_ = ev;
                return {};
            }
            if (ev.type == event_type::worker_exited) {
                early_exit_ = ev;
                return {};
            }
            if (ev.type != event_type::worker_started) return {};
            in_flight_.reset();
            stage_ = stage::running;
            worker_running_ = true;
            worker_expire_ = expire_;
            if (expire_)
                margin_ =
                    stop_margin(duration_cast<milliseconds>(*expire_ - now), opts_.kill_timeout);
            arm_renewal(now, false);
            actions out{persist(phase::running)};
            if (!opts_.has_process) {
                // dummy: nothing runs, so the run is over as soon as it started.
                capabilities_known_ = true;
                out.push_back(act(action_type::notify_ready));
                event exited;
                exited.type = event_type::worker_exited;
                exited.now = now;
                exited.exit_status = 0;
                append(out, on_worker_exit(exited));
                return out;
            }
            hello_deadline_ = now + opts_.hello_timeout;
            if (opts_.registers && opts_.stop_check_interval.count() > 0)
                stop_check_at_ = now + opts_.stop_check_interval;
            if (early_exit_) {
                // An exit that overtook worker_started: the worker is gone, so nothing is sent to
                // it (a stop asked for meanwhile, or one its hello would apply: found by
                // tests/fuzz/handlers_fuzz, which saw SIGTERM and graceful-termination sent after
                // the exit). Its hello, if it came, still means it was up.
                if (early_hello_) {
                    capabilities_known_ = true;
                    out.push_back(act(action_type::notify_ready));
                    early_hello_.reset();
                }
                early_exit_->now = now;
                append(out, while_running(*early_exit_));
                early_exit_.reset();
                return out;
            }
            if (signals_ > 0) {
                // A signal while the worker was being spawned.
                stop_.escalate_at = now + opts_.graceful_stop_timeout;
                append(out, request_stop(now, stop_level::draining, "stop requested by signal"));
            }
            if (notice_) {
                // A notice between prepare and start.
                append(out, request_stop(now, stop_level::terminating, "termination notice"));
            }
            if (early_hello_) {
                early_hello_->now = now;
                append(out, while_running(*early_hello_));
                early_hello_.reset();
            }
            return out;
        }

        default:
            return {};
    }
}

}  // namespace sw::state
