// Issue 14, security checks against the real binary: where secrets may go (only the worker
// config and the state file), how credential files are created (0600, never through a planted
// symlink, never readable by others for a moment), and what the worker inherits (stdio only).
// TLS verification: tls_test.cpp.
#include "tests/daemon/cloud_run.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace sw::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* autologin_password = "autologinPassword-0123456789abcdefXYZ";

/// Every regular file under `root` (recursively), by path relative to it.
std::map<std::string, std::string> files_under(const fs::path& root) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
        out[fs::relative(it->path(), root).string()] = read_file(it->path().string());
    }
    return out;
}

/// Files of the test's directory that start-worker did not write: its input, and the fakes'
/// own records (the stand-in's request log holds registerWorker's body, the fake worker's
/// record its config).
bool written_by_others(const std::string& rel) {
    return rel == "runner.yml" || rel == "worker.jsonl" || rel == "shutdown.sh" ||
           rel == "shutdown-ran" || rel.rfind("standin/", 0) == 0 ||
           rel.rfind("metadata/", 0) == 0 || rel.rfind("tls/", 0) == 0;
}

/// The files where the secrets belong.
bool holds_secrets_by_design(const std::string& rel) {
    return rel == "worker-config.json" || rel == "state/state.json";
}

/// The sections every scenario adds to its runner config: an autologin password, the health
/// endpoint and the state file.
std::string security_extras(const harness& h, unsigned short port) {
    return "autologin:\n  username: tester\n  password: " + std::string(autologin_password) +
           "\nhealth:\n  listen: 127.0.0.1:" + std::to_string(port) +
           "\ncacheOverRestarts: " + h.dir.file("state/state.json") + "\n";
}

/// The environment every scenario adds: display-manager files under the test directory (so
/// autologin is configured for real), temporary files there too.
env_list security_env(const harness& h) {
    fs::create_directories(h.dir.file("tmp"));
    h.dir.write("root/etc/gdm3/custom.conf", "[daemon]\n\n[security]\n", 0644);
    return {{"START_WORKER_TEST_ROOT", h.dir.file("root")},
            {"TMPDIR", h.dir.file("tmp")},
            {"FAKE_WORKER_SCRIPT",
             "fds;log:worker is running;error-report:kind:a title;wait-graceful"}};
}

/// What one scenario left to be searched.
struct scenario_output {
    std::string metrics, healthz, readyz;
    int exit_code = -1;
};

/// Runs start-worker with `cfg` in the background until the worker runs, reads the health
/// endpoint, then stops it with SIGTERM.
scenario_output run_scenario(harness& h, const std::string& cfg, const env_list& env,
                             unsigned short port) {
    scenario_output out;
    auto p = h.start({cfg}, env);
    REQUIRE(eventually([&] { return !h.worker_events("fds").empty(); }, 60s));
    REQUIRE(eventually([&] { return http_get(port, "/readyz").rfind("200", 0) == 0; }, 20s));
    out.readyz = http_get(port, "/readyz");
    out.healthz = http_get(port, "/healthz");
    out.metrics = http_get(port, "/metrics");
    p->signal(SIGTERM);
    out.exit_code = p->wait(60s);
    return out;
}

