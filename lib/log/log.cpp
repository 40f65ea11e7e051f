#include "lib/log/log.hpp"

#include "lib/log/destination.hpp"
#include "lib/log/formats.hpp"
#include "lib/log/queue.hpp"
#include "lib/log/redact.hpp"
#include "platform/log_sinks.hpp"

#include <boost/json/object.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace sw::log {

namespace {

using spdlog::details::log_msg;
using capture_fn = std::function<void(level, std::string_view)>;

spdlog::level::level_enum to_spdlog(level l) {
    switch (l) {
        case level::debug:
            return spdlog::level::debug;
        case level::info:
            return spdlog::level::info;
        case level::warn:
            return spdlog::level::warn;
        default:
            return spdlog::level::err;
    }
}

std::string drop_notice_text(std::uint64_t n) {
    return "start-worker: dropped " + std::to_string(n) +
           " log messages (the log destination could not keep up)";
}

/// Sets the thread's current structured fields for one scope.
class fields_scope {
  public:
    explicit fields_scope(const boost::json::object* f) : saved_(current_fields()) {
        current_fields() = f;
    }
    ~fields_scope() { current_fields() = saved_; }
    fields_scope(const fields_scope&) = delete;
    fields_scope& operator=(const fields_scope&) = delete;

  private:
    const boost::json::object* saved_;
};

// Whether `payload` is the structured record's textPayload (or empty): then it is clean when
// the fields are (log::structured logs a body's textPayload as the payload).
bool is_field_text(const boost::json::object& fields, std::string_view payload) {
    if (payload.empty()) return true;
    const auto* t = fields.if_contains("textPayload");
    return t && t->is_string() && std::string_view(t->get_string()) == payload;
}

// A journald or syslog socket, reconnected once when the daemon behind it restarted.
struct datagram_destination {
    std::string path;
    platform::log_datagram_socket socket;

    std::error_code send(std::string_view d) {
        auto ec = socket.send(d);
        if (ec == std::errc::connection_refused || ec == std::errc::not_connected) {
            std::error_code cec;
            auto s = platform::log_datagram_socket::connect(path, cec);
            if (cec) return ec;
            socket = std::move(s);
            ec = socket.send(d);
        }
        return ec;
    }
};

bool too_large(std::error_code ec) {
    return ec == std::errc::message_size || ec == std::errc::no_buffer_space;
}

// The destination's rendering of a drop notice, with a formatter of its own (the writer thread
// calls it outside the sink's lock).
bounded_queue::notice_fn make_notice_fn(std::shared_ptr<spdlog::formatter> f) {
    return [f = std::move(f)](std::uint64_t n, std::string& out) {
        fields_scope scope(nullptr);
        const std::string text = drop_notice_text(n);
        spdlog::memory_buf_t buf;
        f->format(log_msg(spdlog::source_loc{}, "start-worker", spdlog::level::warn, text), buf);
        out.append(buf.data(), buf.size());
    };
}

// The one spdlog sink: redacts, formats with the destination's formatter and queues the record
// (or holds it until the destination is known). Calls are serialised by its mutex. (Not
// spdlog's base_sink: that builds a pattern_formatter nobody here uses, ~200 KB of code.)
class queue_sink final : public spdlog::sinks::sink {
  public:
    explicit queue_sink(bounded_queue& q) : q_(q) {}

    /// Sets the destination's formatter and releases the held records.
    void configure(std::unique_ptr<spdlog::formatter> f) {
        std::lock_guard lock(mutex_);
        formatter_ = std::move(f);
        configured_ = true;
        std::vector<held> records = std::move(held_);
        held_.clear();
        held_bytes_ = 0;
        for (const auto& h : records) {
            fields_scope scope(h.fields ? &*h.fields : nullptr);
            emit_locked(log_msg(h.time, spdlog::source_loc{}, "start-worker", h.lvl, h.msg));
        }
        if (const auto n = std::exchange(held_dropped_, 0))
            emit_locked(log_msg(spdlog::source_loc{}, "start-worker", spdlog::level::warn,
                                drop_notice_text(n)));
    }

    bool configured() {
        std::lock_guard lock(mutex_);
        return configured_;
    }

    /// The current formatter's rendering of a drop notice.
    bounded_queue::notice_fn notice_formatter() {
        std::lock_guard lock(mutex_);
        return make_notice_fn(formatter_->clone());
    }

