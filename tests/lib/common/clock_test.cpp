// RFC 3339 formatting and parsing, and the injected clocks (lib/common/clock.hpp).
#include "lib/common/clock.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono;
using sw::format_rfc3339_ms;
using sw::parse_rfc3339;

namespace {
sw::time_point at(sys_days d, milliseconds since_midnight = {}) {
    return sw::time_point(duration_cast<sw::wall_clock::duration>(d.time_since_epoch()) +
                          since_midnight);
}
}  // namespace

TEST_CASE("format_rfc3339_ms: UTC, milliseconds, Z", "[clock]") {
    CHECK(format_rfc3339_ms(sw::time_point{}) == "1970-01-01T00:00:00.000Z");
    CHECK(format_rfc3339_ms(at(2006y / January / 2, 15h + 4min + 5s + 7ms)) ==
          "2006-01-02T15:04:05.007Z");
    // Sub-millisecond parts are cut, not rounded.
    CHECK(format_rfc3339_ms(at(2024y / February / 29, 23h + 59min + 59s + 999ms) +
                            microseconds(999)) == "2024-02-29T23:59:59.999Z");
    // Before the epoch the millisecond field stays positive.
    CHECK(format_rfc3339_ms(sw::time_point{} - milliseconds(1)) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("parse_rfc3339: what Taskcluster and the clouds send", "[clock]") {
    sw::time_point t;
    REQUIRE(parse_rfc3339("2006-01-02T15:04:05.007Z", t));
    CHECK(t == at(2006y / January / 2, 15h + 4min + 5s + 7ms));
    REQUIRE(parse_rfc3339("2006-01-02T15:04:05Z", t));
    CHECK(t == at(2006y / January / 2, 15h + 4min + 5s));
    // An offset is applied: 17:04 at +02:00 is 15:04 UTC.
    REQUIRE(parse_rfc3339("2006-01-02T17:04:05+02:00", t));
    CHECK(t == at(2006y / January / 2, 15h + 4min + 5s));
    REQUIRE(parse_rfc3339("2006-01-02T10:34:05-04:30", t));
    CHECK(t == at(2006y / January / 2, 15h + 4min + 5s));
    // Lower-case t/z and a space separator are accepted; long fractions are kept to the ns.
    REQUIRE(parse_rfc3339("2006-01-02 15:04:05.123456789z", t));
    CHECK(t == at(2006y / January / 2, 15h + 4min + 5s) +
                   duration_cast<sw::wall_clock::duration>(nanoseconds(123456789)));
    // A round trip through the formatter.
    const auto now = at(2031y / July / 14, 1h + 2min + 3s + 456ms);
    REQUIRE(parse_rfc3339(format_rfc3339_ms(now), t));
    CHECK(t == now);
}

TEST_CASE("parse_rfc3339: anything else is refused and leaves the output alone", "[clock]") {
    const sw::time_point sentinel = at(2000y / January / 1);
    for (const char* bad :
         {"", "2006-01-02", "2006-01-02T15:04:05", "2006-01-02T15:04:05.Z", "2006-13-02T15:04:05Z",
          "2006-02-30T15:04:05Z", "2006-01-02T24:00:00Z", "2006-01-02T15:60:05Z",
          "2006-01-02T15:04:05+0200", "2006-01-02T15:04:05Zjunk", "2006/01/02T15:04:05Z",
          "20O6-01-02T15:04:05Z", "2006-01-02X15:04:05Z", "2006-01-02T15:04:05+02"}) {
        sw::time_point t = sentinel;
        INFO(bad);
        CHECK_FALSE(parse_rfc3339(bad, t));
        CHECK(t == sentinel);
    }
}

TEST_CASE("manual clocks move only when told to", "[clock]") {
    sw::manual_clock wall{at(2020y / May / 5)};
    CHECK(wall.now() == at(2020y / May / 5));
    wall.advance(hours(25));
    CHECK(wall.now() == at(2020y / May / 6, 1h));
    wall.set(sw::time_point{});
    CHECK(wall.now() == sw::time_point{});

    sw::manual_monotonic_clock steady;
    const auto t0 = steady.now();
    CHECK(steady.now() == t0);
    steady.advance(seconds(61));
    CHECK(steady.now() - t0 == seconds(61));

    // The real ones are real: the monotonic clock never goes back.
    const auto a = sw::real_monotonic_clock().now();
    CHECK(sw::real_monotonic_clock().now() >= a);
    CHECK(sw::real_clock().now() > at(2020y / January / 1));
}
