#include "daemon/operations.hpp"

#include "daemon/exit_status.hpp"
#include "lib/common/error.hpp"
#include "lib/log/log.hpp"
#include "lib/tc/client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <system_error>

namespace sw::daemon {

namespace asio = boost::asio;
using state::event;
using state::event_type;

namespace {

event failed_event(state::failure_class c, std::string reason) {
    event ev;
    ev.type = event_type::failed;
    ev.failure = c;
    ev.reason = std::move(reason);
    return ev;
}

}  // namespace

bool is_cancellation(const std::exception& e) {
    const auto* se = dynamic_cast<const boost::system::system_error*>(&e);
    return se && se->code() == asio::error::operation_aborted;
}

state::failure_class classify(const std::exception& e) {
    if (const auto* f = dynamic_cast<const failure*>(&e)) return state::class_of(f->code());
    return state::failure_class::internal;
}

void operations::start(std::string name, op_kind kind, asio::awaitable<std::optional<event>> op,
                       std::optional<state::action_type> action, std::function<void()> then) {
    auto it = ops_.emplace(ops_.end());
    it->name = std::move(name);
    it->kind = kind;
    it->action = action;
    asio::co_spawn(io_, std::move(op),
                   asio::bind_cancellation_slot(
                       it->signal.slot(), [this, it, then = std::move(then)](
                                              const std::exception_ptr& e, std::optional<event> r) {
                           complete(it, e, std::move(r));
                           if (then) then();
                       }));
}

void operations::complete(std::list<entry>::iterator it, const std::exception_ptr& e,
                          std::optional<event> r) {
    it->done = true;
    const std::string name = it->name;
    const bool cancelled = it->cancelled;
    // The entry (and its signal) goes after this handler has returned, never under its slot.
    asio::post(io_, [this, it] { ops_.erase(it); });
    if (cancelled) {
        // Whatever it ended with: the machine has moved on (state/lifecycle.hpp, `cancel`).
        log::debug("{}: cancelled", name);
        return;
    }
    if (!e) {
        if (r) push_(std::move(*r));
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const failure& f) {
        push_(failed_event(classify(f), f.what()));  // lib's messages name what failed
    } catch (const std::exception& ex) {
        push_(failed_event(classify(ex), name + ": " + ex.what()));
    } catch (...) {
        push_(failed_event(state::failure_class::internal, name + ": unknown exception"));
    }
}

void operations::cancel(op_kind kind) {
    for (auto& o : ops_)
        if (o.kind == kind) cancel(o);
}

void operations::cancel(state::action_type action) {
    for (auto& o : ops_)
        if (o.action == action) cancel(o);
}

void operations::cancel(entry& o) {
    if (o.cancelled || o.done) return;
    o.cancelled = true;
    o.signal.emit(asio::cancellation_type::terminal);
}

std::size_t operations::in_flight(op_kind kind) const {
    return static_cast<std::size_t>(std::count_if(
        ops_.begin(), ops_.end(), [&](const entry& o) { return !o.done && o.kind == kind; }));
}

std::size_t operations::in_flight() const {
    return static_cast<std::size_t>(
        std::count_if(ops_.begin(), ops_.end(), [](const entry& o) { return !o.done; }));
}

asio::awaitable<bool> operations::settle(std::optional<op_kind> kind,
                                         std::chrono::milliseconds bound) {
    asio::steady_timer t(io_);
    const auto give_up = std::chrono::steady_clock::now() + bound;
    auto busy = [&] { return kind ? in_flight(*kind) > 0 : in_flight() > 0; };
    // Cancelled operations usually finish in the handlers already queued: let those run first
    // (a post), then poll 1 ms doubling to 20 ms. A flat 20 ms poll added 20 ms to every exit.
    if (busy()) co_await asio::post(io_, asio::use_awaitable);
    std::chrono::milliseconds step{1};
    while (busy() && std::chrono::steady_clock::now() < give_up) {
        t.expires_after(step);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        step = std::min(step * 2, std::chrono::milliseconds(20));
    }
    co_return !busy();
}

}  // namespace sw::daemon
