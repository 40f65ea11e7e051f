// The Windows SCM side of start-worker (install, status) and of generic-worker's service mode
// (reference worker-runner.md 5.1: runmethod_windows.go).
#include "platform/windows/service.hpp"

#include "platform/windows/win.hpp"

#include <algorithm>
#include <atomic>
#include <cwctype>
#include <mutex>
#include <thread>
#include <tlhelp32.h>
#include <utility>
#include <vector>

namespace sw::platform::win {
namespace {

/// Owns an SC_HANDLE.
class sc_handle {
  public:
    explicit sc_handle(SC_HANDLE h = nullptr) : h_(h) {}
    sc_handle(sc_handle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    sc_handle(const sc_handle&) = delete;
    sc_handle& operator=(const sc_handle&) = delete;
    ~sc_handle() {
        if (h_) ::CloseServiceHandle(h_);
    }
    SC_HANDLE get() const { return h_; }
    explicit operator bool() const { return h_ != nullptr; }

  private:
    SC_HANDLE h_;
};

sc_handle open_manager(DWORD access, const std::string& what) {
    sc_handle m(::OpenSCManagerW(nullptr, nullptr, access));
    if (!m) throw_win32(what);
    return m;
}

std::mutex status_mutex;
SERVICE_STATUS_HANDLE status_handle = nullptr;
DWORD checkpoint = 0;

}  // namespace

std::vector<std::string> install_service(const service_install_options& opts) {
    std::vector<std::string> warnings;
    auto manager = open_manager(SC_MANAGER_CREATE_SERVICE, "OpenSCManager");
    const std::wstring cmdline =
        quote_arg(widen(opts.binary)) + L" " + quote_arg(widen(opts.config));
    const std::wstring name = widen(service_name);
    sc_handle svc(::CreateServiceW(
        manager.get(), name.c_str(), L"Taskcluster worker runner (start-worker)",
        SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
        opts.demand_start ? SERVICE_DEMAND_START : SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
        cmdline.c_str(), nullptr, nullptr, nullptr, nullptr /* LocalSystem */, nullptr));
    if (!svc) throw_win32(std::string("CreateService ") + service_name);

    std::wstring description =
        L"Registers this machine with Taskcluster and runs the worker (start-worker).";
    SERVICE_DESCRIPTIONW desc{description.data()};
    ::ChangeServiceConfig2W(svc.get(), SERVICE_CONFIG_DESCRIPTION, &desc);

    // The unit's Restart=on-failure, RestartSec=: restart after a failure, also when the
    // service reports a non-zero exit (non-crash failure), not after a clean stop.
    SC_ACTION actions[3];
    for (auto& a : actions) {
        a.Type = SC_ACTION_RESTART;
        a.Delay = static_cast<DWORD>(
            std::chrono::duration_cast<std::chrono::milliseconds>(opts.restart_delay).count());
    }
    SERVICE_FAILURE_ACTIONSW failure{};
    failure.dwResetPeriod = 24 * 60 * 60;
    failure.cActions = 3;
    failure.lpsaActions = actions;
    if (!::ChangeServiceConfig2W(svc.get(), SERVICE_CONFIG_FAILURE_ACTIONS, &failure))
        throw_win32("ChangeServiceConfig2 (failure actions)");
    SERVICE_FAILURE_ACTIONS_FLAG flag{TRUE};
    if (!::ChangeServiceConfig2W(svc.get(), SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag)) {
        // Wine 8 does not implement this level (ERROR_INVALID_LEVEL): the service is still
        // restarted after crashes there, not after a non-zero exit.
        if (::GetLastError() != ERROR_INVALID_LEVEL)
            throw_win32("ChangeServiceConfig2 (failure actions on non-crash failures)");
        warnings.push_back(
            "the SCM does not support failure actions on non-crash failures "
            "(ChangeServiceConfig2 SERVICE_CONFIG_FAILURE_ACTIONS_FLAG: invalid level)");
    }
    // Room for the worker to hear graceful-termination before the host goes down.
    SERVICE_PRESHUTDOWN_INFO pre{3 * 60 * 1000};
    if (!::ChangeServiceConfig2W(svc.get(), SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre))
        warnings.push_back("could not set the pre-shutdown timeout: " + win32_error().message());
    return warnings;
}

void uninstall_service(std::chrono::milliseconds timeout) {
    auto manager = open_manager(SC_MANAGER_CONNECT, "OpenSCManager");
    sc_handle svc(::OpenServiceW(manager.get(), widen(service_name).c_str(),
                                 SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
    if (!svc) throw_win32(std::string("OpenService ") + service_name);
    SERVICE_STATUS st{};
    // Delete first: an automatic-start service that stops is otherwise started again (Wine).
    if (!::DeleteService(svc.get()) && ::GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE)
        throw_win32(std::string("DeleteService ") + service_name);
    if (::QueryServiceStatus(svc.get(), &st) && st.dwCurrentState != SERVICE_STOPPED) {
        ::ControlService(svc.get(), SERVICE_CONTROL_STOP, &st);
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (::QueryServiceStatus(svc.get(), &st) && st.dwCurrentState != SERVICE_STOPPED &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

bool started_by_scm() {
    const DWORD self = ::GetCurrentProcessId();
    handle snap(::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
    if (!snap) return false;
    PROCESSENTRY32W pe{};
    pe.dwSize = sizeof pe;
    DWORD parent = 0;
    for (BOOL ok = ::Process32FirstW(snap.get(), &pe); ok; ok = ::Process32NextW(snap.get(), &pe))
        if (pe.th32ProcessID == self) parent = pe.th32ParentProcessID;
    if (!parent) return false;
    pe.dwSize = sizeof pe;
    for (BOOL ok = ::Process32FirstW(snap.get(), &pe); ok; ok = ::Process32NextW(snap.get(), &pe)) {
        if (pe.th32ProcessID != parent) continue;
        std::wstring exe(pe.szExeFile);
        for (auto& c : exe) c = static_cast<wchar_t>(std::towlower(c));
        const auto slash = exe.find_last_of(L"\\/");
        return exe.substr(slash == std::wstring::npos ? 0 : slash + 1) == L"services.exe";
    }
    return false;
}

void set_service_status_handle(SERVICE_STATUS_HANDLE h) {
    std::lock_guard lock(status_mutex);
    status_handle = h;
}

bool running_as_service() {
    std::lock_guard lock(status_mutex);
    return status_handle != nullptr;
}

void report_service_status(DWORD state, std::chrono::milliseconds wait_hint, int exit_code,
                           bool restartable) {
    std::lock_guard lock(status_mutex);
    if (!status_handle) return;
    SERVICE_STATUS st{};
    st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    st.dwCurrentState = state;
    st.dwControlsAccepted =
        state == SERVICE_RUNNING
            ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN
            : 0;
    if (state == SERVICE_STOP_PENDING)
        st.dwControlsAccepted = SERVICE_ACCEPT_STOP;  // a second stop: finish-tasks false
    if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING) {
        st.dwCheckPoint = ++checkpoint;
        st.dwWaitHint = static_cast<DWORD>(wait_hint.count());
    } else {
        checkpoint = 0;
    }
    if (state == SERVICE_STOPPED && exit_code != 0 && restartable) {
        st.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        st.dwServiceSpecificExitCode = static_cast<DWORD>(exit_code);
    }
    ::SetServiceStatus(status_handle, &st);
}

void start_service(const std::string& name) {
    sc_handle m(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!m) throw_win32("error opening service manager");
    sc_handle svc(
        ::OpenServiceW(m.get(), widen(name).c_str(), SERVICE_START | SERVICE_QUERY_STATUS));
    if (!svc) throw_win32("error getting service " + name);
    // While the SCM starts the automatic-start services at boot it may hold its database lock
    // (ERROR_SERVICE_DATABASE_LOCKED): try again for up to 30 s before giving up.
    for (int attempt = 1;; ++attempt) {
        if (::StartServiceW(svc.get(), 0, nullptr)) return;
        const DWORD err = ::GetLastError();
        if (err == ERROR_SERVICE_ALREADY_RUNNING) return;
        if (err != ERROR_SERVICE_DATABASE_LOCKED || attempt >= 30)
            throw_win32("error starting service " + name, err);
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

service_state query_service(const std::string& name) {
    sc_handle m(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!m) throw_win32("error opening service manager");
    sc_handle svc(::OpenServiceW(m.get(), widen(name).c_str(), SERVICE_QUERY_STATUS));
    if (!svc) throw_win32("error getting service " + name);
    SERVICE_STATUS st{};
    if (!::QueryServiceStatus(svc.get(), &st)) throw_win32("error querying service " + name);
    return {st.dwCurrentState, st.dwWin32ExitCode, st.dwServiceSpecificExitCode};
}

std::error_code stop_service(const std::string& name) {
    sc_handle m(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!m) return win32_error();
    sc_handle svc(::OpenServiceW(m.get(), widen(name).c_str(), SERVICE_STOP));
    if (!svc) return win32_error();
    SERVICE_STATUS st{};
    if (!::ControlService(svc.get(), SERVICE_CONTROL_STOP, &st)) return win32_error();
    return {};
}

}  // namespace sw::platform::win
