// The lifecycle while the worker runs: hello, renewal, stopping the worker, ticks.
#include "state/lifecycle_detail.hpp"
#include "state/rules.hpp"

#include <algorithm>

namespace sw::state {

using namespace std::chrono;
using detail::act;
using detail::append;
using detail::lower;

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
            // Held until hello: the machine's end still bounds how long it may wait.
            if (!capabilities_known_ && notice_deadline_)
                lower(stop_.escalate_at,
                      std::max(now, *notice_deadline_ - opts_.kill_timeout - seconds(5)));
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

        case event_type::state_write_failed:
            // Go's rule (reference 9.3): the worker is stopped, since a reboot would resume from
            // a stale state file (a spent registration secret); the run then ends with 78.
            if (state_write_failed_) return out;
            state_write_failed_ = ev.reason;
            out.push_back(act(action_type::report_error, ev.reason));
            append(out, request_stop(now, stop_level::terminating, ev.reason));
            return out;

        case event_type::failed:
            // A task the shell runs beside the worker (reading its output, watching for notices
            // or signals) ended with an error: never silently. Said and reported; the worker
            // keeps running and the stop paths that remain still work.
            out.push_back(act(action_type::report_error, "a runner task failed: " + ev.reason));
            return out;

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
        if (capabilities_known_) {
            append(out, request_stop(now, stop_level::terminating, "graceful stop timed out"));
        } else {
            // The stop's time is up before the worker said hello: the decision cannot wait for
            // its capabilities any longer, and without them SIGTERM is all there is.
            stop_.held = stop_level::none;
            append(out, apply_stop(now, stop_level::terminating,
                                   "graceful stop timed out before the worker said hello"));
        }
    }
    if (stop_.kill_at && now >= *stop_.kill_at && worker_running_) {
        stop_.kill_at.reset();
        append(out, apply_stop(now, stop_level::killing, "the worker did not stop in time"));
    }
    if (stop_check_at_ && now >= *stop_check_at_ && !stop_check_in_flight_) {
        // Due: it runs, or is dropped when a stop is already under way or held (its answer
        // could change nothing). Never left due: next_deadline() would make the shell wake at
        // once, again and again (found by tests/fuzz/handlers_fuzz).
        stop_check_at_.reset();
        if (!stopping() && stop_.held == stop_level::none) {
            stop_check_in_flight_ = true;
            out.push_back(act(action_type::stop_check));
        }
    }
    return out;
}

}  // namespace sw::state
