#pragma once
// Small OS facts and actions.
#include "lib/common/clock.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sw::platform {

/// When the system booted (Linux: /proc/stat btime), if known.
std::optional<time_point> system_boot_time();

/// Best effort: protect process `pid` from the OOM killer (Linux: "-1000" into
/// /proc/<pid>/oom_score_adj). Returns the error, which the caller only logs (as the Go runner).
std::error_code disable_oom_killer(int pid);
/// The same for this process (what the daemon calls at start-up). Windows: nothing to do.
std::error_code disable_oom_killer();

/// systemd's notify protocol, reimplemented (no libsystemd): a datagram to $NOTIFY_SOCKET.
/// Every call is a no-op when NOTIFY_SOCKET is unset.
class service_notifier {
  public:
    service_notifier();  ///< reads NOTIFY_SOCKET and WATCHDOG_USEC once
    bool enabled() const { return !socket_path_.empty(); }
    void ready();
    void status(std::string_view text);
    void stopping();
    void watchdog();
    /// Half of WATCHDOG_USEC when the watchdog is on (and WATCHDOG_PID is us or unset).
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }
    /// Sends an arbitrary "KEY=VALUE\n..." message; returns false on failure.
    bool notify(std::string_view message);

  private:
    std::string socket_path_;
    std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace sw::platform
