// End to end: reboot and resume with the persisted run state (cacheOverRestarts), issue 6.
// Static provider against the Taskcluster stand-in, the fake worker, a reboot "command" that
// only leaves a marker, and a state file in the test's temporary directory.
//
// Resume with the static provider: the Go runner forbids cacheOverRestarts for it; we allow it.
// A resumed static worker uses the cached identity and credentials like any other provider, and
// when the cached credentials have expired it registers afresh, because its static secret can
// prove its identity again (lifecycle_options::can_register_again).
#include "lib/common/clock.hpp"
#include "state/store.hpp"
#include "tests/daemon/harness.hpp"

#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <signal.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace sw::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A stand-in config: the static worker, a pool with `lifetimes` (seconds of successive
/// credential issues, the last repeating), a file and a config from worker-manager, and a
/// pool secret.
std::string standin_config(const harness& h, const std::string& lifetimes = "345600") {
    return R"({
      "providers": {"static-prov": {"type": "static",
                    "workers": {"wg/wid": {"staticSecret": ")" +
           std::string(static_secret) + R"("}}}},
      "workerPools": {"proj/pool": {"credentialLifetimeSeconds": )" +
           lifetimes + R"(, "workerConfig": {"genericWorker": {
          "config": {"fromWM": "wm", "shared": "wm", "list": ["wm"]},
          "files": [{"description": "greeting", "path": ")" +
           h.dir.file("files/greeting.txt") + R"(", "content": "SGVsbG8sIFdvcmxk",
                     "encoding": "base64", "format": "file"}]}}}},
      "secrets": {"worker-pool:proj/pool": {"config": {"fromSecret": true, "shared": "secret",
                                                       "list": ["secret"]}}}})";
}

std::string state_path(const harness& h) {
    return h.dir.file("state/state.json");
}

/// The reboot command: records that it ran and a copy of the state file as it was then.
std::string reboot_script(const harness& h) {
    return h.dir.write("reboot.sh",
                       "#!/bin/sh\n"
                       "echo rebooted >> '" +
                           h.dir.file("reboot-marker") +
                           "'\n"
                           "cat '" +
                           state_path(h) + "' > '" + h.dir.file("state-at-reboot.json") +
                           "'\n"
                           "exit 0\n",
                       0755);
}

/// The static runner config with the state file, the reboot script, short timeouts, and the
/// runner's own workerConfig (which cached remote values must win over).
std::string reboot_config(harness& h, const std::string& extra = "") {
    return h.write_config(h.static_config("cacheOverRestarts: " + state_path(h) +
                                          "\n"
                                          "host:\n"
                                          "  rebootCommand: ['" +
                                          reboot_script(h) +
                                          "']\n"
                                          "lifecycle:\n"
                                          "  killTimeout: 1\n"
                                          "  stopCheckInterval: 0\n"
                                          "workerConfig:\n"
                                          "  fromRunner: true\n"
                                          "  shared: runner\n"
                                          "  list: [runner]\n" +
                                          extra));
}

env_list script(const std::string& steps) {
    return {{"FAKE_WORKER_SCRIPT", steps}};
}

/// The stand-in with `lifetimes`, the runner config, and run 1 with a worker that runs `steps`
/// and asks for a reboot; returns the runner config's path.
std::string first_run(harness& h, const std::string& lifetimes, const std::string& steps) {
    h.start_standin(standin_config(h, lifetimes));
    const auto cfg = reboot_config(h);
    auto r1 = h.run({cfg}, script(steps));
    INFO(r1.err);
    REQUIRE(r1.exit_code == 0);
    REQUIRE(h.dir.read("reboot-marker") == "rebooted\n");
    return cfg;
}

boost::json::object parse_object(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

std::string str(const boost::json::value& v) {
    return std::string(v.as_string());
}

/// The worker config the fake worker read at its start (the last run's, if several).
boost::json::object worker_config_seen(const harness& h) {
    const auto configs = h.worker_events("config");
    REQUIRE_FALSE(configs.empty());
    REQUIRE(configs.back().contains("config"));
    return configs.back().at("config").as_object();
}

/// Milliseconds since the Unix epoch of a stand-in request record.
std::int64_t request_ms(const boost::json::object& r) {
    sw::time_point t;
    REQUIRE(sw::parse_rfc3339(str(r.at("time")), t));
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// Rewrites one field of the state file (keeping it private), as a test's "what if".
void edit_state(const harness& h, const std::function<void(boost::json::object&)>& edit) {
    auto o = parse_object(read_file(state_path(h)));
    edit(o);
    h.dir.write("state/state.json", boost::json::serialize(o), 0600);
}

std::set<std::string> files_in(const std::string& dir) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
    return out;
}

}  // namespace

