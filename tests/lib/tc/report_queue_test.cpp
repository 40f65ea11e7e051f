// Issue 14, item 2: error reports from the worker are bounded: one request in flight, a bounded
// queue by count and bytes, the earliest and the latest report kept, the rest counted.
#include "lib/tc/report_queue.hpp"

#include <catch2/catch.hpp>

#include <string>

using sw::tc::error_report;
using sw::tc::report_queue;

namespace {
error_report report(int n, std::size_t description_bytes = 10) {
    error_report r;
    r.kind = "worker-error";
    r.title = "report " + std::to_string(n);
    r.description = std::string(description_bytes, 'd');
    r.extra = {{"n", n}};
    return r;
}
}  // namespace

TEST_CASE("report_queue: 3000 reports of 200 KB stay bounded, one in flight", "[report_queue]") {
    report_queue q;  // defaults: 16 waiting, 4 MiB
    std::size_t most_pending = 0, most_bytes = 0;
    for (int i = 0; i < 3000; ++i) {
        q.push(report(i, 200 * 1024));
        most_pending = std::max(most_pending, q.pending());
        most_bytes = std::max(most_bytes, q.pending_bytes());
    }
    CHECK(most_pending <= 16);
    CHECK(most_bytes <= 4 * 1024 * 1024);
    CHECK(q.pending() + q.dropped_total() == 3000);
    CHECK(q.take_dropped() == q.dropped_total());
    CHECK(q.take_dropped() == 0);

    // One request at a time: nothing more until finish().
    const auto first = q.start_next();
    REQUIRE(first);
    CHECK(first->title == "report 0");  // the earliest is kept (usually the cause)
    CHECK(q.in_flight());
    CHECK_FALSE(q.start_next());
    q.finish();

    std::string last;
    while (auto r = q.start_next()) {
        last = r->title;
        q.finish();
    }
    CHECK(last == "report 2999");  // and the latest (often the worker's last words)
    CHECK(q.pending() == 0);
    CHECK(q.pending_bytes() == 0);
}

TEST_CASE("report_queue: order is kept while there is room", "[report_queue]") {
    report_queue q(report_queue::limits{4, 1024 * 1024});
    for (int i = 0; i < 3; ++i) CHECK(q.push(report(i)));
    CHECK(q.dropped_total() == 0);
    for (int i = 0; i < 3; ++i) {
        const auto r = q.start_next();
        REQUIRE(r);
        CHECK(r->title == "report " + std::to_string(i));
        CHECK(r->extra.at("n").as_int64() == i);
        q.finish();
    }
    CHECK_FALSE(q.start_next());
}

TEST_CASE("report_queue: bytes bound the queue as well as the count", "[report_queue]") {
    report_queue q(report_queue::limits{100, 1000});
    CHECK(q.push(report(0, 400)));
    CHECK(q.push(report(1, 400)));
    CHECK_FALSE(q.push(report(2, 400)));  // report 1 makes room for it
    CHECK(q.pending() == 2);
    CHECK(q.pending_bytes() <= 1000);
    CHECK(q.dropped_total() == 1);
    // A report larger than the whole budget is dropped itself, the queue untouched.
    CHECK_FALSE(q.push(report(3, 5000)));
    CHECK(q.pending() == 2);
    CHECK(q.dropped_total() == 2);
    CHECK(q.start_next()->title == "report 0");
    q.finish();
    CHECK(q.start_next()->title == "report 2");
}

TEST_CASE("report_queue: size_of counts strings and extra", "[report_queue]") {
    error_report r;
    r.kind = "k";
    r.title = "tt";
    r.description = "ddd";
    r.extra = {{"a", "bb"}};
    CHECK(report_queue::size_of(r) == 1 + 2 + 3 + std::string(R"({"a":"bb"})").size());
}
