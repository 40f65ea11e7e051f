#pragma once
// The actions that talk to Taskcluster (worker-manager and the secrets service): register,
// renew, read secrets, ask whether to stop, remove the worker, report errors. Each is an
// operation (daemon/operations.hpp) whose result is the event it ends with. Error reports are
// queued (session::reports) and sent one at a time.
#include "daemon/operations.hpp"
#include "daemon/session.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace sw::daemon {

class taskcluster_actions {
  public:
    taskcluster_actions(session& s, operations& ops) : s_(s), ops_(ops) {}

    /// registerWorker with the provider's proof -> `registered` (deadline = credential expiry).
    /// Throws (-> `failed`) on refusal or when retries run out.
    boost::asio::awaitable<std::optional<state::event>> register_worker();

    /// reregisterWorker -> `reregistered` or `reregister_failed` (`permanent` when the secret
    /// was refused: a 4xx other than 429).
    boost::asio::awaitable<std::optional<state::event>> reregister();

    /// Both secrets merged into the remote config -> `secrets_fetched`.
    boost::asio::awaitable<std::optional<state::event>> fetch_secrets();

    /// shouldWorkerTerminate, then the deploymentId of the secrets -> `stop_check_result`.
    /// Failures are logged and answered "do not terminate".
    boost::asio::awaitable<std::optional<state::event>> stop_check();

    /// removeWorker -> `removed` or `remove_failed`.
    boost::asio::awaitable<std::optional<state::event>> remove_worker();

    /// Queues `r` for reportWorkerError and starts the call when none is in flight. At most one
    /// call is in flight (an op_kind::report operation); while it lasts, at most
    /// tc::report_queue::limits reports wait, and the newest waiting one gives way to a new one
    /// (counted in session::reports.dropped_total(), logged once per call that ends).
    void queue_report(tc::error_report r);

    /// The runner's own error report (kind worker-runner-error) for `reason`, queued when the
    /// run has credentials and a pool to report against (else only logged).
    void report_error(std::string reason);

    /// Starts no further reportWorkerError call (the run is ending); logs the reports that
    /// were dropped or are left unsent.
    void close_reports();

  private:
    /// reportWorkerError with `r` (best effort: failures are logged). No event.
    boost::asio::awaitable<std::optional<state::event>> send_error_report(tc::error_report r);
    /// Starts the next queued report when none is in flight.
    void send_next_report();
    /// Logs the reports dropped since the last such line (one line, with the count).
    void log_dropped_reports();

    /// Both secrets, merged; their `files` appended to `files_out` when given.
    boost::asio::awaitable<boost::json::value> read_secrets(std::vector<worker_file>* files_out);

    session& s_;
    operations& ops_;
    bool reports_closed_ = false;
};

/// Identity of the JSON value at `deploymentId` of a worker config, for change detection (""
/// when absent).
std::string deployment_id_of(const boost::json::value& worker_config);

}  // namespace sw::daemon
