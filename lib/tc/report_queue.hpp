#pragma once
// Outgoing reportWorkerError calls, bounded (issue 14, item 2): a worker that writes thousands
// of error-report messages while worker-manager does not answer must not make the runner open
// thousands of connections or hold gigabytes (the unit gives the runner OOMScoreAdjust=-1000,
// so a runner that grows is never the process the kernel kills). Sans-io: the daemon pushes
// reports, sends what start_next() hands it one at a time, and calls finish() when that call
// ends, whatever its outcome.
//
// Policy: at most one request in flight; at most max_pending reports (and max_pending_bytes of
// them) waiting, in order. When full, the newest waiting report is replaced by the new one and
// counted as dropped: the earliest reports (usually the cause) and the latest (often the
// worker's last words before exiting) are kept, the ones in between are counted.
#include "lib/tc/client.hpp"

#include <cstddef>
#include <deque>
#include <optional>

namespace sw::tc {

class report_queue {
  public:
    struct limits {
        std::size_t max_pending = 16;
        std::size_t max_pending_bytes = std::size_t{4} * 1024 * 1024;
    };

    report_queue() : report_queue(limits{}) {}
    explicit report_queue(limits l);

    /// Queues `r`. Returns false if something was dropped to make room (or `r` itself, when it
    /// alone exceeds max_pending_bytes).
    bool push(error_report r);

    /// When nothing is in flight and a report waits: marks it in flight and returns it.
    std::optional<error_report> start_next();

    /// The in-flight call ended (delivered or given up). Call start_next() again after it.
    void finish();

    bool in_flight() const { return in_flight_; }
    std::size_t pending() const { return pending_.size(); }
    std::size_t pending_bytes() const { return pending_bytes_; }
    /// Reports dropped since the start (for /metrics).
    std::size_t dropped_total() const { return dropped_total_; }
    /// Reports dropped since the last call (for one log line per burst: "dropped N reports").
    std::size_t take_dropped();

    /// The bytes a report is counted as: its strings and its serialized `extra`.
    static std::size_t size_of(const error_report& r);

  private:
    struct entry {
        error_report report;
        std::size_t bytes = 0;
    };
    limits limits_;
    std::deque<entry> pending_;
    std::size_t pending_bytes_ = 0;
    bool in_flight_ = false;
    std::size_t dropped_total_ = 0;
    std::size_t dropped_unreported_ = 0;
};

}  // namespace sw::tc
