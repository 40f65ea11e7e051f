#pragma once
// The runner's whole life as one sans-io state machine.
//
// configure -> register -> fetch secrets -> start worker -> monitor (protocol, renewal,
// termination notices, stop checks, signals) -> signal stop -> remove / shut down / reboot ->
// resume after reboot.
//
// The machine never performs I/O and never reads a clock: the daemon's shell feeds it events
// (each carrying the current wall-clock time), performs the actions it returns, one at a time
// and in order, and wakes it at next_deadline(). Every decision the runner makes is therefore
// testable as a transcript: feed events, check actions.
#include "lib/common/clock.hpp"
#include "lib/common/exit_codes.hpp"
#include "state/store.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::state {

using std::chrono::seconds;

/// What the machine needs to know about the configuration. Plain data.
struct lifecycle_options {
    bool once = false;                ///< --once: host actions are logged, not performed
    bool dynamic = false;             ///< cloud provider: removeWorker + host shutdown at the end
    bool registers = true;            ///< the provider registers with worker-manager
    bool can_register_again = false;  ///< expired cached credentials: register from scratch
    bool get_secrets = true;
    bool cache = false;                ///< a state file is configured
    bool has_process = true;           ///< false for dummy
    seconds stop_check_interval{300};  ///< 0 = off
    seconds graceful_stop_timeout{900};
    seconds kill_timeout{30};
    seconds hello_timeout{30};  ///< a worker that never says hello is assumed capability-less
    std::vector<int> reboot_exit_codes{67};
    bool autologin = false;
};

/// Where the machine is. Exposed for logs, sd_notify STATUS= and tests.
enum class stage {
    init,
    loading_state,
    configuring,
    resuming,
    registering,
    renewing_before_start,
    fetching_secrets,
    preparing,
    starting_worker,
    running,
    removing,
    host_action,
    done,
};
std::string_view to_string(stage s);

enum class action_type {
    load_state,          ///< read the state file -> state_missing / state_loaded / failed
    configure_provider,  ///< provider.configure + checks -> provider_configured / failed
    resume_provider,     ///< provider.use_cached_run -> provider_configured / failed
    register_worker,     ///< registerWorker -> registered / failed
    reregister,          ///< reregisterWorker -> reregistered / reregister_failed
    fetch_secrets,       ///< secrets get -> secrets_fetched / failed
    prepare_worker,      ///< merge config, configure_run, extract files, write worker config
    persist,             ///< save the state file with `phase` (no-op without a cache)
    remove_state,        ///< delete the state file (the lifecycle must not resume)
    start_worker,        ///< spawn -> worker_started / failed
    send_graceful,       ///< graceful-termination {finish-tasks}
    send_new_credentials,
    terminate_worker,    ///< SIGTERM to the worker's process group (no graceful capability)
    kill_worker,         ///< SIGKILL to the worker's process group
    stop_check,          ///< shouldWorkerTerminate + deployment id -> stop_check_result
    acknowledge_notice,  ///< azure: tell the platform the worker has stopped
    report_error,        ///< reportWorkerError (best effort, then continue)
    remove_worker,       ///< removeWorker -> removed / remove_failed
    shutdown_host,       ///< run host.shutdownCommand (or log "would run") -> host_action_done
    reboot_host,         ///< run host.rebootCommand (or log "would run") -> host_action_done
    notify_ready,        ///< sd_notify READY=1
    notify_stopping,     ///< sd_notify STOPPING=1
    exit,                ///< end the process with `code`
};
std::string_view to_string(action_type a);

struct action {
    explicit action(action_type t) : type(t) {}
    action_type type;
    bool finish_tasks = false;             ///< send_graceful
    phase persist_phase = phase::running;  ///< persist
    exit_code code = exit_code::ok;        ///< exit
    std::string reason;                    ///< for logs and error reports

    bool operator==(const action&) const = default;
};

