#pragma once
// How the daemon is seen from outside while it runs: the service manager's notify protocol
// (READY, STATUS, STOPPING, the watchdog) and the optional health endpoint.
#include "daemon/operations.hpp"
#include "daemon/session.hpp"
#include "lib/health/server.hpp"
#include "platform/system.hpp"

#include <memory>
#include <string_view>

namespace sw::daemon {

class observability {
  public:
    explicit observability(session& s) : s_(s) {}

    /// Binds health.listen when configured. Throws sw::failure(config) naming the key.
    void start_health();

    /// Pings the service manager's watchdog (WATCHDOG_USEC) as a background operation.
    void start_watchdog(operations& ops);

    void status(std::string_view text) { notifier_.status(text); }
    void ready() { notifier_.ready(); }
    /// STOPPING=1, and EXTEND_TIMEOUT_USEC= for the whole drain (gracefulStopTimeout +
    /// killTimeout + a margin), so a drain longer than the unit's TimeoutStopSec= is not cut.
    void stopping();

    /// Closes the health endpoint.
    void stop();

  private:
    health::snapshot snapshot() const;

    session& s_;
    platform::service_notifier notifier_;
    std::unique_ptr<health::server> health_;
};

}  // namespace sw::daemon
