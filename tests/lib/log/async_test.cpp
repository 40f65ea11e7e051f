// The asynchronous log destination: bounded queue, one writer thread, drops counted and reported.
#include "lib/log/destination.hpp"
#include "lib/log/log.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// A test destination that records lines and can be held shut (like a pipe nobody reads).
struct sink {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> lines;
    bool blocked = false;
    bool entered = false;  // a write has reached the blocked destination

    sink() {
        sw::log::set_capture({});
        sw::log::configure({});  // the stdio format, whatever another test chose
        sw::log::set_sink_for_testing([this](std::string_view line) {
            std::unique_lock lock(mu);
            entered = true;
            cv.notify_all();
            // Bounded, so that a broken test cannot hang the suite.
            cv.wait_for(lock, 10s, [&] { return !blocked; });
            lines.emplace_back(line);
        });
    }
    ~sink() {
        release();
        sw::log::flush();
        sw::log::set_sink_for_testing({});
    }
    void block() {
        std::lock_guard lock(mu);
        blocked = true;
        entered = false;
    }
    void release() {
        {
            std::lock_guard lock(mu);
            blocked = false;
        }
        cv.notify_all();
    }
    bool wait_entered() {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 5s, [&] { return entered; });
    }
    std::vector<std::string> take() {
        std::lock_guard lock(mu);
        return std::exchange(lines, {});
    }
};

/// The message of a formatted line: without "YYYY/MM/DD HH:MM:SS " and the newline.
std::string message(const std::string& line) {
    REQUIRE(line.size() >= 21);
    REQUIRE(line.back() == '\n');
    CHECK(line[4] == '/');
    CHECK(line[19] == ' ');
    return line.substr(20, line.size() - 21);
}

const std::string notice_prefix = "start-worker: dropped ";

}  // namespace

TEST_CASE("log queue: flush delivers everything, in order, formatted", "[log][log-async]") {
    sink s;
    const auto dropped_before = sw::log::dropped_count();
    for (int i = 0; i < 5000; ++i) sw::log::info("message {}", i);
    REQUIRE(sw::log::flush());
    // Only this test's lines: an earlier test (random order) may still have a record in flight.
    std::vector<std::string> lines;
    for (auto& l : s.take())
        if (message(l).starts_with("message ")) lines.push_back(std::move(l));
    REQUIRE(lines.size() == 5000);
    for (int i = 0; i < 5000; ++i) CHECK(message(lines[i]) == "message " + std::to_string(i));
    CHECK(sw::log::dropped_count() == dropped_before);
}

TEST_CASE("log queue: each thread's order is kept under load", "[log][log-async]") {
    sink s;
    const auto dropped_before = sw::log::dropped_count();
    constexpr int threads = 4;
    constexpr int per_thread = 20000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([t] {
            for (int i = 0; i < per_thread; ++i) sw::log::info("t{} {}", t, i);
        });
    for (auto& th : pool) th.join();
    REQUIRE(sw::log::flush());
    const auto lines = s.take();
    std::vector<int> last(threads, -1);
    std::uint64_t received = 0, notices = 0, reported = 0;
    for (const auto& line : lines) {
        const auto m = message(line);
        if (m.rfind(notice_prefix, 0) == 0) {
            ++notices;
            reported += std::stoull(m.substr(notice_prefix.size()));
            continue;
        }
        const int t = m[1] - '0';
        const int i = std::stoi(m.substr(3));
        REQUIRE(t >= 0);
        REQUIRE(t < threads);
        CHECK(i > last[t]);
        last[t] = i;
        ++received;
    }
    const auto dropped = sw::log::dropped_count() - dropped_before;
    CHECK(received + dropped == std::uint64_t(threads) * per_thread);
    CHECK(reported == dropped);  // every drop is reported, none twice
    for (int t = 0; t < threads; ++t) CHECK((last[t] == per_thread - 1 || dropped > 0));
}

TEST_CASE("log queue: a stuck destination does not block, drops are counted and reported once",
          "[log][log-async]") {
    sink s;
    s.block();
    const auto dropped_before = sw::log::dropped_count();
    sw::log::info("first");
    REQUIRE(s.wait_entered());  // the writer holds "first" and is stuck in the destination

    const std::size_t extra = 100;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < sw::log::max_queued_messages + extra; ++i)
        sw::log::warn("queued {}", i);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < 2s);  // the sink holds for 10 s: nothing waited for it
    CHECK(sw::log::dropped_count() - dropped_before == extra);
    CHECK_FALSE(sw::log::flush(50ms));  // cannot finish while the destination is stuck

    s.release();
    REQUIRE(sw::log::flush());
    sw::log::info("after");
    REQUIRE(sw::log::flush());
    const auto lines = s.take();
    REQUIRE(lines.size() == 1 + sw::log::max_queued_messages + 1 + 1);
    CHECK(message(lines[0]) == "first");
    for (std::size_t i = 0; i < sw::log::max_queued_messages; ++i)
        CHECK(message(lines[1 + i]) == "queued " + std::to_string(i));
    CHECK(message(lines[1 + sw::log::max_queued_messages]) ==
          "start-worker: dropped 100 log messages (the log destination could not keep up)");
    CHECK(message(lines.back()) == "after");
    CHECK(sw::log::dropped_count() - dropped_before == extra);
}

