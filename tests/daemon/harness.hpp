#pragma once
// Shared fixture for the integration tests: a temporary directory, the Taskcluster stand-in
// in-process (on its own thread), runner configs, the real start-worker binary, and the fake
// worker's record. Header-only because it needs the SW_BINARY / SW_FAKES_DIR definitions of
// the integration-tests target.
#include "tests/support/proc.hpp"
#include "tests/support/tc_standin.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace sw::test {

/// A 44-character static secret, as worker-manager requires.
inline constexpr const char* static_secret = "staticSecret0123456789abcdefghijklmnopqrstuv";

struct harness {
    temp_dir dir;
    std::unique_ptr<tc_standin> standin;
    env_list env;

    harness() {
        env.push_back({"FAKE_WORKER_RECORD", dir.file("worker.jsonl")});
        // Never let a developer's proxy settings reach loopback test traffic.
        for (const char* v : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"})
            env.push_back({v, ""});
    }

    /// Starts the stand-in with this config (see tests/fakes/tc-standin/main.cpp). The default
    /// knows static provider "static-prov" with worker "wg/wid" in pool "proj/pool".
    tc_standin& start_standin(const std::string& config_json = "") {
        tc_standin_options o;
        o.config = boost::json::parse(config_json.empty() ? default_standin_config() : config_json)
                       .as_object();
        o.state_dir = dir.file("standin");
        std::filesystem::create_directories(o.state_dir);
        standin = std::make_unique<tc_standin>(std::move(o));
        return *standin;
    }

    static std::string default_standin_config(int lifetime_seconds = 345600) {
        return R"({"providers": {"static-prov": {"type": "static", "workers": {"wg/wid":
                   {"staticSecret": ")" +
               std::string(static_secret) + R"("}}}},
                 "workerPools": {"proj/pool": {"credentialLifetimeSeconds": )" +
               std::to_string(lifetime_seconds) + R"(,
                   "workerConfig": {"genericWorker": {"config": {"fromWM": true}}}}}})";
    }

    /// A static-provider + generic-worker (fake-worker) runner config against the stand-in,
    /// followed by `extra` YAML lines (top-level keys).
    std::string static_config(const std::string& extra = "") const {
        return "provider:\n"
               "  providerType: static\n"
               "  rootURL: " +
               standin->root_url() +
               "\n"
               "  providerID: static-prov\n"
               "  workerPoolID: proj/pool\n"
               "  workerGroup: wg\n"
               "  workerID: wid\n"
               "  staticSecret: " +
               static_secret + "\n" + worker_block() + extra;
    }

    /// The runner config's `worker:` section for the fake generic-worker, writing its config
    /// to worker-config.json in the test directory (YAML lines, newline-terminated).
    std::string worker_block() const {
        return "worker:\n"
               "  implementation: generic-worker\n"
               "  path: " +
               fake_worker() +
               "\n"
               "  configPath: " +
               dir.file("worker-config.json") + "\n";
    }

    static std::string fake_worker() { return std::string(SW_FAKES_DIR) + "/fake-worker"; }
    static std::string fake(const std::string& name) {
        return std::string(SW_FAKES_DIR) + "/" + name;
    }

    /// Writes the runner config (0600) and returns its path.
    std::string write_config(const std::string& yaml, const std::string& name = "runner.yml") {
        return dir.write(name, yaml, 0600);
    }

    /// Runs start-worker to completion with the harness environment plus `more`.
    proc_result run(std::vector<std::string> args, const env_list& more = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
        args.insert(args.begin(), SW_BINARY);
        env_list e = env;
        e.insert(e.end(), more.begin(), more.end());
        return run_process(args, e, timeout);
    }

    /// Starts start-worker in the background; stderr goes to dir/<stderr_name>.
    std::unique_ptr<background_process> start(std::vector<std::string> args,
                                              const env_list& more = {},
                                              const std::string& stderr_name = "stderr.log") {
        args.insert(args.begin(), SW_BINARY);
        env_list e = env;
        e.insert(e.end(), more.begin(), more.end());
        return std::make_unique<background_process>(args, e, dir.file(stderr_name));
    }

    /// The fake worker's record: one object per event (see tests/fakes/fake-worker/main.cpp).
    std::vector<boost::json::object> worker_record() const {
        std::vector<boost::json::object> out;
        std::istringstream in(dir.read("worker.jsonl"));
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            boost::system::error_code ec;
            auto v = boost::json::parse(line, ec);
            if (!ec && v.is_object()) out.push_back(v.as_object());
        }
        return out;
    }

    /// Record entries with event == `event` (and, for "received", message type == `type`).
    std::vector<boost::json::object> worker_events(const std::string& event,
                                                   const std::string& type = "") const {
        std::vector<boost::json::object> out;
        for (auto& r : worker_record()) {
            if (r.contains("event") && r.at("event") == event.c_str() &&
                (type.empty() || (r.contains("type") && r.at("type") == type.c_str())))
                out.push_back(r);
        }
        return out;
    }

    /// Stand-in requests whose path contains `fragment` (and method, if given).
    std::vector<boost::json::object> requests(const std::string& fragment,
                                              const std::string& method = "") const {
        std::vector<boost::json::object> out;
        for (auto& r : standin->requests()) {
            const auto path = std::string(r.at("path").as_string());
            if (path.find(fragment) == std::string::npos) continue;
            if (!method.empty() && r.at("method") != method.c_str()) continue;
            out.push_back(r);
        }
        return out;
    }

    static unsigned mode_of(const std::string& path) {
        struct stat sb {};
        if (::stat(path.c_str(), &sb) != 0) return 0;
        return sb.st_mode & 07777;
    }
};

