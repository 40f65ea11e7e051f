#include "state/lifecycle.hpp"

#include "state/rules.hpp"

#include <algorithm>

namespace sw::state {

using namespace std::chrono;

std::string_view to_string(stage s) {
    switch (s) {
        case stage::init:
            return "init";
        case stage::checking_termination:
            return "checking for termination";
        case stage::loading_state:
            return "loading state";
        case stage::configuring:
            return "configuring";
        case stage::resuming:
            return "resuming";
        case stage::registering:
            return "registering";
        case stage::renewing_before_start:
            return "renewing credentials";
        case stage::fetching_secrets:
            return "fetching secrets";
        case stage::preparing:
            return "preparing worker";
        case stage::starting_worker:
            return "starting worker";
        case stage::running:
            return "running";
        case stage::removing:
            return "removing worker";
        case stage::host_action:
            return "host action";
        case stage::startup_failed:
            return "start-up failed";
        case stage::done:
            return "done";
    }
    return "?";
}

std::string_view to_string(stop_level l) {
    switch (l) {
        case stop_level::none:
            return "none";
        case stop_level::draining:
            return "draining";
        case stop_level::terminating:
            return "terminating";
        case stop_level::killing:
            return "killing";
    }
    return "?";
}

std::string_view to_string(renewal_state r) {
    switch (r) {
        case renewal_state::idle:
            return "idle";
        case renewal_state::in_flight:
            return "in flight";
        case renewal_state::backing_off:
            return "backing off";
        case renewal_state::given_up:
            return "given up";
    }
    return "?";
}

std::string_view to_string(action_type a) {
    switch (a) {
        case action_type::check_termination:
            return "check_termination";
        case action_type::load_state:
            return "load_state";
        case action_type::configure_provider:
            return "configure_provider";
        case action_type::resume_provider:
            return "resume_provider";
        case action_type::register_worker:
            return "register_worker";
        case action_type::reregister:
            return "reregister";
        case action_type::fetch_secrets:
            return "fetch_secrets";
        case action_type::prepare_worker:
            return "prepare_worker";
        case action_type::start_worker:
            return "start_worker";
        case action_type::stop_check:
            return "stop_check";
        case action_type::remove_worker:
            return "remove_worker";
        case action_type::shutdown_host:
            return "shutdown_host";
        case action_type::reboot_host:
            return "reboot_host";
        case action_type::cancel:
            return "cancel";
        case action_type::persist:
            return "persist";
        case action_type::remove_state:
            return "remove_state";
        case action_type::send_graceful:
            return "send_graceful";
        case action_type::send_new_credentials:
            return "send_new_credentials";
        case action_type::terminate_worker:
            return "terminate_worker";
        case action_type::kill_worker:
            return "kill_worker";
        case action_type::acknowledge_notice:
            return "acknowledge_notice";
        case action_type::report_error:
            return "report_error";
        case action_type::notify_ready:
            return "notify_ready";
        case action_type::notify_stopping:
            return "notify_stopping";
        case action_type::exit:
            return "exit";
    }
    return "?";
}

std::string_view to_string(event_type e) {
    switch (e) {
        case event_type::start:
            return "start";
        case event_type::termination_checked:
            return "termination_checked";
        case event_type::state_missing:
            return "state_missing";
        case event_type::state_loaded:
            return "state_loaded";
        case event_type::provider_configured:
            return "provider_configured";
        case event_type::registered:
            return "registered";
        case event_type::reregistered:
            return "reregistered";
        case event_type::reregister_failed:
            return "reregister_failed";
        case event_type::secrets_fetched:
            return "secrets_fetched";
        case event_type::worker_prepared:
            return "worker_prepared";
        case event_type::worker_started:
            return "worker_started";
        case event_type::hello:
            return "hello";
        case event_type::signal:
            return "signal";
        case event_type::notice:
            return "notice";
        case event_type::stop_check_result:
            return "stop_check_result";
        case event_type::shutdown_requested:
            return "shutdown_requested";
        case event_type::worker_exited:
            return "worker_exited";
        case event_type::removed:
            return "removed";
        case event_type::remove_failed:
            return "remove_failed";
        case event_type::host_action_done:
            return "host_action_done";
        case event_type::failed:
            return "failed";
        case event_type::tick:
            return "tick";
    }
    return "?";
}

namespace {

action act(action_type t, std::string reason = {}) {
    action a{t};
    a.reason = std::move(reason);
    return a;
}
void append(std::vector<action>& to, std::vector<action> more) {
    to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}
void lower(std::optional<time_point>& slot, time_point t) {
    if (!slot || t < *slot) slot = t;
}
bool before_worker_stage(stage s) {
    return s < stage::running;
}

}  // namespace

action lifecycle::persist(phase p) const {
    action a{action_type::persist};
    a.persist_phase = p;
    return a;
}

// ---- dispatch: on the stage first ----------------------------------------------------------

std::vector<action> lifecycle::resume(const event& ev) {
    if (stage_ == stage::done) return {};
    if (before_worker_stage(stage_)) return before_worker(ev);
    if (stage_ == stage::running) return while_running(ev);
    return after_worker(ev);
}

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
    stage_ = stage::removing;
    in_flight_ = action_type::remove_worker;
    return {persist(phase::stopping), act(action_type::remove_worker, std::move(reason))};
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
    if (in_flight_) {
        action c{action_type::cancel};
        c.target = *in_flight_;
        c.reason = "stop requested";
        out.push_back(std::move(c));
        in_flight_.reset();
    }
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
            if (early_exit_) {
                early_exit_->now = now;
                append(out, while_running(*early_exit_));
                early_exit_.reset();
            }
            return out;
        }

        default:
            return {};
    }
}

