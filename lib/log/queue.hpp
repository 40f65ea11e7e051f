#pragma once
// The bounded queue between the threads that log and the one thread that writes to the
// destination. What spdlog's async logger does not give (it blocks or overwrites the oldest
// message when full, and joins its thread at exit), this does:
// - a caller never waits for the destination: when the queue holds max_messages messages or
//   max_bytes bytes, the new message is dropped and counted;
// - drops are reported once, in the destination's format, before the next message that fits
//   (or as soon as the queue has room when none follows);
// - the writer thread is never joined: flush() waits for it only up to a timeout, so a stuck
//   stderr cannot hang the exit;
// - records are appended to one buffer and the writer takes the whole buffer at once: one
//   write(2) per batch for a stream, no allocation per record once the buffers have grown.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sw::log {

/// Records taken by the writer in one go: their bytes back to back, and where each ends.
struct batch {
    std::string bytes;
    std::vector<std::size_t> ends;

    std::size_t size() const { return ends.size(); }
    std::string_view record(std::size_t i) const {
        const std::size_t begin = i == 0 ? 0 : ends[i - 1];
        return std::string_view(bytes).substr(begin, ends[i] - begin);
    }
    void clear() {
        bytes.clear();
        ends.clear();
    }
};

class bounded_queue {
  public:
    /// Writes one batch to the destination (on the writer thread).
    using deliver_fn = std::function<void(const batch&)>;
    /// Appends the destination's rendering of "dropped N log messages" to `out`.
    using notice_fn = std::function<void(std::uint64_t dropped, std::string& out)>;

    bounded_queue(std::size_t max_messages, std::size_t max_bytes)
        : max_messages_(max_messages), max_bytes_(max_bytes) {}
    bounded_queue(const bounded_queue&) = delete;
    bounded_queue& operator=(const bounded_queue&) = delete;
    /// Never call while the writer may be stuck: the process-wide queue is never destroyed.
    ~bounded_queue();

    /// Sets where batches go and how drop notices read. Taken by the writer for its next batch.
    void set_destination(deliver_fn deliver, notice_fn notice);

    /// Queues one formatted record; false if it was dropped. One record always fits into an
    /// empty queue, however long.
    bool push(std::string_view record);

    /// Waits until every record pushed before the call is delivered (and any pending drop
    /// notice), or until `timeout`; false on timeout.
    bool flush(std::chrono::milliseconds timeout);

    std::uint64_t dropped() const { return dropped_total_.load(std::memory_order_relaxed); }

    /// Back-pressure for a producer that can wait (the reader of worker output): true when the
    /// queue is at least three quarters full (records or bytes); then `notify` is called once, on
    /// the writer thread and under the queue's lock, as soon as the writer takes the queued records
    /// (the queue is empty again). It must only hand the news on (post to an event loop) and
    /// never log. False (and `notify` dropped) when there is room now. A later call replaces a
    /// pending `notify`; clear_room_notify() removes it (call it before what `notify` refers to
    /// goes away: once it returns, `notify` is not running and will not run).
    bool notify_when_room(std::function<void()> notify);
    void clear_room_notify();

    /// Batches the writer has delivered so far (a destination that makes no progress keeps it).
    std::uint64_t batches_delivered() const {
        return batches_delivered_.load(std::memory_order_relaxed);
    }

    /// While a thread is inside a deferral (nested calls count), its pushes do not wake the
    /// writer until the queue is half full; end_deferral() wakes it once. A caller that logs
    /// many records in a burst (one read of worker output) thus costs one wake-up, not one per
    /// record.
    static void begin_deferral();
    void end_deferral();

  private:
    void run();
    void append_notice_locked(std::uint64_t n);

    const std::size_t max_messages_;
    const std::size_t max_bytes_;
    std::mutex mu_;
    std::condition_variable wake_;  // the writer waits for work
    std::condition_variable idle_;  // flush() waits for the writer
    batch pending_;
    std::size_t pending_records_ = 0;      // records of pending_ that count against the bounds
    std::uint64_t dropped_pending_ = 0;    // dropped since the last accepted record
    std::uint64_t notices_in_flight_ = 0;  // drop notices taken by the writer, not yet written
    std::uint64_t pushed_ = 0;
    std::uint64_t written_ = 0;
    std::atomic<std::uint64_t> dropped_total_{0};
    std::atomic<std::uint64_t> batches_delivered_{0};
    std::function<void()> room_notify_;  // notify_when_room
    std::shared_ptr<const deliver_fn> deliver_;
    std::shared_ptr<const notice_fn> notice_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace sw::log
