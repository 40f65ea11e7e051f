// The bounded queue of outgoing error reports (lib/tc/report_queue.hpp).
#include "lib/tc/report_queue.hpp"

#include <boost/json/serializer.hpp>

#include <algorithm>
#include <utility>

namespace sw::tc {

report_queue::report_queue(limits l) : limits_(l) {
    limits_.max_pending = std::max<std::size_t>(limits_.max_pending, 1);
}

std::size_t report_queue::size_of(const error_report& r) {
    // Serialized size of `extra` without building the string at once.
    std::size_t extra = 0;
    boost::json::serializer sr;
    sr.reset(&r.extra);
    char buf[4096];
    while (!sr.done()) extra += sr.read(buf, sizeof buf).size();
    return r.kind.size() + r.title.size() + r.description.size() + extra;
}

bool report_queue::push(error_report r) {
    const std::size_t bytes = size_of(r);
    if (bytes > limits_.max_pending_bytes) {
        ++dropped_total_;
        ++dropped_unreported_;
        return false;
    }
    bool dropped = false;
    // Make room: the newest waiting report goes, as many as it takes (by count, then bytes).
    while (!pending_.empty() && (pending_.size() >= limits_.max_pending ||
                                 pending_bytes_ + bytes > limits_.max_pending_bytes)) {
        pending_bytes_ -= pending_.back().bytes;
        pending_.pop_back();
        ++dropped_total_;
        ++dropped_unreported_;
        dropped = true;
    }
    pending_bytes_ += bytes;
    pending_.push_back(entry{std::move(r), bytes});
    return !dropped;
}

std::optional<error_report> report_queue::start_next() {
    if (in_flight_ || pending_.empty()) return std::nullopt;
    entry e = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= e.bytes;
    in_flight_ = true;
    return std::move(e.report);
}

void report_queue::finish() {
    in_flight_ = false;
}

std::size_t report_queue::take_dropped() {
    return std::exchange(dropped_unreported_, 0);
}

}  // namespace sw::tc
