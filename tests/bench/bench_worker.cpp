// bench-worker: the tiny compiled worker that start-worker-bench runs under both runners. It
// speaks the worker-runner protocol on stdin/stdout with nothing but libc (linked statically),
// so its own cost is the same, and small, under either runner.
//
// Both runners start it as `<path> run --config <file> ...` with the environment inherited, so
// it is told what to do in the environment:
//   SW_BENCH_WORKER   hello          say hello, exit 0
//                     lines:N        hello, then N plain (non-protocol) lines on stdout
//                     log:N          hello, then N protocol `log` messages
//                     idle:S         hello, then wait S seconds (or until stdin closes)
//                     graceful:S     hello, then wait up to S seconds for graceful-termination
//   SW_BENCH_REPORT   a file: at exit the worker writes one line of "key=value" figures there:
//                     cpu_us (its own user+system CPU), parent_hwm_kib, parent_rss_kib,
//                     parent_private_dirty_kib, parent_anonymous_kib (the runner's memory,
//                     read from /proc/<ppid>/status and smaps_rollup just before it exits),
//                     started_ns (CLOCK_MONOTONIC when it started) and, for graceful:,
//                     graceful_ns (CLOCK_MONOTONIC when graceful-termination arrived).
// Lines are written in 64 KiB batches: the runner, not the worker, is what is measured.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

long long now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

char out_buf[64 * 1024];
std::size_t out_len = 0;

bool flush_out() {
    std::size_t off = 0;
    while (off < out_len) {
        const ssize_t n = ::write(1, out_buf + off, out_len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    out_len = 0;
    return true;
}

bool put(const char* s, std::size_t n) {
    if (out_len + n > sizeof out_buf && !flush_out()) return false;
    std::memcpy(out_buf + out_len, s, n);
    out_len += n;
    return true;
}

/// Value (in kB) of the first line starting with `key` in a /proc file, or -1.
long proc_kib(const char* path, const char* key) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[8192];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    const std::size_t klen = std::strlen(key);
    for (char* line = buf; line && *line;) {
        if (std::strncmp(line, key, klen) == 0) return std::strtol(line + klen, nullptr, 10);
        line = std::strchr(line, '\n');
        if (line) ++line;
    }
    return -1;
}

long long started_ns = 0;
long long graceful_ns = -1;

void report(const char* file) {
    if (!file || !*file) return;
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const long long cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
                             ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    char status[64], rollup[64];
    std::snprintf(status, sizeof status, "/proc/%d/status", static_cast<int>(::getppid()));
    std::snprintf(rollup, sizeof rollup, "/proc/%d/smaps_rollup", static_cast<int>(::getppid()));
    char line[512];
    const int len = std::snprintf(
        line, sizeof line,
        "cpu_us=%lld parent_hwm_kib=%ld parent_rss_kib=%ld parent_private_dirty_kib=%ld "
        "parent_anonymous_kib=%ld started_ns=%lld graceful_ns=%lld\n",
        cpu_us, proc_kib(status, "VmHWM:"), proc_kib(status, "VmRSS:"),
        proc_kib(rollup, "Private_Dirty:"), proc_kib(rollup, "Anonymous:"), started_ns,
        graceful_ns);
    const int fd = ::open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (::write(fd, line, static_cast<std::size_t>(len)) != len) std::perror("bench-worker");
    ::close(fd);
}

/// Waits up to `seconds` for stdin to carry `needle` (or to close); returns true if seen.
bool wait_stdin(long seconds, const char* needle) {
    const long long deadline = now_ns() + seconds * 1000000000LL;
    char buf[4096];
    std::size_t have = 0;
    for (;;) {
        const long long left_ms = (deadline - now_ns()) / 1000000;
        if (left_ms <= 0) return false;
        pollfd p{0, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left_ms));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        const ssize_t n = ::read(0, buf + have, sizeof buf - 1 - have);
        if (n <= 0) return false;  // the runner closed our stdin
        have += static_cast<std::size_t>(n);
        buf[have] = '\0';
        if (needle && std::strstr(buf, needle)) return true;
        // Keep only the last partial line.
        char* last_nl = static_cast<char*>(::memrchr(buf, '\n', have));
        if (last_nl) {
            const std::size_t keep = have - static_cast<std::size_t>(last_nl + 1 - buf);
            std::memmove(buf, last_nl + 1, keep);
            have = keep;
        }
        if (have >= sizeof buf - 1) have = 0;
    }
}

}  // namespace

int main() {
    started_ns = now_ns();
    const char* what = std::getenv("SW_BENCH_WORKER");
    if (!what) what = "hello";
    const char* report_file = std::getenv("SW_BENCH_REPORT");
    static const char hello[] =
        "~{\"type\":\"hello\",\"capabilities\":[\"graceful-termination\",\"log\","
        "\"error-report\",\"shutdown\",\"new-credentials\"]}\n";
    put(hello, sizeof hello - 1);
    flush_out();

    const char* colon = std::strchr(what, ':');
    const long arg = colon ? std::strtol(colon + 1, nullptr, 10) : 0;
    const std::size_t kind_len = colon ? static_cast<std::size_t>(colon - what) : std::strlen(what);
    auto is = [&](const char* k) {
        return std::strlen(k) == kind_len && std::strncmp(what, k, kind_len) == 0;
    };

    if (is("lines") || is("log")) {
        const bool proto = is("log");
        char line[160];
        for (long i = 0; i < arg; ++i) {
            const int n =
                proto ? std::snprintf(line, sizeof line,
                                      "~{\"type\":\"log\",\"body\":{\"textPayload\":\"bench "
                                      "message %07ld: task 42 step ok\"}}\n",
                                      i)
                      : std::snprintf(line, sizeof line,
                                      "bench line %07ld: [taskcluster 2026-01-01T00:00:00Z] "
                                      "step ok\n",
                                      i);
            if (!put(line, static_cast<std::size_t>(n))) break;
        }
        flush_out();
    } else if (is("idle")) {
        wait_stdin(arg, nullptr);
    } else if (is("graceful")) {
        // The message, not the capability in the welcome: both runners write compact JSON.
        if (wait_stdin(arg, "\"type\":\"graceful-termination\"")) graceful_ns = now_ns();
    } else if (!is("hello")) {
        std::fprintf(stderr, "bench-worker: unknown SW_BENCH_WORKER %s\n", what);
        report(report_file);
        return 64;
    }
    report(report_file);
    return 0;
}
