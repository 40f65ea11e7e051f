#pragma once
// Every action that waits on the world runs as its own operation: a coroutine with its own
// cancellation slot (asio::cancellation_signal bound to its co_spawn completion), whose
// completion becomes an event for the machine. The run loop never awaits one, so events never
// wait behind an action, and nothing is spawned `detached`: an exception an operation lets out
// becomes a `failed` event, never a silent end.
#include "state/failure.hpp"
#include "state/lifecycle.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <list>
#include <optional>
#include <string>

namespace sw::daemon {

/// What an operation is, for cancellation and for the end of the run.
enum class op_kind {
    step,        ///< a start-up or shut-down action the machine waits for (cancel_action)
    background,  ///< renewal, stop check, termination watch, the worker's pipes
    report,      ///< reportWorkerError: given a bounded moment to finish at exit
};

/// The class of a failure an operation let out (the machine decides what follows): a
/// sw::failure (a Taskcluster answer included: lib/tc classifies its HTTP status) by its error
/// code (state::class_of), anything else internal.
state::failure_class classify(const std::exception& e);

/// True for the operation_aborted an operation sees once it is cancelled: operations that
/// catch their own failures rethrow it, so a cancelled operation ends without an event.
bool is_cancellation(const std::exception& e);

class operations {
  public:
    using sink = std::function<void(state::event)>;

    /// `push` receives each operation's completion event.
    operations(boost::asio::io_context& io, sink push) : io_(io), push_(std::move(push)) {}
    operations(const operations&) = delete;
    operations& operator=(const operations&) = delete;

    /// Starts `op` as its own operation, performing the machine's action `action` (if any).
    /// Its result (an event, or nullopt for none) is pushed; an exception it lets out is
    /// pushed as `failed` with the failure's class (classify()). Once cancelled (cancel()),
    /// nothing it ends with is pushed. `then` runs after the completion, whatever
    /// it was (the run loop continues a batch).
    void start(std::string name, op_kind kind,
               boost::asio::awaitable<std::optional<state::event>> op,
               std::optional<state::action_type> action = std::nullopt,
               std::function<void()> then = {});

    /// Emits terminal cancellation on every operation of `kind` still in flight.
    void cancel(op_kind kind);

    /// Emits terminal cancellation on the operations performing `action`.
    void cancel(state::action_type action);

    std::size_t in_flight(op_kind kind) const;
    std::size_t in_flight() const;

    /// Waits until no operation of `kind` (or none at all) is in flight, at most `bound`.
    boost::asio::awaitable<bool> settle(std::optional<op_kind> kind,
                                        std::chrono::milliseconds bound);

  private:
    struct entry {
        std::string name;
        op_kind kind;
        std::optional<state::action_type> action;
        boost::asio::cancellation_signal signal;
        bool cancelled = false;
        bool done = false;  ///< completed; erased once its handler has returned
    };
    void complete(std::list<entry>::iterator it, const std::exception_ptr& e,
                  std::optional<state::event> r);
    void cancel(entry& o);

    boost::asio::io_context& io_;
    sink push_;
    std::list<entry> ops_;  ///< stable addresses: each signal outlives its operation
};

}  // namespace sw::daemon
