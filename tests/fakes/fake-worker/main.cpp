// fake-worker: a stand-in for generic-worker and docker-worker, for integration tests and the
// demo. It speaks the worker-runner protocol on stdin/stdout and does what its environment says.
//
// Command lines accepted (anything else: exit 64):
//   fake-worker run --config <path> --with-worker-runner     (generic-worker)
//   fake-worker --host worker-runner production              (docker-worker; config path from
//                                                            DOCKER_WORKER_CONFIG)
//
// Environment:
//   FAKE_WORKER_RECORD=<file>  append one JSON object per line for every event (format below)
//   FAKE_WORKER_CAPS=a,b,c     capabilities sent in hello; "none" = []; default:
//                              graceful-termination,new-credentials,log,error-report,shutdown
//   FAKE_WORKER_NO_HELLO=1     never answer welcome with hello
//   FAKE_WORKER_STDIN=stalled  do not read stdin (until a read-stdin step): at start, shrink
//                              the stdin pipe to 4096 bytes (F_SETPIPE_SZ) and fill it up
//                              (lines of 'f', through /proc/self/fd/0), so that the runner's
//                              next write blocks; send hello at once (welcome cannot be read)
//                              unless FAKE_WORKER_NO_HELLO=1. Records "stdin-stalled" with
//                              pipe_size and filled (bytes)
//   FAKE_WORKER_SCRIPT=steps   ';'-separated steps, run in order (TEXT cannot contain ';'):
//     sleep:MS                 sleep MS milliseconds (not interrupted by messages)
//     log:TEXT                 send ~{"type":"log","body":{"textPayload":TEXT}}
//     raw:TEXT                 write TEXT as a plain stdout line (not a protocol message)
//     stderr:TEXT              write TEXT as a line on stderr
//     error-report:KIND:TITLE  send an error-report (description "fake-worker error report",
//                              extra {"source":"fake-worker"})
//     error-flood:N:BYTES      send N error-reports as fast as possible, each with a
//                              description of BYTES bytes (not recorded one by one)
//     fds                      record the open descriptors ("fds" event)
//     bulk:MIB                 write MIB MiB of plain output, in lines of 2 MiB (over-long:
//                              the runner skips them)
//     close-stdout             close stdout (the protocol's output) and keep running
//     grandchild:MS            start `sleep` for MS ms that keeps stdout and stderr open (its
//                              pid recorded as "grandchild")
//     crash                    die of SIGSEGV
//     shutdown                 send ~{"type":"shutdown"}
//     autologin:USER           send ~{"type":"autologin","username":USER}
//     hello                    send hello now (with FAKE_WORKER_NO_HELLO=1: a late hello)
//     flood:N                  send N log messages as fast as possible ("flood i/N")
//     oversize:N               write one stdout line of N 'x' bytes
//     garbage:N                write N pseudo-random bytes (no newline inside), then '\n'
//     wait-graceful            block until a graceful-termination has arrived
//     wait-file:PATH           block until PATH exists (polled every 20 ms)
//     read-stdin               start reading stdin (after FAKE_WORKER_STDIN=stalled)
//     wait-credentials         block until a new-credentials arrives (each call waits for
//                              one more than the previous call consumed)
//     ignore-term              from now on SIGTERM/SIGINT are recorded and ignored
//     ignore-graceful          graceful-termination no longer ends the worker
//     exit:CODE                exit now with CODE
//   Unknown steps are recorded ("bad-step") and skipped.
//
// After the script: if a graceful-termination arrived (and ignore-graceful was not given),
// exit 0; otherwise wait until one arrives (exit 0) or stdin reaches EOF (exit 0). A wait-*
// step that sees stdin EOF also exits 0. SIGTERM/SIGINT (unless ignored) are recorded and
// then kill the process with that signal.
//
// Record format (FAKE_WORKER_RECORD): one JSON object per line, always with
//   "t": milliseconds since the Unix epoch, "event": one of
//   "start"      argv: [..], mode: "generic-worker"|"docker-worker", pid
//   "config"     path, mode: "0600" (file permission bits, octal), config: <parsed JSON>
//                or error: "<why>"
//   "received"   type, message: the whole message object (type included)
//   "sent"       type, message
//   "text"       line: a non-protocol line read on stdin (bytes >= 0x80 shown as '?')
//   "oversize"   skipped: byte count of an over-long stdin line
//   "stdin-eof"
//   "step"       step: the script step about to run; "bad-step" step: an unknown one
//   "signal"     signal: "SIGTERM"|"SIGINT", ignored: bool
//   "fds"        fds: [n, ...] the descriptors open in the worker (from /proc/self/fd),
//                targets: {"n": what /proc/self/fd/n links to}
//   "exit"       code, reason
#include "lib/protocol/codec.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <pthread.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace json = boost::json;
using sw::protocol::message;

