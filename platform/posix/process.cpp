// POSIX child processes: posix_spawn into a new process group, stdin/stdout on pipes driven by
// Asio, exit observed through a pidfd (Linux >= 5.3) or, failing that, by polling waitpid.
#include "platform/process.hpp"

#include "platform/os_error.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace sw::platform {
namespace {

namespace asio = boost::asio;
using asio::posix::stream_descriptor;

/// Owns one file descriptor.
class unique_fd {
  public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    ~unique_fd() { reset(); }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

[[noreturn]] void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// A close-on-exec pipe whose descriptors are both >= 3, so that dup2 onto 0/1 in the child
/// always makes a fresh, inheritable descriptor.
std::pair<unique_fd, unique_fd> make_pipe(const std::string& what) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, what);
    unique_fd ends[2] = {unique_fd(fds[0]), unique_fd(fds[1])};
    for (auto& e : ends) {
        if (e.get() > 2) continue;
        const int moved = ::fcntl(e.get(), F_DUPFD_CLOEXEC, 3);
        if (moved < 0) throw_errno(errno, what);
        e.reset(moved);
    }
    return {std::move(ends[0]), std::move(ends[1])};
}

/// The inherited environment with `extra` on top (same names replaced).
std::vector<std::string> build_env(const std::vector<std::pair<std::string, std::string>>& extra) {
    std::map<std::string, std::string> overrides;
    for (const auto& [k, v] : extra) overrides[k] = v;
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        const auto eq = entry.find('=');
        const std::string name(entry.substr(0, eq));
        if (overrides.count(name)) continue;
        env.emplace_back(entry);
    }
    for (const auto& [k, v] : overrides) env.emplace_back(k).append("=").append(v);
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 128;  // not reachable for waitpid without WUNTRACED
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    const long fd = ::syscall(SYS_pidfd_open, pid, 0);  // a pidfd is always close-on-exec
    return fd >= 0 ? static_cast<int>(fd) : -1;
#else
    (void)pid;
    return -1;
#endif
}

class posix_child final : public child_process {
  public:
    posix_child(asio::any_io_executor ex, pid_t pid, unique_fd pidfd, unique_fd in, unique_fd out)
        : ex_(std::move(ex)), pid_(pid), pidfd_(std::move(pidfd)), stdin_(ex_), stdout_(ex_) {
        if (in.get() >= 0) stdin_.assign(in.release());
        if (out.get() >= 0) stdout_.assign(out.release());
    }

    ~posix_child() override {
        // Reap if it has already gone; a still-running child is the owner's business (it is
        // neither killed nor waited for here).
        try_reap();
    }

    int pid() const override { return pid_; }

    asio::awaitable<std::size_t> read_some(char* buf, std::size_t n) override {
        if (!stdout_.is_open() || n == 0) co_return 0;
        boost::system::error_code ec;
        const std::size_t got = co_await stdout_.async_read_some(
            asio::buffer(buf, n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::eof) co_return 0;
        if (ec) throw boost::system::system_error(ec, "reading from the worker's stdout");
        co_return got;
    }

    asio::awaitable<bool> write_all(std::string data) override {
        if (!stdin_.is_open()) co_return false;
        boost::system::error_code ec;
        co_await asio::async_write(stdin_, asio::buffer(data),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor) co_return false;
        if (ec) throw boost::system::system_error(ec, "writing to the worker's stdin");
        co_return true;
    }

    void close_stdin() override {
        boost::system::error_code ec;
        stdin_.close(ec);
    }

    asio::awaitable<int> wait() override {
        while (!try_reap()) {
            if (pidfd_.get() >= 0) {
                co_await wait_pidfd();
            } else {
                asio::steady_timer t(ex_, std::chrono::milliseconds(50));
                co_await t.async_wait(asio::use_awaitable);
            }
        }
        co_return *exit_code_;
    }

    bool exited() const override { return try_reap(); }

    void terminate() override { signal_group(SIGTERM); }
    void kill() override { signal_group(SIGKILL); }

  private:
    /// waitpid(WNOHANG); true once the exit status is known.
    bool try_reap() const {
        if (exit_code_) return true;
        int status = 0;
        pid_t r;
        do {
            r = ::waitpid(pid_, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == pid_) {
            exit_code_ = decode_status(status);
        } else if (r < 0 && errno == ECHILD) {
            // Someone else reaped it (SIGCHLD set to SIG_IGN, or a stray waitpid(-1)): the
            // status is lost. Report it as a failure rather than wait for ever.
            exit_code_ = 128;
        }
        if (exit_code_) pidfd_.reset();
        return exit_code_.has_value();
    }

    /// Waits until the pidfd is readable (the process has exited). The descriptor is registered
    /// with the reactor right here, on a duplicate: epoll is edge-triggered in Asio, so an exit
    /// that happened while no wait was pending would otherwise never be reported.
    asio::awaitable<void> wait_pidfd() {
        const int dup = ::fcntl(pidfd_.get(), F_DUPFD_CLOEXEC, 3);
        if (dup < 0) throw_errno(errno, "waiting for process " + std::to_string(pid_));
        stream_descriptor sd(ex_, dup);
        co_await sd.async_wait(stream_descriptor::wait_read, asio::use_awaitable);
    }

    void signal_group(int sig) {
        // Only while the child is unreaped: its pid (and so its process group id) cannot have
        // been reused yet.
        if (try_reap()) return;
        if (::kill(-pid_, sig) != 0 && errno == ESRCH) ::kill(pid_, sig);
    }

    asio::any_io_executor ex_;
    pid_t pid_;
    // Reaping is how an observer learns the state, hence mutable.
    mutable unique_fd pidfd_;
    mutable std::optional<int> exit_code_;
    stream_descriptor stdin_;
    stream_descriptor stdout_;
};

/// posix_spawn attributes and file actions, destroyed on every path.
struct spawn_setup {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    spawn_setup() {
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_init(&actions);
    }
    ~spawn_setup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    spawn_setup(const spawn_setup&) = delete;
    spawn_setup& operator=(const spawn_setup&) = delete;
};

}  // namespace

void prepare_process() {
    // SIGPIPE ignored: writing to a worker that has exited gives EPIPE, not death.
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGPIPE, &sa, nullptr);
}

