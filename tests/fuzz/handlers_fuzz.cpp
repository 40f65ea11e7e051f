// libFuzzer target: the worker protocol's message handlers and what the lifecycle makes of them
// (issue 14). A machine is driven to the running stage from a fixed cloud configuration; then
// every input line is either a worker output line, fed through the daemon's decoder
// (protocol::line_decoder with transient messages, as daemon/worker_channel.cpp reads) and
// state::interpret(), with the result performed as the worker channel performs it (events to
// the machine, error-reports to a tc::report_queue), or, when it starts with '!', an event of
// the shell's (time passing, signals, the worker's exit, completions of the operations the
// machine started). Invariants, checked after every step, each of which a wrong machine breaks:
//  1. no exception escapes (libFuzzer reports an uncaught one);
//  2. actions are well-formed: only running-stage actions; an operation never started while the
//     same one is in flight; a cancel targets an operation in flight; the exit is the last
//     action, comes once, and nothing follows it; stop commands carry a reason;
//  3. stopping never goes backwards: stopping_level() never decreases; no graceful-termination
//     finish-tasks:true after a finish-tasks:false/SIGTERM, no softer command after a SIGKILL;
//  4. credentials are written to the worker (send_new_credentials) only after a hello whose
//     negotiated capabilities (the last hello's) include new-credentials, and only while the
//     worker runs; graceful-termination likewise needs the capability; nothing at all is sent
//     to a worker whose exit was reported;
//  5. READY=1 (notify_ready) once at most, and only after a hello or the hello timeout;
//  6. the shell never spins: after a tick at `now`, next_deadline() is later than `now` (a past
//     deadline makes the shell tick again at once; two such ticks in a row are a busy loop);
//  7. the negotiated capabilities are a subset of what the runner offers;
//  8. the error-report queue stays within its bounds whatever the worker sends.
//
// Control lines ('!' first; a worker line starting with '!' is thus not tried, which costs
// nothing: plain text is only logged):
//   !W (first line only) stay in starting_worker until !w: hello and exit may come before the
//      shell reports worker_started
//   !S (first line only) a static provider (not dynamic: no removeWorker, no host shutdown)
//   !t<sec> time passes, tick          !d  time jumps to next_deadline(), tick
//   !s signal (SIGTERM)                !x<code> the worker exits
//   !r<sec> reregister ok, new credentials valid <sec>   !f<class> reregister failed
//   !c<k> stop check done: 0 keep, 1 terminate, 2 failed, 3 deploymentId changed
//   !n<sec> termination notice (deadline in <sec>; none without digits)
//   !e a runner task failed            !R removed  !F removeWorker failed  !H/!h host action ok/not
//   !q the report in flight finished   !p a state write failed (full or read-only disk)
#include "lib/log/log.hpp"
#include "lib/protocol/codec.hpp"
#include "lib/tc/report_queue.hpp"
#include "state/lifecycle.hpp"
#include "state/worker_message.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sw::state::action;
using sw::state::event;
using A = sw::state::action_type;
using E = sw::state::event_type;
using sw::state::stage;
using sw::state::stop_level;

