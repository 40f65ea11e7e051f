#pragma once
// The actions on this machine's own files: the state file (load, save, remove; whether a
// requested reboot happened), the worker's files and config file, and autologin.
#include "daemon/session.hpp"
#include "lib/workers/worker.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>

namespace sw::daemon {

class local_actions {
  public:
    /// `report` sends the runner's own error report (best effort), for an autologin that did
    /// not happen after a reboot.
    local_actions(session& s, std::function<void(std::string)> report)
        : s_(s), report_(std::move(report)) {}

    /// Reads the state file -> `state_missing` or `state_loaded` (deadline = the cached
    /// credentials' expiry; the system's boot time and when the file was written). Throws
    /// sw::failure for an unsafe or corrupt file (-> `failed`).
    state::event load_state();

    /// Saves the run state with phase `ph` (atomic, 0600: the previous file stays whole when
    /// this fails). A failure (a full or read-only disk...) is logged with the path and the
    /// OS's reason and returned as the `state_write_failed` event to push; nullopt on success
    /// and when no state file is configured.
    std::optional<state::event> persist(state::phase ph);

    /// Deletes the state file; logs `reason` when given.
    void remove_state(const std::string& reason);

    /// Merges the worker config (runner < worker-manager < secrets), extracts the files (not on
    /// a resumed run), writes the worker's config file and configures autologin. Returns the
    /// worker's start plan; the config's deploymentId is in the session. Throws
    /// sw::failure(config) for files that cannot be written.
    workers::start_plan prepare_worker(bool resumed);

    /// Rewrites the worker's config file with the current credentials (after a renewal);
    /// failures are logged.
    void rewrite_worker_config();

    /// Configures the display manager to log `username` in (under --once: logs what it would
    /// change). An unusable username is logged, never thrown.
    void configure_autologin(const std::string& username,
                             const std::optional<std::string>& password);

    /// After a reboot with autologin: waits (up to 2 minutes) for the user's session; reports
    /// an error if it never appears. No event.
    boost::asio::awaitable<std::optional<state::event>> verify_autologin(std::string user);

  private:
    session& s_;
    std::function<void(std::string)> report_;
};

}  // namespace sw::daemon
