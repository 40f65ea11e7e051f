// Issue 14, item 5: RFC 3339 dates a time_point cannot hold (past 2262, before 1677) are
// clamped, never a signed overflow (UBSan) or a date in 1816; the state file reads them alike.
#include "lib/common/clock.hpp"

#include "lib/providers/parse.hpp"
#include "state/run_state.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

using namespace sw;

TEST_CASE("parse_rfc3339: ordinary dates are exact", "[clock]") {
    time_point t;
    REQUIRE(parse_rfc3339("2030-01-02T03:04:05.678Z", t));
    CHECK(format_rfc3339_ms(t) == "2030-01-02T03:04:05.678Z");
    REQUIRE(parse_rfc3339("2199-12-31T23:59:59.999+00:00", t));
    CHECK(format_rfc3339_ms(t) == "2199-12-31T23:59:59.999Z");
    REQUIRE(parse_rfc3339("1969-07-20T20:17:40Z", t));
    CHECK(format_rfc3339_ms(t) == "1969-07-20T20:17:40.000Z");
}

TEST_CASE("parse_rfc3339: dates beyond a time_point's range are clamped", "[clock]") {
    time_point t;
    for (const char* far_future :
         {"9999-12-31T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59", "2262-04-12T00:00:00Z",
          "2200-01-01T00:00:00.5Z", "3000-06-15T12:00:00+05:30"}) {
        CAPTURE(far_future);
        REQUIRE(parse_rfc3339(far_future, t));
        CHECK(t == latest_instant());
        CHECK(format_rfc3339_ms(t) == "2200-01-01T00:00:00.000Z");
        CHECK(t > real_clock().now());  // an expiry in year 9999 is in the future
    }
    for (const char* far_past : {"0000-01-01T00:00:00Z", "1000-03-01T00:00:00+14:00",
                                 "1677-09-21T00:12:43Z", "1899-12-31T23:59:59.999Z"}) {
        CAPTURE(far_past);
        REQUIRE(parse_rfc3339(far_past, t));
        CHECK(t == earliest_instant());
    }
    // Arithmetic on clamped instants stays in range (what renewal and deadlines do).
    const auto now = real_clock().now();
    CHECK(latest_instant() - now > std::chrono::hours(24 * 365 * 100));
    CHECK(now - earliest_instant() > std::chrono::hours(24 * 365 * 100));
    CHECK(latest_instant() + std::chrono::hours(24 * 365 * 50) > latest_instant());
}

TEST_CASE("a state file with a year-9999 expiry resumes with far-future credentials",
          "[clock][store]") {
    const auto v = boost::json::parse(R"({"RootURL":"https://tc.example.com",)"
                                      R"("CredentialsExpire":"9999-12-31T00:00:00Z",)"
                                      R"("TerminationDeadline":"9999-12-31T00:00:00Z"})");
    const auto s = run_state_from_json(v);
    REQUIRE(s.credentials_expire);
    CHECK(*s.credentials_expire == latest_instant());
    CHECK(*s.credentials_expire > real_clock().now());
    REQUIRE(s.termination_deadline);
    CHECK(*s.termination_deadline == latest_instant());
    // Written back, it reads the same.
    const auto again = run_state_from_json(run_state_to_json(s));
    CHECK(again.credentials_expire == s.credentials_expire);
}

// Found by tests/fuzz/metadata_fuzz (input in tests/fuzz/corpus/metadata_fuzz/): Azure's RFC 1123
// NotBefore had the same overflow.
TEST_CASE("parse_rfc1123: years past 2262 are clamped too", "[clock]") {
    time_point t;
    REQUIRE(providers::parse::parse_rfc1123("Fri, 31 Dec 9999 23:59:59 GMT", t));
    CHECK(t == latest_instant());
    REQUIRE(providers::parse::parse_rfc1123("Mon, 01 Jan 0001 00:00:00 GMT", t));
    CHECK(t == earliest_instant());
    REQUIRE(providers::parse::parse_rfc1123("Thu, 05 Dec 2019 00:31:50 GMT", t));
    CHECK(format_rfc3339_ms(t) == "2019-12-05T00:31:50.000Z");
}
