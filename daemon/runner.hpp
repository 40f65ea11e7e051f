#pragma once
// The I/O shell around the lifecycle state machine (state/lifecycle.hpp): it turns the world's
// happenings (results of calls, the worker's messages and exit, signals, timers) into events,
// and performs the actions the machine returns, one at a time.
#include "lib/config/runner_config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>

namespace sw::daemon {

struct run_options {
    bool once = false;
};

class runner {
  public:
    runner(boost::asio::io_context& io, config::runner_config cfg, run_options opts);
    ~runner();
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;

    /// Runs one lifecycle; returns the process exit code.
    boost::asio::awaitable<int> run();

    /// When a stop signal arrived before the worker started, run() does not complete: the
    /// event loop is stopped instead and this is the exit code (else -1).
    int early_exit_code() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::daemon
