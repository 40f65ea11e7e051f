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

TEST_CASE("the exit-code table's meanings are CONTRACT.md's words", "[exit-codes]") {
    // CONTRACT.md "Exit codes", verbatim: --help, the man page, the README and the unit are
    // generated from this table, so they say what the contract says. Details beyond it belong
    // in the operator's column (remedy).
    const std::map<int, std::string> contract{
        {0, "the worker ran and exited cleanly (or a graceful stop completed)"},
        {1, "the worker exited non-zero (its code is logged)"},
        {3, "a host reboot was requested but not performed (`--once`, or reboots disabled)"},
        {4,
         "a host shutdown was requested but not performed (`--once`, or static/standalone "
         "provider asked to shut down)"},
        {64, "bad command line"},
        {69, "Taskcluster or the cloud metadata service stayed unreachable after retries"},
        {70, "internal error (a bug)"},
        {77,
         "refused: 401/403 from Taskcluster, or a config/state file with unsafe ownership or "
         "mode"},
        {78,
         "the runner config is invalid, unreadable as a config (a directory, a FIFO, empty) or "
         "unusable (nothing was contacted, nothing was written)"},
    };
    for (const auto& row : sw::exit_code_table()) {
        const int n = sw::to_int(row.code);
        INFO(n);
        REQUIRE(contract.count(n) == 1);
        CHECK(row.meaning == contract.at(n));
    }
}
