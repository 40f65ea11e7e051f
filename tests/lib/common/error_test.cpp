// start-worker's error category and classifiers (lib/common/error.hpp).
#include "lib/common/error.hpp"

#include "lib/common/random.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <system_error>

using sw::errc;

TEST_CASE("errc values are error_codes of the start_worker category", "[error]") {
    const std::error_code ec = errc::refused;  // implicit, through make_error_code (ADL)
    CHECK(ec.category() == sw::error_category());
    CHECK(std::string(sw::error_category().name()) == "start_worker");
    CHECK(ec.value() == static_cast<int>(errc::refused));
    CHECK(ec == errc::refused);
    CHECK(ec != errc::permanent);
    CHECK(static_cast<bool>(ec));  // no value is 0 (success)
    // Every value has its own message; an unknown one says so.
    std::set<std::string> messages;
    for (const auto e :
         {errc::config, errc::refused, errc::permanent, errc::unavailable, errc::internal})
        messages.insert(make_error_code(e).message());
    CHECK(messages.size() == 5);
    CHECK_THAT(std::error_code(42, sw::error_category()).message(),
               Catch::Contains("unknown start_worker error 42"));
    // Another category's value 1 is not ours.
    CHECK(std::error_code(1, std::generic_category()) != errc::config);
}

TEST_CASE("classifiers: retryable, permanent, refused", "[error]") {
    struct row {
        std::error_code ec;
        bool retryable, permanent, refused;
    };
    const row rows[] = {
        {errc::config, false, true, false},
        {errc::refused, false, true, true},
        {errc::permanent, false, true, false},
        {errc::unavailable, true, false, false},
        {errc::internal, false, false, false},
        {std::make_error_code(std::errc::timed_out), true, false, false},
        {std::make_error_code(std::errc::connection_refused), true, false, false},
        {std::make_error_code(std::errc::connection_reset), true, false, false},
        {std::make_error_code(std::errc::no_space_on_device), false, false, false},
        {std::error_code{}, false, false, false},
    };
    for (const auto& r : rows) {
        INFO(r.ec.category().name() << ":" << r.ec.value() << " " << r.ec.message());
        CHECK(sw::is_retryable(r.ec) == r.retryable);
        CHECK(sw::is_permanent(r.ec) == r.permanent);
        CHECK(sw::is_refused(r.ec) == r.refused);
    }
}

TEST_CASE("failure carries an error_code and the message naming the culprit", "[error]") {
    const sw::failure f(errc::unavailable, "GET http://169.254.169.254/latest: timed out");
    CHECK(f.code() == errc::unavailable);
    CHECK(std::string(f.what()) == "GET http://169.254.169.254/latest: timed out");
    const auto c = sw::config_error("provider.workerPoolID", "missing");
    CHECK(c.code() == errc::config);
    CHECK(std::string(c.what()) == "provider.workerPoolID: missing");
    const sw::failure os(std::make_error_code(std::errc::permission_denied), "/var/lib/x");
    CHECK(os.code() == std::errc::permission_denied);
}

TEST_CASE("seeded_random repeats its sequence", "[error][random]") {
    sw::seeded_random a(1), b(1), c(2);
    bool all_same = true, any_differs = false;
    for (int i = 0; i < 16; ++i) {
        const auto x = a(), y = b(), z = c();
        all_same = all_same && x == y;
        any_differs = any_differs || x != z;
    }
    CHECK(all_same);
    CHECK(any_differs);
}
