#pragma once
// The actions that talk to Taskcluster (worker-manager and the secrets service): register,
// renew, read secrets, ask whether to stop, remove the worker, report errors. Each is an
// operation (daemon/operations.hpp) whose result is the event it ends with.
#include "daemon/session.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace sw::daemon {

class taskcluster_actions {
  public:
    explicit taskcluster_actions(session& s) : s_(s) {}

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

    /// reportWorkerError with `r` (best effort: failures are logged). No event.
    boost::asio::awaitable<std::optional<state::event>> send_error_report(tc::error_report r);

    /// The runner's own error report (kind worker-runner-error) for `reason`, when the run has
    /// credentials and a pool to report against. No event.
    boost::asio::awaitable<std::optional<state::event>> report_error(std::string reason);

  private:
    /// Both secrets, merged; their `files` appended to `files_out` when given.
    boost::asio::awaitable<boost::json::value> read_secrets(std::vector<worker_file>* files_out);

    session& s_;
};

/// Identity of the JSON value at `deploymentId` of a worker config, for change detection (""
/// when absent).
std::string deployment_id_of(const boost::json::value& worker_config);

}  // namespace sw::daemon