TEST_CASE("log queue: a producer that can wait is told when the queue has room again",
          "[log][log-async]") {
    sink s;
    REQUIRE(sw::log::flush());
    bool called = false;
    CHECK_FALSE(sw::log::notify_when_room([&] { called = true; }));  // empty: room now
    s.block();
    const auto dropped_before = sw::log::dropped_count();
    const auto batches_before = sw::log::batches_delivered();
    sw::log::info("first");
    REQUIRE(s.wait_entered());  // the writer is stuck on "first"
    const std::size_t mark = sw::log::max_queued_messages / 4 * 3;
    for (std::size_t i = 0; i + 1 < mark; ++i) sw::log::info("queued {}", i);
    CHECK_FALSE(sw::log::notify_when_room([&] { called = true; }));  // one short of the mark
    sw::log::info("at the mark");
    std::mutex mu;
    std::condition_variable cv;
    bool told = false;
    REQUIRE(sw::log::notify_when_room([&] {
        std::lock_guard lock(mu);
        told = true;
        cv.notify_all();
    }));
    CHECK(sw::log::batches_delivered() == batches_before);  // the destination is stuck
    {
        std::unique_lock lock(mu);
        CHECK_FALSE(cv.wait_for(lock, 50ms, [&] { return told; }));
    }
    s.release();
    {
        std::unique_lock lock(mu);
        CHECK(cv.wait_for(lock, 5s, [&] { return told; }));
    }
    REQUIRE(sw::log::flush());
    CHECK(sw::log::batches_delivered() > batches_before);
    CHECK_FALSE(called);  // replaced, never run
    CHECK(sw::log::dropped_count() == dropped_before);
    CHECK(s.take().size() == 1 + mark);
    // A removed callback does not run.
    s.block();
    sw::log::info("first");
    REQUIRE(s.wait_entered());
    for (std::size_t i = 0; i < mark; ++i) sw::log::info("q {}", i);
    REQUIRE(sw::log::notify_when_room([&] { called = true; }));
    sw::log::clear_room_notify();
    s.release();
    REQUIRE(sw::log::flush());
    CHECK_FALSE(called);
}

TEST_CASE("log queue: the byte bound applies too", "[log][log-async]") {
    sink s;
    s.block();
    const auto dropped_before = sw::log::dropped_count();
    sw::log::info("first");
    REQUIRE(s.wait_entered());
    const std::string big(100 * 1024, 'b');
    const std::size_t line_size = 20 + big.size() + 1;  // time prefix, message, newline
    const std::size_t fit = sw::log::max_queued_bytes / line_size;
    for (std::size_t i = 0; i < fit + 5; ++i) sw::log::info("{}", big);
    CHECK(sw::log::dropped_count() - dropped_before == 5);
    // A drop is followed by an accepted message once there is room: the notice comes first.
    s.release();
    REQUIRE(sw::log::flush());
    sw::log::info("small");
    REQUIRE(sw::log::flush());
    const auto lines = s.take();
    REQUIRE(lines.size() == 1 + fit + 1 + 1);
    CHECK(message(lines[1 + fit]) ==
          "start-worker: dropped 5 log messages (the log destination could not keep up)");
}

TEST_CASE("log queue: the capture hook stays synchronous and bypasses the queue",
          "[log][log-async]") {
    sink s;
    std::vector<std::string> got;
    sw::log::set_capture([&](sw::log::level, std::string_view m) { got.emplace_back(m); });
    sw::log::info("captured {}", 1);
    CHECK(got == std::vector<std::string>{"captured 1"});  // no flush needed
    sw::log::set_capture({});
    REQUIRE(sw::log::flush());
    CHECK(s.take().empty());
}

TEST_CASE("log queue: secrets are redacted before queueing", "[log][log-async]") {
    sink s;
    sw::log::add_secret("queued-secret-4242");
    sw::log::info("x queued-secret-4242 y");
    REQUIRE(sw::log::flush());
    const auto lines = s.take();
    REQUIRE(lines.size() == 1);
    CHECK(message(lines[0]) == "x <redacted> y");
}