enum class event_type {
    start,
    state_missing,
    state_loaded,  ///< loaded_phase, deadline = cached credential expiry
    provider_configured,
    registered,         ///< deadline = credential expiry (nullopt: permanent)
    reregistered,       ///< deadline = credential expiry
    reregister_failed,  ///< permanent: the secret was refused (no point retrying)
    secrets_fetched,
    worker_prepared,
    worker_started,
    hello,               ///< can_graceful, can_new_credentials
    signal,              ///< SIGTERM / SIGINT / service stop
    notice,              ///< a cloud termination notice; deadline = when the machine goes
    stop_check_result,   ///< terminate + reason
    shutdown_requested,  ///< the worker's `shutdown` message
    worker_exited,       ///< exit_status
    removed,
    remove_failed,
    host_action_done,  ///< ok = the command ran and succeeded
    failed,            ///< code + reason: the current action failed for good
    tick,              ///< a deadline passed (or a periodic wake-up)
};
std::string_view to_string(event_type e);

struct event {
    event_type type = event_type::tick;
    time_point now{};
    int exit_status = 0;
    bool terminate = false;
    bool permanent = false;
    bool ok = true;
    bool can_graceful = false;
    bool can_new_credentials = false;
    phase loaded_phase = phase::running;
    std::optional<time_point> deadline;
    exit_code code = exit_code::internal;
    std::string reason;
};

/// The Go runner's renewBeforeExpire (reference 11.0): how long from now to renew.
std::chrono::milliseconds renew_before_expire(std::chrono::milliseconds until_expiry);

class lifecycle {
  public:
    explicit lifecycle(lifecycle_options opts) : opts_(std::move(opts)) {}

    /// Feeds one event; returns the actions to perform, in order.
    std::vector<action> resume(const event& ev);

    /// The earliest wall-clock time at which the machine wants a tick.
    std::optional<time_point> next_deadline() const;

    stage current() const { return stage_; }
    bool resumed() const { return resumed_; }
    bool stopping() const { return graceful_sent_ || terminate_sent_; }
    const std::optional<time_point>& credentials_expire() const { return expire_; }
    const std::optional<time_point>& termination_deadline() const { return notice_deadline_; }
    const lifecycle_options& options() const { return opts_; }

  private:
    using actions = std::vector<action>;
    void set_stage(stage s) { stage_ = s; }
    actions after_identity(time_point now);
    actions after_secrets(time_point now);
    actions on_running_event(const event& ev);
    actions on_worker_exit(const event& ev);
    actions on_tick(time_point now);
    actions finish(exit_code code, std::string reason);
    actions end_with_host_action(bool reboot, std::string reason);
    actions escalate(time_point now, std::string reason);
    actions graceful(time_point now, bool finish_tasks, std::string reason);
    void arm_renewal(time_point now);
    bool credentials_expired(time_point now) const;
    time_point hard_deadline() const;
    bool renewal_due_soon(time_point now) const;
    action persist(phase p) const;

    lifecycle_options opts_;
    stage stage_ = stage::init;
    bool resumed_ = false;
    bool registered_ = false;  ///< registerWorker (or a resumed registration) succeeded
    phase loaded_phase_ = phase::running;

    // Credentials
    std::optional<time_point> expire_;
    std::optional<time_point> renew_at_;
    int renew_failures_ = 0;
    bool renewing_ = false;

    // Worker and protocol
    bool worker_running_ = false;
    bool hello_ = false;
    bool can_graceful_ = false;
    bool can_new_credentials_ = false;
    std::optional<time_point> hello_deadline_;

    // Stopping
    bool graceful_sent_ = false;      ///< finish-tasks true sent
    bool graceful_now_sent_ = false;  ///< finish-tasks false sent
    bool terminate_sent_ = false;
    bool killed_ = false;
    int signals_ = 0;
    bool shutdown_requested_ = false;
    bool stop_for_replacement_ = false;      ///< stop check said terminate
    std::optional<time_point> escalate_at_;  ///< finish-tasks false
    std::optional<time_point> kill_at_;
    std::optional<time_point> notice_deadline_;
    bool notice_ = false;
    bool pending_notice_ = false;  ///< a notice before the worker started: do not start it
    bool deferred_stop_ = false;   ///< a stop before hello: act once capabilities are known

    // Stop checks
    std::optional<time_point> stop_check_at_;
    bool stop_check_in_flight_ = false;

    // The end
    bool reboot_pending_ = false;
    exit_code final_code_ = exit_code::ok;
};

}  // namespace sw::state
