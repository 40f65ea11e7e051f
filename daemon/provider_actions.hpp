#pragma once
// The actions that talk to the provider and the host: learn the worker's identity (configure,
// or resume a cached run), termination notices (once before anything is registered or started,
// then watched while the worker runs, acknowledged when it has stopped), and the host's
// shutdown and reboot commands. Each is an operation (daemon/operations.hpp) whose result is
// the event it ends with.
#include "daemon/session.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace sw::daemon {

class provider_actions {
  public:
    explicit provider_actions(session& s) : s_(s) {}

    /// provider.configure + identity proof -> `provider_configured`. Throws (-> `failed`).
    boost::asio::awaitable<std::optional<state::event>> configure();

    /// provider.use_cached_run -> `provider_configured`.
    boost::asio::awaitable<std::optional<state::event>> resume();

    /// Asks the cloud once whether the instance is already marked for termination ->
    /// `termination_checked` (terminate, reason, deadline). A failed check is logged and
    /// answers terminate=false (the provider bounds it).
    boost::asio::awaitable<std::optional<state::event>> check_termination();

    /// Runs until the cloud announces termination -> `notice`; a watcher that fails is logged
    /// and ends without an event.
    boost::asio::awaitable<std::optional<state::event>> watch_termination();

    /// Tells the platform the worker has stopped (azure), best effort. No event.
    boost::asio::awaitable<std::optional<state::event>> acknowledge();

    /// Runs host.shutdownCommand or host.rebootCommand -> `host_action_done` (ok = it ran and
    /// exited 0; reason when not).
    boost::asio::awaitable<std::optional<state::event>> host_command(bool reboot,
                                                                     std::string reason);

    /// --once: logs the command that would have run ("--once: would run: <cmd> (<reason>)").
    void log_dry_run(bool reboot, const std::string& reason) const;

    /// Records `n` as the run's notice (the first one wins) and logs it; the `notice` event, or
    /// nullopt when a notice was already seen.
    std::optional<state::event> on_notice(const termination_notice& n);

  private:
    session& s_;
};

}  // namespace sw::daemon
