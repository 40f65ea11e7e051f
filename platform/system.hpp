#pragma once
// Small OS facts and actions.
#include "lib/common/clock.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sw::platform {

/// Environment variable `name` as UTF-8; nullopt when it is unset ("" when set to nothing).
/// POSIX: getenv. Windows: GetEnvironmentVariableW converted from UTF-16; getenv there gives the
/// ANSI code page, in which a path with a character outside it (SSL_CERT_FILE=C:\конфиг\ca.pem)
/// names another file.
std::optional<std::string> environment_variable(const char* name);

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
    /// EXTEND_TIMEOUT_USEC=<usec>: asks systemd to allow `d` more from now for the start or
    /// stop in progress (systemd >= 236, sd_notify(3)); without it a drain longer than the
    /// unit's TimeoutStopSec= is cut short. Each message replaces the previous one, so send it
    /// again before `d` runs out (e.g. with every watchdog tick while the worker drains).
    /// Negative durations are sent as 0.
    void extend_timeout(std::chrono::microseconds d) {
        notify("EXTEND_TIMEOUT_USEC=" + std::to_string(d.count() < 0 ? 0 : d.count()));
    }
    /// Half of WATCHDOG_USEC when the watchdog is on (and WATCHDOG_PID is us or unset),
    /// clamped to [min_watchdog_interval, max_watchdog_interval]: WATCHDOG_USEC=1 must not
    /// make the event loop ping in a busy loop, nor a huge value overflow a timer.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }
    static constexpr std::chrono::microseconds min_watchdog_interval{100'000};        // 100 ms
    static constexpr std::chrono::microseconds max_watchdog_interval{3'600'000'000};  // 1 h
    /// Sends an arbitrary "KEY=VALUE\n..." message; returns false on failure.
    bool notify(std::string_view message);

  private:
    std::string socket_path_;
    std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace sw::platform
