#pragma once
// Windows host actions and process facts that have no POSIX counterpart in the shared
// platform headers. Exposed so that tests under Wine can call them through the seam.
#include <string>
#include <system_error>
#include <vector>

namespace sw::platform::win {

/// Reboots (true) or shuts down (false) the host with InitiateShutdownW: all sessions, forced
/// application close after the grace period, a planned "application: maintenance" reason
/// (SHTDN_REASON_FLAG_PLANNED | MAJOR_APPLICATION | MINOR_MAINTENANCE). Enables
/// SE_SHUTDOWN_NAME first. Returns the Win32 error (Wine 8: 120, not implemented).
std::error_code initiate_host_shutdown(bool reboot);

/// True for the Linux default host commands ([shutdown, -r, now] / [shutdown, -h, now]), which
/// mean InitiateShutdownW on Windows; `reboot` says which one.
bool is_default_host_command(const std::vector<std::string>& argv, bool& reboot);

}  // namespace sw::platform::win
