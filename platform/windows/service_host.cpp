// start-worker's own service entry and console control events: the Win32 side of
// daemon/service_windows.cpp (StartServiceCtrlDispatcherW, ServiceMain, HandlerEx,
// SetConsoleCtrlHandler) and the paths --install-service registers.
#include "platform/windows/service_host.hpp"

#include "platform/windows/service.hpp"
#include "platform/windows/win.hpp"

#include <iterator>

namespace sw::platform::win {
namespace {

// Set once by run_service_dispatcher / set_console_event_handler before Windows can call back.
service_control_handler g_control_handler = nullptr;
service_main_function g_service_main = nullptr;
console_event_handler g_console_handler = nullptr;

service_control control_of(DWORD control) {
    switch (control) {
        case SERVICE_CONTROL_STOP:
            return service_control::stop;
        case SERVICE_CONTROL_PRESHUTDOWN:
            return service_control::preshutdown;
        case SERVICE_CONTROL_SHUTDOWN:
            return service_control::shutdown;
        case SERVICE_CONTROL_INTERROGATE:
            return service_control::interrogate;
        default:
            return service_control::other;
    }
}

DWORD WINAPI handler_ex(DWORD control, DWORD, void*, void*) {
    return g_control_handler(control_of(control)) ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI service_main(DWORD, LPWSTR*) {
    SERVICE_STATUS_HANDLE h =
        ::RegisterServiceCtrlHandlerExW(widen(service_name).c_str(), handler_ex, nullptr);
    if (!h) return;
    set_service_status_handle(h);
    g_service_main();
}

console_event event_of(DWORD event) {
    switch (event) {
        case CTRL_C_EVENT:
            return console_event::ctrl_c;
        case CTRL_BREAK_EVENT:
            return console_event::ctrl_break;
        case CTRL_CLOSE_EVENT:
            return console_event::close;
        case CTRL_LOGOFF_EVENT:
            return console_event::logoff;
        case CTRL_SHUTDOWN_EVENT:
            return console_event::shutdown;
        default:
            return console_event::other;
    }
}

BOOL WINAPI console_handler(DWORD event) {
    return g_console_handler(event_of(event)) ? TRUE : FALSE;
}

}  // namespace

bool is_access_denied(const std::error_code& e) {
    return e.category() == std::system_category() && e.value() == ERROR_ACCESS_DENIED;
}

void report_service_status(service_current_state state, std::chrono::milliseconds wait_hint,
                           int exit_code, bool restartable) {
    DWORD s = SERVICE_STOPPED;
    switch (state) {
        case service_current_state::running:
            s = SERVICE_RUNNING;
            break;
        case service_current_state::stop_pending:
            s = SERVICE_STOP_PENDING;
            break;
        case service_current_state::stopped:
            s = SERVICE_STOPPED;
            break;
    }
    report_service_status(s, wait_hint, exit_code, restartable);
}

std::error_code run_service_dispatcher(service_control_handler handler, service_main_function run) {
    g_control_handler = handler;
    g_service_main = run;
    std::wstring name = widen(service_name);
    SERVICE_TABLE_ENTRYW table[] = {{name.data(), service_main}, {nullptr, nullptr}};
    if (::StartServiceCtrlDispatcherW(table)) return {};
    return win32_error();
}

std::error_code set_console_event_handler(console_event_handler handler) {
    g_console_handler = handler;
    if (::SetConsoleCtrlHandler(console_handler, TRUE)) return {};
    return win32_error();
}

std::string full_path_name(const std::string& path) {
    const std::wstring w = widen(path);
    wchar_t buf[MAX_PATH * 4];
    const DWORD n = ::GetFullPathNameW(w.c_str(), static_cast<DWORD>(std::size(buf)), buf, nullptr);
    return n && n < std::size(buf) ? narrow(std::wstring_view(buf, n)) : path;
}

std::string module_file_name() {
    wchar_t exe[MAX_PATH * 4];
    const DWORD n = ::GetModuleFileNameW(nullptr, exe, static_cast<DWORD>(std::size(exe)));
    return narrow(std::wstring_view(exe, n));
}

}  // namespace sw::platform::win