/// The checks: no secret outside the two files meant for them; those files private; the worker
/// inherited stdio and nothing else.
void check_scenario(const harness& h, const scenario_output& out,
                    std::vector<std::string> secrets) {
    INFO(h.dir.read("stderr.log"));
    // The runner ended by the stop (0, or 4 where a cloud worker is removed and the shutdown
    // command ran), not by a crash or a failure.
    CHECK((out.exit_code == 0 || out.exit_code == 4));

    secrets.push_back(autologin_password);
    for (auto s : run_secrets(h)) secrets.push_back(std::move(s));
    secrets.erase(std::remove_if(secrets.begin(), secrets.end(),
                                 [](const std::string& s) { return s.size() < 8; }),
                  secrets.end());

    // What the runner wrote: its log, the health answers, and every file it created.
    std::map<std::string, std::string> written{{"stderr", h.dir.read("stderr.log")},
                                               {"/metrics", out.metrics},
                                               {"/healthz", out.healthz},
                                               {"/readyz", out.readyz}};
    std::map<std::string, std::string> by_design;
    for (auto& [rel, text] : files_under(h.dir.path())) {
        if (written_by_others(rel) || rel == "stderr.log") continue;
        (holds_secrets_by_design(rel) ? by_design : written)[rel] = std::move(text);
    }
    // The checks can fail: the log, the metrics and the gdm file are there, and the worker
    // config and state file do hold the worker's access token.
    CHECK(written.at("stderr").find("Starting worker") != std::string::npos);
    CHECK(out.metrics.rfind("200", 0) == 0);
    CHECK(written.count("root/etc/gdm3/custom.conf") == 1);
    REQUIRE(by_design.size() == 2);
    const auto token_of = [&] {
        for (const auto& r : h.worker_events("config"))
            return std::string(r.at("config").at("accessToken").as_string());
        return std::string();
    }();
    REQUIRE(token_of.size() >= 8);
    for (const auto& [rel, text] : by_design) {
        INFO(rel);
        CHECK(text.find(token_of) != std::string::npos);
        CHECK(harness::mode_of(h.dir.file(rel)) == 0600);
    }

    for (const auto& [where, text] : written)
        for (std::size_t i = 0; i < secrets.size(); ++i) {
            INFO("secret #" << i << " (" << secrets[i].substr(0, 4) << "..., " << secrets[i].size()
                            << " characters) in " << where);
            CHECK(text.find(secrets[i]) == std::string::npos);
        }

    // The worker inherited stdin, stdout and stderr; the only other descriptor it has is the
    // record file it opened itself.
    const auto fds = h.worker_events("fds");
    REQUIRE(fds.size() == 1);
    std::set<long long> inherited;
    for (const auto& fd : fds[0].at("fds").as_array()) {
        const auto n = fd.to_number<long long>();
        const auto target = std::string(fds[0].at("targets").at(std::to_string(n)).as_string());
        if (target == h.dir.file("worker.jsonl")) continue;
        INFO("descriptor " << n << " -> " << target);
        inherited.insert(n);
    }
    CHECK(inherited == std::set<long long>{0, 1, 2});
}

}  // namespace

TEST_CASE(
    "security: every provider: secrets only in the worker config and the state file, "
    "the worker inherits only stdio",
    "[e2e][security]") {
    SECTION("static") {
        harness h;
        h.start_standin();
        const auto port = free_port();
        const auto cfg = h.write_config(h.static_config(security_extras(h, port)));
        const auto out = run_scenario(h, cfg, security_env(h), port);
        check_scenario(h, out, {});
    }
    SECTION("standalone") {
        harness h;
        h.start_standin(standalone_standin());
        const auto port = free_port();
        const auto cfg =
            h.write_config(standalone_config(h, standalone_token, security_extras(h, port)));
        const auto out = run_scenario(h, cfg, security_env(h), port);
        check_scenario(h, out, {});
    }
    for (const std::string kind : {"aws", "google", "azure", "aws-provisioner"}) {
        DYNAMIC_SECTION(kind) {
            cloud_e2e::cloud_run c(kind);
            const auto port = free_port();
            const auto cfg = c.h.write_config(c.config(security_extras(c.h, port)));
            env_list env = c.environment("");
            std::erase_if(env, [](const auto& e) { return e.first == "FAKE_WORKER_SCRIPT"; });
            for (auto& e : security_env(c.h)) env.push_back(e);
            const auto out = run_scenario(c.h, cfg, env, port);
            check_scenario(c.h, out,
                           {c.h.standin->registration_secret("proj/pool/" + c.worker_group() + "/" +
                                                             c.worker_id()),
                            cloud_e2e::provisioner_access_token, cloud_e2e::provisioner_token,
                            cloud_e2e::gce_token});
        }
    }
}

namespace {

/// Records the mode of every file named `prefix*` that appears in `dir` while it runs
/// (inotify: created, written, renamed into place), so a moment when a credential file was
/// readable by others is seen.
class mode_watch {
  public:
    mode_watch(std::string dir, std::string prefix)
        : dir_(std::move(dir)), prefix_(std::move(prefix)) {
        fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        REQUIRE(fd_ >= 0);
        REQUIRE(::inotify_add_watch(
                    fd_, dir_.c_str(),
                    IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_TO) >= 0);
        thread_ = std::thread([this] { loop(); });
    }
    ~mode_watch() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        ::close(fd_);
    }
    /// name -> every mode seen for it (stat'ed right after each event).
    std::map<std::string, std::set<unsigned>> seen() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        return seen_;
    }

  private:
    void loop() {
        alignas(inotify_event) char buf[8192];
        while (!stop_) {
            const ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n <= 0) {
                std::this_thread::sleep_for(1ms);
                continue;
            }
            for (char* at = buf; at < buf + n;) {
                const auto* ev = reinterpret_cast<const inotify_event*>(at);
                at += sizeof(inotify_event) + ev->len;
                if (ev->len == 0) continue;
                const std::string name = ev->name;
                if (name.rfind(prefix_, 0) != 0) continue;
                struct stat sb {};
                if (::lstat((dir_ + "/" + name).c_str(), &sb) == 0)
                    seen_[name].insert(sb.st_mode & 07777);
            }
        }
    }
    std::string dir_, prefix_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::map<std::string, std::set<unsigned>> seen_;
};

