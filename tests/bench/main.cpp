// sw-bench: measures start-worker's start-up time, memory, log throughput and idle CPU on this
// machine, by running the real binary (standalone provider, no network) with the fake worker.
//
//   sw-bench [--start-worker PATH] [--fake-worker PATH] [--runs N] [--idle-seconds S]
//
// Prints one line per figure with its median over N runs (and min/max), plus the command lines
// used, so a note can quote them. Nothing here is a test: figures depend on the machine.
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

struct run_result {
    double wall_ms = 0;
    double cpu_ms = 0;     ///< user + system of start-worker and its children
    long max_rss_kib = 0;  ///< of start-worker itself is not separable: children max
    int exit_code = -1;
};

/// Runs argv with extra env, stdout/stderr to /dev/null; rusage of the whole process tree.
run_result run(const std::vector<std::string>& argv,
               const std::vector<std::pair<std::string, std::string>>& env) {
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
        const int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    rusage ru{};
    ::wait4(pid, &status, 0, &ru);
    run_result r;
    r.wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    // wait4's rusage covers the child only; its own children (the worker) are in
    // RUSAGE_CHILDREN of that child, which wait4 folds in once they were waited for.
    r.cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    r.max_rss_kib = ru.ru_maxrss;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void report(const char* what, const char* unit, const std::vector<double>& v) {
    std::printf("%-34s median %10.2f %-8s (min %.2f, max %.2f, n=%zu)\n", what, median(v), unit,
                *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
                v.size());
}

std::string config(const sw::test::temp_dir& d, const std::string& implementation,
                   const std::string& fake_worker) {
    std::string c =
        "provider:\n  providerType: standalone\n  rootURL: http://127.0.0.1:9\n"
        "  clientID: bench\n  accessToken: bench-access-token\n"
        "  workerPoolID: bench/pool\n  workerGroup: g\n  workerID: w\n"
        "getSecrets: false\nworker:\n  implementation: " +
        implementation + "\n";
    if (implementation == "generic-worker")
        c += "  path: " + fake_worker + "\n  configPath: " + d.file("worker.json") + "\n";
    return d.write("runner.yml", c, 0600);
}

}  // namespace

int main(int argc, char** argv) {
    std::string sw_path = "build/start-worker";
    std::string fake = "build/fakes/fake-worker";
    int runs = 11;
    int idle_seconds = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--start-worker")
            sw_path = argv[i + 1];
        else if (a == "--fake-worker")
            fake = argv[i + 1];
        else if (a == "--runs")
            runs = std::atoi(argv[i + 1]);
        else if (a == "--idle-seconds")
            idle_seconds = std::atoi(argv[i + 1]);
    }
    sw::test::temp_dir d;
    std::printf("sw-bench: %s, %d runs per figure\n", sw_path.c_str(), runs);

    // 1. Start-up and memory: a whole --once lifecycle with the dummy worker (config load,
    //    provider, state machine, exit), and the same with the fake generic-worker exiting at once.
    {
        const auto cfg = config(d, "dummy", fake);
        std::vector<double> wall, rss;
        for (int i = 0; i < runs; ++i) {
            auto r = run({sw_path, "--once", cfg}, {});
            if (r.exit_code != 0) std::fprintf(stderr, "dummy run exited %d\n", r.exit_code);
            wall.push_back(r.wall_ms);
            rss.push_back(static_cast<double>(r.max_rss_kib));
        }
        std::printf("command: %s --once <standalone+dummy config>\n", sw_path.c_str());
        report("lifecycle, dummy worker", "ms", wall);
        report("max RSS, dummy worker", "KiB", rss);
    }
    {
        const auto cfg = config(d, "generic-worker", fake);
        std::vector<double> wall;
        for (int i = 0; i < runs; ++i) {
            auto r = run({sw_path, "--once", cfg}, {{"FAKE_WORKER_SCRIPT", "exit:0"}});
            wall.push_back(r.wall_ms);
        }
        std::printf("command: FAKE_WORKER_SCRIPT=exit:0 %s --once <standalone+generic-worker>\n",
                    sw_path.c_str());
        report("lifecycle, worker exits at once", "ms", wall);
    }
    // 2. Log throughput: the worker sends N structured log messages as fast as it can; the
    //    runner formats, redacts and writes them (stderr to /dev/null).
    {
        const int n = 100000;
        const auto cfg = config(d, "generic-worker", fake);
        std::vector<double> rate, cpu;
        for (int i = 0; i < std::max(3, runs / 3); ++i) {
            auto r = run({sw_path, "--once", cfg},
                         {{"FAKE_WORKER_SCRIPT", "flood:" + std::to_string(n) + ";exit:0"}});
            rate.push_back(n / (r.wall_ms / 1e3));
            cpu.push_back(r.cpu_ms);
        }
        std::printf("command: FAKE_WORKER_SCRIPT='flood:%d;exit:0' %s --once <...>\n", n,
                    sw_path.c_str());
        report("log throughput (worker -> stderr)", "msg/s", rate);
        report("CPU for 100k messages (both procs)", "ms", cpu);
    }
    // 3. Idle CPU: the worker sleeps; the runner should do (almost) nothing.
    {
        const auto cfg = config(d, "generic-worker", fake);
        std::vector<double> pct;
        for (int i = 0; i < 3; ++i) {
            auto r = run({sw_path, "--once", cfg},
                         {{"FAKE_WORKER_SCRIPT",
                           "sleep:" + std::to_string(idle_seconds * 1000) + ";exit:0"}});
            pct.push_back(100.0 * r.cpu_ms / r.wall_ms);
        }
        std::printf("command: FAKE_WORKER_SCRIPT='sleep:%d;exit:0' %s --once <...>\n",
                    idle_seconds * 1000, sw_path.c_str());
        report("idle CPU (runner + sleeping worker)", "%", pct);
    }
    return 0;
}
