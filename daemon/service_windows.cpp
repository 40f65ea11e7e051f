// start-worker as a Windows service (SCM) and the console control events of interactive runs.
#include "daemon/service_windows.hpp"

#include "daemon/exit_status.hpp"
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/log/log.hpp"
#include "platform/windows/service_host.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

namespace sw::daemon {
namespace {

namespace win = sw::platform::win;
using win::service_current_state;
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
        win::report_service_status(service_current_state::stop_pending, 30s);
        for (int i = 0; i < 100 && !g_done.load(); ++i) std::this_thread::sleep_for(100ms);
    }
}

/// A stop request: SIGTERM, as systemd's stop is on Linux (the runner's signal_set delivers it
/// to its event loop; the MSVCRT calls the handler on this thread).
void request_stop(int times) {
    if (g_stops.fetch_add(times) == 0) {
        win::report_service_status(service_current_state::stop_pending, 30s);
        g_checkpoints = std::thread(keep_stop_pending);
    }
    for (int i = 0; i < times; ++i) std::raise(SIGTERM);
}

/// The SCM's controls; true: handled (NO_ERROR), false: ERROR_CALL_NOT_IMPLEMENTED.
bool on_control(win::service_control control) {
    switch (control) {
        case win::service_control::stop:
            request_stop(1);
            return true;
        case win::service_control::preshutdown:
        case win::service_control::shutdown:
            // The host goes down: the worker gets finish-tasks false at once (two stops).
            request_stop(g_stops.load() == 0 ? 2 : 1);
            return true;
        case win::service_control::interrogate:
            return true;
        case win::service_control::other:
            return false;
    }
    return false;
}

/// ServiceMain's work, once the control handler is registered.
void service_main() {
    // Running at once: registration and secrets may take minutes, which a start-pending
    // service must not (the SCM and `sc start` wait on it).
    win::report_service_status(service_current_state::running);
    // A stop that arrives before the runner listens for SIGTERM (still loading the config):
    // nothing has started and every file is written atomically, so stop right there, as the
    // runner does for a signal before the worker started.
    std::signal(SIGTERM, [](int) {
        win::report_service_status(service_current_state::stopped);
        std::_Exit(0);
    });
    g_exit_code = g_run(g_argc, g_argv);
    g_done = true;
    if (g_checkpoints.joinable()) g_checkpoints.join();
    if (g_exit_code != 0)
        sw::log::info("start-worker service stopping with exit code {}", g_exit_code);
    win::report_service_status(service_current_state::stopped, {}, g_exit_code,
                               restartable(g_exit_code));
}

/// Console control events; true: handled, false: the next handler (ExitProcess).
bool on_console_event(win::console_event event) {
    switch (event) {
        case win::console_event::ctrl_c:
            std::raise(SIGINT);
            return true;
        case win::console_event::ctrl_break:
            std::raise(SIGTERM);
            return true;
        case win::console_event::close:
        case win::console_event::logoff:
        case win::console_event::shutdown:
            // Windows ends the process when this returns (at the latest after ~5 s): give the
            // runner that time to send graceful-termination.
            std::raise(SIGTERM);
            std::this_thread::sleep_for(4s);
            return true;
        case win::console_event::other:
            return false;
    }
    return false;
}

int exit_for(const std::system_error& e) {
    return win::is_access_denied(e.code()) ? to_int(exit_code::refused)
                                           : to_int(exit_code::unavailable);
}

int install(const char* config) {
    const std::string path = win::full_path_name(config);
    try {
        sw::config::load_runner_config(path);  // never install a service that cannot start
    } catch (const failure& f) {
        std::fprintf(stderr, "start-worker: %s\n", f.what());
        return to_int(exit_code_for(f.code()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "start-worker: %s: %s\n", path.c_str(), e.what());
        return to_int(exit_code::config);
    }
    win::service_install_options o;
    o.binary = win::module_file_name();
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
        if (!win::run_service_dispatcher(on_control, service_main)) return g_exit_code;
        // Not a service after all (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT): run in the console.
    }
    win::set_console_event_handler(on_console_event);
    return run(argc, argv);
}

}  // namespace sw::daemon