/// What a running process holds, from /proc/<pid>/status and /proc/<pid>/fd.
struct proc_usage {
    long rss_kib = -1;   ///< VmRSS
    long peak_kib = -1;  ///< VmHWM: the largest VmRSS so far
    long fds = -1;       ///< open descriptors
};

/// The usage of process `pid` now (fields -1 when it is gone).
inline proc_usage usage_of(int pid) {
    proc_usage u;
    const std::string base = "/proc/" + std::to_string(pid);
    std::ifstream status(base + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::stol(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) u.peak_kib = std::stol(line.substr(6));
    }
    std::error_code ec;
    long n = 0;
    for (std::filesystem::directory_iterator it(base + "/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    if (!ec) u.fds = n;
    return u;
}

/// A memory bound for a runner that started with `before` KiB resident: `budget` KiB in all for
/// the release build. Under AddressSanitizer the runtime's shadow memory and its quarantine of
/// freed blocks come on top (about 130 MiB at start), so there the bound is on the growth, with
/// the quarantine capped by memory_test_env(): the same `budget`, plus 32 MiB of quarantine and
/// shadow.
inline long memory_bound_kib(const proc_usage& before, long budget) {
#if defined(__SANITIZE_ADDRESS__)
    return before.peak_kib + budget + 32 * 1024;
#else
    (void)before;
    return budget;
#endif
}

/// Environment for a runner whose memory a test bounds: under AddressSanitizer its quarantine is
/// capped at 16 MiB (ASan keeps up to 256 MiB of freed memory by default); else nothing.
inline env_list memory_test_env(env_list env) {
#if defined(__SANITIZE_ADDRESS__)
    const char* inherited = std::getenv("ASAN_OPTIONS");
    env.push_back(
        {"ASAN_OPTIONS", std::string(inherited ? inherited : "") +
                             ":quarantine_size_mb=16:thread_local_quarantine_size_kb=256"});
#endif
    return env;
}

/// The value of the first sample of `name` (with its labels, e.g. `x{a="b"}`) in a /metrics
/// text; -1 when absent.
inline double metric_value(const std::string& metrics, const std::string& name) {
    const auto at = metrics.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(metrics.substr(at + name.size() + 2));
}

/// A minimal HTTP GET of 127.0.0.1:`port` over a raw socket: returns "<status> <body>" ("" when
/// nothing listens).
inline std::string http_get(unsigned short port, const std::string& path) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return "";
    }
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    (void)::write(fd, req.data(), req.size());
    std::string resp;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto sp = resp.find(' ');
    const auto body = resp.find("\r\n\r\n");
    if (sp == std::string::npos || body == std::string::npos) return resp;
    return resp.substr(sp + 1, 3) + " " + resp.substr(body + 4);
}

}  // namespace sw::test