// ---- while the worker runs -------------------------------------------------------------------

void lifecycle::arm_renewal(time_point now, bool just_renewed) {
    renew_at_.reset();
    if (!expire_ || !opts_.registers || renewal_ == renewal_state::given_up) return;
    const auto lifetime = duration_cast<milliseconds>(*expire_ - now);
    auto wait = renew_before_expire(lifetime);
    // After a renewal, short-lived credentials would be renewed again at once, for ever: wait
    // a quarter of their lifetime at least (still well before the stop margin, which is at
    // most half of it).
    if (just_renewed) wait = std::max(wait, lifetime / 4);
    renew_at_ = now + wait;
}

std::optional<time_point> lifecycle::expiry_stop_at() const {
    if (!worker_expire_ || !worker_running_ || stop_.level >= stop_level::terminating)
        return std::nullopt;
    return *worker_expire_ - margin_;
}

std::vector<action> lifecycle::request_stop(time_point now, stop_level want, std::string reason) {
    if (!worker_running_) return {};
    if (want <= stop_.level || (want <= stop_.held && !capabilities_known_)) return {};
    if (!capabilities_known_ && want != stop_level::killing) {
        // "Has not said hello yet" is not "cannot take graceful-termination": decide when the
        // capabilities are known (hello, or its timeout).
        stop_.held = want;
        stop_.held_reason = std::move(reason);
        return {};
    }
    return apply_stop(now, want, std::move(reason));
}

std::vector<action> lifecycle::apply_stop(time_point now, stop_level want, std::string reason) {
    actions out;
    if (!worker_running_ || want <= stop_.level) return out;
    switch (want) {
        case stop_level::none:
            break;
        case stop_level::draining:
            if (can_graceful_) {
                action a = act(action_type::send_graceful, std::move(reason));
                a.finish_tasks = true;
                out.push_back(std::move(a));
                stop_.level = stop_level::draining;
                break;
            }
            // No graceful-termination: SIGTERM is all there is.
            [[fallthrough]];
        case stop_level::terminating:
            if (can_graceful_) {
                action a = act(action_type::send_graceful, std::move(reason));
                a.finish_tasks = false;
                out.push_back(std::move(a));
            } else {
                out.push_back(act(action_type::terminate_worker, std::move(reason)));
            }
            stop_.level = stop_level::terminating;
            stop_.escalate_at.reset();
            lower(stop_.kill_at, now + opts_.kill_timeout);
            // Leave a few seconds before the machine disappears.
            if (notice_deadline_)
                lower(stop_.kill_at, std::max(now, *notice_deadline_ - seconds(5)));
            break;
        case stop_level::killing:
            out.push_back(act(action_type::kill_worker, std::move(reason)));
            stop_.level = stop_level::killing;
            stop_.kill_at.reset();
            stop_.escalate_at.reset();
            break;
    }
    return out;
}

