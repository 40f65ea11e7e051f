#include "tests/support/proc.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sw::test {

namespace {

/// What a child needs to exec, built before fork(). The tests fork from a process with
/// threads (the stand-in, fake metadata servers): between fork and exec the child may only make
/// async-signal-safe calls, so nothing there allocates or touches the environment. A child that
/// called setenv or malloc there could deadlock on a lock another thread held at the fork (seen
/// under ASan in CI as a runner that never started: killed at the timeout with no output).
class exec_image {
  public:
    exec_image(const std::vector<std::string>& argv, const env_list& env) : argv_(argv) {
        if (argv_.empty()) throw std::runtime_error("empty argv");
        // The test process's environment with `env` laid over it (later entries win).
        for (char** e = environ; *e != nullptr; ++e) {
            const std::string entry(*e);
            const auto eq = entry.find('=');
            const auto name = entry.substr(0, eq);
            bool overridden = false;
            for (const auto& kv : env) overridden = overridden || kv.first == name;
            if (!overridden) env_.push_back(entry);
        }
        for (std::size_t i = 0; i < env.size(); ++i) {
            bool later = false;
            for (std::size_t j = i + 1; j < env.size(); ++j)
                later = later || env[j].first == env[i].first;
            if (!later) env_.push_back(env[i].first + "=" + env[i].second);
        }
        path_ = resolve(argv_[0]);
        for (auto& a : argv_) argp_.push_back(a.data());
        argp_.push_back(nullptr);
        for (auto& e : env_) envp_.push_back(e.data());
        envp_.push_back(nullptr);
    }

    /// In the child: async-signal-safe only.
    [[noreturn]] void exec() const {
        ::execve(path_.c_str(), argp_.data(), envp_.data());
        ::_exit(127);
    }

  private:
    /// argv[0] as execvp would find it: as is with a '/', else the first executable in PATH.
    static std::string resolve(const std::string& name) {
        if (name.find('/') != std::string::npos) return name;
        const char* path = std::getenv("PATH");
        std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
        std::string dir;
        while (std::getline(dirs, dir, ':')) {
            const auto candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        return name;  // execve fails and the child exits 127, as execvp's would
    }

    std::vector<std::string> argv_;
    std::vector<std::string> env_;
    std::string path_;
    std::vector<char*> argp_;
    std::vector<char*> envp_;
};

/// What a process that outlived its timeout was doing, for the test's message: which program it
/// is (a child still running the test binary never reached exec), its state and wait channel
/// per thread, and, when gdb is installed, every thread's stack. Bounded; never throws.
std::string describe_stuck(pid_t pid) {
    std::string out = "\n[harness] pid " + std::to_string(pid) + " outlived its timeout";
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    out += "; exe " + (ec ? std::string("?") : exe.string());
    const auto tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
        std::string state;
        std::istringstream status(read_file(t.path() / "status"));
        for (std::string line; std::getline(status, line);)
            if (line.rfind("Name:", 0) == 0 || line.rfind("State:", 0) == 0) state += " " + line;
        out += "\n[harness]   task " + t.path().filename().string() + state + " wchan " +
               read_file(t.path() / "wchan");
    }
    if (::access("/usr/bin/gdb", X_OK) == 0) {
        const auto r = run_process({"timeout", "30", "/usr/bin/gdb", "-p", std::to_string(pid),
                                    "-batch", "-nx", "-ex", "thread apply all bt 30"},
                                   {}, std::chrono::seconds(40));
        out += "\n[harness] gdb:\n" + r.out.substr(0, 60000);
    } else {
        out += "\n[harness] (no /usr/bin/gdb: no stacks)";
    }
    return out;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

proc_result run_process(const std::vector<std::string>& argv, const env_list& env,
                        std::chrono::milliseconds timeout) {
    const exec_image image(argv, env);
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::setpgid(0, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        image.exec();
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    proc_result r;
    const auto end = std::chrono::steady_clock::now() + timeout;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            r.timed_out = true;
            r.err += describe_stuck(pid);
            ::kill(-pid, SIGKILL);
            break;
        }
        if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
        for (auto& f : fds) {
            if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = ::read(f.fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(f.fd);
                f.fd = -1;
                --open_fds;
            } else {
                (&f == &fds[0] ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::kill(-pid, SIGKILL);  // leftovers of the process group
    r.exit_code = decode_status(status);
    return r;
}

background_process::background_process(const std::vector<std::string>& argv, const env_list& env,
                                       const std::string& stderr_file) {
    const exec_image image(argv, env);
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::setpgid(0, 0);
        ::dup2(out_pipe[1], 1);
        if (!stderr_file.empty()) {
            int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) ::dup2(fd, 2);
        }
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        image.exec();
    }
    ::setpgid(pid_, pid_);
    ::close(out_pipe[1]);
    out_fd_ = out_pipe[0];
}

background_process::~background_process() {
    if (!reaped_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
    } else {
        ::kill(-pid_, SIGKILL);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
}

void background_process::read_available(int timeout_ms) {
    if (out_fd_ < 0) return;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;
    char buf[65536];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) {
        ::close(out_fd_);
        out_fd_ = -1;
        return;
    }
    out_.append(buf, static_cast<std::size_t>(n));
}

std::string background_process::wait_for_line(const std::string& prefix,
                                              std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
        while (true) {
            const auto nl = out_.find('\n', consumed_);
            if (nl == std::string::npos) break;
            std::string line = out_.substr(consumed_, nl - consumed_);
            consumed_ = nl + 1;
            if (line.rfind(prefix, 0) == 0) return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0 || out_fd_ < 0) return {};
        read_available(static_cast<int>(std::min<long long>(left.count(), 100)));
    }
}

void background_process::signal(int sig) {
    if (!reaped_) ::kill(pid_, sig);
}

bool background_process::running() {
    if (reaped_) return false;
    int status;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        reaped_ = true;
        status_ = decode_status(status);
        return false;
    }
    return true;
}

int background_process::wait(std::chrono::milliseconds timeout) {
    if (eventually([&] { return !running(); }, timeout)) return status_;
    return -1;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

unsigned short free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace sw::test
