#include "daemon/worker_channel.hpp"

#include "lib/log/destination.hpp"
#include "lib/log/log.hpp"
#include "platform/system.hpp"
#include "state/worker_message.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <vector>

namespace sw::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using state::event;
using state::event_type;
using namespace std::chrono_literals;

worker_channel::worker_channel(session& s, operations& ops, handlers h)
    : s_(s),
      ops_(ops),
      h_(std::move(h)),
      nego_(state::local_capabilities(s.cfg.autologin.has_value())) {}

void worker_channel::start(const workers::start_plan& plan) {
    log::info("Starting worker: {}", join(plan.argv));
    platform::spawn_options so;
    so.argv = plan.argv;
    so.extra_env = plan.extra_env;
    so.windows_service = plan.windows_service;
    if (!plan.protocol_pipe.empty()) so.protocol_pipe = plan.protocol_pipe;
    child_ = platform::spawn(s_.io.get_executor(), so);
    platform::disable_oom_killer(child_->pid());
    s_.counts.worker_started();
    ops_.start("reading the worker's output", op_kind::background, read_loop());
    ops_.start("waiting for the worker", op_kind::background, wait_exit());
    send(nego_.welcome());
}

void worker_channel::send(const protocol::message& m) {
    if (!child_) return;
    std::string data = protocol::encode(m);
    if (m.type == "new-credentials" || m.type == "graceful-termination") {
        const auto older = std::find_if(outbox_.begin(), outbox_.end(),
                                        [&](const outgoing& o) { return o.type == m.type; });
        if (older != outbox_.end()) {
            older->data = std::move(data);
            if (superseded_++ == 0)
                log::info(
                    "An earlier {} message still waits to be written to the worker (it is not "
                    "reading its stdin?); it will get only the newest one",
                    m.type);
            return;
        }
    } else if (outbox_.size() >= outbox_limit) {
        if (dropped_++ == 0)
            log::warn(
                "The worker has not read its stdin and {} messages wait for it: dropping {} "
                "(and any more until it reads again)",
                outbox_.size(), m.type);
        return;
    }
    outbox_.push_back({m.type, std::move(data)});
    if (!writing_) {
        writing_ = true;
        ops_.start("writing to the worker", op_kind::background, write_loop());
    }
}

awaitable<std::optional<event>> worker_channel::write_loop() {
    while (!outbox_.empty() && child_) {
        outgoing m = std::move(outbox_.front());
        outbox_.pop_front();
        if (!co_await child_->write_all(std::move(m.data))) {
            log::warn(
                "Could not write to the worker's protocol pipe (it has closed); {} message(s) not "
                "sent",
                1 + outbox_.size() + dropped_);
            outbox_.clear();
            superseded_ = dropped_ = 0;
            break;
        }
        // Counted as sent once in the pipe (replaced and dropped messages never are).
        s_.counts.protocol_message(health::counters::direction::sent, m.type);
        if (superseded_ > 0 || dropped_ > 0) {
            log::info(
                "The worker reads its stdin again; meanwhile {} message(s) were replaced by newer "
                "ones and {} dropped",
                superseded_, dropped_);
            superseded_ = dropped_ = 0;
        }
    }
    writing_ = false;
    co_return std::nullopt;
}

awaitable<std::optional<event>> worker_channel::read_loop() {
    protocol::line_decoder dec(
        {[this](protocol::message&& m) { on_message(std::move(m)); },
         [](std::string_view line) { log::write(log::level::info, line); },
         [](std::size_t skipped) {
             log::warn("Dropped {} bytes of an over-long line from the worker", skipped);
         },
         // on_message keeps nothing of a message but copies into its own storage (error-report's
         // extra is copy-assigned, log bodies are formatted at once): no allocation per message.
         // (The arena once ran out after 17 large error-reports: tests/daemon/faults_test.cpp
         // "[reports]" and tests/lib/protocol/codec_test.cpp "[transient]" guard that.)
         true});
    std::vector<char> buf(64 * 1024);
    while (true) {
        co_await wait_for_log_room();
        const std::size_t n = co_await child_->read_some(buf.data(), buf.size());
        if (n == 0) break;
        log::batch_scope burst;  // one wake-up of the log writer per read, not per line
        dec.feed(std::string_view(buf.data(), n));
    }
    dec.finish();
    reader_done_ = true;
    if (drain_timer_) drain_timer_->cancel();
    co_return std::nullopt;
}

