// Issue 14, the fault list: a worker that never reads its stdin, metadata services that answer
// 429, and a state directory that is full or read-only, against the real binary.
#include "tests/daemon/harness.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <thread>

using namespace sw::test;
using namespace std::chrono_literals;

namespace {

/// The stand-in config with credentials that live `lifetimes` seconds, the n-th issue (register
/// or reregister) using the n-th entry, the last repeating.
std::string standin_with_lifetimes(const std::string& lifetimes) {
    return R"({"providers": {"static-prov": {"type": "static", "workers": {"wg/wid":
               {"staticSecret": ")" +
           std::string(static_secret) + R"("}}}},
             "workerPools": {"proj/pool": {"credentialLifetimeSeconds": )" +
           lifetimes + R"(,
               "workerConfig": {"genericWorker": {"config": {"fromWM": true}}}}}})";
}

}  // namespace

// Fault list, the worker: it never reads its stdin. Its pipe is shrunk to one page and filled
// before anything else arrives, so every message the runner writes waits. The runner does not
// block: credentials are renewed (worker config rewritten) every 0.75 s, /healthz answers, the
// outgoing queue stays bounded (a newer new-credentials or graceful-termination replaces an
// unsent one), and a stop still ends the worker: graceful-termination cannot be read, so it is
// killed gracefulStopTimeout + killTimeout later and the runner exits 1 (the worker did not
// exit cleanly after the stop request, CONTRACT.md).
TEST_CASE("a worker that never reads its stdin does not block the runner",
          "[e2e][faults][worker][stdin]") {
    harness h;
    h.start_standin(standin_with_lifetimes("3"));  // renewed every 0.75 s
    const auto port = free_port();
    const auto cfg = h.write_config(h.static_config(
        "health:\n  listen: 127.0.0.1:" + std::to_string(port) +
        "\nlifecycle:\n  stopCheckInterval: 0\n  gracefulStopTimeout: 1\n  killTimeout: 1\n"));
    auto p = h.start({cfg}, memory_test_env({{"FAKE_WORKER_STDIN", "stalled"}}));
    REQUIRE(eventually([&] { return !h.worker_events("stdin-stalled").empty(); }, 30s));
    const auto stalled = h.worker_events("stdin-stalled").at(0);
    INFO(boost::json::serialize(stalled));
    REQUIRE(stalled.at("pipe_size") == 4096);
    REQUIRE(stalled.at("filled").to_number<long long>() > 3000);
    REQUIRE(eventually([&] { return h.requests("/worker/reregister", "POST").size() >= 1; }, 30s));
    const auto before = usage_of(p->pid());
    const auto first_config = h.dir.read("worker-config.json");

    // Renewals go on while nothing the runner writes is read.
    long peak = before.peak_kib;
    const auto renewals_then = h.requests("/worker/reregister", "POST").size();
    const bool renewed = eventually(
        [&] {
            peak = std::max(peak, usage_of(p->pid()).peak_kib);
            return h.requests("/worker/reregister", "POST").size() >= renewals_then + 4;
        },
        30s);
    INFO(h.dir.read("stderr.log"));
    REQUIRE(renewed);
    CHECK(h.dir.read("worker-config.json") != first_config);  // rewritten with new credentials
    CHECK(http_get(port, "/healthz") == "200 ok\n");
    // None of the renewed credentials got into the pipe, so none counts as sent.
    CHECK(metric_value(http_get(port, "/metrics"),
                       "start_worker_protocol_messages_total{direction=\"sent\",type=\"new-"
                       "credentials\"}") <= 0);
    CHECK(h.worker_events("received").empty());  // it really read nothing
    CHECK_THAT(h.dir.read("stderr.log"), Catch::Contains("it will get only the newest one"));
    peak = std::max(peak, usage_of(p->pid()).peak_kib);
    INFO("RSS before " << before.rss_kib << " KiB, peak " << peak << " KiB");
    CHECK(peak < memory_bound_kib(before, 64 * 1024));

    // The stop: graceful-termination is queued behind the stuck write; the kill follows.
    const auto stop_at = std::chrono::steady_clock::now();
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 1);
    const auto took = std::chrono::steady_clock::now() - stop_at;
    CHECK(took < 10s);  // gracefulStopTimeout 1 s + killTimeout 1 s, and slack for a loaded box
    const auto log = h.dir.read("stderr.log");
    CHECK_THAT(log, Catch::Contains("Killing the worker"));
    CHECK_THAT(log, Catch::Contains("Worker exited with code 137"));
    CHECK_THAT(log, !Catch::Contains("did not end after cancellation"));
}

