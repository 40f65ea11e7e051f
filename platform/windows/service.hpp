#pragma once
// The Windows service control manager: installing start-worker as a service, reporting its
// status while it runs, and the generic-worker service that service mode starts and watches.
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>
#include <windows.h>

namespace sw::platform::win {

/// The service name start-worker registers (CONTRACT.md).
inline constexpr const char* service_name = "start-worker";

struct service_install_options {
    std::string binary;         ///< absolute path of start-worker.exe
    std::string config;         ///< absolute path of the runner config
    bool demand_start = false;  ///< tests: SERVICE_DEMAND_START instead of SERVICE_AUTO_START
    std::chrono::seconds restart_delay{10};  ///< the unit's RestartSec=
};

/// CreateServiceW (own process, LocalSystem, automatic start unless demand_start) with the
/// command line "<binary>" "<config>", a description, recovery actions that restart it after
/// `restart_delay` (three times, the failure count reset after a day) also on non-crash
/// failures (a non-zero exit reported to the SCM), and a 3-minute pre-shutdown timeout.
/// Throws std::system_error naming the step ("OpenSCManager", "CreateService start-worker").
/// Returns warnings for settings the SCM refused but that the service can run without.
std::vector<std::string> install_service(const service_install_options& opts);

/// Stops (if running, waiting up to `timeout`) and deletes the service. Throws
/// std::system_error; a service that does not exist is an error (ERROR_SERVICE_DOES_NOT_EXIST).
void uninstall_service(std::chrono::milliseconds timeout);

/// True when this process was started by the SCM (its parent is services.exe). Checked before
/// StartServiceCtrlDispatcherW, which outside the SCM fails only after about 10 s.
bool started_by_scm();

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
