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
    std::vector<std::string> argv;  ///< argv[0] is looked up on PATH if it has no '/'
    std::vector<std::pair<std::string, std::string>> extra_env;  ///< on top of the inherited env
    bool pipes = true;  ///< false: stdin from /dev/null, stdout inherited
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

/// Prepares this process to run workers over pipes (idempotent); the daemon calls it once at
/// start-up. POSIX: SIGPIPE is ignored for the whole process, so that writing to a worker that
/// has exited gives EPIPE (write_all -> false) instead of killing the daemon; children get
/// SIGPIPE back at its default disposition. Windows: nothing is needed (a broken pipe is an
/// error code there).
void prepare_process();

/// The absolute path of `name` on PATH, or "" (names with a '/' are returned as they are).
std::string find_on_path(const std::string& name);

}  // namespace sw::platform