// The same worker reads its stdin again after four renewals. It gets the message that was being
// written when its pipe filled (welcome, or the first new credentials if welcome got in before
// the pipe was filled), then only the newest credentials: the ones in between were replaced.
// What it gets last are the credentials in the rewritten worker config.
TEST_CASE("a worker that reads its stdin late gets only the newest credentials",
          "[e2e][faults][worker][stdin]") {
    harness h;
    // Registration and three renewals with 3 s credentials (renewed every 0.75 s), then 96 h.
    h.start_standin(standin_with_lifetimes("[3, 3, 3, 3, 345600]"));
    const auto cfg = h.write_config(h.static_config("lifecycle:\n  stopCheckInterval: 0\n"));
    const auto go = h.dir.file("go");
    auto p = h.start({cfg}, {{"FAKE_WORKER_STDIN", "stalled"},
                             {"FAKE_WORKER_SCRIPT", "wait-file:" + go + ";read-stdin"}});
    REQUIRE(eventually([&] { return h.requests("/worker/reregister", "POST").size() >= 4; }, 30s));
    // The fourth renewal's credentials reach the worker config (the last write of the run).
    std::this_thread::sleep_for(500ms);
    CHECK(h.worker_events("received").empty());
    const auto config = boost::json::parse(h.dir.read("worker-config.json"));
    h.dir.write("go", "");
    INFO(h.dir.read("stderr.log"));
    REQUIRE(
        eventually([&] { return !h.worker_events("received", "new-credentials").empty(); }, 30s));
    std::this_thread::sleep_for(500ms);  // anything else queued would have arrived by now
    const auto creds = h.worker_events("received", "new-credentials");
    INFO(h.dir.read("stderr.log"));
    CHECK(h.requests("/worker/reregister", "POST").size() == 4);
    // At most the one being written when the pipe filled, then the newest: of the four, the
    // others were replaced.
    REQUIRE((creds.size() == 1 || creds.size() == 2));
    CHECK(h.worker_events("received", "welcome").size() == 1);
    const auto& newest = creds.back().at("message").as_object();
    const auto& gw = config.as_object();
    INFO(boost::json::serialize(gw));
    CHECK(newest.at("access-token") == gw.at("accessToken"));
    CHECK(newest.at("certificate") == gw.at("certificate"));
    if (creds.size() == 2)
        CHECK(creds.front().at("message").at("certificate") != newest.at("certificate"));
    CHECK_THAT(h.dir.read("stderr.log"),
               Catch::Contains("meanwhile " + std::to_string(4 - creds.size()) +
                               " message(s) were replaced by newer ones and 0 dropped"));
    p->signal(SIGTERM);
    CHECK(p->wait(30s) == 0);
}

namespace {

/// A tmpfs of `size_kib` KiB mounted on `dir` (created) for the life of this object: a file
/// system that fills up or turns read-only without touching the host's. Needs root (or
/// CAP_SYS_ADMIN); `error` says why not otherwise.
struct tmpfs_mount {
    std::string dir;
    std::string error;
    bool mounted = false;

    tmpfs_mount(std::string d, int size_kib) : dir(std::move(d)) {
        std::filesystem::create_directories(dir);
        const std::string opts = "size=" + std::to_string(size_kib) + "k,mode=0700";
        if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0)
            mounted = true;
        else
            error = std::strerror(errno);
    }
    ~tmpfs_mount() {
        if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
    }
    tmpfs_mount(const tmpfs_mount&) = delete;
    tmpfs_mount& operator=(const tmpfs_mount&) = delete;

    /// Makes it read-only (true) or writable again.
    bool remount(bool read_only) const {
        const unsigned long flags = static_cast<unsigned long>(MS_REMOUNT) |
                                    (read_only ? static_cast<unsigned long>(MS_RDONLY) : 0UL);
        return ::mount("tmpfs", dir.c_str(), "tmpfs", flags, nullptr) == 0;
    }

    /// Fills what is left of it with one file (until ENOSPC); returns the bytes written.
    long long fill(const std::string& name = "filler") const {
        const int fd = ::open((dir + "/" + name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return -1;
        const std::string block(4096, 'z');
        long long total = 0;
        ssize_t n;
        while ((n = ::write(fd, block.data(), block.size())) > 0) total += n;
        ::close(fd);
        return total;
    }
};

/// True when `m` is mounted; else a visible skip (WARN) saying why.
bool mounted_or_warn(const tmpfs_mount& m) {
    if (!m.mounted)
        WARN("SKIPPED: cannot mount a tmpfs (" << m.error << "); needs root or CAP_SYS_ADMIN");
    return m.mounted;
}

/// The entries of directory `dir`, by name, sorted.
std::vector<std::string> entries_of(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

/// The static runner config plus `extra`, with the worker config at `worker_config` (default:
/// in the test directory); written, its path returned.
std::string config_with(harness& h, const std::string& extra,
                        const std::string& worker_config = "") {
    std::string yaml = h.static_config(extra);
    if (!worker_config.empty()) {
        const std::string from = "configPath: " + h.dir.file("worker-config.json");
        yaml.replace(yaml.find(from), from.size(), "configPath: " + worker_config);
    }
    return h.write_config(yaml);
}

/// The runner config with the state file `state` (cacheOverRestarts).
std::string state_config(harness& h, const std::string& state) {
    return config_with(h, "cacheOverRestarts: " + state +
                              "\nlifecycle:\n  stopCheckInterval: 0\n  killTimeout: 1\n");
}

/// A fresh start whose first state write fails with `os_reason`: exit 78 naming the file and
/// the reason, and the worker never starts.
void check_start_fails(harness& h, const std::string& cfg, const std::string& state,
                       const std::string& os_reason) {
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}}, 60s);
    INFO(r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Catch::Contains("the state file " + state) && Catch::Contains(os_reason));
    CHECK(h.worker_events("start").empty());
}

