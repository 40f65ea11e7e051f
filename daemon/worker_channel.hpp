#pragma once
// The worker channel: the worker's process and the worker-runner protocol over its stdin and
// stdout (reference section 9). It starts the process, offers `welcome`, reads messages and
// unstructured output, writes messages in order, signals the process, and turns the worker's
// hello, shutdown request and exit into events. Other messages (error-report, autologin) go to
// the handlers the runner gives it. What a message means is decided by state::interpret()
// (sans-io, state/worker_message.hpp); this class only performs it.
#include "daemon/operations.hpp"
#include "daemon/session.hpp"
#include "lib/protocol/codec.hpp"
#include "lib/tc/client.hpp"
#include "lib/workers/worker.hpp"
#include "platform/process.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace sw::daemon {

class worker_channel {
  public:
    struct handlers {
        std::function<void(state::event)> push;              ///< hello, shutdown, exit
        std::function<void(tc::error_report)> error_report;  ///< a valid error-report
        std::function<void(const std::string& user, const std::optional<std::string>& pw)>
            autologin;  ///< a valid autologin message
    };

    worker_channel(session& s, operations& ops, handlers h);

    /// Starts the worker as `plan` says (argv, environment), sends `welcome`, and watches its
    /// output and exit. Throws std::system_error when the process cannot be started.
    void start(const workers::start_plan& plan);

    bool started() const { return child_ != nullptr; }
    bool exited() const { return !child_ || child_->exited(); }

    /// graceful-termination {finish-tasks}; logs `reason`.
    void send_graceful(bool finish_tasks, const std::string& reason);

    /// new-credentials with the run state's credentials.
    void send_new_credentials();

    /// SIGTERM / SIGKILL to the worker's process group (no-op when there is no worker).
    void terminate(const std::string& reason);
    void kill(const std::string& reason);

  private:
    /// Queues `m` for the write loop (counted in /metrics as sent once it is in the pipe). The
    /// queue is bounded for a worker that does not read its stdin (issue 14): an unsent
    /// new-credentials or graceful-termination is replaced by a newer one of its type (only the
    /// newest credentials, and the latest stop request, matter), and past outbox_limit other
    /// messages are dropped, counted and logged.
    void send(const protocol::message& m);
    boost::asio::awaitable<std::optional<state::event>> write_loop();
    boost::asio::awaitable<std::optional<state::event>> read_loop();
    /// Before the next read of worker output: while the log queue is three quarters full, waits
    /// until its writer takes the queued records (the worker then waits on its full pipe, as with
    /// the Go runner, instead of its lines being dropped), for at most log_pause_limit. A
    /// destination that makes no progress within that time counts as stuck: until it writes a
    /// batch, reading goes on without pauses and the queue drops (and reports) what does not
    /// fit, so a stuck log never stalls the worker for long.
    boost::asio::awaitable<void> wait_for_log_room();
    boost::asio::awaitable<std::optional<state::event>> wait_exit();
    /// Performs what state::interpret() makes of `m` (state/worker_message.hpp).
    void on_message(protocol::message&& m);

    session& s_;
    operations& ops_;
    handlers h_;
    protocol::negotiation nego_;
    std::unique_ptr<platform::child_process> child_;
    struct outgoing {
        std::string type;  ///< the message's type, to find an unsent one of the same type
        std::string data;  ///< encoded, with its newline
    };
    /// Messages not yet handed to the pipe (the one being written is not in it).
    std::deque<outgoing> outbox_;
    static constexpr std::size_t outbox_limit = 16;
    /// Since the last write that completed: messages replaced by newer ones, and dropped.
    std::uint64_t superseded_ = 0;
    std::uint64_t dropped_ = 0;
    bool writing_ = false;
    bool reader_done_ = false;
    std::optional<boost::asio::steady_timer> drain_timer_;
    /// log::batches_delivered() when the log destination was found stuck (wait_for_log_room).
    std::optional<std::uint64_t> log_stuck_at_;
};

}  // namespace sw::daemon
