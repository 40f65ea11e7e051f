// Issue 14, item 10: worker.configPath is overwritten at every start, so a configPath that is
// the runner config itself, the state file, or a directory is refused up front (78), where it
// used to be accepted and the next start failed.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using Catch::Matchers::Contains;

namespace {

std::string config_text(const std::string& config_path, const std::string& cache) {
    std::string s =
        "provider:\n  providerType: standalone\n  rootURL: https://tc.example.com\n"
        "  clientID: c\n  accessToken: t\n  workerPoolID: p/w\n  workerGroup: g\n"
        "  workerID: i\nworker:\n  implementation: generic-worker\n"
        "  path: /usr/local/bin/generic-worker\n  configPath: " +
        config_path + "\n";
    if (!cache.empty()) s += "cacheOverRestarts: " + cache + "\n";
    return s;
}

sw::failure refusal(const std::string& path) {
    try {
        sw::config::load_runner_config(path);
    } catch (const sw::failure& f) {
        return f;
    }
    FAIL("accepted " << path);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("worker.configPath must not be the runner config, the state file or a directory",
          "[config][config_path]") {
    sw::test::temp_dir dir;
    const std::string runner = dir.file("runner.yml");
    SECTION("the runner config itself, also spelled differently") {
        for (const std::string& spelled :
             {runner, dir.file("./sub/../runner.yml"), dir.file(".//runner.yml")}) {
            CAPTURE(spelled);
            std::filesystem::create_directories(dir.file("sub"));
            dir.write("runner.yml", config_text(spelled, ""), 0600);
            const auto f = refusal(runner);
            CHECK(f.code() == sw::errc::config);
            CHECK_THAT(f.what(), Contains("worker.configPath") && Contains("runner config file"));
        }
    }
    SECTION("the state file") {
        const std::string state = dir.file("state.json");
        dir.write("runner.yml", config_text(state, state), 0600);
        const auto f = refusal(runner);
        CHECK(f.code() == sw::errc::config);
        CHECK_THAT(f.what(), Contains("worker.configPath") && Contains("state file"));
    }
    SECTION("a directory") {
        std::filesystem::create_directories(dir.file("gw"));
        dir.write("runner.yml", config_text(dir.file("gw"), ""), 0600);
        const auto f = refusal(runner);
        CHECK(f.code() == sw::errc::config);
        CHECK_THAT(f.what(), Contains("is a directory"));
    }
    SECTION("an ordinary path is fine") {
        dir.write("runner.yml", config_text(dir.file("gw/config.json"), dir.file("state.json")),
                  0600);
        CHECK_NOTHROW(sw::config::load_runner_config(runner));
    }
}