TEST_CASE("reboot: exit 67 persists phase rebooting, then runs the reboot command",
          "[e2e][reboot]") {
    harness h;
    h.start_standin(standin_config(h));
    const auto cfg = reboot_config(h);

    SECTION("a real run reboots") {
        auto r = h.run({cfg}, script("exit:67"));
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(h.dir.read("reboot-marker") == "rebooted\n");

        CHECK(harness::mode_of(state_path(h)) == 0600);
        const auto st = parse_object(read_file(state_path(h)));
        CHECK(st.at("format") == "start-worker-state");
        CHECK(st.at("version") == 1);
        CHECK(st.at("phase") == "rebooting");
        // The strict reader accepts it too.
        const auto p = sw::state::deserialize(read_file(state_path(h)));
        CHECK(p.ph == sw::state::phase::rebooting);
        CHECK(p.state.worker_id == "wid");

        // The phase was on disk before the reboot command ran.
        const auto at_reboot = parse_object(h.dir.read("state-at-reboot.json"));
        CHECK(at_reboot.at("phase") == "rebooting");
    }

    SECTION("--once: exit 3 and no reboot") {
        auto r = h.run({"--once", cfg}, script("exit:67"));
        INFO(r.err);
        CHECK(r.exit_code == 3);
        CHECK_FALSE(fs::exists(h.dir.file("reboot-marker")));
        CHECK(r.err.find("would run") != std::string::npos);
    }
}

TEST_CASE("reboot: the next start resumes with the newest credentials", "[e2e][reboot]") {
    harness h;
    // Registration gives 32 s credentials (renewed ~2 s after the worker starts); the renewal
    // gives long-lived ones, so run 2 has no reason to renew.
    // Run 1: register, renew, the worker takes the new credentials and asks for a reboot.
    const auto cfg = first_run(h, "[32, 345600]", "wait-credentials;exit:67");
    REQUIRE(h.requests("/worker/register", "POST").size() == 1);
    REQUIRE(h.requests("/worker/reregister", "POST").size() == 1);
    const auto renewed = h.worker_events("received", "new-credentials");
    REQUIRE(renewed.size() == 1);
    const auto& nc = renewed[0].at("message").as_object();
    const auto first_config = worker_config_seen(h);
    REQUIRE(first_config.at("accessToken") != nc.at("access-token"));
    CHECK(h.dir.read("files/greeting.txt") == "Hello, World");
    const auto secret_reads = h.requests("/secrets/").size();
    REQUIRE(secret_reads >= 1);

    // Between the runs: the extracted file goes away, and a fresh record.
    fs::remove(h.dir.file("files/greeting.txt"));
    fs::remove(h.dir.file("worker.jsonl"));
    const auto requests_before = h.standin->requests().size();

    // Run 2: resume.
    auto r2 = h.run({cfg}, script("exit:0"));
    INFO(r2.err);
    REQUIRE(r2.exit_code == 0);
    CHECK(h.requests("/worker/register", "POST").size() == 1);
    CHECK(h.requests("/worker/reregister", "POST").size() == 1);
    CHECK(h.requests("/secrets/").size() == secret_reads);
    for (std::size_t i = requests_before; i < h.standin->requests().size(); ++i) {
        const auto path = str(h.standin->requests()[i].at("path"));
        INFO(path);
        CHECK(path.find("/worker/register") == std::string::npos);
        CHECK(path.find("/secrets/") == std::string::npos);
    }
    CHECK_FALSE(fs::exists(h.dir.file("files/greeting.txt")));
    // The reboot command did not really reboot: that is noticed and said.
    CHECK(r2.err.find("a requested reboot did not happen") != std::string::npos);

    // The worker got the renewed credentials, not the first ones.
    REQUIRE(h.worker_events("start").size() == 1);
    const auto wc = worker_config_seen(h);
    CHECK(wc.at("clientId") == nc.at("client-id"));
    CHECK(wc.at("accessToken") == nc.at("access-token"));
    CHECK(wc.at("certificate") == nc.at("certificate"));

    // The runner's workerConfig is underneath the cached remote config, arrays once.
    CHECK(wc.at("fromRunner") == true);
    CHECK(wc.at("fromWM") == "wm");
    CHECK(wc.at("fromSecret") == true);
    CHECK(wc.at("shared") == "secret");
    CHECK(boost::json::serialize(wc.at("list")) == R"(["runner","wm","secret"])");
    CHECK(wc.at("list") == first_config.at("list"));
    CHECK(wc.at("workerId") == "wid");
}

