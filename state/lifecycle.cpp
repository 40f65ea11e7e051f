#include "state/lifecycle.hpp"

#include <algorithm>

namespace sw::state {

using namespace std::chrono;

std::string_view to_string(stage s) {
    switch (s) {
        case stage::init:
            return "init";
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
        case stage::done:
            return "done";
    }
    return "?";
}

std::string_view to_string(action_type a) {
    switch (a) {
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
        case action_type::persist:
            return "persist";
        case action_type::remove_state:
            return "remove_state";
        case action_type::start_worker:
            return "start_worker";
        case action_type::send_graceful:
            return "send_graceful";
        case action_type::send_new_credentials:
            return "send_new_credentials";
        case action_type::terminate_worker:
            return "terminate_worker";
        case action_type::kill_worker:
            return "kill_worker";
        case action_type::stop_check:
            return "stop_check";
        case action_type::acknowledge_notice:
            return "acknowledge_notice";
        case action_type::report_error:
            return "report_error";
        case action_type::remove_worker:
            return "remove_worker";
        case action_type::shutdown_host:
            return "shutdown_host";
        case action_type::reboot_host:
            return "reboot_host";
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

milliseconds renew_before_expire(milliseconds until) {
    // Reference 11.0: 30 minutes ahead, but not sooner than 5 minutes from now, and at least
    // 30 seconds before expiry.
    milliseconds renew = until - minutes(30);
    if (renew < minutes(5)) {
        renew = minutes(5);
        if (renew > until - seconds(30)) renew = std::max(until - seconds(30), milliseconds(0));
    }
    return renew;
}

namespace {
action act(action_type t) {
    return action{t};
}
action graceful_action(bool finish_tasks, std::string reason) {
    action a{action_type::send_graceful};
    a.finish_tasks = finish_tasks;
    a.reason = std::move(reason);
    return a;
}
void append(std::vector<action>& to, std::vector<action> more) {
    to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}
void lower(std::optional<time_point>& slot, time_point t) {
    if (!slot || t < *slot) slot = t;
}
// Retry delays for a failed renewal: 30 s doubling to 5 minutes.
seconds renewal_backoff(int failures) {
    const int n = std::min(failures, 4);
    return std::min(seconds(30) * (1 << (n > 0 ? n - 1 : 0)), seconds(300));
}
}  // namespace

action lifecycle::persist(phase p) const {
    action a{action_type::persist};
    a.persist_phase = p;
    return a;
}

time_point lifecycle::hard_deadline() const {
    // The last moment to tell the worker to stop so that it is gone (killTimeout later) before
    // its credentials expire, with a little slack.
    return *expire_ - (opts_.kill_timeout + seconds(10));
}

bool lifecycle::credentials_expired(time_point now) const {
    return expire_ && *expire_ <= now;
}

bool lifecycle::renewal_due_soon(time_point now) const {
    if (!expire_) return false;
    const auto until = duration_cast<milliseconds>(*expire_ - now);
    // Renew before the worker starts if the normal schedule would renew within the lead time.
    return until <= minutes(30) + seconds(30);
}

void lifecycle::arm_renewal(time_point now) {
    renew_at_.reset();
    if (!expire_ || !opts_.registers) return;
    const auto until = duration_cast<milliseconds>(*expire_ - now);
    renew_at_ = now + renew_before_expire(until);
}

std::vector<action> lifecycle::finish(exit_code code, std::string reason) {
    final_code_ = code;
    set_stage(stage::done);
    action a{action_type::exit};
    a.code = code;
    a.reason = std::move(reason);
    return {a};
}

std::vector<action> lifecycle::end_with_host_action(bool reboot, std::string reason) {
    reboot_pending_ = reboot;
    set_stage(stage::host_action);
    action a{reboot ? action_type::reboot_host : action_type::shutdown_host};
    a.reason = std::move(reason);
    return {a};
}

std::vector<action> lifecycle::graceful(time_point now, bool finish_tasks, std::string reason) {
    actions out;
    if (!worker_running_) return out;
    if (finish_tasks) {
        if (graceful_sent_ || graceful_now_sent_ || terminate_sent_) return out;
        graceful_sent_ = true;
        if (!hello_) {
            // Capabilities unknown until hello (or its timeout): decide then.
            deferred_stop_ = true;
            return out;
        }
        if (can_graceful_) {
            out.push_back(graceful_action(true, std::move(reason)));
        } else {
            terminate_sent_ = true;
            action a{action_type::terminate_worker};
            a.reason = std::move(reason);
            out.push_back(a);
            lower(kill_at_, now + opts_.kill_timeout);
        }
        return out;
    }
    return escalate(now, std::move(reason));
}

std::vector<action> lifecycle::escalate(time_point now, std::string reason) {
    actions out;
    if (!worker_running_ || graceful_now_sent_) return out;
    graceful_now_sent_ = true;
    escalate_at_.reset();
    if (hello_ && can_graceful_) {
        out.push_back(graceful_action(false, std::move(reason)));
    } else if (!terminate_sent_) {
        terminate_sent_ = true;
        action a{action_type::terminate_worker};
        a.reason = std::move(reason);
        out.push_back(a);
    }
    lower(kill_at_, now + opts_.kill_timeout);
    if (notice_deadline_) {
        // Leave a few seconds before the machine disappears.
        lower(kill_at_, std::max(now, *notice_deadline_ - seconds(5)));
    }
    return out;
}

std::vector<action> lifecycle::after_identity(time_point now) {
    (void)now;
    if (opts_.get_secrets && !resumed_) {
        set_stage(stage::fetching_secrets);
        return {act(action_type::fetch_secrets)};
    }
    return after_secrets(now);
}

std::vector<action> lifecycle::after_secrets(time_point) {
    set_stage(stage::preparing);
    return {act(action_type::prepare_worker)};
}

std::vector<action> lifecycle::resume(const event& ev) {
    const auto now = ev.now;
    switch (ev.type) {
        case event_type::start:
            if (stage_ != stage::init) return {};
            if (opts_.cache) {
                set_stage(stage::loading_state);
                return {act(action_type::load_state)};
            }
            set_stage(stage::configuring);
            return {act(action_type::configure_provider)};

        case event_type::state_missing:
            set_stage(stage::configuring);
            return {act(action_type::configure_provider)};

        case event_type::state_loaded:
            if (ev.loaded_phase == phase::running || ev.loaded_phase == phase::rebooting) {
                resumed_ = true;
                loaded_phase_ = ev.loaded_phase;
                expire_ = ev.deadline;
                registered_ = true;
                set_stage(stage::resuming);
                return {act(action_type::resume_provider)};
            }
            // The previous lifecycle ended (stopping) or never started its worker (starting):
            // start afresh rather than resume half a run.
            set_stage(stage::configuring);
            {
                action rm{action_type::remove_state};
                rm.reason = "the state file's phase is " + std::string(to_string(ev.loaded_phase)) +
                            ": starting afresh";
                return {rm, act(action_type::configure_provider)};
            }

        case event_type::provider_configured:
            if (resumed_) {
                if (credentials_expired(now)) {
                    if (opts_.can_register_again) {
                        resumed_ = false;
                        registered_ = false;
                        expire_.reset();
                        set_stage(stage::configuring);
                        action rm{action_type::remove_state};
                        rm.reason = "cached worker credentials have expired; registering afresh";
                        return {rm, act(action_type::configure_provider)};
                    }
                    return finish(exit_code::refused,
                                  "cached worker credentials have expired; cannot re-register");
                }
                if (opts_.registers && renewal_due_soon(now)) {
                    set_stage(stage::renewing_before_start);
                    renewing_ = true;
                    return {act(action_type::reregister)};
                }
                return after_secrets(now);
            }
            if (opts_.registers) {
                set_stage(stage::registering);
                return {act(action_type::register_worker)};
            }
            return after_identity(now);

        case event_type::registered: {
            registered_ = true;
            expire_ = ev.deadline;
            actions out{persist(phase::starting)};
            append(out, after_identity(now));
            return out;
        }

        case event_type::secrets_fetched:
            if (stage_ != stage::fetching_secrets) return {};
            return after_secrets(now);

        case event_type::worker_prepared:
            if (stage_ != stage::preparing) return {};
            if (pending_notice_) {
                // Refuse to start a worker on an instance that is already going away.
                action r{action_type::report_error};
                r.reason =
                    "the instance is already marked for termination; not starting the "
                    "worker";
                actions out{r};
                append(out, finish(exit_code::shutdown_skipped, r.reason));
                return out;
            }
            set_stage(stage::starting_worker);
            return {act(action_type::start_worker)};

        case event_type::worker_started: {
            set_stage(stage::running);
            worker_running_ = true;
            hello_deadline_ =
                opts_.has_process ? std::optional(now + opts_.hello_timeout) : std::nullopt;
            arm_renewal(now);
            if (opts_.registers && opts_.stop_check_interval.count() > 0)
                stop_check_at_ = now + opts_.stop_check_interval;
            actions out{persist(phase::running), act(action_type::notify_ready)};
            if (signals_ > 0) append(out, graceful(now, true, "stop requested"));
            return out;
        }

        case event_type::reregistered: {
            renewing_ = false;
            renew_failures_ = 0;
            expire_ = ev.deadline;
            if (stage_ == stage::renewing_before_start) {
                actions out{persist(loaded_phase_)};
                append(out, after_secrets(now));
                return out;
            }
            arm_renewal(now);
            actions out{persist(phase::running)};
            if (worker_running_ && can_new_credentials_)
                out.push_back(act(action_type::send_new_credentials));
            return out;
        }

        case event_type::reregister_failed: {
            renewing_ = false;
            ++renew_failures_;
            if (stage_ == stage::renewing_before_start) {
                if (credentials_expired(now))
                    return finish(
                        exit_code::refused,
                        "cached worker credentials expired and could not be renewed: " + ev.reason);
                // Still valid: start with them; the renewal schedule tries again.
                return after_secrets(now);
            }
            actions out;
            if (!expire_) return out;
            const time_point hard = hard_deadline();
            if (ev.permanent) {
                // The secret was refused: no retry can succeed. Let running tasks finish while
                // the credentials last, then stop before they expire.
                renew_at_.reset();
                append(out, graceful(now, true, "credentials cannot be renewed: " + ev.reason));
                lower(escalate_at_, std::max(now, hard));
                return out;
            }
            if (now >= hard) {
                append(out, escalate(now, "credentials could not be renewed before expiry"));
                return out;
            }
            // Back off, but leave room for more attempts when little time is left.
            const auto half_left = std::chrono::duration_cast<seconds>((hard - now) / 2);
            renew_at_ = now + std::clamp(half_left, seconds(1), renewal_backoff(renew_failures_));
            return out;
        }

        case event_type::failed: {
            if (stage_ == stage::done) return {};
            const bool after_registration =
                registered_ && stage_ != stage::removing && stage_ != stage::host_action;
            if (stage_ == stage::removing) {
                event e = ev;
                e.type = event_type::remove_failed;
                return resume(e);
            }
            actions out;
            if (after_registration) {
                action r{action_type::report_error};
                r.reason = ev.reason;
                out.push_back(r);
            }
            append(out, finish(ev.code, ev.reason));
            return out;
        }

        case event_type::removed:
        case event_type::remove_failed:
            if (stage_ != stage::removing) return {};
            // A failed removal falls back to shutting the host down (the Go runner's rule).
            return end_with_host_action(false, ev.type == event_type::removed
                                                   ? "worker removed"
                                                   : "removeWorker failed: " + ev.reason);

        case event_type::host_action_done: {
            if (stage_ != stage::host_action) return {};
            const exit_code skipped =
                reboot_pending_ ? exit_code::reboot_skipped : exit_code::shutdown_skipped;
            if (opts_.once) return finish(skipped, "--once: host action not performed");
            if (ev.ok)
                return finish(exit_code::ok, reboot_pending_ ? "rebooting" : "shutting down");
            action r{action_type::report_error};
            r.reason = std::string(reboot_pending_ ? "reboot" : "shutdown") +
                       " command failed: " + ev.reason;
            actions out{r};
            append(out, finish(skipped, r.reason));
            return out;
        }

        case event_type::notice:
            if (notice_) return {};
            notice_ = true;
            notice_deadline_ = ev.deadline;
            if (stage_ != stage::running) {
                pending_notice_ = true;
                return {};
            }
            {
                actions out{persist(phase::running)};
                append(out, escalate(now, "termination notice: " + ev.reason));
                return out;
            }

        case event_type::worker_exited:
            return on_worker_exit(ev);

        default:
            if (stage_ != stage::running) return {};
            return on_running_event(ev);
    }
}

std::vector<action> lifecycle::on_running_event(const event& ev) {
    const auto now = ev.now;
    actions out;
    switch (ev.type) {
        case event_type::hello:
            hello_ = true;
            hello_deadline_.reset();
            can_graceful_ = ev.can_graceful;
            can_new_credentials_ = ev.can_new_credentials;
            if (deferred_stop_) {
                deferred_stop_ = false;
                graceful_sent_ = false;
                append(out, graceful(now, true, "stop requested"));
            }
            return out;

        case event_type::signal:
            ++signals_;
            if (signals_ == 1) {
                out.push_back(act(action_type::notify_stopping));
                append(out, graceful(now, true, "stop requested by signal"));
                time_point at = now + opts_.graceful_stop_timeout;
                if (notice_deadline_)
                    at = std::min(
                        at, std::max(now, *notice_deadline_ - opts_.kill_timeout - seconds(5)));
                if (!graceful_now_sent_) lower(escalate_at_, at);
            } else if (signals_ == 2) {
                append(out, escalate(now, "second stop signal"));
            } else {
                killed_ = true;
                kill_at_.reset();
                out.push_back(act(action_type::kill_worker));
            }
            return out;

        case event_type::stop_check_result:
            stop_check_in_flight_ = false;
            if (opts_.stop_check_interval.count() > 0)
                stop_check_at_ = now + opts_.stop_check_interval;
            if (ev.terminate && !stopping()) {
                stop_for_replacement_ = true;
                append(out, graceful(now, true, ev.reason));
            }
            return out;

        case event_type::shutdown_requested:
            shutdown_requested_ = true;
            // The worker is expected to exit right after; do not wait for ever.
            lower(kill_at_, now + std::max(opts_.kill_timeout, seconds(30)));
            return out;

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
        hello_ = true;
        can_graceful_ = false;
        can_new_credentials_ = false;
        if (deferred_stop_) {
            deferred_stop_ = false;
            graceful_sent_ = false;
            append(out, graceful(now, true, "stop requested"));
        }
    }
    if (renew_at_ && now >= *renew_at_ && !renewing_) {
        renew_at_.reset();
        renewing_ = true;
        if (worker_running_ && hello_ && !can_new_credentials_) {
            append(out, escalate(now,
                                 "credentials are expiring and the worker cannot take new "
                                 "ones"));
        }
        out.push_back(act(action_type::reregister));
    }
    if (expire_ && worker_running_ && !graceful_now_sent_ && now >= hard_deadline()) {
        append(out, escalate(now, "credentials expire soon and were not renewed"));
    }
    if (escalate_at_ && now >= *escalate_at_) {
        escalate_at_.reset();
        append(out, escalate(now, "graceful stop timed out"));
    }
    if (kill_at_ && now >= *kill_at_ && worker_running_) {
        kill_at_.reset();
        killed_ = true;
        action a{action_type::kill_worker};
        a.reason = "the worker did not stop in time";
        out.push_back(a);
    }
    if (stop_check_at_ && now >= *stop_check_at_ && !stop_check_in_flight_ && !stopping()) {
        stop_check_at_.reset();
        stop_check_in_flight_ = true;
        out.push_back(act(action_type::stop_check));
    }
    return out;
}

std::vector<action> lifecycle::on_worker_exit(const event& ev) {
    if (!worker_running_) return {};
    worker_running_ = false;
    hello_deadline_.reset();
    renew_at_.reset();
    stop_check_at_.reset();
    escalate_at_.reset();
    kill_at_.reset();
    const int status = ev.exit_status;
    const std::string how = "worker exited with code " + std::to_string(status);

    actions out;
    if (notice_) out.push_back(act(action_type::acknowledge_notice));

    const bool reboot = std::find(opts_.reboot_exit_codes.begin(), opts_.reboot_exit_codes.end(),
                                  status) != opts_.reboot_exit_codes.end();
    if (reboot && !notice_ && signals_ == 0 && !killed_) {
        out.push_back(persist(phase::rebooting));
        append(out, end_with_host_action(true, how + ": reboot requested"));
        return out;
    }
    if (signals_ > 0) {
        // The service manager stopped us; the state stays "running" so a restart resumes.
        append(out, finish(status == 0 && !killed_ ? exit_code::ok : exit_code::worker_failed,
                           how + " after a stop request"));
        return out;
    }
    if (opts_.dynamic && (status == 0 || shutdown_requested_ || notice_ || stop_for_replacement_)) {
        out.push_back(persist(phase::stopping));
        if (!opts_.registers) {
            // Never registered with worker-manager (aws-provisioner): nothing to remove.
            append(out, end_with_host_action(false, how));
            return out;
        }
        set_stage(stage::removing);
        action a{action_type::remove_worker};
        a.reason = how;
        out.push_back(a);
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
    if (status == 0 && !killed_) {
        append(out, finish(exit_code::ok, how));
        return out;
    }
    append(out, finish(exit_code::worker_failed, how));
    return out;
}

std::optional<time_point> lifecycle::next_deadline() const {
    std::optional<time_point> d;
    auto consider = [&](const std::optional<time_point>& t) {
        if (t && (!d || *t < *d)) d = t;
    };
    consider(hello_deadline_);
    if (!renewing_) consider(renew_at_);
    consider(escalate_at_);
    consider(kill_at_);
    if (!stop_check_in_flight_) consider(stop_check_at_);
    if (expire_ && worker_running_ && !graceful_now_sent_) consider(hard_deadline());
    return d;
}

}  // namespace sw::state