// ---- recording ------------------------------------------------------------------------------

int record_fd = -1;

long long now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // the reader went away: nothing useful to do
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// One line per event, written with a single write() on an O_APPEND descriptor, so lines from
/// different threads never interleave.
void record(std::string_view event, json::object fields = {}) {
    if (record_fd < 0) return;
    json::object ev{{"t", now_ms()}, {"event", event}};
    for (auto& kv : fields) ev.emplace(kv.key(), std::move(kv.value()));
    std::string line = json::serialize(ev);
    line += '\n';
    write_all(record_fd, line);
}

std::string printable(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    return out;
}

[[noreturn]] void finish(int code, std::string_view reason) {
    record("exit", {{"code", code}, {"reason", reason}});
    ::_exit(code);  // no static destructors while the reader thread is blocked in read()
}

// ---- protocol output ------------------------------------------------------------------------

std::mutex out_mu;

void send_line(std::string_view line) {
    std::lock_guard lock(out_mu);
    write_all(STDOUT_FILENO, line);
}

void send(message m) {
    json::object whole = m.properties;
    whole["type"] = m.type;
    record("sent", {{"type", m.type}, {"message", std::move(whole)}});
    send_line(sw::protocol::encode(m));
}

std::vector<std::string> capabilities_from_env() {
    const char* env = std::getenv("FAKE_WORKER_CAPS");
    if (!env) return {"graceful-termination", "new-credentials", "log", "error-report", "shutdown"};
    std::vector<std::string> caps;
    if (std::string_view(env) == "none") return caps;
    std::stringstream ss(env);
    std::string c;
    while (std::getline(ss, c, ','))
        if (!c.empty()) caps.push_back(c);
    return caps;
}

void send_hello() {
    json::array caps;
    for (const auto& c : capabilities_from_env()) caps.emplace_back(c);
    message m;
    m.type = "hello";
    m.properties["capabilities"] = std::move(caps);
    send(std::move(m));
}

// ---- shared state between the stdin reader and the script -----------------------------------

std::mutex mu;
std::condition_variable cv;
bool graceful_received = false;
int credentials_received = 0;
bool stdin_eof = false;
std::atomic<bool> ignore_term{false};
std::atomic<bool> ignore_graceful{false};

void on_message(message&& m) {
    json::object whole = m.properties;
    whole["type"] = m.type;
    record("received", {{"type", m.type}, {"message", std::move(whole)}});
    if (m.type == "welcome") {
        const char* no_hello = std::getenv("FAKE_WORKER_NO_HELLO");
        if (!no_hello || std::string_view(no_hello) != "1") send_hello();
        return;
    }
    std::lock_guard lock(mu);
    if (m.type == "graceful-termination") graceful_received = true;
    if (m.type == "new-credentials") ++credentials_received;
    cv.notify_all();
}

void read_stdin() {
    sw::protocol::line_decoder decoder({on_message,
                                        [](std::string_view line) {
                                            record("text", {{"line", printable(line)}});
                                        },
                                        [](std::size_t skipped) {
                                            record("oversize", {{"skipped", skipped}});
                                        }});
    char buf[4096];
    while (true) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        decoder.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
    decoder.finish();
    record("stdin-eof");
    std::lock_guard lock(mu);
    stdin_eof = true;
    cv.notify_all();
}

/// Starts the stdin reader thread, once.
void start_reading_stdin() {
    static std::once_flag once;
    std::call_once(once, [] { std::thread(read_stdin).detach(); });
}

/// FAKE_WORKER_STDIN=stalled: shrinks the stdin pipe to one page and fills it (writing through
/// a second descriptor of the same pipe), so whatever the runner writes next waits.
void stall_stdin() {
    json::object ev;
    const int size = ::fcntl(STDIN_FILENO, F_SETPIPE_SZ, 4096);
    ev["pipe_size"] = size;
    if (size < 0) ev["error"] = std::string("F_SETPIPE_SZ: ") + std::strerror(errno);
    long long filled = 0;
    const int w = ::open("/proc/self/fd/0", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w < 0) {
        ev["error"] = std::string("opening /proc/self/fd/0: ") + std::strerror(errno);
    } else {
        const std::string line = std::string(255, 'f') + "\n";
        while (true) {
            const ssize_t n = ::write(w, line.data(), line.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            filled += n;
        }
        ::close(w);
    }
    ev["filled"] = filled;
    record("stdin-stalled", std::move(ev));
}

// ---- signals --------------------------------------------------------------------------------

void handle_signals(sigset_t set) {
    while (true) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        const bool ignored = ignore_term.load();
        record("signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}, {"ignored", ignored}});
        if (ignored) continue;
        record("exit", {{"code", 128 + sig}, {"reason", "killed by signal"}});
        // Die of the signal itself, so the parent sees WIFSIGNALED as with a real worker.
        ::signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
        ::raise(sig);
        ::_exit(128 + sig);
    }
}

// ---- the script -----------------------------------------------------------------------------

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto pos = s.find(sep, start);
        parts.emplace_back(s.substr(start, pos == std::string_view::npos ? s.npos : pos - start));
        if (pos == std::string_view::npos) break;
        start = pos + 1;
    }
    return parts;
}