std::vector<int> signals_to_ignore() {
    return {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM};
}

std::string signal_name(int sig) {
    switch (sig) {
        case SIGHUP:
            return "SIGHUP";
        case SIGINT:
            return "SIGINT";
        case SIGTERM:
            return "SIGTERM";
        case SIGUSR1:
            return "SIGUSR1";
        case SIGUSR2:
            return "SIGUSR2";
        case SIGALRM:
            return "SIGALRM";
        default:
            return "signal " + std::to_string(sig);
    }
}

std::string find_on_path(const std::string& name) {
    if (name.empty()) return {};
    if (name.find('/') != std::string::npos) return name;
    const char* env = std::getenv("PATH");
    const std::string path =
        env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        const std::string dir = path.substr(start, end - start);
        start = end + 1;
        if (dir.empty()) continue;  // like Go >= 1.19: never the current directory implicitly
        std::string candidate = dir;
        candidate += '/';
        candidate += name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

std::unique_ptr<child_process> spawn(asio::any_io_executor ex, const spawn_options& opts) {
    if (!opts.windows_service.empty())
        throw std::system_error(ENOTSUP, std::generic_category(),
                                "worker.service is only supported on Windows");
    if (opts.argv.empty())
        throw std::system_error(EINVAL, std::generic_category(), "cannot start an empty command");
    const std::string& argv0 = opts.argv.front();
    const std::string what = "cannot start " + argv0;
    const std::string program = find_on_path(argv0);
    // A missing or non-executable program is the operator's to fix (platform/os_error.hpp).
    if (program.empty()) throw_os_error(ENOENT, what);

    unique_fd child_in, parent_in, parent_out, child_out;
    spawn_setup s;
    if (opts.pipes) {
        prepare_process();
        std::tie(child_in, parent_in) = make_pipe(what);
        std::tie(parent_out, child_out) = make_pipe(what);
        posix_spawn_file_actions_adddup2(&s.actions, child_in.get(), STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&s.actions, child_out.get(), STDOUT_FILENO);
    } else {
        posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Nothing but 0, 1 and 2 reaches the worker, even a descriptor someone forgot to mark
    // close-on-exec.
    posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
#endif

    // Own process group (terminate/kill reach the whole tree), default signal mask, and SIGPIPE
    // back to its default (we ignore it; ignored dispositions survive exec).
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setflags(
        &s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&s.attr, 0);
    posix_spawnattr_setsigmask(&s.attr, &empty);
    posix_spawnattr_setsigdefault(&s.attr, &defaults);

    std::vector<std::string> args = opts.argv;
    std::vector<std::string> env = build_env(opts.extra_env);
    auto argv = c_strings(args);
    auto envp = c_strings(env);

    pid_t pid = -1;
    // glibc's posix_spawn reports exec failures (ENOENT, EACCES, ENOEXEC...) as its result.
    const int rc =
        ::posix_spawn(&pid, program.c_str(), &s.actions, &s.attr, argv.data(), envp.data());
    if (rc != 0) throw_os_error(rc, what);

    child_in.reset();
    child_out.reset();
    unique_fd pidfd(open_pidfd(pid));
    return std::make_unique<posix_child>(std::move(ex), pid, std::move(pidfd), std::move(parent_in),
                                         std::move(parent_out));
}

asio::awaitable<int> run_command(asio::any_io_executor ex, const std::vector<std::string>& argv,
                                 std::string& error) {
    std::unique_ptr<child_process> child;
    try {
        child = spawn(ex, spawn_options{argv, {}, false});
    } catch (const std::exception& e) {  // sw::failure or std::system_error
        error = e.what();
        co_return -1;
    }
    co_return co_await child->wait();
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
    return {argv, argv + argc};
}

}  // namespace sw::platform