TEST_CASE("reboot: near-expiry cached credentials are renewed before the worker starts",
          "[e2e][reboot]") {
    harness h;
    // 40 s credentials: well within the renewal lead time (30 minutes) at the next start.
    const auto cfg = first_run(h, "40", "exit:67");
    REQUIRE(h.requests("/worker/reregister").empty());
    const auto cached = sw::state::deserialize(read_file(state_path(h)));
    fs::remove(h.dir.file("worker.jsonl"));

    auto r2 = h.run({cfg}, script("exit:0"));
    INFO(r2.err);
    REQUIRE(r2.exit_code == 0);
    CHECK(h.requests("/worker/register", "POST").size() == 1);
    const auto rereg = h.requests("/worker/reregister", "POST");
    REQUIRE(rereg.size() == 1);
    CHECK(rereg[0].at("status") == 200);
    const auto starts = h.worker_events("start");
    REQUIRE(starts.size() == 1);
    CHECK(request_ms(rereg[0]) <= starts[0].at("t").to_number<std::int64_t>());

    // The worker started with the renewed credentials, which are also the persisted ones.
    const auto now = sw::state::deserialize(read_file(state_path(h)));
    const auto wc = worker_config_seen(h);
    CHECK(now.state.creds.access_token != cached.state.creds.access_token);
    CHECK(str(wc.at("accessToken")) == now.state.creds.access_token);
    CHECK(str(wc.at("certificate")) == now.state.creds.certificate);
    CHECK(now.state.registration_secret != cached.state.registration_secret);
    REQUIRE(now.state.credentials_expire);
    REQUIRE(cached.state.credentials_expire);
    CHECK(*now.state.credentials_expire > *cached.state.credentials_expire);
}

TEST_CASE("reboot: expired credentials or a finished lifecycle start afresh", "[e2e][reboot]") {
    harness h;
    const auto cfg = first_run(h, "345600", "exit:67");
    REQUIRE(h.requests("/worker/register", "POST").size() == 1);
    const auto secret_reads = h.requests("/secrets/").size();
    REQUIRE(secret_reads >= 1);
    fs::remove(h.dir.file("files/greeting.txt"));
    fs::remove(h.dir.file("worker.jsonl"));

    std::string why;
    SECTION("expired credentials: the static secret registers again") {
        why = "cached worker credentials have expired; registering afresh";
        edit_state(h, [](boost::json::object& o) {
            o["state"].as_object()["CredentialsExpire"] =
                sw::format_rfc3339_ms(sw::wall_clock::now() - 1min);
        });
    }
    SECTION("phase stopping") {
        why = "phase is stopping: starting afresh";
        edit_state(h, [](boost::json::object& o) { o["phase"] = "stopping"; });
    }
    SECTION("phase starting") {
        why = "phase is starting: starting afresh";
        edit_state(h, [](boost::json::object& o) { o["phase"] = "starting"; });
    }

    auto r2 = h.run({cfg}, script("exit:0"));
    INFO(r2.err);
    REQUIRE(r2.exit_code == 0);
    CHECK(r2.err.find(why) != std::string::npos);
    // A fresh run: registration, secrets, files, all again.
    CHECK(h.requests("/worker/register", "POST").size() == 2);
    CHECK(h.requests("/secrets/").size() == 2 * secret_reads);
    CHECK(h.dir.read("files/greeting.txt") == "Hello, World");
    const auto st = sw::state::deserialize(read_file(state_path(h)));
    REQUIRE(st.state.credentials_expire);
    CHECK(*st.state.credentials_expire > sw::wall_clock::now() + 24h);
    CHECK(str(worker_config_seen(h).at("accessToken")) == st.state.creds.access_token);
}