    void log(const log_msg& msg) override {
        std::lock_guard lock(mutex_);
        if (configured_) {
            emit_locked(msg);
            return;
        }
        // Before the destination is known: hold, bounded.
        if (held_.size() >= max_held_messages ||
            held_bytes_ + msg.payload.size() > max_held_bytes) {
            ++held_dropped_;
            dropped_held_total_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        held h;
        h.lvl = msg.level;
        h.time = msg.time;
        h.msg.assign(msg.payload.data(), msg.payload.size());
        // Into storage of its own: `f` may live in the protocol decoder's arena.
        if (const auto* f = current_fields()) h.fields.emplace(*f, boost::json::storage_ptr());
        held_bytes_ += h.msg.size();
        held_.push_back(std::move(h));
    }
    void flush() override {}
    /// The destination decides the format: spdlog patterns do not apply.
    void set_pattern(const std::string&) override {}
    void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
        std::lock_guard lock(mutex_);
        formatter_ = std::move(f);
    }

  public:
    std::atomic<std::uint64_t> dropped_held_total_{0};

  private:
    struct held {
        spdlog::level::level_enum lvl{};
        spdlog::log_clock::time_point time;
        std::string msg;
        std::optional<boost::json::object> fields;
    };

    // Redacts the message and the fields, formats, queues. Called with mutex_ held.
    void emit_locked(const log_msg& msg) {
        log_msg m = msg;
        const auto* raw = current_fields();
        const bool dirty_fields = raw && fields_need_redaction(*raw);
        const std::string_view payload(msg.payload.data(), msg.payload.size());
        if (!(raw && !dirty_fields && is_field_text(*raw, payload)) &&
            redact_into(payload, redacted_))
            m.payload = redacted_;
        std::optional<boost::json::object> clean;
        if (dirty_fields) {
            clean.emplace(*raw);
            redact_fields(*clean);
        }
        fields_scope scope(clean ? &*clean : raw);
        buf_.clear();
        formatter_->format(m, buf_);
        q_.push(std::string_view(buf_.data(), buf_.size()));
        // Keep the scratch buffers unless one huge record made them large.
        if (buf_.capacity() > (1u << 20)) buf_ = spdlog::memory_buf_t{};
        if (redacted_.capacity() > (1u << 20)) redacted_ = std::string{};
    }

    std::mutex mutex_;
    std::unique_ptr<spdlog::formatter> formatter_;
    bounded_queue& q_;
    bool configured_ = false;
    std::vector<held> held_;
    std::size_t held_bytes_ = 0;
    std::uint64_t held_dropped_ = 0;
    std::string redacted_;      // scratch, reused
    spdlog::memory_buf_t buf_;  // scratch, reused
};

// Process-wide logging state.
struct state {
    bounded_queue queue{max_queued_messages, max_queued_bytes};
    std::shared_ptr<queue_sink> sink = std::make_shared<queue_sink>(queue);
    spdlog::logger logger{"start-worker", sink};
    std::mutex mu;  // guards capture, who, configure()
    std::shared_ptr<const capture_fn> capture;
    std::atomic<bool> have_capture{false};
    identity_source who;
    // stdio and syslog show whole seconds: the kernel tick's clock is enough, and cheaper.
    std::atomic<bool> coarse_time{false};
    bounded_queue::deliver_fn test_sink;  // set_sink_for_testing: replaces any destination
};

// Never destroyed: the writer thread may still be blocked on a stuck destination at exit.
state& st() {
    static state* s = [] {
        auto* p = new state;
        p->logger.set_level(spdlog::level::info);
        return p;
    }();
    return *s;
}

spdlog::log_clock::time_point now(const state& s) {
    return s.coarse_time.load(std::memory_order_relaxed) ? platform::coarse_wall_clock()
                                                         : spdlog::log_clock::now();
}

// A normal exit (return from main, std::exit) first writes what is queued, for a bounded time.
struct flush_at_exit {
    ~flush_at_exit() { flush(); }
} flusher;

void deliver_to_stderr(const batch& b) {
    (void)platform::write_stderr(b.bytes);  // nowhere left to report a failure
}

}  // namespace

std::optional<destination> parse_destination(std::string_view name) {
    if (name == "stdio") return destination::stdio;
    if (name == "json") return destination::json;
    if (name == "journald") return destination::journald;
    if (name == "syslog") return destination::syslog;
    return std::nullopt;
}

void init() {
    st().logger.set_level(std::getenv("START_WORKER_DEBUG") != nullptr ? spdlog::level::debug
                                                                       : spdlog::level::info);
}

