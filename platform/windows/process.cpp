// Windows child processes: CreateProcessW with the child's stdin/stdout on pipes (overlapped on
// our side so that Asio's IOCP drives them), only those handles inherited, the child in a new
// process group (Ctrl-Break reaches it) and in a job object with KILL_ON_JOB_CLOSE, so that the
// worker and everything it started die with us or when it is killed.
#include "platform/process.hpp"

#include "platform/system.hpp"
#include "platform/windows/host.hpp"
#include "platform/windows/service_worker.hpp"
#include "platform/windows/win.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/windows/object_handle.hpp>
#include <boost/asio/windows/stream_handle.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cwctype>
#include <map>
#include <memory>
#include <optional>
#include <shellapi.h>

namespace sw::platform {
namespace {

namespace asio = boost::asio;
using win::handle;
using win::throw_win32;
using win::widen;

/// One pipe: our end overlapped (for Asio), the child's end synchronous and inheritable.
/// `inbound`: data flows from the child to us.
std::pair<handle, handle> make_pipe(bool inbound, const std::string& what) {
    static std::atomic<unsigned> counter{0};
    const std::wstring name = L"\\\\.\\pipe\\start-worker-" +
                              std::to_wstring(::GetCurrentProcessId()) + L"-" +
                              std::to_wstring(counter++);
    handle ours(::CreateNamedPipeW(
        name.c_str(),
        (inbound ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) | FILE_FLAG_OVERLAPPED |
            FILE_FLAG_FIRST_PIPE_INSTANCE,
        PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 65536,
        65536, 0, nullptr));
    if (!ours) throw_win32(what + ": CreateNamedPipe");
    SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
    handle theirs(::CreateFileW(name.c_str(), inbound ? GENERIC_WRITE : GENERIC_READ, 0, &sa,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!theirs) throw_win32(what + ": opening the pipe's client end");
    return {std::move(ours), std::move(theirs)};
}

/// An inheritable duplicate of a standard handle, or of NUL when there is none (a service).
handle inheritable_std(DWORD which, bool write) {
    HANDLE h = ::GetStdHandle(which);
    HANDLE dup = nullptr;
    if (h && h != INVALID_HANDLE_VALUE &&
        ::DuplicateHandle(::GetCurrentProcess(), h, ::GetCurrentProcess(), &dup, 0, TRUE,
                          DUPLICATE_SAME_ACCESS))
        return handle(dup);
    SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
    return handle(::CreateFileW(L"NUL", write ? GENERIC_WRITE : GENERIC_READ,
                                FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0,
                                nullptr));
}

std::wstring upper(std::wstring s) {
    for (auto& c : s) c = static_cast<wchar_t>(std::towupper(c));
    return s;
}

/// The inherited environment with `extra` on top (names compared case-insensitively, as
/// Windows does), as a sorted CreateProcessW block.
std::wstring build_env(const std::vector<std::pair<std::string, std::string>>& extra) {
    std::map<std::wstring, std::wstring> vars;  // upper-case name -> "Name=value"
    if (wchar_t* block = ::GetEnvironmentStringsW()) {
        for (const wchar_t* p = block; *p; p += std::wcslen(p) + 1) {
            const std::wstring entry(p);
            const auto eq = entry.find(L'=', 1);  // "=C:=C:\..." entries start with '='
            vars[upper(entry.substr(0, eq))] = entry;
        }
        ::FreeEnvironmentStringsW(block);
    }
    for (const auto& [k, v] : extra) vars[upper(widen(k))] = widen(k) + L"=" + widen(v);
    std::wstring out;
    for (const auto& [_, entry] : vars) {
        out += entry;
        out.push_back(L'\0');
    }
    out.push_back(L'\0');
    return out;
}

class windows_child final : public child_process {
  public:
    windows_child(asio::any_io_executor ex, PROCESS_INFORMATION pi, handle job, handle in,
                  handle out)
        : pid_(static_cast<int>(pi.dwProcessId)),
          process_(ex),
          job_(std::move(job)),
          stdin_(ex),
          stdout_(ex) {
        ::CloseHandle(pi.hThread);
        process_.assign(pi.hProcess);
        if (in) stdin_.assign(in.release());
        if (out) stdout_.assign(out.release());
    }

    int pid() const override { return pid_; }

    asio::awaitable<std::size_t> read_some(char* buf, std::size_t n) override {
        if (!stdout_.is_open() || n == 0) co_return 0;
        boost::system::error_code ec;
        const std::size_t got = co_await stdout_.async_read_some(
            asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::eof || ec.value() == ERROR_BROKEN_PIPE ||
            ec.value() == ERROR_PIPE_NOT_CONNECTED)
            co_return 0;
        if (ec) throw boost::system::system_error(ec, "reading from the worker's stdout");
        co_return got;
    }

    asio::awaitable<bool> write_all(std::string data) override {
        if (!stdin_.is_open()) co_return false;
        boost::system::error_code ec;
        co_await asio::async_write(stdin_, asio::buffer(data),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::broken_pipe || ec.value() == ERROR_BROKEN_PIPE ||
            ec.value() == ERROR_NO_DATA || ec.value() == ERROR_PIPE_NOT_CONNECTED ||
            ec == asio::error::bad_descriptor)
            co_return false;
        if (ec) throw boost::system::system_error(ec, "writing to the worker's stdin");
        co_return true;
    }

    void close_stdin() override {
        boost::system::error_code ec;
        stdin_.close(ec);
    }

    asio::awaitable<int> wait() override {
        if (!exited()) {
            boost::system::error_code ec;
            co_await process_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        exited();
        co_return exit_code_.value_or(1);
    }

    bool exited() const override {
        if (exit_code_) return true;
        DWORD code = 0;
        if (::WaitForSingleObject(
                const_cast<asio::windows::object_handle&>(process_).native_handle(), 0) !=
            WAIT_OBJECT_0)
            return false;
        if (!::GetExitCodeProcess(
                const_cast<asio::windows::object_handle&>(process_).native_handle(), &code))
            code = 1;
        exit_code_ = static_cast<int>(code);
        return true;
    }

    /// Ctrl-Break to the child's process group (it was started with CREATE_NEW_PROCESS_GROUP);
    /// generic-worker and Go programs treat it like SIGTERM. Without a shared console (as a
    /// service) there is nothing to deliver it: the protocol's graceful-termination and kill()
    /// remain.
    void terminate() override {
        if (!exited()) ::GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, static_cast<DWORD>(pid_));
    }

    /// Ends the whole job: the worker and every process it started. Exit code 1 (there is no
    /// signal number on Windows).
    void kill() override {
        if (exited()) return;
        if (!job_ || !::TerminateJobObject(job_.get(), 1))
            ::TerminateProcess(process_.native_handle(), 1);
    }

  private:
    int pid_;
    asio::windows::object_handle process_;
    handle job_;
    mutable std::optional<int> exit_code_;
    asio::windows::stream_handle stdin_;
    asio::windows::stream_handle stdout_;
};

bool has_extension(const std::string& name) {
    const auto slash = name.find_last_of("/\\");
    const auto dot = name.find_last_of('.');
    return dot != std::string::npos && (slash == std::string::npos || dot > slash);
}

bool is_file(const std::string& path) {
    const DWORD a = ::GetFileAttributesW(widen(path).c_str());
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

}  // namespace

void prepare_process() {}  // Windows has no SIGPIPE: a write to a closed pipe fails instead.

std::vector<int> signals_to_ignore() {
    return {};  // no signal of the C runtime ends the runner with its worker left running
}

std::string signal_name(int sig) {
    switch (sig) {
        case SIGINT:
            return "SIGINT";
        case SIGTERM:
            return "SIGTERM";
        case SIGBREAK:
            return "SIGBREAK";
        default:
            return "signal " + std::to_string(sig);
    }
}

std::string find_on_path(const std::string& name) {
    if (name.empty()) return {};
    // Like Go's exec.LookPath on Windows: a name with a path separator is used as it is (with
    // PATHEXT tried when it has no extension); never the current directory implicitly.
    std::vector<std::string> exts{""};
    if (!has_extension(name)) {
        std::string pathext = environment_variable("PATHEXT").value_or("");
        if (pathext.empty()) pathext = ".COM;.EXE;.BAT;.CMD";
        exts.clear();
        for (std::size_t s = 0; s <= pathext.size();) {
            auto e = pathext.find(';', s);
            if (e == std::string::npos) e = pathext.size();
            if (e > s) exts.push_back(pathext.substr(s, e - s));
            s = e + 1;
        }
    }
    if (name.find_first_of("/\\:") != std::string::npos) {
        for (const auto& ext : exts)
            if (is_file(name + ext)) return name + ext;
        return name;
    }
    const std::string path = environment_variable("PATH").value_or("");  // UTF-8, as `name`
    for (std::size_t start = 0; start <= path.size();) {
        std::size_t end = path.find(';', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        start = end + 1;
        if (dir.empty()) continue;
        if (dir.back() != '\\' && dir.back() != '/') dir += '\\';
        for (const auto& ext : exts)
            if (is_file(dir + name + ext)) return dir + name + ext;
    }
    return {};
}

std::unique_ptr<child_process> spawn(asio::any_io_executor ex, const spawn_options& opts) {
    if (!opts.windows_service.empty()) return win::spawn_service_worker(ex, opts);
    if (opts.argv.empty())
        throw std::system_error(ERROR_INVALID_PARAMETER, std::system_category(),
                                "cannot start an empty command");
    const std::string& argv0 = opts.argv.front();
    const std::string what = "cannot start " + argv0;
    const std::string program = find_on_path(argv0);
    if (program.empty() || !is_file(program))
        throw std::system_error(ERROR_FILE_NOT_FOUND, std::system_category(), what);

    handle parent_in, child_in, parent_out, child_out;
    if (opts.pipes) {
        std::tie(parent_in, child_in) = make_pipe(false, what);
        std::tie(parent_out, child_out) = make_pipe(true, what);
    } else {
        SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
        child_in.reset(::CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                                     OPEN_EXISTING, 0, nullptr));
        child_out = inheritable_std(STD_OUTPUT_HANDLE, true);
    }
    handle child_err = inheritable_std(STD_ERROR_HANDLE, true);

    // Only these three handles reach the child.
    HANDLE inherit[3] = {child_in.get(), child_out.get(), child_err.get()};
    SIZE_T attr_size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &attr_size);
    std::vector<unsigned char> attr_buf(attr_size);
    auto* attrs = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attr_buf.data());
    if (!::InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size))
        throw_win32(what + ": InitializeProcThreadAttributeList");
    struct attr_guard {
        LPPROC_THREAD_ATTRIBUTE_LIST a;
        ~attr_guard() { ::DeleteProcThreadAttributeList(a); }
    } ag{attrs};
    if (!::UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit,
                                     sizeof inherit, nullptr, nullptr))
        throw_win32(what + ": UpdateProcThreadAttribute");

    STARTUPINFOEXW si{};
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = child_in.get();
    si.StartupInfo.hStdOutput = child_out.get();
    si.StartupInfo.hStdError = child_err.get();
    si.lpAttributeList = attrs;

    std::wstring cmdline;
    for (const auto& a : opts.argv) {
        if (!cmdline.empty()) cmdline += L' ';
        cmdline += win::quote_arg(widen(a));
    }
    std::wstring env = build_env(opts.extra_env);

    handle job(::CreateJobObjectW(nullptr, nullptr));
    if (!job) throw_win32(what + ": CreateJobObject");
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                   sizeof limits))
        throw_win32(what + ": SetInformationJobObject");

    PROCESS_INFORMATION pi{};
    if (!::CreateProcessW(widen(program).c_str(), cmdline.data(), nullptr, nullptr, TRUE,
                          CREATE_UNICODE_ENVIRONMENT | CREATE_NEW_PROCESS_GROUP | CREATE_SUSPENDED |
                              EXTENDED_STARTUPINFO_PRESENT,
                          env.data(), nullptr, &si.StartupInfo, &pi))
        throw_win32(what);
    if (!::AssignProcessToJobObject(job.get(), pi.hProcess)) {
        // Without the job the worker's children would outlive it: refuse to run it so.
        const DWORD err = ::GetLastError();
        ::TerminateProcess(pi.hProcess, 1);
        ::CloseHandle(pi.hThread);
        ::CloseHandle(pi.hProcess);
        throw_win32(what + ": AssignProcessToJobObject", err);
    }
    ::ResumeThread(pi.hThread);
    return std::make_unique<windows_child>(ex, pi, std::move(job), std::move(parent_in),
                                           std::move(parent_out));
}

asio::awaitable<int> run_command(asio::any_io_executor ex, const std::vector<std::string>& argv,
                                 std::string& error) {
    bool reboot = false;
    if (win::is_default_host_command(argv, reboot)) {
        if (const auto ec = win::initiate_host_shutdown(reboot)) {
            error = std::string("InitiateShutdownW failed: ") + ec.message() + " (error " +
                    std::to_string(ec.value()) + ")";
            co_return -1;
        }
        co_return 0;
    }
    std::unique_ptr<child_process> child;
    try {
        spawn_options o;
        o.argv = argv;
        o.pipes = false;
        child = spawn(ex, o);
    } catch (const std::system_error& e) {
        error = e.what();
        co_return -1;
    }
    co_return co_await child->wait();
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
    int n = 0;
    const std::unique_ptr<LPWSTR, win::local_free> wide(
        ::CommandLineToArgvW(::GetCommandLineW(), &n));
    if (!wide) return {argv, argv + argc};
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out.push_back(win::narrow(wide.get()[i]));
    return out;
}

}  // namespace sw::platform