/// Sets the process's umask for a scope (start-worker inherits it).
struct scoped_umask {
    mode_t old;
    explicit scoped_umask(mode_t m) : old(::umask(m)) {}
    ~scoped_umask() { ::umask(old); }
};

}  // namespace

TEST_CASE("security: credential files are 0600 from their first moment, under umask 0",
          "[e2e][security]") {
    harness h;
    h.start_standin();
    fs::create_directories(h.dir.file("state"));
    const auto cfg = h.write_config(
        h.static_config("cacheOverRestarts: " + h.dir.file("state/state.json") + "\n"));
    scoped_umask open_umask(0);
    mode_watch config_watch(h.dir.path().string(), "worker-config.json");
    mode_watch state_watch(h.dir.file("state"), "state.json");
    auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    for (auto* w : {&config_watch, &state_watch}) {
        const auto seen = w->seen();
        CHECK_FALSE(seen.empty());  // the watch saw the files being written
        for (const auto& [name, modes] : seen) {
            INFO(name);
            CHECK(modes == std::set<unsigned>{0600});
        }
    }
    CHECK(harness::mode_of(h.dir.file("worker-config.json")) == 0600);
    CHECK(harness::mode_of(h.dir.file("state/state.json")) == 0600);
}

TEST_CASE("security: a symlink planted at a credential file or its temp name is not followed",
          "[e2e][security]") {
    harness h;
    h.start_standin();
    fs::create_directories(h.dir.file("state"));
    const std::string victim_text = "the victim's own contents\n";
    const auto victim = h.dir.write("victim", victim_text, 0644);
    const auto cfg = h.write_config(
        h.static_config("cacheOverRestarts: " + h.dir.file("state/state.json") + "\n"));
    const auto check_victim = [&] {
        CHECK(read_file(victim) == victim_text);
        CHECK(harness::mode_of(victim) == 0644);
    };

    SECTION("at the worker config's temp name, and at the state file's") {
        fs::create_symlink(victim, h.dir.file("worker-config.json.tmp"));
        fs::create_symlink(victim, h.dir.file("state/state.json.tmp"));
        auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        check_victim();
        CHECK_FALSE(fs::is_symlink(h.dir.file("worker-config.json.tmp")));
        CHECK(fs::is_regular_file(fs::symlink_status(h.dir.file("worker-config.json"))));
        CHECK(harness::mode_of(h.dir.file("worker-config.json")) == 0600);
    }
    SECTION("at the worker config: the link is replaced by the runner's own 0600 file") {
        fs::create_symlink(victim, h.dir.file("worker-config.json"));
        auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        check_victim();
        CHECK(fs::is_regular_file(fs::symlink_status(h.dir.file("worker-config.json"))));
        CHECK(harness::mode_of(h.dir.file("worker-config.json")) == 0600);
        const auto cfgs = h.worker_events("config");
        REQUIRE(cfgs.size() == 1);
        CHECK(cfgs[0].at("mode") == "0600");
    }
    SECTION("at the state file: refused (77) and not read through") {
        // A private victim, so only the link itself can be the reason for the refusal.
        ::chmod(victim.c_str(), 0600);
        fs::create_symlink(victim, h.dir.file("state/state.json"));
        auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}});
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK(r.err.find(h.dir.file("state/state.json")) != std::string::npos);
        CHECK(read_file(victim) == victim_text);
        CHECK(fs::is_symlink(h.dir.file("state/state.json")));  // left for the operator
        CHECK(h.worker_record().empty());
    }
    SECTION("at the state file, a hard link: refused (77)") {
        // A second name of a private file: whoever made it can swap what the runner reads.
        ::chmod(victim.c_str(), 0600);
        fs::create_hard_link(victim, h.dir.file("state/state.json"));
        auto r = h.run({"--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}});
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK(r.err.find("hard link") != std::string::npos);
        CHECK(read_file(victim) == victim_text);
        CHECK(h.worker_record().empty());
    }
}
