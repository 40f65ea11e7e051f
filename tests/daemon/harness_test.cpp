// The test harness itself: what a test sees when a process it runs never finishes.
#include "tests/support/proc.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sw::test::run_process;

TEST_CASE("harness: a process that outlives its timeout is killed and described", "[harness]") {
    const auto r = run_process({"sleep", "30"}, {{"HARNESS_TEST", "1"}}, 300ms);
    CHECK(r.timed_out);
    CHECK(r.exit_code == 128 + 9);
    INFO(r.err);
    // Which program it was (exec happened: not the test binary), and each thread's state.
    CHECK(r.err.find("outlived its timeout") != std::string::npos);
    CHECK(r.err.find("sleep") != std::string::npos);
    CHECK(r.err.find("State:") != std::string::npos);
}

TEST_CASE("harness: the child gets the environment laid over the test's, found through PATH",
          "[harness]") {
    const auto r = run_process({"sh", "-c", "echo \"$HARNESS_A/$HARNESS_B/${PATH:+path}\""},
                               {{"HARNESS_A", "1"}, {"HARNESS_B", "x"}, {"HARNESS_B", "2"}});
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "1/2/path\n");  // the later of two entries wins, the rest is inherited
    const auto missing = run_process({"no-such-program-start-worker"});
    CHECK(missing.exit_code == 127);
}