bool to_number(std::string_view s, long long& out) {
    if (s.empty() || s.size() > 12) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    return true;
}

message log_message(std::string text) {
    message m;
    m.type = "log";
    m.properties["body"] = json::object{{"textPayload", std::move(text)}};
    return m;
}

/// Records the descriptors open in this process, read from /proc/self/fd (the directory's own
/// descriptor left out).
void record_fds() {
    json::array fds;
    json::object targets;
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) {
        record("fds", {{"error", std::strerror(errno)}});
        return;
    }
    const int own = ::dirfd(d);
    while (const dirent* e = ::readdir(d)) {
        long long n = 0;
        if (!to_number(e->d_name, n) || n == own) continue;
        fds.emplace_back(n);
        char target[4096];
        const std::string link = std::string("/proc/self/fd/") + e->d_name;
        const ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
        targets[e->d_name] = len < 0 ? std::string("?") : std::string(target, std::size_t(len));
    }
    ::closedir(d);
    record("fds", {{"fds", std::move(fds)}, {"targets", std::move(targets)}});
}

void run_step(const std::string& step, int& credentials_consumed) {
    const auto colon = step.find(':');
    const std::string verb = step.substr(0, colon);
    const std::string arg = colon == std::string::npos ? "" : step.substr(colon + 1);
    long long n = 0;
    record("step", {{"step", step}});
    if (verb == "sleep" && to_number(arg, n)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(n));
    } else if (verb == "log") {
        send(log_message(arg));
    } else if (verb == "raw") {
        send_line(arg + "\n");
    } else if (verb == "stderr") {
        write_all(STDERR_FILENO, arg + "\n");
    } else if (verb == "error-report" && arg.find(':') != std::string::npos) {
        const auto sep = arg.find(':');
        message m;
        m.type = "error-report";
        m.properties["kind"] = arg.substr(0, sep);
        m.properties["title"] = arg.substr(sep + 1);
        m.properties["description"] = "fake-worker error report";
        m.properties["extra"] = json::object{{"source", "fake-worker"}};
        send(std::move(m));
    } else if (verb == "error-flood" && arg.find(':') != std::string::npos) {
        long long bytes = 0;
        const auto sep = arg.find(':');
        if (!to_number(arg.substr(0, sep), n) || !to_number(arg.substr(sep + 1), bytes)) {
            record("bad-step", {{"step", step}});
            return;
        }
        for (long long i = 1; i <= n; ++i) {
            message m;
            m.type = "error-report";
            m.properties["kind"] = "flood";
            m.properties["title"] = "error flood " + std::to_string(i) + "/" + std::to_string(n);
            m.properties["description"] = std::string(static_cast<std::size_t>(bytes), 'e');
            m.properties["extra"] = json::object{{"i", i}};
            send_line(sw::protocol::encode(m));
        }
    } else if (verb == "bulk" && to_number(arg, n)) {
        const std::string line = std::string(std::size_t{2} << 20, 'b') + "\n";
        for (long long i = 0; i < n; i += 2) send_line(line);
    } else if (step == "close-stdout") {
        std::lock_guard lock(out_mu);
        ::close(STDOUT_FILENO);
    } else if (verb == "grandchild" && to_number(arg, n)) {
        const std::string seconds = std::to_string(static_cast<double>(n) / 1000.0);
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::execlp("sleep", "sleep", seconds.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        record("grandchild", {{"pid", static_cast<int>(pid)}});
    } else if (step == "crash") {
        record("exit", {{"code", 128 + SIGSEGV}, {"reason", "crash"}});
        ::signal(SIGSEGV, SIG_DFL);
        ::raise(SIGSEGV);
        ::_exit(128 + SIGSEGV);
    } else if (step == "fds") {
        record_fds();
    } else if (step == "shutdown") {
        send(message{"shutdown", {}});
    } else if (verb == "autologin" && !arg.empty()) {
        message m;
        m.type = "autologin";
        m.properties["username"] = arg;
        send(std::move(m));
    } else if (step == "hello") {
        send_hello();
    } else if (verb == "flood" && to_number(arg, n)) {
        // Not recorded one by one: the record file would dwarf what is being tested.
        for (long long i = 1; i <= n; ++i)
            send_line(sw::protocol::encode(
                log_message("flood " + std::to_string(i) + "/" + std::to_string(n))));
    } else if (verb == "oversize" && to_number(arg, n)) {
        send_line(std::string(static_cast<std::size_t>(n), 'x') + "\n");
    } else if (verb == "garbage" && to_number(arg, n)) {
        std::mt19937 rng(static_cast<unsigned>(n));
        std::string junk;
        for (long long i = 0; i < n; ++i) {
            char c = static_cast<char>(rng() & 0xff);
            junk += c == '\n' ? '~' : c;
        }
        send_line(junk + "\n");
    } else if (step == "wait-graceful") {
        std::unique_lock lock(mu);
        cv.wait(lock, [] { return graceful_received || stdin_eof; });
        if (!graceful_received) {
            lock.unlock();
            finish(0, "stdin closed while waiting for graceful-termination");
        }
    } else if (step == "wait-credentials") {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return credentials_received > credentials_consumed || stdin_eof; });
        if (credentials_received <= credentials_consumed) {
            lock.unlock();
            finish(0, "stdin closed while waiting for new-credentials");
        }
        ++credentials_consumed;
    } else if (verb == "wait-file" && !arg.empty()) {
        struct stat st {};
        while (::stat(arg.c_str(), &st) != 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else if (step == "read-stdin") {
        start_reading_stdin();
    } else if (step == "ignore-term") {
        ignore_term = true;
    } else if (step == "ignore-graceful") {
        ignore_graceful = true;
    } else if (verb == "exit" && to_number(arg, n)) {
        finish(static_cast<int>(n & 0xff), "script");
    } else if (!step.empty()) {
        record("bad-step", {{"step", step}});
    }
}

void record_config(const std::string& path) {
    json::object ev{{"path", path}};
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        ev["mode"] = mode;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ev["error"] = std::string("cannot read: ") + std::strerror(errno);
        record("config", std::move(ev));
        return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    auto v = json::parse(ss.str(), ec);
    if (ec)
        ev["error"] = "not JSON: " + ec.message();
    else
        ev["config"] = std::move(v);
    record("config", std::move(ev));
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* path = std::getenv("FAKE_WORKER_RECORD"))
        record_fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ::signal(SIGPIPE, SIG_IGN);

    const std::vector<std::string> args(argv + 1, argv + argc);
    json::array argv_json;
    for (const auto& a : args) argv_json.emplace_back(a);

    std::string mode, config_path;
    if (args.size() == 4 && args[0] == "run" && args[1] == "--config" &&
        args[3] == "--with-worker-runner") {
        mode = "generic-worker";
        config_path = args[2];
    } else if (args.size() == 3 && args[0] == "--host" && args[1] == "worker-runner" &&
               args[2] == "production") {
        mode = "docker-worker";
        const char* env = std::getenv("DOCKER_WORKER_CONFIG");
        config_path = env ? env : "";
    }
    record("start", {{"argv", argv_json}, {"mode", mode}, {"pid", static_cast<int>(::getpid())}});
    if (mode.empty()) {
        write_all(STDERR_FILENO,
                  "usage: fake-worker run --config <path> --with-worker-runner\n"
                  "       fake-worker --host worker-runner production\n");
        finish(64, "usage");
    }
    if (config_path.empty())
        record("config", {{"path", ""}, {"error", "DOCKER_WORKER_CONFIG not set"}});
    else
        record_config(config_path);

    // Signals go to one thread that can record them; block them everywhere else first.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(handle_signals, set).detach();
    const char* stdin_mode = std::getenv("FAKE_WORKER_STDIN");
    if (stdin_mode && std::string_view(stdin_mode) == "stalled") {
        stall_stdin();
        const char* no_hello = std::getenv("FAKE_WORKER_NO_HELLO");
        if (!no_hello || std::string_view(no_hello) != "1") send_hello();
    } else {
        start_reading_stdin();
    }

    int credentials_consumed = 0;
    if (const char* script = std::getenv("FAKE_WORKER_SCRIPT"))
        for (const auto& step : split(script, ';')) run_step(step, credentials_consumed);

    std::unique_lock lock(mu);
    cv.wait(lock, [] { return (graceful_received && !ignore_graceful) || stdin_eof; });
    const bool graceful = graceful_received && !ignore_graceful;
    lock.unlock();
    finish(0, graceful ? "graceful-termination" : "stdin closed");
}
