// The exit-code table (lib/common/exit_codes.hpp): CONTRACT.md's numbers, once each.
#include "lib/common/exit_codes.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

TEST_CASE("the exit-code table holds CONTRACT.md's codes, in order, once each", "[exit-codes]") {
    const std::map<int, sw::exit_code> contract{
        {0, sw::exit_code::ok},
        {1, sw::exit_code::worker_failed},
        {3, sw::exit_code::reboot_skipped},
        {4, sw::exit_code::shutdown_skipped},
        {64, sw::exit_code::usage},
        {69, sw::exit_code::unavailable},
        {70, sw::exit_code::internal},
        {77, sw::exit_code::refused},
        {78, sw::exit_code::config},
    };
    const auto table = sw::exit_code_table();
    REQUIRE(table.size() == contract.size());
    int previous = -1;
    std::set<std::string> meanings;
    for (const auto& row : table) {
        const int n = sw::to_int(row.code);
        INFO(n);
        CHECK(n > previous);  // ascending: the README and --help list them in this order
        previous = n;
        REQUIRE(contract.count(n) == 1);
        CHECK(contract.at(n) == row.code);
        CHECK(!row.meaning.empty());
        CHECK(meanings.insert(std::string(row.meaning)).second);
    }
}