std::vector<action> lifecycle::on_capabilities(time_point now) {
    actions out{act(action_type::notify_ready)};
    if (credentials_undelivered_) {
        credentials_undelivered_ = false;
        if (can_new_credentials_) {
            // A renewal that finished before hello: deliver it now.
            out.push_back(act(action_type::send_new_credentials));
            worker_expire_ = expire_;
            if (expire_)
                margin_ =
                    stop_margin(duration_cast<milliseconds>(*expire_ - now), opts_.kill_timeout);
        } else {
            append(out, request_stop(now, stop_level::terminating,
                                     "credentials were renewed and the worker cannot take new "
                                     "ones"));
        }
    }
    if (stop_.held != stop_level::none) {
        const auto want = stop_.held;
        stop_.held = stop_level::none;
        append(out, apply_stop(now, want, std::move(stop_.held_reason)));
    }
    if (auto at = expiry_stop_at(); at && now >= *at) {
        append(out, apply_stop(now, stop_level::terminating,
                               "credentials expire soon and were not renewed"));
        if (worker_expire_) lower(stop_.kill_at, std::max(now, *worker_expire_));
    }
    return out;
}

std::vector<action> lifecycle::renewal_failed(const event& ev) {
    const auto now = ev.now;
    ++renew_failures_;
    actions out;
    if (ev.failure == failure_class::refused || ev.failure == failure_class::permanent) {
        // The secret was refused: no retry can succeed. Let running tasks finish while the
        // credentials last, then stop before they expire.
        renewal_ = renewal_state::given_up;
        renew_at_.reset();
        const auto stop_at = expiry_stop_at();
        append(out, request_stop(now, stop_level::draining,
                                 "credentials cannot be renewed: " + ev.reason));
        if (stop_at && stop_.level < stop_level::terminating)
            lower(stop_.escalate_at, std::max(now, *stop_at));
        return out;
    }
    renewal_ = renewal_state::backing_off;
    const auto stop_at = expiry_stop_at();
    if (stop_at && now >= *stop_at) {
        if (capabilities_known_) {
            append(out, apply_stop(now, stop_level::terminating,
                                   "credentials could not be renewed before expiry"));
            if (worker_expire_) lower(stop_.kill_at, std::max(now, *worker_expire_));
        }
        // The runner's own calls still need credentials: keep trying.
        renew_at_ = now + renewal_backoff(renew_failures_);
        return out;
    }
    seconds wait = renewal_backoff(renew_failures_);
    if (stop_at) {
        // Leave room for more attempts when little time is left.
        const auto half_left = duration_cast<seconds>((*stop_at - now) / 2);
        wait = std::clamp(half_left, seconds(1), wait);
    }
    renew_at_ = now + wait;
    return out;
}

