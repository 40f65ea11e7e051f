#include "state/store.hpp"

#include "lib/common/error.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <random>
#include <signal.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace sw::state;
using Catch::Matchers::Contains;

namespace {

persisted full_example() {
    persisted p;
    p.ph = phase::rebooting;
    p.autologin_user = "task_1234";
    auto& s = p.state;
    s.root_url = "https://tc.example.com";
    s.creds = {"worker/w-1", "access-token-value", R"({"version":1,"seed":"abc"})"};
    s.credentials_expire =
        sw::time_point{} + std::chrono::seconds(1'900'000'000) + std::chrono::milliseconds(123);
    s.registration_secret = "secret-from-reg";
    s.worker_pool_id = "prov/wt";
    s.worker_group = "us-west-2";
    s.worker_id = "i-0123";
    s.provider_id = "aws";
    s.provider_metadata = {{"instance-type", "m5.large"}, {"public-ipv4", "1.2.3.4"}};
    s.worker_config = boost::json::object{{"x", 10}, {"nested", {{"list", {1, 2}}}}};
    s.files.push_back({"a file", "/etc/f", "SGVsbG8=", "base64", "file"});
    s.worker_location = {{"cloud", "aws"}, {"region", "us-west-2"}};
    s.termination_deadline = sw::time_point{} + std::chrono::seconds(1'900'000'600);
    return p;
}

void check_equal(const persisted& a, const persisted& b) {
    CHECK(a.ph == b.ph);
    CHECK(a.autologin_user == b.autologin_user);
    const auto& x = a.state;
    const auto& y = b.state;
    CHECK(x.root_url == y.root_url);
    CHECK(x.creds == y.creds);
    CHECK(x.credentials_expire == y.credentials_expire);
    CHECK(x.registration_secret == y.registration_secret);
    CHECK(x.worker_pool_id == y.worker_pool_id);
    CHECK(x.worker_group == y.worker_group);
    CHECK(x.worker_id == y.worker_id);
    CHECK(x.provider_id == y.provider_id);
    CHECK(x.provider_metadata == y.provider_metadata);
    CHECK(x.worker_config == y.worker_config);
    CHECK(x.files == y.files);
    CHECK(x.worker_location == y.worker_location);
    CHECK(x.termination_deadline == y.termination_deadline);
}

std::pair<std::error_code, std::string> load_failure(const store& st) {
    try {
        st.load();
    } catch (const sw::failure& f) {
        return {f.code(), f.what()};
    }
    FAIL("load did not fail");
    return {};
}

int count_files(const std::filesystem::path& dir) {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST_CASE("phase names", "[store]") {
    for (auto p : {phase::starting, phase::running, phase::rebooting, phase::stopping})
        CHECK(phase_from_string(to_string(p)) == p);
    CHECK(to_string(phase::rebooting) == "rebooting");
    CHECK_FALSE(phase_from_string("sleeping"));
}

TEST_CASE("serialize writes the versioned format", "[store]") {
    const auto doc = boost::json::parse(serialize(full_example()));
    CHECK(doc.at("format").as_string() == "start-worker-state");
    CHECK(doc.at("version").as_int64() == 1);
    CHECK(doc.at("phase").as_string() == "rebooting");
    CHECK(doc.at("state").at("RootURL").as_string() == "https://tc.example.com");
    CHECK(doc.at("state").at("CredentialsExpire").as_string() == "2030-03-17T17:46:40.123Z");
}

TEST_CASE("store round-trips every field", "[store]") {
    sw::test::temp_dir dir;
    const store st(dir.file("sub/dir/state.json"));
    CHECK_FALSE(st.load());
    const auto p = full_example();
    st.save(p);
    struct stat sb {};
    REQUIRE(::stat(st.path().c_str(), &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0600);
    const auto back = st.load();
    REQUIRE(back);
    check_equal(p, *back);

    // No expiry, no deadline, no autologin user.
    persisted q;
    q.ph = phase::starting;
    q.state.root_url = "https://x";
    st.save(q);
    const auto back2 = st.load();
    REQUIRE(back2);
    check_equal(q, *back2);

    st.remove();
    CHECK_FALSE(st.load());
    st.remove();  // idempotent
}

TEST_CASE("store reads the Go runner's cache file", "[store]") {
    sw::test::temp_dir dir;
    const auto path = dir.write(
        "cache.json",
        R"({"RootURL":"foo","Credentials":{"clientId":"c","accessToken":"a","certificate":"",)"
        R"("authorizedScopes":null},"CredentialsExpire":"0001-01-01T00:00:00.000Z",)"
        R"("RegistrationSecret":"","WorkerPoolID":"w/p","WorkerGroup":"g","WorkerID":"i",)"
        R"("ProviderID":"static","ProviderMetadata":{},"WorkerConfig":{},"Files":null,)"
        R"("WorkerLocation":{"cloud":"static"}})",
        0600);
    const auto p = store(path).load();
    REQUIRE(p);
    CHECK(p->state.root_url == "foo");
    CHECK_FALSE(p->state.credentials_expire);
    CHECK(p->ph == phase::running);
}

TEST_CASE("a 0644 state file is refused and left alone", "[store]") {
    sw::test::temp_dir dir;
    const store st(dir.file("state.json"));
    st.save(full_example());
    ::chmod(st.path().c_str(), 0644);
    const auto [code, msg] = load_failure(st);
    CHECK(code == sw::errc::refused);
    CHECK_THAT(msg, Contains("must not be group- or other-accessible"));
    CHECK(std::filesystem::exists(st.path()));
    CHECK(count_files(dir.path()) == 1);
}

TEST_CASE("corrupt or unknown-version state files are moved aside", "[store]") {
    sw::test::temp_dir dir;
    const store st(dir.file("state.json"));
    const char* bad[] = {
        "garbage {{{",
        "[1,2,3]",
        R"({"format":"start-worker-state","version":2,"phase":"running","state":{"RootURL":"x"}})",
        R"({"format":"something-else","version":1})",
        R"({"format":"start-worker-state","version":1,"phase":"dancing","state":{"RootURL":"x"}})",
        R"({"format":"start-worker-state","version":1,"phase":"running","state":{"RootURL":5}})",
        R"({"format":"start-worker-state","version":1,"phase":"running"})",
    };
    for (const char* text : bad) {
        INFO(text);
        dir.write("state.json", text, 0600);
        const auto [code, msg] = load_failure(st);
        CHECK(code == sw::errc::config);
        CHECK_THAT(msg, Contains(st.path()));
        CHECK_THAT(msg, Contains("moved it aside to " + st.path() + ".bad-"));
        CHECK_FALSE(std::filesystem::exists(st.path()));
        const auto aside = msg.substr(msg.find("moved it aside to ") + 18);
        CHECK(std::filesystem::exists(aside));
        // The next start begins afresh.
        CHECK_FALSE(st.load());
    }
    dir.write("state.json",
              R"({"format":"start-worker-state","version":2,"phase":"running","state":{}})", 0600);
    CHECK_THAT(load_failure(st).second, Contains("unsupported version 2"));
}

// A child saves in a loop and is SIGKILLed at random moments: after every kill the file holds one
// complete version (old or new, never partial), and at most one temp file exists.
TEST_CASE("save survives SIGKILL at any moment", "[store][crash]") {
    sw::test::temp_dir dir;
    const store st(dir.file("state.json"));
    auto version = [](int n) {
        persisted p;
        p.ph = phase::running;
        p.state.root_url = "https://tc/" + std::to_string(n);
        p.state.worker_id = "w-" + std::to_string(n);
        // Large enough that a write takes several syscalls' worth of bytes.
        p.state.worker_config =
            boost::json::object{{"pad", std::string(16 * 1024 + n % 1000, 'x')}, {"n", n}};
        return p;
    };
    st.save(version(0));

    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> delay_us(0, 4000);
    // Generous: under sanitizers and a loaded machine fork+kill rounds are much slower.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int kills = 0;
    int last_seen = 0;
    for (int round = 0; round < 200 && std::chrono::steady_clock::now() < deadline; ++round) {
        const int base = (round + 1) * 100000;
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            try {
                for (int i = 0;; ++i) st.save(version(base + i));
            } catch (...) {
                ::_exit(3);
            }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFSIGNALED(status));  // the child never failed on its own
        ++kills;

        const auto loaded = st.load();
        REQUIRE(loaded);
        const auto& cfg = loaded->state.worker_config.as_object();
        const int n = static_cast<int>(cfg.at("n").as_int64());
        // Old (the last state seen) or new (one the child wrote), and internally consistent.
        CHECK((n == last_seen || (n >= base && n < base + 100000)));
        CHECK(loaded->state.root_url == "https://tc/" + std::to_string(n));
        CHECK(loaded->state.worker_id == "w-" + std::to_string(n));
        CHECK(cfg.at("pad").as_string().size() == 16 * 1024 + static_cast<std::size_t>(n % 1000));
        last_seen = n;
        CHECK(count_files(dir.path()) <= 2);  // the state file and at most one temp file
    }
    INFO("kills: " << kills);
    CHECK(kills >= 20);
    // A normal save afterwards cleans up any stale temp file.
    st.save(version(1));
    CHECK(count_files(dir.path()) == 1);
}

TEST_CASE("a save that fails at any step leaves a whole file, never a torn or missing one",
          "[store][fault]") {
    using sw::platform::write_step;
    // Beast's fail_count walk: fail each step in turn, through the platform seam (the OS
    // answers as if the disk were full), and look at what is left.
    const std::pair<write_step, const char*> steps[] = {
        {write_step::create_temp, "creating "},
        {write_step::write, "writing "},
        {write_step::sync, "syncing "},
        {write_step::rename, "renaming "},
        {write_step::sync_dir, "syncing directory "},
    };
    for (const auto& [failing, message] : steps) {
        INFO("failing step " << static_cast<int>(failing));
        sw::test::temp_dir dir;
        const std::string path = dir.file("run/state.json");
        auto old_state = full_example();
        old_state.state.worker_id = "old-worker";
        store(path).save(old_state);
        const std::string old_text = serialize(old_state);

        std::vector<write_step> seen;
        const store faulty(path, [&, failing = failing](write_step s) -> std::error_code {
            seen.push_back(s);
            return s == failing ? std::make_error_code(std::errc::no_space_on_device)
                                : std::error_code{};
        });
        auto new_state = old_state;
        new_state.state.worker_id = "new-worker";
        try {
            faulty.save(new_state);
            FAIL("save did not fail");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::no_space_on_device);
            CHECK_THAT(std::string(e.what()), Contains(message));
            // The file, or for the last step its directory.
            CHECK_THAT(std::string(e.what()),
                       Contains(failing == write_step::sync_dir ? dir.file("run") : path));
        }
        CHECK(seen.back() == failing);  // the steps before it ran, none after it
        CHECK(seen.size() == static_cast<std::size_t>(failing) + 1);
        // No temp file left behind, the file still private, and a whole state in it: the old
        // one while the rename has not happened, the new one once it has.
        CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
        CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        const auto loaded = store(path).load();
        REQUIRE(loaded);
        if (failing == write_step::sync_dir)
            CHECK(loaded->state.worker_id == "new-worker");
        else
            CHECK(serialize(*loaded) == old_text);
    }
}

TEST_CASE("remove and written_at go through the platform", "[store]") {
    sw::test::temp_dir dir;
    const store st(dir.file("state.json"));
    CHECK_FALSE(st.written_at());
    st.remove();  // nothing there: fine
    const auto before = sw::wall_clock::now() - std::chrono::seconds(2);
    st.save(full_example());
    const auto at = st.written_at();
    REQUIRE(at);
    CHECK(*at >= before);
    CHECK(*at <= sw::wall_clock::now() + std::chrono::seconds(2));
    st.remove();
    CHECK_FALSE(std::filesystem::exists(dir.file("state.json")));
    CHECK_FALSE(st.written_at());
}
