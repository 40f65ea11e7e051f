#pragma once
// A child process with its stdin/stdout on pipes, driven by Asio (POSIX: posix_spawn into its
// own process group; Windows: CreateProcess with a job object). stderr is inherited.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sw::platform {

struct spawn_options {
    std::vector<std::string> argv{};  ///< argv[0] is looked up on PATH if it has no '/'
    std::vector<std::pair<std::string, std::string>> extra_env{};  ///< on top of the inherited env
    bool pipes = true;  ///< false: stdin from /dev/null, stdout inherited
    /// Windows only (elsewhere spawn throws std::system_error ENOTSUP): instead of a process,
    /// start this service (SCM) and carry the protocol over the named pipes
    /// `<protocol_pipe>-input` (the worker writes) and `<protocol_pipe>-output` (it reads),
    /// each with an owner-only security descriptor and accepting one connection. wait() polls
    /// the service every 2 s: stopped -> 0, or 67 when its service-specific exit code is 67.
    std::string windows_service{};
    std::string protocol_pipe = "\\\\.\\pipe\\generic-worker";
};

class child_process {
  public:
    virtual ~child_process() = default;

    virtual int pid() const = 0;

    /// Reads some of the child's stdout; returns 0 at EOF. Never throws for EOF or EPIPE.
    virtual boost::asio::awaitable<std::size_t> read_some(char* buf, std::size_t n) = 0;

    /// Writes all of `data` to the child's stdin; returns false if the pipe is closed.
    virtual boost::asio::awaitable<bool> write_all(std::string data) = 0;

    /// Closes our end of the child's stdin.
    virtual void close_stdin() = 0;

    /// Waits for the child to exit: its exit code, or 128 + signal number if killed.
    virtual boost::asio::awaitable<int> wait() = 0;

    /// True once wait() could return at once.
    virtual bool exited() const = 0;

    /// SIGTERM / SIGKILL to the child's process group.
    virtual void terminate() = 0;
    virtual void kill() = 0;
};

/// Starts a process. Throws std::system_error ("cannot start <argv0>: <reason>") when it cannot
/// be started (not found, not executable). With pipes, it calls prepare_process() first.
std::unique_ptr<child_process> spawn(boost::asio::any_io_executor ex, const spawn_options& opts);

/// Runs a command to completion (host shutdown/reboot commands). Returns the exit code, or -1
/// with `error` set when it could not be started.
boost::asio::awaitable<int> run_command(boost::asio::any_io_executor ex,
                                        const std::vector<std::string>& argv, std::string& error);

/// This process's command-line arguments as UTF-8, argv[0] first: what main() hands on, so that
/// every path the runner handles is UTF-8, as on POSIX. POSIX: `argv` as the kernel passed it.
/// Windows: the UTF-16 command line (GetCommandLineW, split by CommandLineToArgvW, the rules of
/// the MSVC runtime that quote_arg writes for) converted to UTF-8, once; the C runtime's narrow
/// `argv` is in the ANSI code page, where a character outside it (Cyrillic on a Western system,
/// é on a Cyrillic one) becomes '?' and names another file. `argv` is the fallback only if the
/// command line cannot be split (out of memory).
std::vector<std::string> utf8_arguments(int argc, char** argv);

/// Prepares this process to run workers over pipes (idempotent); the daemon calls it once at
/// start-up. POSIX: SIGPIPE is ignored for the whole process, so that writing to a worker that
/// has exited gives EPIPE (write_all -> false) instead of killing the daemon; children get
/// SIGPIPE back at its default disposition. Windows: nothing is needed (a broken pipe is an
/// error code there).
void prepare_process();

/// Signals whose default action would end the runner and leave its worker running (POSIX:
/// SIGHUP, SIGUSR1, SIGUSR2, SIGALRM; Windows: none). The daemon handles them by logging and
/// otherwise ignoring them (issue 14, item 10); handled, not SIG_IGN, so a worker started
/// later gets their default dispositions back at exec.
std::vector<int> signals_to_ignore();

/// A signal's name for logs, e.g. "SIGHUP" ("signal N" when unknown).
std::string signal_name(int sig);

/// The absolute path of `name` on PATH, or "" (names with a '/' are returned as they are).
std::string find_on_path(const std::string& name);

}  // namespace sw::platform
