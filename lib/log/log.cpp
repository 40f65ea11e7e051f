#include "lib/log/log.hpp"

#include "lib/json/worker_config.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sw::log {

namespace {

constexpr std::string_view redacted = "<redacted>";
constexpr std::size_t min_secret_size = 4;

using capture_fn = std::function<void(level, std::string_view)>;
using sink_fn = std::function<void(std::string_view)>;

// "YYYY/MM/DD HH:MM:SS " in local time, as Go's log.LstdFlags. Cached per thread and second.
std::string_view time_prefix(std::time_t now) {
    thread_local std::time_t cached_at = -1;
    thread_local char cached[32] = {};
    thread_local std::size_t cached_size = 0;
    if (now != cached_at) {
        std::tm tm{};
        ::localtime_r(&now, &tm);
        cached_size = std::strftime(cached, sizeof cached, "%Y/%m/%d %H:%M:%S ", &tm);
        cached_at = now;
    }
    return {cached, cached_size};
}

std::string format_line(std::string_view msg) {
    const auto prefix = time_prefix(std::time(nullptr));
    std::string line;
    line.reserve(prefix.size() + msg.size() + 1);
    line.append(prefix).append(msg).push_back('\n');
    return line;
}

// The default destination: file descriptor 2, whole lines, retried on EINTR and short writes.
void write_stderr(std::string_view line) {
    while (!line.empty()) {
        const auto n = ::write(STDERR_FILENO, line.data(), line.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere left to report it
        }
        line.remove_prefix(static_cast<std::size_t>(n));
    }
}

// The bounded queue between the threads that log and the one thread that writes. Callers never
// wait for the destination: when the queue is full their message is dropped and counted, and
// the writer reports the count once there is room again.
class async_writer {
  public:
    /// Queues a formatted line; false if it was dropped.
    bool push(std::string line) {
        {
            std::lock_guard lock(mu_);
            // One message always fits into an empty queue, however long.
            if (!queue_.empty() &&
                (queue_.size() >= max_queued_messages || bytes_ + line.size() > max_queued_bytes)) {
                ++dropped_pending_;
                dropped_total_.fetch_add(1, std::memory_order_relaxed);
                return false;
            }
            bytes_ += line.size();
            queue_.push_back(entry{std::move(line), dropped_pending_});
            dropped_pending_ = 0;
            ++pushed_;
            start_locked();
        }
        wake_.notify_one();
        return true;
    }

    bool flush(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        if (!thread_.joinable()) return dropped_pending_ == 0;
        const auto target = pushed_;
        wake_.notify_one();  // a pending drop notice is written even if nothing else comes
        return idle_.wait_for(lock, timeout,
                              [&] { return written_ >= target && dropped_pending_ == 0; });
    }

    std::uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }

    void set_sink(sink_fn fn) {
        std::lock_guard lock(mu_);
        sink_ = fn ? std::make_shared<const sink_fn>(std::move(fn)) : nullptr;
    }

  private:
    struct entry {
        std::string line;
        std::uint64_t dropped_before = 0;  // messages dropped just before this one
    };

    void start_locked() {
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }

    static std::string drop_notice(std::uint64_t n) {
        return format_line("start-worker: dropped " + std::to_string(n) +
                           " log messages (the log destination could not keep up)");
    }

    // The writer thread. Never ends: the process-wide writer lives as long as the process.
    void run() {
        std::unique_lock lock(mu_);
        for (;;) {
            wake_.wait(lock, [&] { return !queue_.empty() || dropped_pending_ > 0; });
            const auto sink = sink_;
            const auto emit = [&](std::string_view text) {
                if (sink)
                    (*sink)(text);
                else
                    write_stderr(text);
            };
            if (queue_.empty()) {
                // Drops with nothing queued after them: the queue has room again, say so.
                const auto n = std::exchange(dropped_pending_, 0);
                lock.unlock();
                emit(drop_notice(n));
                lock.lock();
                idle_.notify_all();
                continue;
            }
            entry e = std::move(queue_.front());
            queue_.pop_front();
            bytes_ -= e.line.size();
            lock.unlock();
            if (e.dropped_before > 0) emit(drop_notice(e.dropped_before));
            emit(e.line);
            lock.lock();
            ++written_;
            idle_.notify_all();
        }
    }

    std::mutex mu_;
    std::condition_variable wake_;  // the writer waits for work
    std::condition_variable idle_;  // flush() waits for the writer
    std::deque<entry> queue_;
    std::size_t bytes_ = 0;
    std::uint64_t dropped_pending_ = 0;  // dropped since the last accepted message
    std::uint64_t pushed_ = 0;
    std::uint64_t written_ = 0;
    std::atomic<std::uint64_t> dropped_total_{0};
    std::shared_ptr<const sink_fn> sink_;
    std::thread thread_;
};

// Process-wide logging state. One mutex guards it; the common paths (no secrets, no capture)
// only read two atomics before taking it.
struct state {
    std::mutex mu;
    std::vector<std::string> secrets;  // sorted, unique
    std::shared_ptr<const capture_fn> capture;
    std::atomic<bool> have_secrets{false};
    std::atomic<bool> debug_enabled{false};
    async_writer writer;
};

