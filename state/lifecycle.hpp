#pragma once
// The runner's whole life as one sans-io state machine.
//
// check termination at boot -> load state -> configure -> register -> fetch secrets -> prepare
// -> start worker -> monitor (hello, renewal, termination notices, stop checks, signals) ->
// stop the worker -> remove / shut down / reboot -> resume after reboot.
//
// The machine never performs I/O and never reads a clock: the daemon's shell feeds it events
// (each carrying the current wall-clock time), performs the actions it returns, in order, and
// wakes it with a `tick` at next_deadline(). Every decision the runner makes is a transcript:
// feed events, check actions.
//
// Two kinds of action (see action_type):
// - operations: the shell starts each as its own cancellable operation; each reports its end
//   with exactly one event (listed per action). Before the worker runs there is at most one
//   in flight; while it runs, reregister and stop_check may overlap each other and the
//   worker. An exception from an operation is reported as `failed` (class internal) or, for
//   reregister/stop_check/remove_worker, as their failure event; never swallowed.
// - commands: performed at once, in order, with no completion event (their own failures are
//   logged by the shell and do not change the run).
// The machine decides what a signal means in every stage; the shell never stops the run on
// its own (no io.stop(), no early exit): it turns SIGTERM/SIGINT into `signal` events.
#include "lib/common/clock.hpp"
#include "lib/common/exit_codes.hpp"
#include "state/failure.hpp"
#include "state/phase.hpp"
#include "state/renewal.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::state {

using std::chrono::seconds;

/// What the machine needs to know about the configuration. Plain data.
struct lifecycle_options {
    bool once = false;                ///< --once: host actions are dry runs (logged, not run)
    bool dynamic = false;             ///< cloud provider: removeWorker + host shutdown at the end
    bool registers = true;            ///< the provider registers with worker-manager
    bool can_register_again = false;  ///< expired cached credentials: register from scratch
    bool check_termination_at_boot = false;  ///< the provider's metadata can say "going away"
    bool get_secrets = true;
    bool cache = false;                ///< a state file is configured
    bool has_process = true;           ///< false for dummy: nothing runs, the run ends at start
    seconds stop_check_interval{300};  ///< 0 = off
    seconds graceful_stop_timeout{900};
    seconds kill_timeout{30};
    seconds hello_timeout{30};  ///< a worker that never says hello is assumed capability-less
    /// lifecycle.startupFailureShutdownDelay: on a dynamic provider, how long after a start-up
    /// failure that a restart cannot fix to run host.shutdownCommand. 0 = never.
    seconds startup_failure_shutdown_delay{900};
    std::vector<int> reboot_exit_codes{67};
};

/// Where the machine is. Exposed for logs, sd_notify STATUS= and tests.
enum class stage {
    init,
    checking_termination,  ///< the at-boot termination check, before anything else
    loading_state,
    configuring,
    resuming,
    registering,
    renewing_before_start,
    fetching_secrets,
    preparing,
    starting_worker,
    running,         ///< the worker process runs (see hello_received(), stop_level())
    removing,        ///< removeWorker in flight
    host_action,     ///< shutdown / reboot command in flight
    startup_failed,  ///< waiting startupFailureShutdownDelay before shutting the host down
    done,
};
std::string_view to_string(stage s);

/// How far stopping the worker has gone. Only ever increases.
enum class stop_level {
    none,
    draining,     ///< graceful-termination finish-tasks:true sent
    terminating,  ///< finish-tasks:false or SIGTERM sent; a kill follows killTimeout later
    killing,      ///< SIGKILL sent
};
std::string_view to_string(stop_level l);

/// The credential renewal's state.
enum class renewal_state {
    idle,         ///< nothing to renew yet, or the next attempt is scheduled (next_deadline)
    in_flight,    ///< a reregister is running
    backing_off,  ///< the last attempt failed (retryable); the next is scheduled
    given_up,     ///< the secret was refused: no attempt can succeed
};
std::string_view to_string(renewal_state r);