TEST_CASE("reboot: an unsafe or corrupt state file", "[e2e][reboot]") {
    harness h;
    const auto cfg = first_run(h, "345600", "exit:67");
    fs::remove(h.dir.file("worker.jsonl"));
    fs::remove(h.dir.file("worker-config.json"));
    const auto requests_before = h.standin->requests().size();
    const auto path = state_path(h);
    const auto good = read_file(path);

    SECTION("mode 0644: refused, untouched") {
        REQUIRE(::chmod(path.c_str(), 0644) == 0);
        auto r = h.run({cfg}, script("exit:0"));
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK(r.err.find(path) != std::string::npos);
        CHECK(read_file(path) == good);
        CHECK(harness::mode_of(path) == 0644);
    }
    SECTION("owned by another user: refused, untouched") {
        if (::geteuid() != 0) {
            WARN("not root: cannot give the state file to another user");
            return;
        }
        REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
        auto r = h.run({cfg}, script("exit:0"));
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK(r.err.find(path) != std::string::npos);
        CHECK(read_file(path) == good);
        struct stat sb {};
        REQUIRE(::stat(path.c_str(), &sb) == 0);
        CHECK(sb.st_uid == 65534u);
    }
    for (const std::string& bad :
         {std::string("{\"format\":\"start-worker-state\",\"version\":1,\"phase\":"),
          std::string(
              R"({"format":"start-worker-state","version":2,"phase":"running","state":{}})"),
          std::string("\x01\x02 not json at all")}) {
        DYNAMIC_SECTION("corrupt: " << bad.substr(0, 40)) {
            h.dir.write("state/state.json", bad, 0600);
            auto r = h.run({cfg}, script("exit:0"));
            INFO(r.err);
            CHECK(r.exit_code == 78);
            // The message names the file and where the bad copy went; the copy is intact.
            const auto left = files_in(h.dir.file("state"));
            REQUIRE(left.size() == 1);
            const std::string moved = h.dir.file("state/" + *left.begin());
            CHECK(left.begin()->rfind("state.json.bad-", 0) == 0);
            CHECK(read_file(moved) == bad);
            CHECK(r.err.find(path) != std::string::npos);
            CHECK(r.err.find(moved) != std::string::npos);
        }
    }
    // Nothing else happened: no request, no worker config, no worker.
    CHECK(h.standin->requests().size() == requests_before);
    CHECK_FALSE(fs::exists(h.dir.file("worker-config.json")));
    CHECK_FALSE(fs::exists(h.dir.file("worker.jsonl")));
}

TEST_CASE("reboot: SIGKILL at random moments never leaves a partial state file", "[e2e][reboot]") {
    harness h;
    // 32 s credentials: renewed ~2 s after the worker starts, and every resume (each run after
    // the first) renews before starting the worker, so the state is rewritten often.
    h.start_standin(standin_config(h, "32"));
    const auto cfg = reboot_config(h);
    const auto path = state_path(h);

    const auto seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_ms(50, 1500);
    const auto deadline = std::chrono::steady_clock::now() + 45s;
    int runs = 0, with_state = 0;
    for (; runs < 30 && std::chrono::steady_clock::now() < deadline; ++runs) {
        const int delay = delay_ms(rng);
        INFO("run " << runs << ", killed after " << delay << " ms");
        {
            auto p = h.start({cfg}, {}, "stderr-" + std::to_string(runs) + ".log");
            std::this_thread::sleep_for(std::chrono::milliseconds(delay));
            p->signal(SIGKILL);
            const int code = p->wait(10s);
            const auto err = h.dir.read("stderr-" + std::to_string(runs) + ".log");
            INFO(err);
            // Killed, or ended by itself first for the one reason a run can: credentials left
            // over from a run killed after its renewal but before the state was written cannot
            // be renewed (the secret is single-use), so the worker is stopped before they
            // expire (exit 0) or, when they already expired, the run is refused (77). Never
            // hung, never another signal, never another exit code.
            if (code == 0)
                CHECK_THAT(err, Catch::Contains("Error calling reregisterWorker"));
            else if (code == 77)
                CHECK_THAT(err, Catch::Contains("expired"));
            else
                CHECK(code == 128 + SIGKILL);
        }
        const auto left = files_in(h.dir.file("state"));
        for (const auto& f : left) {
            INFO(f);
            CHECK((f == "state.json" || f == "state.json.tmp"));
        }
        if (!fs::exists(path)) continue;
        ++with_state;
        CHECK(harness::mode_of(path) == 0600);
        const auto text = read_file(path);
        INFO(text);
        CHECK_NOTHROW(sw::state::deserialize(text));
    }
    CHECK(runs >= 10);
    CHECK(with_state > 0);

    // What is left is usable: the next start resumes (or starts afresh) and finishes.
    fs::remove(h.dir.file("worker.jsonl"));
    auto r = h.run({cfg}, script("exit:0"));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(h.worker_events("start").size() == 1);
    CHECK(files_in(h.dir.file("state")) == std::set<std::string>{"state.json"});
}

