#pragma once
// start-worker's own side of the Windows service control manager (SCM), without <windows.h>:
// installing and removing the service, the service entry (StartServiceCtrlDispatcherW,
// ServiceMain, HandlerEx), the status it reports, and console control events. The daemon
// (daemon/service_windows.cpp) decides what each control and event means; this interface only
// carries them to and from Win32. platform/windows/service.hpp adds the Win32-typed rest.
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

namespace sw::platform::win {

/// The service name start-worker registers (CONTRACT.md).
inline constexpr const char* service_name = "start-worker";

struct service_install_options {
    std::string binary;         ///< absolute path of start-worker.exe (UTF-8)
    std::string config;         ///< absolute path of the runner config (UTF-8)
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

/// True when `e` is the Win32 error ERROR_ACCESS_DENIED (5, system category), as OpenSCManagerW
/// and CreateServiceW report a caller who is not an administrator.
bool is_access_denied(const std::error_code& e);

/// The states start-worker reports for itself: SERVICE_STATUS.dwCurrentState's
/// SERVICE_RUNNING, SERVICE_STOP_PENDING and SERVICE_STOPPED.
enum class service_current_state { running, stop_pending, stopped };

/// SetServiceStatus for our own service (a no-op before run_service_dispatcher's ServiceMain
/// registered it, and outside the SCM). Running accepts STOP, SHUTDOWN and PRESHUTDOWN; stop
/// pending accepts STOP only (a second stop) and counts its checkpoint up with `wait_hint`
/// (milliseconds within which the next report comes); stopped with `exit_code` != 0 reports
/// ERROR_SERVICE_SPECIFIC_ERROR with that service-specific code, unless `restartable` is false
/// (then NO_ERROR: the SCM's recovery actions, like systemd's RestartPreventExitStatus=, do not
/// restart it). Errors of SetServiceStatus are ignored (nothing could report them). Follows
/// learn.microsoft.com "SetServiceStatus function" and "SERVICE_STATUS structure".
void report_service_status(service_current_state state, std::chrono::milliseconds wait_hint = {},
                           int exit_code = 0, bool restartable = true);

/// The service controls (HandlerEx's dwControl) start-worker tells apart: SERVICE_CONTROL_STOP,
/// _PRESHUTDOWN, _SHUTDOWN, _INTERROGATE; `other` is any other control.
enum class service_control { stop, preshutdown, shutdown, interrogate, other };

/// Handles one control on the service control dispatcher's thread (it must return quickly:
/// the SCM waits). True: handled (HandlerEx returns NO_ERROR); false: not implemented
/// (ERROR_CALL_NOT_IMPLEMENTED).
using service_control_handler = bool (*)(service_control control);
/// The service's work, run on ServiceMain's thread once the control handler is registered.
using service_main_function = void (*)();

/// StartServiceCtrlDispatcherW with one SERVICE_WIN32_OWN_PROCESS entry named service_name.
/// Its ServiceMain registers `handler` with RegisterServiceCtrlHandlerExW (if that fails,
/// ServiceMain returns at once without a status), makes report_service_status report for this
/// service, then calls `service_main`. Blocks until the service has stopped. Returns no error
/// when the dispatcher ran, else the Win32 error (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: not
/// started by the SCM). Call at most once per process. Follows learn.microsoft.com
/// "StartServiceCtrlDispatcherW", "ServiceMain callback", "RegisterServiceCtrlHandlerExW" and
/// "LPHANDLER_FUNCTION_EX callback".
std::error_code run_service_dispatcher(service_control_handler handler,
                                       service_main_function service_main);

/// The console control events (HandlerRoutine's dwCtrlType) start-worker tells apart:
/// CTRL_C_EVENT, CTRL_BREAK_EVENT, CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT;
/// `other` is any other event.
enum class console_event { ctrl_c, ctrl_break, close, logoff, shutdown, other };

/// Handles one console event on a thread Windows creates for it. True: handled (TRUE; for
/// close, logoff and shutdown Windows ends the process once it returns, at the latest after
/// about 5 s); false: the next handler runs (in the end the default one, ExitProcess).
using console_event_handler = bool (*)(console_event event);

/// SetConsoleCtrlHandler(add): `handler` receives this process's console control events.
/// Returns the Win32 error when it could not be added. Follows learn.microsoft.com
/// "SetConsoleCtrlHandler function" and "HandlerRoutine callback function".
std::error_code set_console_event_handler(console_event_handler handler);

/// GetFullPathNameW: `path` (UTF-8) made absolute against the current directory (".", ".."
/// resolved, "/" becomes "\"), in UTF-8. Returns `path` unchanged when GetFullPathNameW fails
/// or the result needs more than 4 * MAX_PATH (1040) UTF-16 code units.
std::string full_path_name(const std::string& path);

/// GetModuleFileNameW(NULL): the path of this process's executable in UTF-8; "" when it fails,
/// cut at 4 * MAX_PATH (1040) UTF-16 code units as GetModuleFileNameW truncates.
std::string module_file_name();

}  // namespace sw::platform::win