[[noreturn]] void broken(const char* invariant, std::string_view detail = {}) {
    std::fprintf(stderr, "handlers_fuzz: invariant broken: %s %.*s\n", invariant,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
}
void require(bool ok, const char* invariant, std::string_view detail = {}) {
    if (!ok) broken(invariant, detail);
}

/// A number from the digits after a control character (at most 9 of them), or `dflt`.
long number(std::string_view s, long dflt) {
    long n = 0;
    std::size_t i = 0;
    for (; i < s.size() && i < 9 && s[i] >= '0' && s[i] <= '9'; ++i) n = n * 10 + (s[i] - '0');
    return i == 0 ? dflt : n;
}

struct driver {
    sw::state::lifecycle fsm;
    sw::protocol::negotiation nego{sw::state::local_capabilities(false)};
    sw::tc::report_queue reports;
    sw::time_point now = sw::time_point{} + std::chrono::hours(24 * 365 * 56);
    sw::time_point started_at{};

    // What the shell knows (the model the invariants are checked against).
    std::set<A> in_flight;  ///< operations started and not completed or cancelled
    bool worker_started = false;
    bool worker_exited = false;  ///< worker_exited was fed
    bool hello_seen = false;     ///< a hello went to the machine
    bool ready = false;
    bool exited = false;          ///< the machine said exit
    bool soft_stop_over = false;  ///< finish-tasks:false or SIGTERM sent
    bool killed = false;
    stop_level level = stop_level::none;

    /// HANDLERS_FUZZ_TRACE=1: each event and the actions it gave, on stderr (for a finding).
    const bool trace = std::getenv("HANDLERS_FUZZ_TRACE") != nullptr;

    explicit driver(sw::state::lifecycle_options o) : fsm(std::move(o)) {}

    void feed(event ev) {
        ev.now = now;
        const stage before = fsm.current();
        const auto acts = fsm.resume(ev);
        if (trace) {
            std::fprintf(stderr, "%s -> %s:", std::string(to_string(ev.type)).c_str(),
                         std::string(to_string(fsm.current())).c_str());
            for (const auto& a : acts)
                std::fprintf(stderr, " %s(%s)", std::string(to_string(a.type)).c_str(),
                             a.reason.c_str());
            std::fprintf(stderr, "\n");
        }
        if (before == stage::done) require(acts.empty(), "nothing after the end");
        if (ev.type == E::worker_exited) worker_exited = true;
        for (std::size_t i = 0; i < acts.size(); ++i) check(acts[i], i + 1 == acts.size());
        require(fsm.stopping_level() >= level, "stop level never decreases");
        level = fsm.stopping_level();
        require(!exited || fsm.current() == stage::done, "exit ends the run");
        (void)fsm.status();
    }

    void check(const action& a, bool last) {
        require(!exited, "no action after exit", to_string(a.type));
        switch (a.type) {
            case A::check_termination:
            case A::load_state:
            case A::configure_provider:
            case A::resume_provider:
            case A::register_worker:
            case A::fetch_secrets:
            case A::prepare_worker:
            case A::start_worker:
                if (worker_started)
                    broken("a start-up operation after the worker started", to_string(a.type));
                break;
            case A::cancel:
                require(sw::state::is_operation(a.target) && in_flight.count(a.target) == 1,
                        "cancel targets an operation in flight", to_string(a.target));
                in_flight.erase(a.target);
                break;
            case A::send_new_credentials:
                require(hello_seen, "credentials to the worker only after its hello");
                require(nego.capable("new-credentials"),
                        "credentials only to a worker that negotiated new-credentials");
                require(!worker_exited, "nothing sent to a worker that exited");
                break;
            case A::send_graceful:
                require(hello_seen && nego.capable("graceful-termination"),
                        "graceful-termination only to a worker that negotiated it");
                require(!worker_exited, "nothing sent to a worker that exited");
                require(!a.reason.empty(), "a stop command says why");
                require(!killed, "no softer stop after SIGKILL");
                if (a.finish_tasks)
                    require(!soft_stop_over, "no finish-tasks:true after finish-tasks:false");
                else
                    soft_stop_over = true;
                break;
            case A::terminate_worker:
                require(!worker_exited, "nothing sent to a worker that exited");
                require(!a.reason.empty(), "a stop command says why");
                require(!killed, "no softer stop after SIGKILL");
                soft_stop_over = true;
                break;
            case A::kill_worker:
                require(!worker_exited, "nothing sent to a worker that exited");
                require(!a.reason.empty(), "a stop command says why");
                killed = true;
                break;
            case A::notify_ready:
                require(!ready, "READY=1 once");
                require(hello_seen || now >= started_at + fsm.options().hello_timeout,
                        "READY=1 only after hello or its timeout");
                ready = true;
                break;
            case A::exit:
                require(last, "exit is the last action of its batch");
                exited = true;
                break;
            default:
                break;
        }
        if (sw::state::is_operation(a.type) && !(a.dry_run)) {
            require(in_flight.count(a.type) == 0, "an operation is not started twice at once",
                    to_string(a.type));
            in_flight.insert(a.type);
        }
    }

    /// Feeds `ev` when the operation `op` is in flight (the shell reports only what it ran).
    void complete(A op, event ev) {
        if (in_flight.erase(op) == 1) feed(std::move(ev));
    }

    /// Moves the clock on, no further than 2200 (a wall clock's nanoseconds since 1970 end in
    /// 2262; the machine adds timeouts and lifetimes to `now`).
    void advance(std::chrono::seconds by) {
        const auto limit = sw::time_point{} + std::chrono::hours(24 * 365 * 230);
        now = by < limit - now ? now + by : limit;
    }

    void tick() {
        event ev;
        ev.type = E::tick;
        feed(ev);
        // A deadline left in the past makes the shell tick again at once: allowed once (a
        // deadline set to `now` by the tick itself), never twice in a row.
        for (int again = 0; again < 2; ++again) {
            const auto d = fsm.next_deadline();
            if (!d || *d > now || fsm.current() == stage::done) return;
            feed(ev);
        }
        const auto d = fsm.next_deadline();
        require(!d || *d > now || fsm.current() == stage::done,
                "the shell never spins: a past deadline is handled by the tick");
    }

    void control(std::string_view line) {
        const char c = line.size() > 1 ? line[1] : '\0';
        const std::string_view arg = line.size() > 2 ? line.substr(2) : std::string_view{};
        event ev;
        switch (c) {
            case 't':
                advance(std::chrono::seconds(number(arg, 1)));
                tick();
                return;
            case 'd':
                if (const auto d = fsm.next_deadline(); d && *d > now) now = *d;
                tick();
                return;
            case 's':
                ev.type = E::signal;
                feed(ev);
                return;
            case 'w':
                if (in_flight.count(A::start_worker)) start_worker();
                return;
            case 'x':
                // The shell reports the exit once (wait_exit), whatever the stage.
                if (worker_exited) return;
                ev.type = E::worker_exited;
                ev.exit_status = static_cast<int>(number(arg, 0) % 256);
                feed(ev);
                worker_exited = true;
                return;
            case 'r':
                ev.type = E::reregistered;
                ev.deadline = now + std::chrono::seconds(number(arg, 3600));
                complete(A::reregister, ev);
                return;
            case 'f':
                ev.type = E::reregister_failed;
                ev.failure = static_cast<sw::state::failure_class>(
                    number(arg, 0) % (static_cast<long>(sw::state::failure_class::internal) + 1));
                ev.reason = "reregisterWorker failed";
                complete(A::reregister, ev);
                return;
            case 'c':
                ev.type = E::stop_check_result;
                switch (number(arg, 0) % 4) {
                    case 1:
                        ev.terminate = true;
                        ev.reason = "shouldWorkerTerminate said so";
                        break;
                    case 2:
                        ev.ok = false;
                        break;
                    case 3:
                        ev.deployment_id = "changed";
                        break;
                    default:
                        ev.deployment_id = "d1";
                        break;
                }
                complete(A::stop_check, ev);
                return;
            case 'n':
                ev.type = E::notice;
                if (!arg.empty()) ev.deadline = now + std::chrono::seconds(number(arg, 120));
                ev.reason = "spot";
                feed(ev);
                return;
            case 'e':
                ev.type = E::failed;
                ev.reason = "reading the worker's output: broken pipe";
                feed(ev);
                return;
            case 'p':
                // A persist the shell could not carry out (a full or read-only disk).
                ev.type = E::state_write_failed;
                ev.reason = "the state file cannot be written: No space left on device";
                feed(ev);
                return;
            case 'R':
                ev.type = E::removed;
                complete(A::remove_worker, ev);
                return;
            case 'F':
                ev.type = E::remove_failed;
                ev.reason = "HTTP 500";
                complete(A::remove_worker, ev);
                return;
            case 'H':
            case 'h':
                ev.type = E::host_action_done;
                ev.ok = c == 'H';
                if (!ev.ok) ev.reason = "exit status 1";
                if (in_flight.count(A::shutdown_host))
                    complete(A::shutdown_host, ev);
                else
                    complete(A::reboot_host, ev);
                return;
            case 'q':
                if (reports.in_flight()) {
                    reports.finish();
                    (void)reports.start_next();
                }
                return;
            default:
                return;
        }
    }

    /// What worker_channel::on_message does with a decoded message, the logging left out
    /// (lib/log's writer is a thread; its formatting of a structured body is pure and kept).
    void on_message(sw::protocol::message&& m) {
        auto in = sw::state::interpret(m, nego);
        for (const auto& c : nego.remote().list())
            if (nego.capable(c))
                require(nego.local().has(c), "negotiated capabilities are offered ones", c);
        using kind = sw::state::worker_input::kind;
        switch (in.what) {
            case kind::hello:
                require(in.ev.type == E::hello, "a hello is a hello event");
                hello_seen = true;
                feed(in.ev);
                break;
            case kind::shutdown:
                require(in.ev.type == E::shutdown_requested, "a shutdown is shutdown_requested");
                feed(in.ev);
                break;
            case kind::log:
                require(in.log_body != nullptr, "a log message has a body");
                (void)sw::log::to_unstructured(*in.log_body);
                break;
            case kind::error_report: {
                (void)reports.push(std::move(in.report));
                (void)reports.start_next();
                const sw::tc::report_queue::limits lim;
                require(reports.pending() <= lim.max_pending &&
                            reports.pending_bytes() <= lim.max_pending_bytes,
                        "the error-report queue stays bounded");
                break;
            }
            case kind::autologin:  // the daemon configures automatic logon: no event
                break;
            case kind::ignored:
                require(!in.warning.empty(), "an ignored message is said");
                break;
        }
    }

    void start_worker() {
        started_at = now;
        worker_started = true;
        in_flight.erase(A::start_worker);
        event ev;
        ev.type = E::worker_started;
        feed(ev);
    }

    /// A fresh start up to starting_worker, each operation answered with success.
    void run_to_starting() {
        event ev;
        ev.type = E::start;
        feed(ev);
        for (int guard = 0; guard < 20 && fsm.current() != stage::starting_worker; ++guard) {
            event next;
            switch (fsm.current()) {
                case stage::checking_termination:
                    next.type = E::termination_checked;
                    complete(A::check_termination, next);
                    break;
                case stage::loading_state:
                    next.type = E::state_missing;
                    complete(A::load_state, next);
                    break;
                case stage::configuring:
                    next.type = E::provider_configured;
                    complete(A::configure_provider, next);
                    break;
                case stage::registering:
                    next.type = E::registered;
                    next.deadline = now + 4h;
                    complete(A::register_worker, next);
                    break;
                case stage::fetching_secrets:
                    next.type = E::secrets_fetched;
                    complete(A::fetch_secrets, next);
                    break;
                case stage::preparing:
                    next.type = E::worker_prepared;
                    next.deployment_id = "d1";
                    complete(A::prepare_worker, next);
                    break;
                default:
                    broken("start-up does not reach starting_worker", to_string(fsm.current()));
            }
        }
        require(fsm.current() == stage::starting_worker, "start-up reaches starting_worker");
        // start_worker's completion, worker_started, is fed by start_worker() (at once, or !w).
    }
};

sw::state::lifecycle_options options(bool dynamic) {
    sw::state::lifecycle_options o;
    o.dynamic = dynamic;
    o.registers = true;
    o.can_register_again = dynamic;
    o.check_termination_at_boot = dynamic;
    o.cache = true;
    o.stop_check_interval = 60s;
    o.graceful_stop_timeout = 900s;
    o.kill_timeout = 30s;
    o.hello_timeout = 30s;
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto first_line = [&] { return bytes.substr(0, bytes.find('\n')); };
    bool late_start = false, dynamic = true;
    for (int i = 0; i < 2; ++i) {
        const auto l = first_line();
        if (l != "!W" && l != "!S") break;
        if (l == "!W") late_start = true;
        if (l == "!S") dynamic = false;
        bytes.remove_prefix(std::min(bytes.size(), l.size() + 1));
    }
    driver d(options(dynamic));
    d.run_to_starting();
    if (!late_start) d.start_worker();

    // As daemon/worker_channel.cpp reads: transient messages, the default line limit.
    sw::protocol::line_decoder dec({[&](sw::protocol::message&& m) { d.on_message(std::move(m)); },
                                    [](std::string_view) {}, [](std::size_t) {}, true});
    while (!bytes.empty()) {
        const auto nl = bytes.find('\n');
        const std::string_view line =
            nl == std::string_view::npos ? bytes : bytes.substr(0, nl + 1);
        bytes.remove_prefix(line.size());
        if (line[0] == '!')
            d.control(line.substr(0, line.find('\n')));
        else
            dec.feed(line);
    }
    dec.finish();
    return 0;
}
