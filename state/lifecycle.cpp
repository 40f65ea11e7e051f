// The lifecycle: dispatch on the stage, the worker's end, what follows it, and observation.
#include "state/lifecycle_detail.hpp"

#include <algorithm>

namespace sw::state {

using namespace std::chrono;
using detail::act;
using detail::append;
using detail::lower;

namespace {
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
    if (state_write_failed_) {
        // No reboot: it would resume from a stale state file (a spent registration secret).
        // The file is kept as it was (issue 14: the old state survives) for the operator.
        if (opts_.dynamic) {
            // A cloud VM ends as it would after any stop (removeWorker, then the host shuts
            // down) instead of idling registered; the failure was reported when it happened.
            append(out, end_cloud_worker(how + " after " + *state_write_failed_));
            return out;
        }
        append(out, finish(exit_code::config, *state_write_failed_ + "; " + how));
        return out;
    }

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
        append(out, end_cloud_worker(how));
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

std::vector<action> lifecycle::cancel_in_flight(std::string reason) {
    if (!in_flight_) return {};
    action c{action_type::cancel};
    c.target = *in_flight_;
    c.reason = std::move(reason);
    in_flight_.reset();
    return {std::move(c)};
}

std::vector<action> lifecycle::end_cloud_worker(std::string reason) {
    if (!opts_.registers) {
        // Never registered with worker-manager (aws-provisioner): nothing to remove.
        return host_action(false, std::move(reason));
    }
    stage_ = stage::removing;
    in_flight_ = action_type::remove_worker;
    return {act(action_type::remove_worker, std::move(reason))};
}

std::vector<action> lifecycle::host_action(bool reboot, std::string reason) {
    reboot_pending_ = reboot;
    action a{reboot ? action_type::reboot_host : action_type::shutdown_host};
    a.reason = std::move(reason);
    if (opts_.once) {
        // --once: the host action is logged, never performed; the exit code says which.
        a.dry_run = true;
        actions out{a};
        append(out, finish(reboot ? exit_code::reboot_skipped : exit_code::shutdown_skipped,
                           "--once: host " + std::string(reboot ? "reboot" : "shutdown") +
                               " not performed (" + a.reason + ")"));
        return out;
    }
    stage_ = stage::host_action;
    in_flight_ = a.type;
    return {a};
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
                append(out, cancel_in_flight("second stop signal"));
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