// Never destroyed: the writer thread may still be blocked on a stuck destination at exit.
state& st() {
    static state* s = new state;
    return *s;
}

// A normal exit (return from main, std::exit) first writes what is queued, for a bounded time.
struct flush_at_exit {
    ~flush_at_exit() { flush(); }
} flusher;

void add_one_secret(state& s, std::string secret) {
    if (secret.size() < min_secret_size) return;
    auto it = std::lower_bound(s.secrets.begin(), s.secrets.end(), secret);
    if (it != s.secrets.end() && *it == secret) return;
    s.secrets.insert(it, std::move(secret));
}

// `text` as it appears inside a JSON string: without the surrounding quotes.
std::string json_escaped(std::string quoted) {
    if (quoted.size() >= 2) quoted = quoted.substr(1, quoted.size() - 2);
    return quoted;
}

}  // namespace

void init() {
    st().debug_enabled = std::getenv("START_WORKER_DEBUG") != nullptr;
}

void add_secret(std::string_view secret) {
    if (secret.size() < min_secret_size) return;
    auto& s = st();
    std::lock_guard lock(s.mu);
    add_one_secret(s, std::string(secret));
    // A secret also appears escaped when it is part of JSON text (a certificate inside a
    // config dump, a token with a quote or a '<' in it): redact those spellings too.
    add_one_secret(s, json_escaped(boost::json::serialize(boost::json::string(secret))));
    add_one_secret(s, json_escaped(sw::json::to_sorted_json(boost::json::string(secret))));
    s.have_secrets = !s.secrets.empty();
}

std::string redact(std::string_view msg) {
    auto& s = st();
    if (!s.have_secrets.load(std::memory_order_acquire)) return std::string(msg);

    // Collect the byte ranges covered by any secret, then replace each maximal covered range
    // once. Overlapping or adjacent secrets therefore never leave a fragment behind.
    std::vector<std::pair<std::size_t, std::size_t>> hits;
    {
        std::lock_guard lock(s.mu);
        for (const auto& secret : s.secrets) {
            bool had_hit = false;  // hits.back() is this secret's previous occurrence
            for (auto pos = msg.find(secret); pos != std::string_view::npos;
                 pos = msg.find(secret, pos + 1)) {
                const std::size_t end = pos + secret.size();
                if (had_hit && pos <= hits.back().second)
                    hits.back().second = end;  // overlaps it ("aaaa" in "aaaaaa")
                else
                    hits.emplace_back(pos, end);
                had_hit = true;
            }
        }
    }
    if (hits.empty()) return std::string(msg);
    std::sort(hits.begin(), hits.end());
    std::string out;
    out.reserve(msg.size());
    std::size_t done = 0;  // bytes of msg already handled
    std::size_t i = 0;
    while (i < hits.size()) {
        std::size_t begin = hits[i].first;
        std::size_t end = hits[i].second;
        for (++i; i < hits.size() && hits[i].first <= end; ++i) end = std::max(end, hits[i].second);
        out.append(msg.substr(done, begin - done));
        out.append(redacted);
        done = end;
    }
    out.append(msg.substr(done));
    return out;
}

void write(level lvl, std::string_view msg) {
    // Go's log writes one message per call; its trailing newlines are not part of it.
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.remove_suffix(1);
    auto& s = st();
    std::shared_ptr<const capture_fn> capture;
    {
        std::lock_guard lock(s.mu);
        capture = s.capture;
    }
    // A capture hook receives every level (tests assert debug lines too) instead of stderr,
    // synchronously.
    if (capture) {
        (*capture)(lvl, redact(msg));
        return;
    }
    if (lvl == level::debug && !s.debug_enabled.load(std::memory_order_relaxed)) return;
    // Redacted and time-stamped here, in the caller's order; written by the writer thread.
    s.writer.push(format_line(redact(msg)));
}

void structured(const boost::json::object& body) {
    write(level::info, to_unstructured(body));
}

std::string to_unstructured(const boost::json::object& body) {
    std::string text_payload;
    std::vector<const boost::json::key_value_pair*> others;
    others.reserve(body.size());
    for (const auto& kv : body) {
        if (kv.key() == "textPayload" && kv.value().is_string()) {
            text_payload = std::string(kv.value().get_string());
            continue;
        }
        others.push_back(&kv);
    }
    std::sort(others.begin(), others.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });

    std::string out = text_payload;
    std::string_view sep = text_payload.empty() ? "" : "; ";
    for (const auto* kv : others) {
        out += sep;
        out += kv->key();
        out += ": ";
        if (kv->value().is_string())
            out += kv->value().get_string();
        else
            out += sw::json::to_sorted_json(kv->value());
        sep = "; ";
    }
    if (out.empty()) return "{}";
    return out;
}

void set_capture(std::function<void(level, std::string_view)> fn) {
    auto& s = st();
    std::lock_guard lock(s.mu);
    if (fn)
        s.capture = std::make_shared<const capture_fn>(std::move(fn));
    else
        s.capture.reset();
}

std::uint64_t dropped_count() {
    return st().writer.dropped();
}

bool flush(std::chrono::milliseconds timeout) {
    return st().writer.flush(timeout);
}

void set_sink_for_testing(std::function<void(std::string_view)> fn) {
    st().writer.set_sink(std::move(fn));
}

}  // namespace sw::log