awaitable<void> worker_channel::wait_for_log_room() {
    constexpr auto log_pause_limit = 1s;
    if (log_stuck_at_) {
        if (*log_stuck_at_ == log::batches_delivered()) co_return;  // still stuck: no pause
        log_stuck_at_.reset();
    }
    // The writer thread only posts the timer's cancellation to this loop; the callback is
    // removed (under the queue's lock) before the timer goes away, and a cancellation posted
    // before that finds no timer.
    const auto timer = std::make_shared<asio::steady_timer>(s_.io);
    const std::weak_ptr<asio::steady_timer> weak = timer;
    struct clear_notify {
        ~clear_notify() { log::clear_room_notify(); }
    } guard;
    const auto deadline = std::chrono::steady_clock::now() + log_pause_limit;
    const auto ex = s_.io.get_executor();
    while (log::notify_when_room([ex, weak] {
        asio::post(ex, [weak] {
            if (const auto t = weak.lock()) t->cancel();
        });
    })) {
        if (std::chrono::steady_clock::now() >= deadline) {
            log_stuck_at_ = log::batches_delivered();
            co_return;
        }
        timer->expires_at(deadline);
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

awaitable<std::optional<event>> worker_channel::wait_exit() {
    const int code = co_await child_->wait();
    // Drain what the worker wrote just before exiting (bounded: a grandchild may hold the pipe
    // open).
    if (!reader_done_) {
        drain_timer_.emplace(s_.io);
        drain_timer_->expires_after(2s);
        boost::system::error_code ec;
        co_await drain_timer_->async_wait(asio::redirect_error(use_awaitable, ec));
    }
    log::info("Worker exited with code {}", code);
    s_.counts.worker_exited(code);
    event ev;
    ev.type = event_type::worker_exited;
    ev.exit_status = code;
    co_return ev;
}

void worker_channel::on_message(protocol::message&& m) {
    s_.counts.protocol_message(health::counters::direction::received, m.type);
    auto in = state::interpret(m, nego_);
    if (!in.warning.empty()) log::warn("{}", in.warning);
    using kind = state::worker_input::kind;
    switch (in.what) {
        case kind::hello:
            h_.push(std::move(in.ev));
            break;
        case kind::shutdown:
            log::info("Worker requested a shutdown");
            h_.push(std::move(in.ev));
            break;
        case kind::log:
            log::structured(*in.log_body);
            break;
        case kind::error_report:
            h_.error_report(std::move(in.report));
            break;
        case kind::autologin:
            h_.autologin(in.username, in.password);
            break;
        case kind::ignored:
            break;
    }
}

void worker_channel::send_graceful(bool finish_tasks, const std::string& reason) {
    log::info("Sending graceful-termination request with finish-tasks={} ({})", finish_tasks,
              reason);
    send(protocol::message{"graceful-termination", {{"finish-tasks", finish_tasks}}});
}

void worker_channel::send_new_credentials() {
    log::info("Sending new credentials to worker");
    send(protocol::message{"new-credentials",
                           {{"client-id", s_.st.creds.client_id},
                            {"access-token", s_.st.creds.access_token},
                            {"certificate", s_.st.creds.certificate}}});
}

void worker_channel::terminate(const std::string& reason) {
    log::info("Sending SIGTERM to the worker: {}", reason);
    if (child_) child_->terminate();
}

void worker_channel::kill(const std::string& reason) {
    log::warn("Killing the worker: {}", reason);
    if (child_) child_->kill();
}

}  // namespace sw::daemon