enum class action_type {
    // ---- operations (one completion event each) ----
    check_termination,   ///< provider.check_termination_now -> termination_checked (a failed
                         ///< check is logged and reported as terminate=false)
    load_state,          ///< read the state file -> state_missing / state_loaded / failed
    configure_provider,  ///< provider.configure + identity proof -> provider_configured / failed
    resume_provider,     ///< provider.use_cached_run -> provider_configured / failed
    register_worker,     ///< registerWorker -> registered / failed (classified)
    reregister,          ///< reregisterWorker -> reregistered / reregister_failed (classified)
    fetch_secrets,       ///< both secrets -> secrets_fetched / failed
    prepare_worker,      ///< merge config, configure_run, extract files, write the worker config
                         ///< -> worker_prepared (with the config's deployment_id) / failed
    start_worker,        ///< spawn + welcome -> worker_started / failed. Dummy (no process):
                         ///< log the state, report worker_started; the machine ends the run
    stop_check,          ///< shouldWorkerTerminate, then (getSecrets) the secrets' deploymentId
                         ///< -> stop_check_result (ok=false when a call failed)
    remove_worker,       ///< removeWorker -> removed / remove_failed
    shutdown_host,       ///< run host.shutdownCommand -> host_action_done. With dry_run: only
                         ///< log "--once: would run: <command> (<reason>)"; no event
    reboot_host,         ///< run host.rebootCommand -> host_action_done; dry_run as above
    // ---- commands (no completion event) ----
    cancel,                ///< cancel the operation `target` in flight; its completion event, if
                           ///< one still comes, is ignored by the machine (which has moved on)
    persist,               ///< save the state file with `persist_phase` (no-op without a cache)
    remove_state,          ///< delete the state file (the lifecycle must not resume); log reason
    send_graceful,         ///< graceful-termination {finish-tasks}
    send_new_credentials,  ///< new-credentials with the current ones; rewrite the worker config
    terminate_worker,      ///< SIGTERM to the worker's process group (no graceful capability)
    kill_worker,           ///< SIGKILL to the worker's process group
    acknowledge_notice,    ///< azure: tell the platform the worker has stopped (best effort)
    report_error,          ///< reportWorkerError with `reason` (best effort; the shell waits a
                           ///< bounded moment for reports in flight before it exits)
    notify_ready,          ///< sd_notify READY=1 (the worker is up: hello, hello timeout, dummy)
    notify_stopping,       ///< sd_notify STOPPING=1
    exit,                  ///< end the process with `code` after cancelling what still runs
};
std::string_view to_string(action_type a);

/// True for the operations (one completion event each), false for the commands. The enum keeps
/// every operation before `cancel`.
constexpr bool is_operation(action_type a) {
    return a < action_type::cancel;
}

struct action {
    explicit action(action_type t) : type(t) {}
    action_type type;
    bool finish_tasks = false;                 ///< send_graceful
    bool dry_run = false;                      ///< shutdown_host / reboot_host (--once)
    phase persist_phase = phase::running;      ///< persist
    action_type target = action_type::cancel;  ///< cancel: the operation to cancel
    exit_code code = exit_code::ok;            ///< exit
    std::string reason;                        ///< for logs and error reports

    bool operator==(const action&) const = default;
};

enum class event_type {
    start,
    termination_checked,  ///< terminate (+ reason, deadline) when the instance is going away
    state_missing,
    state_loaded,  ///< loaded_phase; deadline = cached credential expiry; boot_time and
                   ///< state_written (when the file was written) for the reboot check
    provider_configured,
    registered,         ///< deadline = credential expiry (nullopt: permanent)
    reregistered,       ///< deadline = credential expiry
    reregister_failed,  ///< failure: refused/permanent give up (the secret is refused);
                        ///< any other class is tried again
    secrets_fetched,
    worker_prepared,  ///< deployment_id of the worker config ("" when none)
    worker_started,
    hello,               ///< can_graceful, can_new_credentials
    signal,              ///< SIGTERM / SIGINT / service stop, in any stage
    notice,              ///< a cloud termination notice; deadline = when the machine goes
    stop_check_result,   ///< ok; terminate + reason (shouldWorkerTerminate); deployment_id
                         ///< (nullopt when not checked)
    shutdown_requested,  ///< the worker's `shutdown` message
    worker_exited,       ///< exit_status
    removed,
    remove_failed,       ///< reason
    host_action_done,    ///< ok = the command ran and succeeded; reason when not
    failed,              ///< failure + reason: the operation in flight failed for good
    state_write_failed,  ///< reason: the state file (cacheOverRestarts) could not be written
                         ///< (full or read-only disk): before the worker starts, the start-up
                         ///< fails (exit 78); while it runs, it is stopped (a reboot would
                         ///< resume from a stale file) and the run ends with 78
    tick,                ///< a deadline passed (or a periodic wake-up)
};
std::string_view to_string(event_type e);

struct event {
    event_type type = event_type::tick;
    time_point now{};
    int exit_status = 0;
    bool terminate = false;
    bool ok = true;
    bool can_graceful = false;
    bool can_new_credentials = false;
    phase loaded_phase = phase::running;
    std::optional<time_point> deadline;
    std::optional<time_point> boot_time;              ///< state_loaded
    std::optional<time_point> state_written;          ///< state_loaded
    std::optional<std::string> deployment_id;         ///< worker_prepared, stop_check_result
    failure_class failure = failure_class::internal;  ///< failed, reregister_failed
    std::string reason;
};

class lifecycle {
  public:
    explicit lifecycle(lifecycle_options opts) : opts_(std::move(opts)) {}