std::vector<action> lifecycle::while_running(const event& ev) {
    const auto now = ev.now;
    actions out;
    switch (ev.type) {
        case event_type::hello:
            can_graceful_ = ev.can_graceful;
            can_new_credentials_ = ev.can_new_credentials;
            hello_deadline_.reset();
            if (!capabilities_known_) {
                capabilities_known_ = true;
                return on_capabilities(now);
            }
            return out;  // a late hello after its timeout: the capabilities it brings apply

        case event_type::signal:
            ++signals_;
            if (signals_ == 1) {
                out.push_back(act(action_type::notify_stopping));
                time_point at = now + opts_.graceful_stop_timeout;
                if (notice_deadline_)
                    at = std::min(
                        at, std::max(now, *notice_deadline_ - opts_.kill_timeout - seconds(5)));
                if (stop_.level < stop_level::terminating && stop_.held < stop_level::terminating)
                    lower(stop_.escalate_at, at);
                append(out, request_stop(now, stop_level::draining, "stop requested by signal"));
            } else if (signals_ == 2) {
                append(out, request_stop(now, stop_level::terminating, "second stop signal"));
            } else {
                append(out, request_stop(now, stop_level::killing, "third stop signal"));
            }
            return out;

        case event_type::notice:
            if (notice_) return out;
            notice_ = true;
            notice_deadline_ = ev.deadline;
            out.push_back(persist(phase::running));
            append(out,
                   request_stop(now, stop_level::terminating, "termination notice: " + ev.reason));
            // A stop already under way: the machine's end bounds the kill.
            if (notice_deadline_ && stop_.level >= stop_level::terminating)
                lower(stop_.kill_at, std::max(now, *notice_deadline_ - seconds(5)));
            return out;

        case event_type::stop_check_result: {
            stop_check_in_flight_ = false;
            if (opts_.stop_check_interval.count() > 0)
                stop_check_at_ = now + opts_.stop_check_interval;
            if (!ev.ok) return out;
            std::string reason = ev.reason;
            bool terminate = ev.terminate;
            if (!terminate && ev.deployment_id &&
                deployment_changed(deployment_id_, *ev.deployment_id)) {
                terminate = true;
                reason = "deploymentId changed from " +
                         (deployment_id_.empty() ? std::string("(none)") : deployment_id_) +
                         " to " + *ev.deployment_id;
            }
            if (terminate && stop_.level == stop_level::none && stop_.held == stop_level::none) {
                replaced_ = true;
                append(out, request_stop(now, stop_level::draining, reason));
            }
            return out;
        }

        case event_type::shutdown_requested:
            shutdown_requested_ = true;
            // The worker is expected to exit right after; do not wait for ever.
            lower(stop_.kill_at, now + std::max(opts_.kill_timeout, seconds(30)));
            return out;

        case event_type::reregistered:
            renewal_ = renewal_state::idle;
            renew_failures_ = 0;
            expire_ = ev.deadline;
            arm_renewal(now, true);
            out.push_back(persist(phase::running));
            if (!capabilities_known_) {
                credentials_undelivered_ = true;
            } else if (can_new_credentials_) {
                out.push_back(act(action_type::send_new_credentials));
                worker_expire_ = expire_;
                if (expire_)
                    margin_ = stop_margin(duration_cast<milliseconds>(*expire_ - now),
                                          opts_.kill_timeout);
            }
            return out;

        case event_type::reregister_failed:
            return renewal_failed(ev);

        case event_type::worker_exited:
            return on_worker_exit(ev);

        case event_type::tick:
            return on_tick(now);

        default:
            return out;
    }
}

std::vector<action> lifecycle::on_tick(time_point now) {
    actions out;
    if (hello_deadline_ && now >= *hello_deadline_) {
        // No hello: the worker is treated as having no capabilities (never block on it).
        hello_deadline_.reset();
        capabilities_known_ = true;
        can_graceful_ = false;
        can_new_credentials_ = false;
        append(out, on_capabilities(now));
    }
    if (renew_at_ && now >= *renew_at_ && renewal_ != renewal_state::in_flight) {
        renew_at_.reset();
        renewal_ = renewal_state::in_flight;
        // The renewal attempt always comes before any stop it may imply.
        out.push_back(act(action_type::reregister));
        if (capabilities_known_ && !can_new_credentials_)
            append(out, request_stop(now, stop_level::terminating,
                                     "credentials are expiring and the worker cannot take new "
                                     "ones"));
    }
    if (capabilities_known_) {
        if (auto at = expiry_stop_at(); at && now >= *at) {
            append(out, apply_stop(now, stop_level::terminating,
                                   "credentials expire soon and were not renewed"));
            if (worker_expire_) lower(stop_.kill_at, std::max(now, *worker_expire_));
        }
    }
    if (stop_.escalate_at && now >= *stop_.escalate_at) {
        stop_.escalate_at.reset();
        append(out, request_stop(now, stop_level::terminating, "graceful stop timed out"));
    }
    if (stop_.kill_at && now >= *stop_.kill_at && worker_running_) {
        stop_.kill_at.reset();
        append(out, apply_stop(now, stop_level::killing, "the worker did not stop in time"));
    }
    if (stop_check_at_ && now >= *stop_check_at_ && !stop_check_in_flight_ && !stopping() &&
        stop_.held == stop_level::none) {
        stop_check_at_.reset();
        stop_check_in_flight_ = true;
        out.push_back(act(action_type::stop_check));
    }
    return out;
}

