#include "lib/log/queue.hpp"

#include "platform/log_sinks.hpp"

#include <utility>

namespace sw::log {

namespace {
thread_local int deferral_depth = 0;
thread_local bool wake_owed = false;
}  // namespace

void bounded_queue::begin_deferral() {
    ++deferral_depth;
}

void bounded_queue::end_deferral() {
    if (deferral_depth > 0 && --deferral_depth == 0 && wake_owed) {
        wake_owed = false;
        wake_.notify_one();
    }
}

bounded_queue::~bounded_queue() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void bounded_queue::set_destination(deliver_fn deliver, notice_fn notice) {
    std::lock_guard lock(mu_);
    deliver_ = deliver ? std::make_shared<const deliver_fn>(std::move(deliver)) : nullptr;
    notice_ = notice ? std::make_shared<const notice_fn>(std::move(notice)) : nullptr;
}

void bounded_queue::append_notice_locked(std::uint64_t n) {
    if (notice_) {
        (*notice_)(n, pending_.bytes);
    } else {
        pending_.bytes += "start-worker: dropped " + std::to_string(n) +
                          " log messages (the log destination could not keep up)\n";
    }
    pending_.ends.push_back(pending_.bytes.size());
}

bool bounded_queue::push(std::string_view record) {
    bool wake_now = true;
    {
        std::lock_guard lock(mu_);
        if (pending_records_ > 0 && (pending_records_ >= max_messages_ ||
                                     pending_.bytes.size() + record.size() > max_bytes_)) {
            ++dropped_pending_;
            dropped_total_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        if (dropped_pending_ > 0) append_notice_locked(std::exchange(dropped_pending_, 0));
        pending_.bytes.append(record);
        pending_.ends.push_back(pending_.bytes.size());
        ++pending_records_;
        ++pushed_;
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        if (deferral_depth > 0 && pending_records_ < max_messages_ / 2 &&
            pending_.bytes.size() < max_bytes_ / 2) {
            wake_owed = true;
            wake_now = false;
        }
    }
    if (wake_now) wake_.notify_one();
    return true;
}

bool bounded_queue::notify_when_room(std::function<void()> notify) {
    std::lock_guard lock(mu_);
    // Three quarters: a quarter of the queue is left for the producer's next chunk (one read
    // of worker output: 64 KiB, fewer than 2048 lines unless they average under 32 bytes).
    if (pending_records_ < max_messages_ / 4 * 3 && pending_.bytes.size() < max_bytes_ / 4 * 3) {
        room_notify_ = nullptr;
        return false;
    }
    room_notify_ = std::move(notify);
    return true;
}

void bounded_queue::clear_room_notify() {
    std::lock_guard lock(mu_);
    room_notify_ = nullptr;
}

bool bounded_queue::flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!thread_.joinable()) return dropped_pending_ == 0;
    const auto target = pushed_;
    wake_.notify_one();  // a pending drop notice is written even if nothing else comes
    return idle_.wait_for(lock, timeout, [&] {
        return written_ >= target && dropped_pending_ == 0 && notices_in_flight_ == 0;
    });
}

// The writer thread. The process-wide queue's writer never ends (the queue is never
// destroyed); a test's own queue ends it in the destructor.
void bounded_queue::run() {
    batch writing;
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait(lock,
                   [&] { return stopping_ || !pending_.ends.empty() || dropped_pending_ > 0; });
        if (pending_.ends.empty()) {
            if (dropped_pending_ == 0) return;  // stopping, nothing left
            // Drops with nothing queued after them: the queue has room again, say so.
            append_notice_locked(std::exchange(dropped_pending_, 0));
            ++notices_in_flight_;
        }
        std::swap(pending_, writing);
        const std::size_t records = std::exchange(pending_records_, 0);
        // The queue is empty again: a producer waiting for room may go on while this batch is
        // written.
        if (room_notify_) std::exchange(room_notify_, nullptr)();
        const auto deliver = deliver_;
        lock.unlock();
        if (deliver)
            (*deliver)(writing);
        else
            (void)platform::write_stderr(writing.bytes);  // nowhere left to report a failure
        writing.clear();
        // Keep the buffer for the next batch unless a burst made it large.
        if (writing.bytes.capacity() > (1u << 20)) writing = batch{};
        lock.lock();
        written_ += records;
        batches_delivered_.fetch_add(1, std::memory_order_relaxed);
        notices_in_flight_ = 0;  // any notice of this batch is written
        idle_.notify_all();
    }
}

}  // namespace sw::log
