#pragma once
// The Windows service control manager: start-worker's own service (service_host.hpp, plus its
// Win32-typed status calls here) and the generic-worker service that service mode starts and
// watches.
#include "platform/windows/service_host.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>
#include <windows.h>

namespace sw::platform::win {

/// The running service's status handle (set once by the service main), used by
/// service_notifier and report_service_status.
void set_service_status_handle(SERVICE_STATUS_HANDLE h);
bool running_as_service();

/// SetServiceStatus for our own service. `state` is SERVICE_START_PENDING, SERVICE_RUNNING,
/// SERVICE_STOP_PENDING or SERVICE_STOPPED; pending states count checkpoints up and carry
/// `wait_hint`. For SERVICE_STOPPED, `exit_code` != 0 becomes ERROR_SERVICE_SPECIFIC_ERROR with
/// that service-specific code unless `restartable` is false (then NO_ERROR: the SCM's recovery
/// actions, like systemd's RestartPreventExitStatus=, do not restart it).
void report_service_status(DWORD state, std::chrono::milliseconds wait_hint = {}, int exit_code = 0,
                           bool restartable = true);

/// What service mode needs of a worker's service: start it, and learn when it has stopped.
struct service_state {
    DWORD current_state = 0;  ///< SERVICE_RUNNING, SERVICE_STOPPED, ...
    DWORD win32_exit_code = 0;
    DWORD service_specific_exit_code = 0;
};
/// StartServiceW on `name` (an already running service is fine; a locked SCM database is tried
/// again every second for up to 30 s, blocking the caller). Throws std::system_error
/// "error opening service manager" / "error getting service <name>" / "error starting service
/// <name>" as the Go runner words them.
void start_service(const std::string& name);
/// QueryServiceStatus on `name`; throws std::system_error as start_service does.
service_state query_service(const std::string& name);
/// ControlService(SERVICE_CONTROL_STOP); errors are returned, not thrown.
std::error_code stop_service(const std::string& name);

}  // namespace sw::platform::win