    /// Feeds one event; returns the actions to perform, in order.
    std::vector<action> resume(const event& ev);

    /// The earliest wall-clock time at which the machine wants a tick.
    std::optional<time_point> next_deadline() const;

    stage current() const { return stage_; }
    /// One line for sd_notify STATUS=: the stage and what it waits for, e.g. "running: waiting
    /// for the worker's hello", "start-up failed: <why>; shutting the host down at <time>".
    /// Changes only when resume() returns; the shell sends it as STATUS= and logs it (info)
    /// when it changes (the start-up failure wait has no other log line).
    std::string status() const;
    bool resumed() const { return resumed_; }
    bool hello_received() const { return capabilities_known_; }
    stop_level stopping_level() const { return stop_.level; }
    bool stopping() const { return stop_.level != stop_level::none; }
    renewal_state renewal() const { return renewal_; }
    const std::optional<time_point>& credentials_expire() const { return expire_; }
    const std::optional<time_point>& termination_deadline() const { return notice_deadline_; }
    const lifecycle_options& options() const { return opts_; }

  private:
    using actions = std::vector<action>;
    struct stop_state {
        stop_level level = stop_level::none;
        stop_level held = stop_level::none;  ///< wanted before hello; applied at hello/timeout
        std::string held_reason;
        std::optional<time_point> escalate_at;  ///< finish-tasks false
        std::optional<time_point> kill_at;
    };

    // Stage handlers: dispatch is on the stage first, then on the event.
    actions before_worker(const event& ev);
    actions while_running(const event& ev);
    actions after_worker(const event& ev);
    actions on_signal_before_worker(const event& ev);
    actions on_tick(time_point now);
    actions on_worker_exit(const event& ev);
    actions on_capabilities(time_point now);

    actions begin(action_type op);  ///< starts an operation before the worker runs
    actions start_configuring();
    actions after_provider(time_point now);
    actions after_identity();
    actions after_secrets();
    actions finish(exit_code code, std::string reason);
    actions startup_failure(failure_class c, std::string reason, time_point now);
    actions host_action(bool reboot, std::string reason);
    /// A cloud worker's end after its exit: removeWorker (then, on `removed`, the host
    /// shutdown), or the shutdown at once for a provider that never registered (aws-provisioner).
    actions end_cloud_worker(std::string reason);
    /// The cancel command for the operation in flight (none if nothing is), which is then
    /// forgotten: its completion, if one still comes, is ignored.
    actions cancel_in_flight(std::string reason);
    actions remove_after_stop(std::string reason);

    actions request_stop(time_point now, stop_level want, std::string reason);
    actions apply_stop(time_point now, stop_level want, std::string reason);
    void arm_renewal(time_point now, bool just_renewed);
    actions renewal_failed(const event& ev);
    std::optional<time_point> expiry_stop_at() const;
    action persist(phase p) const;

    lifecycle_options opts_;
    stage stage_ = stage::init;
    std::optional<action_type> in_flight_;  ///< the operation before the worker runs
    bool resumed_ = false;
    bool registered_ = false;  ///< registerWorker (or a resumed registration) succeeded
    phase loaded_phase_ = phase::running;

    // Credentials: the runner's, and those the worker holds.
    std::optional<time_point> expire_;
    renewal_state renewal_ = renewal_state::idle;
    std::optional<time_point> renew_at_;
    int renew_failures_ = 0;
    std::optional<time_point> worker_expire_;  ///< expiry of the credentials the worker has
    std::chrono::milliseconds margin_{0};      ///< stop_margin of worker_expire_
    bool credentials_undelivered_ = false;     ///< renewed before hello: deliver after it

    // The worker
    bool worker_running_ = false;
    bool capabilities_known_ = false;  ///< hello said, or its timeout passed
    bool can_graceful_ = false;
    bool can_new_credentials_ = false;
    std::optional<time_point> hello_deadline_;
    std::optional<event> early_hello_;  ///< hello before worker_started was reported
    std::optional<event> early_exit_;   ///< worker_exited before worker_started was reported
    std::string deployment_id_;

    // Why and how far the worker is being stopped
    stop_state stop_;
    int signals_ = 0;
    bool shutdown_requested_ = false;
    bool replaced_ = false;  ///< a stop check said terminate
    /// Why the state file could not be written while the worker ran (state_write_failed).
    std::optional<std::string> state_write_failed_;
    bool notice_ = false;
    std::optional<time_point> notice_deadline_;

    // Stop checks
    std::optional<time_point> stop_check_at_;
    bool stop_check_in_flight_ = false;

    // The end
    bool reboot_pending_ = false;
    std::optional<exit_code> failure_code_;  ///< a start-up failure waiting for the shutdown
    std::string failure_reason_;
    std::optional<time_point> shutdown_at_;
};

}  // namespace sw::state