std::vector<action> lifecycle::host_action(bool reboot, std::string reason) {
    reboot_pending_ = reboot;
    action a{reboot ? action_type::reboot_host : action_type::shutdown_host};
    a.reason = reason;
    if (opts_.once) {
        // --once: the host action is logged, never performed; the exit code says which.
        a.dry_run = true;
        actions out{a};
        append(out, finish(reboot ? exit_code::reboot_skipped : exit_code::shutdown_skipped,
                           "--once: host " + std::string(reboot ? "reboot" : "shutdown") +
                               " not performed (" + reason + ")"));
        return out;
    }
    stage_ = stage::host_action;
    in_flight_ = a.type;
    return {a};
}

std::vector<action> lifecycle::on_worker_exit(const event& ev) {
    if (!worker_running_) return {};
    const bool killed = stop_.level == stop_level::killing;
    worker_running_ = false;
    hello_deadline_.reset();
    renew_at_.reset();
    stop_check_at_.reset();
    stop_.escalate_at.reset();
    stop_.kill_at.reset();
    stop_.held = stop_level::none;
    const int status = ev.exit_status;
    const std::string how = "worker exited with code " + std::to_string(status);

    actions out;
    if (notice_) out.push_back(act(action_type::acknowledge_notice));

    const bool reboot = std::find(opts_.reboot_exit_codes.begin(), opts_.reboot_exit_codes.end(),
                                  status) != opts_.reboot_exit_codes.end();
    if (reboot && !notice_ && signals_ == 0 && !killed) {
        out.push_back(persist(phase::rebooting));
        append(out, host_action(true, how + ": reboot requested"));
        return out;
    }
    if (signals_ > 0) {
        // The service manager stopped us; the state stays "running" so a restart resumes.
        append(out, finish(status == 0 && !killed ? exit_code::ok : exit_code::worker_failed,
                           how + " after a stop request"));
        return out;
    }
    if (opts_.dynamic && (status == 0 || shutdown_requested_ || notice_ || replaced_)) {
        out.push_back(persist(phase::stopping));
        if (!opts_.registers) {
            // Never registered with worker-manager (aws-provisioner): nothing to remove.
            append(out, host_action(false, how));
            return out;
        }
        stage_ = stage::removing;
        in_flight_ = action_type::remove_worker;
        out.push_back(act(action_type::remove_worker, how));
        return out;
    }
    if (shutdown_requested_) {
        out.push_back(persist(phase::stopping));
        append(out, finish(exit_code::shutdown_skipped,
                           how + "; the worker asked for a shutdown, which a " +
                               std::string(opts_.registers ? "static" : "standalone") +
                               " provider does not perform"));
        return out;
    }
    append(out, finish(status == 0 && !killed ? exit_code::ok : exit_code::worker_failed, how));
    return out;
}

// ---- after the worker: remove, shut down, or wait to shut down after a start-up failure -----

