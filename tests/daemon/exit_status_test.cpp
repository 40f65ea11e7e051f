// The one error -> exit code mapping (daemon/exit_status.hpp), against CONTRACT.md's table.
#include "daemon/exit_status.hpp"

#include "lib/common/error.hpp"

#include <catch2/catch.hpp>

#include <system_error>

using sw::errc;
using sw::exit_code;
using sw::daemon::exit_code_for;

TEST_CASE("every start_worker error has its documented exit code", "[exit-status]") {
    CHECK(exit_code_for({}) == exit_code::ok);
    CHECK(exit_code_for(errc::config) == exit_code::config);
    // A request Taskcluster rejects (400 unknown pool, wrong static secret, 404, 409) is a
    // refusal that no restart can fix, as 401/403 are.
    CHECK(exit_code_for(errc::permanent) == exit_code::refused);
    CHECK(exit_code_for(errc::refused) == exit_code::refused);
    CHECK(exit_code_for(errc::unavailable) == exit_code::unavailable);
    CHECK(exit_code_for(errc::internal) == exit_code::internal);
    CHECK(sw::to_int(exit_code_for(errc::config)) == 78);
    CHECK(sw::to_int(exit_code_for(errc::permanent)) == 77);
    CHECK(sw::to_int(exit_code_for(errc::refused)) == 77);
    CHECK(sw::to_int(exit_code_for(errc::unavailable)) == 69);
    CHECK(sw::to_int(exit_code_for(errc::internal)) == 70);
}

TEST_CASE("OS errors: permission problems are refusals, the rest internal", "[exit-status]") {
    CHECK(exit_code_for(std::make_error_code(std::errc::permission_denied)) == exit_code::refused);
    CHECK(exit_code_for(std::make_error_code(std::errc::operation_not_permitted)) ==
          exit_code::refused);
    CHECK(exit_code_for(std::make_error_code(std::errc::no_space_on_device)) ==
          exit_code::internal);
    // An unknown value of our own category is a bug, never success.
    CHECK(exit_code_for(std::error_code(99, sw::error_category())) == exit_code::internal);
}

TEST_CASE("a failure's code maps through the same function", "[exit-status]") {
    try {
        throw sw::failure(errc::refused, "/etc/start-worker.yml has mode 0644");
    } catch (const sw::failure& f) {
        CHECK(exit_code_for(f.code()) == exit_code::refused);
        CHECK(std::string(f.what()) == "/etc/start-worker.yml has mode 0644");
    }
}
