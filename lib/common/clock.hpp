#pragma once
// Injected time. Library code never calls system_clock::now() directly: it asks a clock, so
// tests can move time (including jumps, as after a suspend) without sleeping.
#include <chrono>
#include <string>
#include <string_view>

namespace sw {

using wall_clock = std::chrono::system_clock;
using time_point = wall_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

class clock {
  public:
    virtual ~clock() = default;
    virtual time_point now() const = 0;
};

class system_clock_source final : public clock {
  public:
    time_point now() const override { return wall_clock::now(); }
};

/// A clock that only moves when told to.
class manual_clock final : public clock {
  public:
    explicit manual_clock(time_point t = time_point{}) : now_(t) {}
    time_point now() const override { return now_; }
    void set(time_point t) { now_ = t; }
    void advance(wall_clock::duration d) { now_ += d; }

  private:
    time_point now_;
};

/// The process-wide real clock.
const clock& real_clock();

/// Monotonic time for measuring elapsed durations (retry deadlines): never jumps, does not
/// count suspend. Injected like `clock` so tests decide what "elapsed" is.
using steady_time_point = std::chrono::steady_clock::time_point;

class monotonic_clock {
  public:
    virtual ~monotonic_clock() = default;
    virtual steady_time_point now() const = 0;
};

class steady_clock_source final : public monotonic_clock {
  public:
    steady_time_point now() const override { return std::chrono::steady_clock::now(); }
};

/// A monotonic clock that only moves when told to.
class manual_monotonic_clock final : public monotonic_clock {
  public:
    steady_time_point now() const override { return now_; }
    void advance(std::chrono::steady_clock::duration d) { now_ += d; }

  private:
    steady_time_point now_{};
};

/// The process-wide real monotonic clock (std::chrono::steady_clock).
const monotonic_clock& real_monotonic_clock();

/// "2006-01-02T15:04:05.000Z" (what Taskcluster and the Go runner write).
std::string format_rfc3339_ms(time_point t);
/// Parses RFC 3339 date-times as Taskcluster sends them ("...Z", optional fraction, or an
/// offset). Returns false on anything else.
bool parse_rfc3339(std::string_view s, time_point& out);

}  // namespace sw