/// A resumed run whose state write fails with `os_reason`: the worker is told to stop at once
/// (finish-tasks false), exit 78 naming the file and the reason, the state file as `before`.
void check_resume_stops(harness& h, const std::string& cfg, const std::string& state,
                        const std::string& before, const std::string& os_reason) {
    std::filesystem::remove(h.dir.file("worker.jsonl"));
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful"}}, 60s);
    INFO(r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Catch::Contains("the state file " + state) && Catch::Contains(os_reason));
    const auto graceful = h.worker_events("received", "graceful-termination");
    REQUIRE(graceful.size() == 1);
    CHECK(graceful[0].at("message").at("finish-tasks") == false);
    CHECK(sw::test::read_file(state) == before);
}

/// Run 1 of a resume: the worker asks for a reboot (--once: exit 3), leaving the state file
/// with phase "rebooting". Returns its contents.
std::string leave_state(harness& h, const std::string& cfg, const std::string& state) {
    auto r1 = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:67"}}, 60s);
    INFO(r1.err);
    REQUIRE(r1.exit_code == 3);
    const auto text = sw::test::read_file(state);
    REQUIRE(text.find("\"rebooting\"") != std::string::npos);
    return text;
}

}  // namespace

// Fault list, the host: the state directory (cacheOverRestarts) is full. The state file is
// written atomically (a temp file, then rename), so a failed write leaves the previous file
// whole and no temp file. Outcome (CONTRACT.md): exit 78, "the config names a path that cannot
// be used" - the operator's environment, not 70 ("a bug"), and no restart loop on a disk that
// stays full - with a message naming the file and the OS's reason. As with the Go runner
// (reference 9.3): a failed first write fails the start-up; a failed write while the worker
// runs stops the worker (a reboot would resume from a stale file), then exits 78.
TEST_CASE("a full state directory", "[e2e][faults][host][state]") {
    harness h;
    h.start_standin();
    tmpfs_mount m(h.dir.file("statefs"), 256);
    if (!mounted_or_warn(m)) return;
    const auto state = m.dir + "/state.json";
    const auto cfg = state_config(h, state);

    SECTION("a fresh start: the first write fails the start-up, the worker never starts") {
        REQUIRE(m.fill() > 0);
        check_start_fails(h, cfg, state, "No space left on device");
        CHECK(entries_of(m.dir) == std::vector<std::string>{"filler"});
    }
    SECTION("a resumed run: the previous state survives, the worker is stopped") {
        const auto before = leave_state(h, cfg, state);
        REQUIRE(m.fill() > 0);
        check_resume_stops(h, cfg, state, before, "No space left on device");
        CHECK(entries_of(m.dir) == std::vector<std::string>{"filler", "state.json"});
    }
}

// Fault list, the host: the worker config (worker.configPath) is on a full disk. The start-up
// fails before the worker starts, exit 78, naming the file; nothing is left half-written.
TEST_CASE("a full disk under the worker config", "[e2e][faults][host][state]") {
    harness h;
    h.start_standin();
    tmpfs_mount m(h.dir.file("configfs"), 64);
    if (!mounted_or_warn(m)) return;
    const auto worker_config = m.dir + "/worker-config.json";
    const auto cfg = config_with(h, "lifecycle:\n  stopCheckInterval: 0\n", worker_config);
    REQUIRE(m.fill() > 0);
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}}, 60s);
    INFO(r.err);
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Catch::Contains(worker_config) && Catch::Contains("No space left on device"));
    CHECK(h.worker_events("start").empty());
    CHECK(entries_of(m.dir) == std::vector<std::string>{"filler"});
}

// Fault list, the host: the state directory is read-only. Exit 78 with a message naming the
// file and "Read-only file system"; the previous state (if any) unchanged, nothing else written.
TEST_CASE("a read-only state directory", "[e2e][faults][host][state]") {
    harness h;
    h.start_standin();
    tmpfs_mount m(h.dir.file("statefs"), 256);
    if (!mounted_or_warn(m)) return;
    const auto state = m.dir + "/state.json";
    const auto cfg = state_config(h, state);

    SECTION("a fresh start") {
        REQUIRE(m.remount(true));
        check_start_fails(h, cfg, state, "Read-only file system");
        CHECK(entries_of(m.dir).empty());
    }
    SECTION("a resumed run") {
        const auto before = leave_state(h, cfg, state);
        REQUIRE(m.remount(true));
        check_resume_stops(h, cfg, state, before, "Read-only file system");
        CHECK(entries_of(m.dir) == std::vector<std::string>{"state.json"});
    }
}
