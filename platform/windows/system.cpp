// Windows OS facts and actions: boot time, the service notifier mapped to SCM status, and host
// reboot/shutdown through InitiateShutdownW.
#include "platform/system.hpp"

#include "platform/windows/host.hpp"
#include "platform/windows/service.hpp"
#include "platform/windows/win.hpp"

#include <charconv>

namespace sw::platform {

std::optional<std::string> environment_variable(const char* name) {
    const std::wstring wname = win::widen(name);
    std::wstring value(64, L'\0');
    for (;;) {
        ::SetLastError(ERROR_SUCCESS);
        const DWORD n = ::GetEnvironmentVariableW(wname.c_str(), value.data(),
                                                  static_cast<DWORD>(value.size()));
        if (n == 0) {
            if (::GetLastError() == ERROR_ENVVAR_NOT_FOUND) return std::nullopt;
            return std::string();  // set to nothing
        }
        if (n < value.size()) return win::narrow(std::wstring_view(value.data(), n));
        value.resize(n);  // n counts the terminating NUL when the buffer was too small
    }
}

std::optional<time_point> system_boot_time() {
    // Now minus the uptime (GetTickCount64 counts milliseconds since boot, suspend included).
    const auto uptime = std::chrono::milliseconds(::GetTickCount64());
    return time_point(std::chrono::duration_cast<time_point::duration>(
        std::chrono::system_clock::now().time_since_epoch() - uptime));
}

std::error_code disable_oom_killer(int) {
    return {};  // Windows has no OOM killer to opt out of (the Go runner's DisableOOM is a no-op)
}

std::error_code disable_oom_killer() {
    return {};
}

// On Windows the notifier speaks to the SCM instead of systemd: enabled while running as the
// start-worker service. socket_path_ only marks that ("scm"); there is no socket.
service_notifier::service_notifier() {
    if (win::running_as_service()) socket_path_ = "scm";
}

bool service_notifier::notify(std::string_view message) {
    if (socket_path_.empty()) return false;
    // systemd's assignments, one per line, mapped to SCM states: READY=1 -> running (already
    // reported when the service started), STOPPING=1 -> stop pending, EXTEND_TIMEOUT_USEC=N ->
    // another stop-pending checkpoint with an N µs wait hint. STATUS= and WATCHDOG= have no SCM
    // counterpart.
    while (!message.empty()) {
        const auto nl = message.find('\n');
        const std::string_view line = message.substr(0, nl);
        message = nl == std::string_view::npos ? std::string_view{} : message.substr(nl + 1);
        if (line == "READY=1") {
            win::report_service_status(SERVICE_RUNNING);
        } else if (line == "STOPPING=1") {
            win::report_service_status(SERVICE_STOP_PENDING, std::chrono::seconds(30));
        } else if (line.rfind("EXTEND_TIMEOUT_USEC=", 0) == 0) {
            std::uint64_t usec = 0;
            const auto v = line.substr(20);
            std::from_chars(v.data(), v.data() + v.size(), usec);
            win::report_service_status(SERVICE_STOP_PENDING,
                                       std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::microseconds(usec)));
        }
    }
    return true;
}

void service_notifier::ready() {
    notify("READY=1");
}

void service_notifier::status(std::string_view) {}

void service_notifier::stopping() {
    notify("STOPPING=1");
}

void service_notifier::watchdog() {}  // the service main keeps stop-pending checkpoints going

namespace win {

bool is_default_host_command(const std::vector<std::string>& argv, bool& reboot) {
    if (argv.size() != 3 || argv[0] != "shutdown" || argv[2] != "now") return false;
    if (argv[1] != "-r" && argv[1] != "-h") return false;
    reboot = argv[1] == "-r";
    return true;
}

std::error_code initiate_host_shutdown(bool reboot) {
    HANDLE raw = nullptr;
    if (::OpenProcessToken(::GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &raw)) {
        handle token(raw);
        TOKEN_PRIVILEGES tp{};
        tp.PrivilegeCount = 1;
        tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
        if (::LookupPrivilegeValueW(nullptr, L"SeShutdownPrivilege", &tp.Privileges[0].Luid))
            ::AdjustTokenPrivileges(token.get(), FALSE, &tp, 0, nullptr, nullptr);
    }
    wchar_t message[] = L"start-worker: the worker requested it";
    const DWORD flags = SHUTDOWN_FORCE_OTHERS | SHUTDOWN_FORCE_SELF |
                        (reboot ? SHUTDOWN_RESTART : SHUTDOWN_POWEROFF);
    const DWORD reason =
        SHTDN_REASON_FLAG_PLANNED | SHTDN_REASON_MAJOR_APPLICATION | SHTDN_REASON_MINOR_MAINTENANCE;
    const DWORD rc = ::InitiateShutdownW(nullptr, message, 0, flags, reason);
    return rc == ERROR_SUCCESS ? std::error_code{} : win32_error(rc);
}

}  // namespace win
}  // namespace sw::platform
