// start-worker-bench: start-worker's start-up time, memory, worker-output throughput, idle cost
// and notice latency on this machine, measured by running the real binary against loopback
// fakes and a tiny compiled worker (tests/bench/bench_worker.cpp); with --peer, another runner
// binary (the Go start-worker) runs alternately (A B A B ...) on the same inputs and each figure
// gets the ratio of the medians. Not a test: the figures depend on the machine.
//
//   start-worker-bench [--start-worker PATH] [--peer PATH] [--worker PATH] [--runs N]
//                      [--lines N] [--idle-seconds S] [--notice-runs N] [--only a,b,...]
//                      [--json FILE|-]
//
// Figures (names for --only): exit-at-once (whole run, the worker says hello and exits; also
// the runner's peak RSS and its Private_Dirty/Anonymous at the worker's exit), dummy (whole run,
// dummy worker), version (--version), lines (N plain worker lines through the runner to its log:
// wall and runner CPU), log (N protocol `log` messages: wall and runner CPU), idle (runner CPU
// and wake-ups over S seconds, standalone), idle-aws (the same with the aws provider's spot
// polling and credential renewal armed, against the metadata fake; start-worker only),
// notice (spot notice at the metadata fake -> graceful-termination at the worker;
// start-worker only), https (static provider, secrets over https with a private CA in a hashed
// directory named by SSL_CERT_DIR, beside the system's CAs: whole run and memory).
//
// Temporary files (runner configs, the worker config the runner writes, logs) are under $TMPDIR
// (default /tmp), whose file system type is printed: start-worker syncs a changed worker config
// to disk (fsync of the file and its directory) and the Go runner does not, so on a disk a run
// that changes it includes two fsyncs; TMPDIR=/dev/shm leaves them out. Each runner writes its
// own worker config, as it would alone on a machine: a standalone run leaves it unchanged from
// the second run on (start-worker then does not rewrite it), the https run's credentials are
// new at every registration.
//
// The runner config is the standalone provider with getSecrets: false and the generic-worker
// implementation pointing at the bench worker, which both runners accept. Every log line a
// runner writes goes to a file that is counted afterwards, so lost lines cannot look fast.
#include "tests/support/http_server.hpp"
#include "tests/support/metadata_fake.hpp"
#include "tests/support/tc_standin.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

namespace json = boost::json;
using env_list = std::vector<std::pair<std::string, std::string>>;
using namespace std::chrono_literals;

long long mono_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// ---- processes ---------------------------------------------------------------------------------

struct proc_result {
    double wall_ms = 0;
    double cpu_ms = 0;  ///< user+system of the runner and its waited-for children (the worker)
    long max_rss_kib =
        0;  ///< the larger of the runner's and the worker's peak (the worker's is tiny)
    int exit_code = -1;
};

/// Starts argv with the environment plus `env` (an empty value unsets), stdin from /dev/null,
/// stdout and stderr to `log_file` (or /dev/null): the Go runner v1.1.0 writes a worker's plain
/// lines to its stdout, start-worker logs them to stderr. Returns the pid.
pid_t start(const std::vector<std::string>& argv, const env_list& env,
            const std::string& log_file = "") {
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        std::exit(70);
    }
    if (pid == 0) {
        for (const auto& [k, v] : env) {
            if (v.empty())
                ::unsetenv(k.c_str());
            else
                ::setenv(k.c_str(), v.c_str(), 1);
        }
        const int devnull = ::open("/dev/null", O_RDWR);
        const int out = log_file.empty() ? devnull
                                         : ::open(log_file.c_str(),
                                                  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        ::dup2(devnull, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execve(args[0], args.data(), environ);
        ::_exit(127);
    }
    return pid;
}

proc_result finish(pid_t pid, long long started_ns) {
    int status = 0;
    rusage ru{};
    while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    proc_result r;
    r.wall_ms = static_cast<double>(mono_ns() - started_ns) / 1e6;
    r.cpu_ms = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    r.max_rss_kib = ru.ru_maxrss;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

proc_result run(const std::vector<std::string>& argv, const env_list& env,
                const std::string& log_file = "") {
    const auto t0 = mono_ns();
    return finish(start(argv, env, log_file), t0);
}

/// Sum over the threads of `pid`: CPU time (ns, from schedstat) and context switches
/// (voluntary + involuntary; a voluntary one is a sleep, so each is one wake-up).
struct thread_totals {
    double cpu_ms = 0;
    long long switches = 0;
    int threads = 0;
};

thread_totals sample(pid_t pid) {
    thread_totals t;
    const std::string base = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = ::opendir(base.c_str());
    if (!d) return t;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const std::string dir = base + "/" + e->d_name;
        std::ifstream ss(dir + "/schedstat");
        double ns = 0;
        if (ss >> ns) t.cpu_ms += ns / 1e6;
        std::ifstream st(dir + "/status");
        std::string line;
        while (std::getline(st, line)) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
                line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
                t.switches += std::atoll(line.substr(line.find(':') + 1).c_str());
        }
        ++t.threads;
    }
    ::closedir(d);
    return t;
}