void configure(const destination_options& opts) {
    auto& s = st();
    // Called again (tests): what the previous destination still has queued goes there first.
    if (s.sink->configured()) (void)s.queue.flush(std::chrono::seconds(1));
    std::unique_lock lock(s.mu);
    std::unique_ptr<spdlog::formatter> f;
    bounded_queue::deliver_fn deliver = deliver_to_stderr;
    std::string fallback;  // why a socket destination fell back to stderr
    if (opts.dest == destination::journald || opts.dest == destination::syslog) {
        const bool journald = opts.dest == destination::journald;
        auto d = std::make_shared<datagram_destination>();
        d->path = journald ? opts.journald_socket : opts.syslog_socket;
        std::error_code ec;
        d->socket = platform::log_datagram_socket::connect(d->path, ec);
        if (ec) {
            fallback = fmt::format("Cannot log to {} ({}): logging to stderr instead", d->path,
                                   ec.message());
        } else if (journald) {
            f = make_journald_formatter(&s.who);
            deliver = [d](const batch& b) {
                for (std::size_t i = 0; i < b.size(); ++i) {
                    const auto rec = b.record(i);
                    auto ec = d->send(rec);
                    if (too_large(ec)) ec = d->socket.send_through_memfd(rec);
                    if (ec) (void)d->send(truncate_journald_entry(rec));
                }
            };
        } else {
            f = make_syslog_formatter(platform::current_pid());
            deliver = [d](const batch& b) {
                for (std::size_t i = 0; i < b.size(); ++i) (void)d->send(b.record(i));
            };
        }
    } else if (opts.dest == destination::json) {
        f = make_json_formatter(&s.who);
    }
    if (!f) f = make_stdio_formatter();
    if (s.test_sink) deliver = s.test_sink;
    s.coarse_time.store(
        opts.dest == destination::stdio || opts.dest == destination::syslog || !fallback.empty(),
        std::memory_order_relaxed);
    // The queue's destination first: the held records released next go there.
    s.queue.set_destination(std::move(deliver), make_notice_fn(f->clone()));
    s.sink->configure(std::move(f));
    lock.unlock();
    if (!fallback.empty()) warn("{}", fallback);
}

void set_identity(std::string_view worker_pool_id, std::string_view worker_group,
                  std::string_view worker_id) {
    st().who.set(
        identity{std::string(worker_pool_id), std::string(worker_group), std::string(worker_id)});
}

void write(level lvl, std::string_view msg) {
    // Go's log writes one message per call; its trailing newlines are not part of it.
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.remove_suffix(1);
    auto& s = st();
    if (s.have_capture.load(std::memory_order_acquire)) {
        std::shared_ptr<const capture_fn> capture;
        {
            std::lock_guard lock(s.mu);
            capture = s.capture;
        }
        // A capture hook receives every level (tests assert debug lines too) instead of the
        // destination, synchronously.
        if (capture) {
            (*capture)(lvl, redact(msg));
            return;
        }
    }
    s.logger.log(now(s), spdlog::source_loc{}, to_spdlog(lvl),
                 spdlog::string_view_t(msg.data(), msg.size()));
}

void structured(const boost::json::object& body) {
    auto& s = st();
    if (s.have_capture.load(std::memory_order_acquire)) {
        boost::json::object clean = body;
        redact_fields(clean);
        write(level::info, to_unstructured(clean));
        return;
    }
    std::string_view payload;
    if (const auto* t = body.if_contains("textPayload"); t && t->is_string())
        payload = t->get_string();
    fields_scope scope(&body);
    s.logger.log(now(s), spdlog::source_loc{}, spdlog::level::info,
                 spdlog::string_view_t(payload.data(), payload.size()));
}

void set_capture(std::function<void(level, std::string_view)> fn) {
    auto& s = st();
    std::lock_guard lock(s.mu);
    if (fn)
        s.capture = std::make_shared<const capture_fn>(std::move(fn));
    else
        s.capture.reset();
    s.have_capture.store(s.capture != nullptr, std::memory_order_release);
}

std::uint64_t dropped_count() {
    auto& s = st();
    return s.queue.dropped() + s.sink->dropped_held_total_.load(std::memory_order_relaxed);
}

bool notify_when_room(std::function<void()> notify) {
    return st().queue.notify_when_room(std::move(notify));
}

void clear_room_notify() {
    st().queue.clear_room_notify();
}

std::uint64_t batches_delivered() {
    return st().queue.batches_delivered();
}

bool flush(std::chrono::milliseconds timeout) {
    auto& s = st();
    if (!s.sink->configured()) configure({});
    return s.queue.flush(timeout);
}

batch_scope::batch_scope() {
    bounded_queue::begin_deferral();
}
batch_scope::~batch_scope() {
    st().queue.end_deferral();
}

void set_sink_for_testing(std::function<void(std::string_view)> fn) {
    auto& s = st();
    {
        std::lock_guard lock(s.mu);
        if (fn) {
            s.test_sink = [fn = std::move(fn)](const batch& b) {
                for (std::size_t i = 0; i < b.size(); ++i) fn(b.record(i));
            };
        } else {
            s.test_sink = nullptr;
        }
    }
    if (!s.sink->configured()) {
        configure({});
        return;
    }
    std::lock_guard lock(s.mu);
    s.queue.set_destination(s.test_sink ? s.test_sink : deliver_to_stderr,
                            s.sink->notice_formatter());
}

}  // namespace sw::log
