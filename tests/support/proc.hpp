#pragma once
// Running real programs from tests: the start-worker binary, the fakes, shell commands.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace sw::test {

using env_list = std::vector<std::pair<std::string, std::string>>;

struct proc_result {
    int exit_code = -1;  ///< 128 + signal if killed
    std::string out;
    std::string err;
    bool timed_out = false;
};

/// Runs argv to completion (SIGKILL after `timeout`), capturing stdout and stderr.
proc_result run_process(const std::vector<std::string>& argv, const env_list& env = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// A program running in the background; stdout is captured through a pipe and stderr into a
/// file. Killed (its process group) on destruction.
class background_process {
  public:
    background_process(const std::vector<std::string>& argv, const env_list& env = {},
                       const std::string& stderr_file = "");
    ~background_process();
    background_process(const background_process&) = delete;
    background_process& operator=(const background_process&) = delete;

    int pid() const { return pid_; }
    /// Waits for a stdout line starting with `prefix`; returns the line ("" on timeout/EOF).
    std::string wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout);
    /// Sends a signal to the process (not its group).
    void signal(int sig);
    /// Waits for exit; returns the exit code (128+sig), or -1 on timeout.
    int wait(std::chrono::milliseconds timeout);
    bool running();
    /// Everything read from stdout so far.
    const std::string& out() const { return out_; }

  private:
    void read_available(int timeout_ms);
    int pid_ = -1;
    int out_fd_ = -1;
    int status_ = -1;
    bool reaped_ = false;
    std::string out_;
    std::size_t consumed_ = 0;
};

/// Polls `pred` every 20 ms until it is true or `timeout` passes.
template <class P>
bool eventually(P pred, std::chrono::milliseconds timeout);

/// Whole file, "" if missing.
std::string read_file(const std::string& path);

/// A free TCP port on 127.0.0.1 (bound and released).
unsigned short free_port();

}  // namespace sw::test

#include <thread>

namespace sw::test {
template <class P>
bool eventually(P pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}
}  // namespace sw::test