// ---- files -------------------------------------------------------------------------------------

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Lines of `path` that contain `needle` (counted in 1 MiB chunks).
long long count_lines_with(const std::string& path, const std::string& needle) {
    std::ifstream in(path, std::ios::binary);
    long long n = 0;
    std::string carry, chunk(1 << 20, '\0');
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0) break;
        carry.append(chunk.data(), got);
        std::size_t start = 0;
        for (;;) {
            const auto nl = carry.find('\n', start);
            if (nl == std::string::npos) break;
            if (std::string_view(carry).substr(start, nl - start).find(needle) !=
                std::string_view::npos)
                ++n;
            start = nl + 1;
        }
        carry.erase(0, start);
    }
    if (carry.find(needle) != std::string::npos) ++n;
    return n;
}

/// The bench worker's report ("key=value ..."), as numbers.
std::map<std::string, double> read_report(const std::string& path) {
    std::map<std::string, double> out;
    std::istringstream in(read_file(path));
    std::string kv;
    while (in >> kv) {
        const auto eq = kv.find('=');
        if (eq != std::string::npos) out[kv.substr(0, eq)] = std::atof(kv.c_str() + eq + 1);
    }
    return out;
}

std::string shell_line(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[256];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        ::pclose(p);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

// ---- statistics --------------------------------------------------------------------------------

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct figure {
    std::string name;
    std::string unit;
    std::vector<double> a, b;  ///< start-worker, peer
    std::string note;
};

std::deque<figure>
    figures;  // a deque: fig() hands out references that later fig() calls keep valid

figure& fig(const std::string& name, const std::string& unit) {
    for (auto& f : figures)
        if (f.name == name) return f;
    figures.push_back({name, unit, {}, {}, {}});
    return figures.back();
}

void print_figure(const figure& f, bool have_peer) {
    auto range = [](const std::vector<double>& v) {
        if (v.empty()) return std::string("-");
        char buf[96];
        std::snprintf(buf, sizeof buf, "%.4g (%.4g-%.4g)", median(v),
                      *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
        return std::string(buf);
    };
    std::printf("| %s | %s | %s", f.name.c_str(), f.unit.c_str(), range(f.a).c_str());
    if (have_peer) {
        std::printf(" | %s", range(f.b).c_str());
        if (!f.a.empty() && !f.b.empty() && median(f.b) != 0)
            std::printf(" | %.2fx", median(f.a) / median(f.b));
        else
            std::printf(" | -");
    }
    std::printf(" | %zu |%s%s\n", std::max(f.a.size(), f.b.size()), f.note.empty() ? "" : " ",
                f.note.c_str());
}

// ---- the scenarios -----------------------------------------------------------------------------

struct options {
    std::string sw = "build/start-worker";
    std::string peer;
    std::string worker = "build/bench-worker";
    int runs = 11;
    long lines = 1000000;
    int idle_seconds = 30;
    int notice_runs = 5;
    std::set<std::string> only;
    std::string json_out;
};

struct bench {
    options o;
    sw::test::temp_dir dir;
    int failures = 0;

    bool wanted(const std::string& name) const { return o.only.empty() || o.only.count(name); }

    std::vector<std::string> runners() const {
        std::vector<std::string> v{o.sw};
        if (!o.peer.empty()) v.push_back(o.peer);
        return v;
    }

    /// The worker config runner `k` writes: each runner its own, as on a machine where one
    /// runner runs alone (a shared file would make one runner's write the other's change).
    std::string worker_config(std::size_t k) const {
        return dir.file("worker-config-" + std::to_string(k) + ".json");
    }

    std::string standalone_config(const std::string& implementation, std::size_t k) const {
        std::string c =
            "provider:\n  providerType: standalone\n  rootURL: http://127.0.0.1:9\n"
            "  clientID: bench\n  accessToken: bench-access-token-0123456789\n"
            "  workerPoolID: bench/pool\n  workerGroup: g\n  workerID: w\n"
            "getSecrets: false\nworker:\n  implementation: " +
            implementation + "\n";
        if (implementation == "generic-worker")
            c += "  path: " + o.worker + "\n  configPath: " + worker_config(k) + "\n";
        return dir.write("runner-" + implementation + "-" + std::to_string(k) + ".yml", c, 0600);
    }

    void check(const proc_result& r, const std::string& what, const std::string& bin) {
        if (r.exit_code != 0) {
            std::fprintf(stderr, "bench: %s: %s exited %d\n", what.c_str(), bin.c_str(),
                         r.exit_code);
            ++failures;
        }
    }

    std::vector<double>& side(figure& f, std::size_t i) { return i == 0 ? f.a : f.b; }

    void startup() {
        const auto report = dir.file("report");
        for (int i = 0; i < o.runs; ++i) {
            const auto bins = runners();
            for (std::size_t k = 0; k < bins.size(); ++k) {
                const auto& bin = bins[k];
                const auto gw = standalone_config("generic-worker", k);
                const auto dummy = standalone_config("dummy", k);
                if (wanted("exit-at-once")) {
                    std::filesystem::remove(report);
                    auto r =
                        run({bin, gw}, {{"SW_BENCH_WORKER", "hello"}, {"SW_BENCH_REPORT", report}});
                    check(r, "exit-at-once", bin);
                    side(fig("whole run, worker exits at once", "ms"), k).push_back(r.wall_ms);
                    // CPU is steadier than wall time on a loaded machine (the worker's share is
                    // tiny and the same for both).
                    side(fig("the same, CPU of the runner and the worker", "ms"), k)
                        .push_back(r.cpu_ms);
                    side(fig("peak RSS of the runner (ru_maxrss)", "KiB"), k)
                        .push_back(static_cast<double>(r.max_rss_kib));
                    auto rep = read_report(report);
                    if (rep.count("parent_rss_kib")) {
                        side(fig("runner RSS at worker exit", "KiB"), k)
                            .push_back(rep["parent_rss_kib"]);
                        side(fig("runner Private_Dirty at worker exit (smaps_rollup)", "KiB"), k)
                            .push_back(rep["parent_private_dirty_kib"]);
                        side(fig("runner Anonymous at worker exit (smaps_rollup)", "KiB"), k)
                            .push_back(rep["parent_anonymous_kib"]);
                    }
                }
                if (wanted("dummy")) {
                    auto r = run({bin, dummy}, {});
                    check(r, "dummy", bin);
                    side(fig("whole run, dummy worker", "ms"), k).push_back(r.wall_ms);
                }
                if (wanted("version")) {
                    auto r = run({bin, "--version"}, {});
                    side(fig("--version", "ms"), k).push_back(r.wall_ms);
                }
            }
        }
    }

    /// N lines from the worker through the runner to its log; `needle` marks them in the log.
    void throughput(const std::string& kind, const std::string& title, const std::string& needle) {
        const auto report = dir.file("report");
        const auto log = dir.file("runner.log");
        const int reps = std::max(3, o.runs / 2);
        for (int i = 0; i < reps; ++i) {
            const auto bins = runners();
            for (std::size_t k = 0; k < bins.size(); ++k) {
                std::filesystem::remove(report);
                auto r = run({bins[k], standalone_config("generic-worker", k)},
                             {{"SW_BENCH_WORKER", kind + ":" + std::to_string(o.lines)},
                              {"SW_BENCH_REPORT", report}},
                             log);
                check(r, title, bins[k]);
                auto rep = read_report(report);
                const long long seen = count_lines_with(log, needle);
                if (seen != o.lines) {
                    // Reported for both; only start-worker's losses fail the run (the Go runner
                    // v1.1.0 has no `log` handler: it parses those messages and drops them).
                    std::fprintf(stderr, "bench: %s: %s logged %lld of %ld lines\n", title.c_str(),
                                 bins[k].c_str(), seen, o.lines);
                    if (k == 0) ++failures;
                }
                side(fig(title + ", wall", "ms"), k).push_back(r.wall_ms);
                side(fig(title + ", runner CPU", "ms"), k)
                    .push_back(r.cpu_ms - rep["cpu_us"] / 1e3);
                side(fig(title + ", lines in the log", "lines"), k)
                    .push_back(static_cast<double>(seen));
                side(fig(title + ", log size", "MiB"), k)
                    .push_back(static_cast<double>(std::filesystem::file_size(log)) / 1048576.0);
            }
        }
        std::filesystem::remove(log);
    }

    /// Samples the runner `pid` from `settle` after its start over idle_seconds.
    thread_totals idle_window(pid_t pid, std::chrono::milliseconds settle, double& cpu_ms,
                              double& wakeups) {
        std::this_thread::sleep_for(settle);
        const auto s0 = sample(pid);
        std::this_thread::sleep_for(std::chrono::seconds(o.idle_seconds));
        const auto s1 = sample(pid);
        cpu_ms = s1.cpu_ms - s0.cpu_ms;
        wakeups = static_cast<double>(s1.switches - s0.switches);
        return s1;
    }

    void idle_standalone() {
        const int reps = 3;
        for (int i = 0; i < reps; ++i) {
            const auto bins = runners();
            for (std::size_t k = 0; k < bins.size(); ++k) {
                const auto t0 = mono_ns();
                const pid_t pid =
                    start({bins[k], standalone_config("generic-worker", k)},
                          {{"SW_BENCH_WORKER", "idle:" + std::to_string(o.idle_seconds + 2)}});
                double cpu = 0, wake = 0;
                const auto s = idle_window(pid, 1000ms, cpu, wake);
                check(finish(pid, t0), "idle", bins[k]);
                const std::string per = " over " + std::to_string(o.idle_seconds) + " s";
                side(fig("idle (standalone): runner CPU" + per, "ms"), k).push_back(cpu);
                side(fig("idle (standalone): runner wake-ups" + per, "switches"), k)
                    .push_back(wake);
                side(fig("idle (standalone): runner threads", "threads"), k).push_back(s.threads);
            }
        }
    }

    // aws: the metadata fake and the stand-in in this process.
    struct aws_env {
        std::string md_dir;
        std::unique_ptr<sw::test::tc_standin> standin;
        std::unique_ptr<sw::test::metadata_fake> fake;
        std::unique_ptr<sw::test::http_server> server;
        std::string config;
        env_list env;
    };

    std::unique_ptr<aws_env> make_aws() {
        auto a = std::make_unique<aws_env>();
        sw::test::tc_standin_options so;
        so.config = json::parse(R"({"providers": {"aws-prov": {"type": "aws"}},
            "workerPools": {"proj/pool": {"credentialLifetimeSeconds": 3600}}})")
                        .as_object();
        a->standin = std::make_unique<sw::test::tc_standin>(std::move(so));
        a->md_dir = dir.file("metadata");
        std::filesystem::create_directories(a->md_dir);
        const std::string id = "i-0123456789abcdef0";
        const std::string doc =
            R"({"instanceId":")" + id +
            R"(","region":"us-west-2","availabilityZone":"us-west-2a","instanceType":"t2.micro",)"
            R"("imageId":"ami-1234","privateIp":"10.0.0.7"})";
        json::object md{{"paths",
                         {{"/latest/user-data",
                           json::serialize(json::object{{"workerPoolId", "proj/pool"},
                                                        {"providerId", "aws-prov"},
                                                        {"workerGroup", "us-west-2"},
                                                        {"rootUrl", a->standin->root_url()}})},
                          {"/latest/dynamic/instance-identity/document", doc},
                          {"/latest/dynamic/instance-identity/signature", "signature"},
                          {"/latest/meta-data/public-hostname", "ec2-2-2-2-2.example.com"},
                          {"/latest/meta-data/public-ipv4", "2.2.2.2"},
                          {"/latest/meta-data/instance-id", id},
                          {"/latest/meta-data/ami-id", "ami-1234"},
                          {"/latest/meta-data/instance-type", "t2.micro"},
                          {"/latest/meta-data/local-ipv4", "10.0.0.7"},
                          {"/latest/meta-data/placement/availability-zone", "us-west-2a"}}}};
        dir.write("metadata/metadata.json", json::serialize(md));
        a->fake = std::make_unique<sw::test::metadata_fake>(sw::test::cloud::aws, a->md_dir);
        a->server = std::make_unique<sw::test::http_server>(a->fake->handler());
        a->config = dir.write("runner-aws.yml",
                              "provider:\n  providerType: aws\nworker:\n  implementation: "
                              "generic-worker\n  path: " +
                                  o.worker + "\n  configPath: " + worker_config(0) +
                                  "\nhost:\n  shutdownCommand: [/bin/true]\n",
                              0600);
        a->env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", a->server->base_url()},
                  {"HTTP_PROXY", ""},
                  {"HTTPS_PROXY", ""},
                  {"http_proxy", ""},
                  {"https_proxy", ""}};
        return a;
    }

    /// Spot polls so far: each asks spot/instance-action (and, when that is absent,
    /// spot/termination-time).
    long long spot_polls(const aws_env& a) const {
        return count_lines_with(a.md_dir + "/requests.jsonl", "/spot/instance-action");
    }

    void idle_aws() {
        auto a = make_aws();
        const int reps = 3;
        for (int i = 0; i < reps; ++i) {
            std::filesystem::remove(a->md_dir + "/terminate.json");
            auto env = a->env;
            env.push_back({"SW_BENCH_WORKER", "idle:" + std::to_string(o.idle_seconds + 3)});
            const auto t0 = mono_ns();
            const pid_t pid = start({o.sw, "--once", a->config}, env);
            std::this_thread::sleep_for(1500ms);
            const auto p0 = spot_polls(*a);
            double cpu = 0, wake = 0;
            const auto s = idle_window(pid, 0ms, cpu, wake);
            const auto p1 = spot_polls(*a);
            // --once with a worker that exits 0 ends the lifecycle; a removeWorker call may fail
            // against the stand-in (not part of the figure).
            finish(pid, t0);
            const std::string per = " over " + std::to_string(o.idle_seconds) + " s";
            fig("idle (aws, spot polling + renewal armed): runner CPU" + per, "ms")
                .a.push_back(cpu);
            fig("idle (aws, spot polling + renewal armed): runner wake-ups" + per, "switches")
                .a.push_back(wake);
            fig("idle (aws): spot polls" + per, "polls").a.push_back(static_cast<double>(p1 - p0));
            fig("idle (aws): wake-ups beyond 1 per poll, per second", "1/s")
                .a.push_back((wake - static_cast<double>(p1 - p0)) / o.idle_seconds);
            fig("idle (aws): runner threads", "threads").a.push_back(s.threads);
        }
    }

    void notice() {
        auto a = make_aws();
        const auto report = dir.file("report");
        std::mt19937 rng(12345);
        for (int i = 0; i < o.notice_runs; ++i) {
            std::filesystem::remove(a->md_dir + "/terminate.json");
            std::filesystem::remove(report);
            auto env = a->env;
            env.push_back({"SW_BENCH_WORKER", "graceful:60"});
            env.push_back({"SW_BENCH_REPORT", report});
            const auto polls_before = spot_polls(*a);
            const auto t0 = mono_ns();
            const pid_t pid = start({o.sw, "--once", a->config}, env);
            // Wait for this run's first spot poll (the watcher runs), then announce at a random
            // point of the 5 s poll cycle.
            const auto deadline = std::chrono::steady_clock::now() + 20s;
            while (spot_polls(*a) == polls_before && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(10ms);
            std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 5000));
            dir.write("metadata/terminate.json", "{}");
            const auto announced = mono_ns();
            finish(pid, t0);
            auto rep = read_report(report);
            if (rep["graceful_ns"] <= 0) {
                std::fprintf(stderr, "bench: notice: the worker got no graceful-termination\n");
                ++failures;
                continue;
            }
            fig("notice at metadata -> graceful-termination at worker (poll 5 s)", "ms")
                .a.push_back((rep["graceful_ns"] - static_cast<double>(announced)) / 1e6);
        }
    }

    void https() {
        const auto tls_dir = dir.file("tls");
        std::filesystem::create_directories(tls_dir);
        const auto tls = sw::test::make_test_certificates(tls_dir);
        const std::string secret = "staticSecret0123456789abcdefghijklmnopqrstuv";
        sw::test::tc_standin_options so;
        so.config = json::parse(R"({"providers": {"static-prov": {"type": "static",
              "workers": {"wg/wid": {"staticSecret": ")" +
                                secret + R"("}}}},
            "workerPools": {"proj/pool": {"workerConfig": {"genericWorker": {"config":
              {"fromWM": true}}}}},
            "secrets": {"worker-pool:proj/pool": {"config": {"fromSecret": true}}}})")
                        .as_object();
        so.tls = &tls;
        sw::test::tc_standin standin(std::move(so));
        const auto cfg = [&](std::size_t k) {
            return dir.write(
                "runner-static-" + std::to_string(k) + ".yml",
                "provider:\n  providerType: static\n  rootURL: " + standin.root_url() +
                    "\n  providerID: static-prov\n  workerPoolID: proj/pool\n  workerGroup: wg\n"
                    "  workerID: wid\n  staticSecret: " +
                    secret + "\nworker:\n  implementation: generic-worker\n  path: " + o.worker +
                    "\n  configPath: " + worker_config(k) + "\n",
                0600);
        };
        // The private CA joins the system's trust as a hashed directory named by SSL_CERT_DIR
        // (SSL_CERT_FILE unset): both runners then trust the system's CAs and this one, which is
        // how a deployment with a private CA is set up, and what start-up pays for trust shows.
        const auto ca_dir = dir.file("ca-dir");
        std::filesystem::create_directories(ca_dir);
        const auto hash = shell_line("openssl x509 -hash -noout -in '" + tls_dir + "/ca.pem'");
        std::filesystem::copy_file(tls_dir + "/ca.pem", ca_dir + "/" + hash + ".0");
        const auto report = dir.file("report");
        const env_list env{{"SSL_CERT_DIR", ca_dir},     {"SSL_CERT_FILE", ""},
                           {"SW_BENCH_WORKER", "hello"}, {"SW_BENCH_REPORT", report},
                           {"HTTPS_PROXY", ""},          {"https_proxy", ""}};
        for (int i = 0; i < o.runs; ++i) {
            const auto bins = runners();
            for (std::size_t k = 0; k < bins.size(); ++k) {
                std::filesystem::remove(report);
                auto r = run({bins[k], cfg(k)}, env, dir.file("https.log"));
                if (r.exit_code != 0) {
                    std::fprintf(stderr, "bench: https: %s exited %d:\n%s\n", bins[k].c_str(),
                                 r.exit_code, read_file(dir.file("https.log")).c_str());
                    ++failures;
                    continue;
                }
                auto rep = read_report(report);
                side(fig("static + secrets over https (private CA), whole run", "ms"), k)
                    .push_back(r.wall_ms);
                side(fig("static + secrets over https: CPU of the runner and the worker", "ms"), k)
                    .push_back(r.cpu_ms);
                side(fig("static + secrets over https: peak RSS", "KiB"), k)
                    .push_back(static_cast<double>(r.max_rss_kib));
                side(fig("static + secrets over https: Private_Dirty at worker exit", "KiB"), k)
                    .push_back(rep["parent_private_dirty_kib"]);
                side(fig("static + secrets over https: Anonymous at worker exit", "KiB"), k)
                    .push_back(rep["parent_anonymous_kib"]);
            }
        }
    }
};