TEST_CASE("reboot: autologin", "[e2e][reboot][autologin]") {
    harness h;
    h.start_standin(standin_config(h));

    SECTION("--once against the real root: only logged") {
        const auto cfg = reboot_config(h, "autologin:\n  username: tester\n");
        auto r = h.run({"--once", cfg}, script("exit:0"));
        INFO(r.err);
        CHECK(r.exit_code == 0);
        const bool dm_present = fs::exists("/etc/gdm3") || fs::exists("/etc/gdm") ||
                                fs::exists("/etc/lightdm") || fs::exists("/etc/sddm.conf") ||
                                fs::exists("/etc/sddm.conf.d");
        if (dm_present)
            CHECK(r.err.find("would change") != std::string::npos);
        else
            CHECK(r.err.find("no supported display manager was found") != std::string::npos);
    }

    // The undocumented test hook START_WORKER_TEST_ROOT moves the display manager paths.
    const std::string original =
        "# GDM configuration\n[daemon]\nWaylandEnable=false\n\n"
        "[security]\n";
    const auto gdm = h.dir.write("root/etc/gdm3/custom.conf", original, 0644);
    const env_list root_env = {{"START_WORKER_TEST_ROOT", h.dir.file("root")}};
    auto with = [&](const std::string& steps) {
        env_list e = root_env;
        e.push_back({"FAKE_WORKER_SCRIPT", steps});
        return e;
    };

    SECTION("runner config: the GDM config is edited, a backup kept") {
        const auto cfg = reboot_config(h, "autologin:\n  username: tester\n");
        auto r = h.run({cfg}, with("exit:0"));
        INFO(r.err);
        CHECK(r.exit_code == 0);
        const auto text = read_file(gdm);
        CHECK(text.find("[daemon]\nWaylandEnable=false\n") != std::string::npos);
        CHECK(text.find("AutomaticLoginEnable=true\n") != std::string::npos);
        CHECK(text.find("AutomaticLogin=tester\n") != std::string::npos);
        CHECK(text.find("[security]") != std::string::npos);
        CHECK(harness::mode_of(gdm) == 0644);
        CHECK(read_file(gdm + ".start-worker.bak") == original);
    }
    SECTION("runner config under --once: unchanged, logged") {
        const auto cfg = reboot_config(h, "autologin:\n  username: tester\n");
        auto r = h.run({"--once", cfg}, with("exit:0"));
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(read_file(gdm) == original);
        CHECK_FALSE(fs::exists(gdm + ".start-worker.bak"));
        CHECK(r.err.find("would change " + gdm) != std::string::npos);
    }
    SECTION("the worker's autologin message, then a reboot: the user is persisted") {
        const auto cfg = reboot_config(h);
        auto r = h.run({cfg}, with("autologin:taskuser1;exit:67"));
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(h.dir.read("reboot-marker") == "rebooted\n");
        CHECK(read_file(gdm).find("AutomaticLogin=taskuser1\n") != std::string::npos);
        CHECK(read_file(gdm + ".start-worker.bak") == original);
        const auto st = sw::state::deserialize(read_file(state_path(h)));
        CHECK(st.ph == sw::state::phase::rebooting);
        CHECK(st.autologin_user == "taskuser1");
    }
    SECTION("a worker's unusable autologin user is refused with a warning") {
        const auto cfg = reboot_config(h);
        auto r = h.run({cfg}, with("autologin:bad=user;log:still-talking;exit:0"));
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(read_file(gdm) == original);
        CHECK(r.err.find("Not configuring autologin for bad=user") != std::string::npos);
        // The protocol reader carried on.
        CHECK(r.err.find("still-talking") != std::string::npos);
    }
}