std::vector<action> lifecycle::after_worker(const event& ev) {
    const auto now = ev.now;
    switch (stage_) {
        case stage::removing: {
            if (ev.type == event_type::signal) {
                ++signals_;
                actions out;
                if (signals_ == 1) {
                    // Let removeWorker finish (worker-manager must not keep a worker that is
                    // gone), then exit without a host action.
                    out.push_back(act(action_type::notify_stopping));
                    return out;
                }
                action c{action_type::cancel};
                c.target = action_type::remove_worker;
                c.reason = "second stop signal";
                out.push_back(std::move(c));
                append(out, finish(exit_code::ok, "stop requested while removing the worker"));
                return out;
            }
            const bool removed = ev.type == event_type::removed;
            if (!removed && ev.type != event_type::remove_failed && ev.type != event_type::failed)
                return {};
            in_flight_.reset();
            std::string what = removed ? "worker removed" : "removeWorker failed: " + ev.reason;
            if (signals_ > 0) return finish(exit_code::ok, what + "; stop requested");
            // A failed removal falls back to shutting the host down (the Go runner's rule).
            return host_action(false, std::move(what));
        }

        case stage::host_action: {
            if (ev.type == event_type::signal) {
                // The command is already running: let it finish.
                ++signals_;
                if (signals_ == 1) return {act(action_type::notify_stopping)};
                return {};
            }
            if (ev.type != event_type::host_action_done && ev.type != event_type::failed) return {};
            in_flight_.reset();
            const bool ok = ev.type == event_type::host_action_done && ev.ok;
            const char* what = reboot_pending_ ? "reboot" : "shutdown";
            if (failure_code_) {
                return finish(
                    *failure_code_,
                    failure_reason_ + (ok ? "; shutting the host down"
                                          : "; the shutdown command failed: " + ev.reason));
            }
            if (ok) return finish(exit_code::ok, reboot_pending_ ? "rebooting" : "shutting down");
            const std::string why = std::string(what) + " command failed: " + ev.reason;
            actions out{act(action_type::report_error, why)};
            append(out,
                   finish(reboot_pending_ ? exit_code::reboot_skipped : exit_code::shutdown_skipped,
                          why));
            return out;
        }

        case stage::startup_failed:
            if (ev.type == event_type::signal)
                return finish(*failure_code_,
                              failure_reason_ + "; stop requested: not shutting the host down");
            if (ev.type == event_type::tick && shutdown_at_ && now >= *shutdown_at_) {
                shutdown_at_.reset();
                return host_action(false, "start-up failed: " + failure_reason_);
            }
            return {};

        default:
            return {};
    }
}

// ---- observation -----------------------------------------------------------------------------

std::optional<time_point> lifecycle::next_deadline() const {
    std::optional<time_point> d;
    auto consider = [&](const std::optional<time_point>& t) {
        if (t && (!d || *t < *d)) d = t;
    };
    if (stage_ == stage::startup_failed) consider(shutdown_at_);
    if (stage_ != stage::running) return d;
    consider(hello_deadline_);
    if (renewal_ != renewal_state::in_flight) consider(renew_at_);
    consider(stop_.escalate_at);
    consider(stop_.kill_at);
    if (!stop_check_in_flight_) consider(stop_check_at_);
    if (capabilities_known_) consider(expiry_stop_at());
    return d;
}

std::string lifecycle::status() const {
    std::string s(to_string(stage_));
    switch (stage_) {
        case stage::registering:
            if (signals_ > 0)
                s += ": stop requested; waiting for registerWorker to finish, then removeWorker";
            break;
        case stage::running:
            if (stop_.level != stop_level::none)
                s += ": stopping the worker (" + std::string(to_string(stop_.level)) + ")";
            else if (!capabilities_known_ && stop_.held != stop_level::none)
                s += ": stop requested; waiting for the worker's hello";
            else if (!capabilities_known_)
                s += ": waiting for the worker's hello";
            break;
        case stage::startup_failed:
            s += ": " + failure_reason_;
            if (shutdown_at_)
                s += "; shutting the host down at " + format_rfc3339_ms(*shutdown_at_);
            break;
        default:
            break;
    }
    return s;
}

}  // namespace sw::state
