#pragma once
// The I/O shell around the lifecycle state machine (state/lifecycle.hpp): it turns the world's
// happenings (results of actions, the worker's messages and exit, signals, timers) into events,
// feeds them to the machine, and performs the actions the machine returns. Long actions run as
// operations of their own (daemon/operations.hpp), so events never wait behind them.
#include "daemon/context.hpp"
#include "lib/config/runner_config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>

namespace sw::daemon {

class runner {
  public:
    runner(boost::asio::io_context& io, config::runner_config cfg, context ctx);
    ~runner();
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;

    /// Runs one lifecycle; returns the process exit code once the machine says exit and every
    /// operation has ended (or been given up on after a bounded wait).
    boost::asio::awaitable<int> run();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::daemon