std::string machine() {
    std::string model;
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    double load[3] = {0, 0, 0};
    ::getloadavg(load, 3);
    char buf[256];
    std::snprintf(buf, sizeof buf, "%ld cores, %s, load %.2f %.2f %.2f",
                  ::sysconf(_SC_NPROCESSORS_ONLN), model.c_str(), load[0], load[1], load[2]);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    bench b;
    options& o = b.o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "start-worker-bench: %s needs a value\n", a.c_str());
                std::exit(64);
            }
            return argv[++i];
        };
        if (a == "--start-worker")
            o.sw = value();
        else if (a == "--peer")
            o.peer = value();
        else if (a == "--worker")
            o.worker = value();
        else if (a == "--runs")
            o.runs = std::max(1, std::atoi(value().c_str()));
        else if (a == "--lines")
            o.lines = std::max(1L, std::atol(value().c_str()));
        else if (a == "--idle-seconds")
            o.idle_seconds = std::max(1, std::atoi(value().c_str()));
        else if (a == "--notice-runs")
            o.notice_runs = std::max(1, std::atoi(value().c_str()));
        else if (a == "--json")
            o.json_out = value();
        else if (a == "--only") {
            std::stringstream ss(value());
            std::string item;
            while (std::getline(ss, item, ',')) o.only.insert(item);
        } else {
            std::fprintf(stderr,
                         "usage: start-worker-bench [--start-worker PATH] [--peer PATH] "
                         "[--worker PATH] [--runs N] [--lines N] [--idle-seconds S] "
                         "[--notice-runs N] [--only exit-at-once,dummy,version,lines,log,idle,"
                         "idle-aws,notice,https] [--json FILE|-]\n");
            return 64;
        }
    }
    for (auto* p : {&o.sw, &o.peer, &o.worker})
        if (!p->empty()) *p = std::filesystem::absolute(*p).string();
    ::signal(SIGPIPE, SIG_IGN);
    // A binary written moments ago (a fresh link) has dirty page-cache pages, which smaps counts
    // as its Private_Dirty until they are written back: write them back first.
    ::sync();
    // Then drop the binaries from the page cache, so that each is read from the disk as after a
    // boot: RSS counts the pages the kernel maps around each fault, and how many that are
    // depends on how the file came into the cache (a fresh copy or link is cached in other
    // folio sizes than a read): identical binaries differed by 640 KiB of peak RSS otherwise.
    for (const auto* p : {&o.sw, &o.peer, &o.worker}) {
        if (p->empty()) continue;
        const int fd = ::open(p->c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }

    const std::string commit =
        shell_line("git -C '" SW_SOURCE_DIR "' rev-parse --short HEAD 2>/dev/null") +
        (shell_line("git -C '" SW_SOURCE_DIR "' status --porcelain --untracked-files=no "
                    "2>/dev/null")
                 .empty()
             ? ""
             : "-dirty");
    const std::string mach =
        machine() + "; TMPDIR " + b.dir.path().parent_path().string() + " (" +
        shell_line("stat -f -c %T '" + b.dir.path().string() + "' 2>/dev/null") + ")";

    if (b.wanted("exit-at-once") || b.wanted("dummy") || b.wanted("version")) b.startup();
    if (b.wanted("lines")) b.throughput("lines", "plain worker lines", "bench line ");
    if (b.wanted("log")) b.throughput("log", "protocol log messages", "bench message ");
    if (b.wanted("idle")) b.idle_standalone();
    if (b.wanted("idle-aws")) b.idle_aws();
    if (b.wanted("notice")) b.notice();
    if (b.wanted("https")) b.https();

    const bool have_peer = !o.peer.empty();
    std::printf("start-worker-bench: commit %s; %s\n", commit.c_str(), mach.c_str());
    std::printf("A = %s\n", o.sw.c_str());
    if (have_peer) std::printf("B = %s (runs alternate A B A B)\n", o.peer.c_str());
    std::printf("worker = %s; %ld lines; idle window %d s\n\n", o.worker.c_str(), o.lines,
                o.idle_seconds);
    if (have_peer)
        std::printf(
            "| figure | unit | A median (min-max) | B median (min-max) | A/B | n |\n"
            "|---|---|---|---|---|---|\n");
    else
        std::printf("| figure | unit | median (min-max) | n |\n|---|---|---|---|\n");
    for (const auto& f : figures) print_figure(f, have_peer);

    if (!o.json_out.empty()) {
        json::object root{{"commit", commit}, {"machine", mach}, {"a", o.sw}, {"b", o.peer}};
        json::array figs;
        for (const auto& f : figures) {
            json::object j{{"name", f.name}, {"unit", f.unit}};
            auto put = [&](const char* key, const std::vector<double>& v) {
                if (v.empty()) return;
                j[key] = json::object{{"median", median(v)},
                                      {"min", *std::min_element(v.begin(), v.end())},
                                      {"max", *std::max_element(v.begin(), v.end())},
                                      {"samples", json::value_from(v)}};
            };
            put("a", f.a);
            put("b", f.b);
            if (!f.a.empty() && !f.b.empty() && median(f.b) != 0)
                j["ratio"] = median(f.a) / median(f.b);
            figs.push_back(std::move(j));
        }
        root["figures"] = std::move(figs);
        const auto text = json::serialize(root);
        if (o.json_out == "-")
            std::printf("%s\n", text.c_str());
        else
            std::ofstream(o.json_out) << text << "\n";
    }
    if (b.failures) std::fprintf(stderr, "start-worker-bench: %d run(s) failed\n", b.failures);
    return b.failures ? 1 : 0;
}
