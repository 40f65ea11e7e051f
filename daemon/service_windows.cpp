// start-worker as a Windows service (SCM) and the console control events of interactive runs.
#include "daemon/service_windows.hpp"

#include "daemon/exit_status.hpp"
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/log/log.hpp"
#include "platform/windows/service.hpp"
#include "platform/windows/win.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace sw::daemon {
namespace {

namespace win = sw::platform::win;
using namespace std::chrono_literals;

// The restart policy of units/start-worker.service.in: RestartPreventExitStatus=3 4 64 77 78.
bool restartable(int code) {
    for (const int c : {3, 4, 64, 77, 78})
        if (code == c) return false;
    return true;
}

int g_argc = 0;
char** g_argv = nullptr;
main_function g_run = nullptr;
int g_exit_code = 0;
std::atomic<int> g_stops{0};
std::atomic<bool> g_done{false};
std::thread g_checkpoints;

/// While the worker drains, the SCM must see the checkpoint move within each wait hint.
void keep_stop_pending() {
    while (!g_done.load()) {
        win::report_service_status(SERVICE_STOP_PENDING, 30s);
        for (int i = 0; i < 100 && !g_done.load(); ++i) std::this_thread::sleep_for(100ms);
    }
}

/// A stop request: SIGTERM, as systemd's stop is on Linux (the runner's signal_set delivers it
/// to its event loop; the MSVCRT calls the handler on this thread).
void request_stop(int times) {
    if (g_stops.fetch_add(times) == 0) {
        win::report_service_status(SERVICE_STOP_PENDING, 30s);
        g_checkpoints = std::thread(keep_stop_pending);
    }
    for (int i = 0; i < times; ++i) std::raise(SIGTERM);
}

DWORD WINAPI control_handler(DWORD control, DWORD, void*, void*) {
    switch (control) {
        case SERVICE_CONTROL_STOP:
            request_stop(1);
            return NO_ERROR;
        case SERVICE_CONTROL_PRESHUTDOWN:
        case SERVICE_CONTROL_SHUTDOWN:
            // The host goes down: the worker gets finish-tasks false at once (two stops).
            request_stop(g_stops.load() == 0 ? 2 : 1);
            return NO_ERROR;
        case SERVICE_CONTROL_INTERROGATE:
            return NO_ERROR;
        default:
            return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI service_main(DWORD, LPWSTR*) {
    SERVICE_STATUS_HANDLE h = ::RegisterServiceCtrlHandlerExW(win::widen(win::service_name).c_str(),
                                                              control_handler, nullptr);
    if (!h) return;
    win::set_service_status_handle(h);
    // Running at once: registration and secrets may take minutes, which a start-pending
    // service must not (the SCM and `sc start` wait on it).
    win::report_service_status(SERVICE_RUNNING);
    // A stop that arrives before the runner listens for SIGTERM (still loading the config):
    // nothing has started and every file is written atomically, so stop right there, as the
    // runner does for a signal before the worker started.
    std::signal(SIGTERM, [](int) {
        win::report_service_status(SERVICE_STOPPED);
        std::_Exit(0);
    });
    g_exit_code = g_run(g_argc, g_argv);
    g_done = true;
    if (g_checkpoints.joinable()) g_checkpoints.join();
    if (g_exit_code != 0)
        sw::log::info("start-worker service stopping with exit code {}", g_exit_code);
    win::report_service_status(SERVICE_STOPPED, {}, g_exit_code, restartable(g_exit_code));
}

BOOL WINAPI console_handler(DWORD event) {
    switch (event) {
        case CTRL_C_EVENT:
            std::raise(SIGINT);
            return TRUE;
        case CTRL_BREAK_EVENT:
            std::raise(SIGTERM);
            return TRUE;
        case CTRL_CLOSE_EVENT:
        case CTRL_LOGOFF_EVENT:
        case CTRL_SHUTDOWN_EVENT:
            // Windows ends the process when this returns (at the latest after ~5 s): give the
            // runner that time to send graceful-termination.
            std::raise(SIGTERM);
            std::this_thread::sleep_for(4s);
            return TRUE;
        default:
            return FALSE;
    }
}

std::string full_path(const char* p) {
    const std::wstring w = win::widen(p);
    wchar_t buf[MAX_PATH * 4];
    const DWORD n = ::GetFullPathNameW(w.c_str(), static_cast<DWORD>(std::size(buf)), buf, nullptr);
    return n && n < std::size(buf) ? win::narrow(std::wstring_view(buf, n)) : std::string(p);
}

int exit_for(const std::system_error& e) {
    return e.code().value() == ERROR_ACCESS_DENIED ? to_int(exit_code::refused)
                                                   : to_int(exit_code::unavailable);
}

int install(const char* config) {
    const std::string path = full_path(config);
    try {
        sw::config::load_runner_config(path);  // never install a service that cannot start
    } catch (const failure& f) {
        std::fprintf(stderr, "start-worker: %s\n", f.what());
        return to_int(exit_code_for(f.code()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "start-worker: %s: %s\n", path.c_str(), e.what());
        return to_int(exit_code::config);
    }
    wchar_t exe[MAX_PATH * 4];
    const DWORD n = ::GetModuleFileNameW(nullptr, exe, static_cast<DWORD>(std::size(exe)));
    win::service_install_options o;
    o.binary = win::narrow(std::wstring_view(exe, n));
    o.config = path;
    try {
        for (const auto& w : win::install_service(o))
            std::fprintf(stderr, "start-worker: warning: %s\n", w.c_str());
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "start-worker: installing the %s service: %s\n", win::service_name,
                     e.what());
        return exit_for(e);
    }
    std::fprintf(stderr,
                 "start-worker: installed the %s service (automatic start): \"%s\" \"%s\"\n",
                 win::service_name, o.binary.c_str(), o.config.c_str());
    return 0;
}

int uninstall() {
    try {
        win::uninstall_service(std::chrono::minutes(16));
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "start-worker: removing the %s service: %s\n", win::service_name,
                     e.what());
        return exit_for(e);
    }
    std::fprintf(stderr, "start-worker: removed the %s service\n", win::service_name);
    return 0;
}

}  // namespace

int windows_main(int argc, char** argv, main_function run) {
    if (argc >= 2 && std::strcmp(argv[1], "--install-service") == 0) {
        if (argc != 3) {
            std::fprintf(stderr, "start-worker: --install-service takes <runnerConfig>\n");
            return to_int(exit_code::usage);
        }
        return install(argv[2]);
    }
    if (argc >= 2 && std::strcmp(argv[1], "--uninstall-service") == 0) {
        if (argc != 2) {
            std::fprintf(stderr, "start-worker: --uninstall-service takes no arguments\n");
            return to_int(exit_code::usage);
        }
        return uninstall();
    }
    if (win::started_by_scm()) {
        g_argc = argc;
        g_argv = argv;
        g_run = run;
        std::wstring name = win::widen(win::service_name);
        SERVICE_TABLE_ENTRYW table[] = {{name.data(), service_main}, {nullptr, nullptr}};
        if (::StartServiceCtrlDispatcherW(table)) return g_exit_code;
        // Not a service after all (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT): run in the console.
    }
    ::SetConsoleCtrlHandler(console_handler, TRUE);
    return run(argc, argv);
}

}  // namespace sw::daemon
