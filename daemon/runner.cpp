// The run loop and action dispatch. The parts it dispatches to, one file each:
// worker_channel (the worker's process and protocol), taskcluster_actions, provider_actions,
// local_actions (state file, worker files, autologin), observability (sd_notify, health),
// operations (one cancellation slot per action; completions become events).
#include "daemon/runner.hpp"

#include "daemon/exit_status.hpp"
#include "daemon/local_actions.hpp"
#include "daemon/observability.hpp"
#include "daemon/operations.hpp"
#include "daemon/provider_actions.hpp"
#include "daemon/session.hpp"
#include "daemon/taskcluster_actions.hpp"
#include "daemon/worker_channel.hpp"
#include "lib/common/error.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "platform/fs.hpp"
#include "platform/process.hpp"
#include "platform/system.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <deque>
#include <optional>

namespace sw::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using state::action;
using state::action_type;
using state::event;
using state::event_type;
using namespace std::chrono_literals;

struct runner::impl {
    session s;
    operations ops;
    taskcluster_actions tc;
    provider_actions prov;
    local_actions local;
    worker_channel worker;
    observability obs;

    workers::start_plan plan;
    std::deque<event> events;
    asio::steady_timer wake;
    asio::signal_set signals;
    /// Logged and otherwise ignored (platform::signals_to_ignore): a stray SIGHUP must not end
    /// the runner and leave the worker running.
    asio::signal_set ignored_signals;

    std::deque<action> actions;     ///< to perform, in order
    bool waiting_in_order = false;  ///< an action the rest of its batch waits for is in flight
    std::optional<action> exit_;    ///< the machine said exit

    impl(asio::io_context& io, config::runner_config cfg, context ctx)
        : s(io, std::move(cfg), std::move(ctx)),
          ops(io, [this](event ev) { push(std::move(ev)); }),
          tc(s, ops),
          prov(s),
          local(s, [this](std::string why) { report(std::move(why)); }),
          worker(s, ops,
                 {[this](event ev) { push(std::move(ev)); },
                  [this](tc::error_report r) { tc.queue_report(std::move(r)); },
                  [this](const std::string& user, const std::optional<std::string>& pw) {
                      local.configure_autologin(user, pw);
                  }}),
          obs(s),
          wake(io),
          signals(io, SIGTERM, SIGINT),
          ignored_signals(io) {
        for (const int sig : platform::signals_to_ignore()) ignored_signals.add(sig);
    }

    /// What the state machine needs to know, from the config and from what the provider and
    /// the worker implementation say about themselves.
    state::lifecycle_options make_options() const {
        const auto& cfg = s.cfg;
        state::lifecycle_options o;
        o.once = s.ctx.once;
        o.dynamic = s.provider->dynamic();
        o.registers = s.provider->registers();
        o.can_register_again = s.provider->can_reregister_from_scratch();
        // Every cloud's metadata can say "going away" before anything is registered.
        o.check_termination_at_boot = s.provider->dynamic();
        o.get_secrets = cfg.get_secrets;
        o.cache = !cfg.cache_over_restarts.empty();
        o.has_process = s.worker->has_process();
        o.stop_check_interval = cfg.lifecycle.stop_check_interval;
        o.graceful_stop_timeout = cfg.lifecycle.graceful_stop_timeout;
        o.kill_timeout = cfg.lifecycle.kill_timeout;
        o.reboot_exit_codes = cfg.lifecycle.reboot_exit_codes;
        o.startup_failure_shutdown_delay = cfg.lifecycle.startup_failure_shutdown_delay;
        return o;
    }

    // ---- events ---------------------------------------------------------------------------

    void push(event ev) {
        events.push_back(std::move(ev));
        wake.cancel();
    }

    void report(std::string reason) { tc.report_error(std::move(reason)); }

    // ---- the run loop ---------------------------------------------------------------------

    awaitable<int> run() {
        const auto& cfg = s.cfg;
        log::info("Starting start-worker with provider {} and worker {}", cfg.provider_type,
                  cfg.worker_implementation);
        for (const auto& k : cfg.unknown_keys) log::warn("Ignoring unknown config key {}", k);
        if (!cfg.cache_over_restarts.empty()) s.store.emplace(cfg.cache_over_restarts);
        providers::apply_environment(s.pctx);
        s.pctx.time_scale = s.ctx.time_scale;
        try {
            s.provider = providers::make_provider(cfg, s.pctx);
            s.worker = workers::make_worker(cfg);
            s.fsm.emplace(make_options());
            obs.start_health();
        } catch (const failure& f) {
            log::error("{}", f.what());
            co_return to_int(exit_code_for(f.code()));
        }
        platform::disable_oom_killer();
        ops.start("watching for stop signals", op_kind::background, watch_signals());
        ops.start("ignoring other signals", op_kind::background, ignore_signals());
        ops.start("watching the runner config", op_kind::background, watch_config());
        obs.start_watchdog(ops);

        push(make_event(event_type::start));
        std::string status;  ///< the last STATUS= sent
        while (!exit_) {
            if (events.empty()) {
                co_await sleep_until_event();
                if (events.empty()) push(make_event(event_type::tick));
            }
            event ev = std::move(events.front());
            events.pop_front();
            ev.now = real_clock().now();
            auto acts = s.fsm->resume(ev);
            if (auto now_status = s.fsm->status(); now_status != status) {
                status = std::move(now_status);
                log::info("Status: {}", status);
                obs.status(status);
            }
            for (auto& a : acts) actions.push_back(std::move(a));
            perform_ready();
        }
        co_return co_await finish(*exit_);
    }

    /// Sleeps until an event arrives or the machine's next deadline passes. Deadlines are wall
    /// clock; the sleep is cut into pieces of at most a minute so a suspend or a clock jump is
    /// noticed promptly (taskcluster#5269).
    awaitable<void> sleep_until_event() {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(60s);
        if (auto d = s.fsm->next_deadline()) {
            const auto until =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d - real_clock().now());
            wait = std::clamp(until, std::chrono::milliseconds(0), wait);
        }
        wake.expires_after(wait);
        boost::system::error_code ec;
        co_await wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }

    awaitable<std::optional<event>> watch_signals() {
        while (true) {
            const int sig = co_await signals.async_wait(use_awaitable);
            log::info("Received signal {}", platform::signal_name(sig));
            push(make_event(event_type::signal));
        }
    }

    awaitable<std::optional<event>> ignore_signals() {
        while (true) {
            const int sig = co_await ignored_signals.async_wait(use_awaitable);
            log::warn(
                "Ignoring signal {} ({}): SIGTERM or SIGINT stop the worker; a changed runner "
                "config takes effect at the next start",
                sig, platform::signal_name(sig));
        }
    }

    /// The runner config is read once, at start: a change while running is ignored until the
    /// next start, and said once (issue 14's fault list). Looked at every minute (its size and
    /// modification time; scaled by the test hook), which costs two stat calls.
    awaitable<std::optional<event>> watch_config() {
        const std::string& path = s.cfg.source_path;
        if (path.empty()) co_return std::nullopt;
        const auto at_start = platform::stamp_of(path);
        if (!at_start) co_return std::nullopt;
        const auto every = std::max<std::chrono::milliseconds>(
            50ms, std::chrono::milliseconds(std::llround(60'000 * s.ctx.time_scale)));
        asio::steady_timer t(s.io);
        while (true) {
            t.expires_after(every);
            co_await t.async_wait(use_awaitable);  // cancellation ends the watch
            if (platform::stamp_of(path) != at_start) {
                log::warn(
                    "The runner config {} changed since start-worker started; the change is "
                    "ignored until the next start",
                    path);
                co_return std::nullopt;
            }
        }
    }

    awaitable<int> finish(const action& a) {
        s.finished = true;
        if (worker.started() && !worker.exited()) worker.kill("the runner is exiting");
        ops.cancel(op_kind::step);
        ops.cancel(op_kind::background);
        signals.cancel();
        ignored_signals.cancel();
        obs.stop();
        // An error report the worker sent just before exiting may still be on its way: it is
        // often the only trace of why the worker stopped, so give the queue a bounded moment
        // (one call at a time: each that ends starts the next).
        if (ops.in_flight(op_kind::report) > 0) {
            log::info("Waiting for {} error report(s) to be sent", 1 + s.reports.pending());
            co_await ops.settle(op_kind::report, 10s);
        }
        tc.close_reports();
        ops.cancel(op_kind::report);
        if (!co_await ops.settle(std::nullopt, 5s))
            log::warn("{} operation(s) did not end after cancellation", ops.in_flight());
        const int code = to_int(a.code);
        if (a.code == exit_code::ok)
            log::info("Exiting: {}", a.reason.empty() ? "done" : a.reason);
        else
            log::error("Exiting with code {}: {}", code, a.reason);
        co_return code;
    }

    // ---- actions ------------------------------------------------------------------------------

    /// Performs the queued actions in order until one must complete before the rest of its
    /// batch (an acknowledgement, an error report) or the machine says exit.
    void perform_ready() {
        while (!actions.empty() && !waiting_in_order && !exit_) {
            action a = std::move(actions.front());
            actions.pop_front();
            try {
                perform(a);
            } catch (const std::exception& e) {
                // An operation's failure is its completion; a command's own failure is logged
                // and does not change the run (state/lifecycle.hpp).
                if (state::is_operation(a.type))
                    push_failed(classify(e), e.what());
                else
                    log::error("{} failed: {}", to_string(a.type), e.what());
            }
        }
        if (exit_) wake.cancel();
    }

    void push_failed(state::failure_class c, std::string reason) {
        event ev;
        ev.type = event_type::failed;
        ev.failure = c;
        ev.reason = std::move(reason);
        push(std::move(ev));
    }

    /// An operation: its completion is the event (action_type documents which).
    void operation(const action& a, const char* what, awaitable<std::optional<event>> op,
                   op_kind kind = op_kind::step) {
        ops.start(what, kind, std::move(op), a.type);
    }

    /// A command whose I/O the rest of its batch waits for (best effort, bounded by its own
    /// timeouts; no event).
    void in_order(const char* what, awaitable<std::optional<event>> op) {
        waiting_in_order = true;
        ops.start(what, op_kind::step, std::move(op), std::nullopt, [this] {
            waiting_in_order = false;
            perform_ready();
        });
    }

    void perform(const action& a) {
        switch (a.type) {
            // ---- operations ----
            case action_type::check_termination:
                operation(a, "checking for a termination notice", prov.check_termination());
                break;
            case action_type::load_state: {
                auto ev = local.load_state();
                if (ev.type == event_type::state_loaded &&
                    ev.loaded_phase == state::phase::rebooting && s.autologin_user && !s.ctx.once)
                    ops.start("verifying autologin", op_kind::background,
                              local.verify_autologin(*s.autologin_user));
                push(std::move(ev));
                break;
            }
            case action_type::configure_provider:
                operation(a, "configuring the provider", prov.configure());
                break;
            case action_type::resume_provider:
                operation(a, "resuming with the cached run", prov.resume());
                break;
            case action_type::register_worker:
                operation(a, "registering", tc.register_worker());
                break;
            case action_type::reregister:
                operation(a, "renewing the credentials", tc.reregister(), op_kind::background);
                break;
            case action_type::fetch_secrets:
                operation(a, "fetching secrets", tc.fetch_secrets());
                break;
            case action_type::prepare_worker: {
                plan = local.prepare_worker(s.fsm->resumed());
                event ev = make_event(event_type::worker_prepared);
                ev.deployment_id = s.deployment_id;
                push(std::move(ev));
                break;
            }
            case action_type::start_worker:
                start_worker();
                break;
            case action_type::stop_check:
                operation(a, "checking whether to stop", tc.stop_check(), op_kind::background);
                break;
            case action_type::remove_worker:
                operation(a, "removing the worker", tc.remove_worker());
                break;
            case action_type::shutdown_host:
            case action_type::reboot_host: {
                const bool reboot = a.type == action_type::reboot_host;
                if (a.dry_run)
                    prov.log_dry_run(reboot, a.reason);
                else
                    operation(a, reboot ? "rebooting the host" : "shutting the host down",
                              prov.host_command(reboot, a.reason));
                break;
            }
            // ---- commands ----
            case action_type::cancel:
                ops.cancel(a.target);
                break;
            case action_type::persist:
                if (auto failed = local.persist(a.persist_phase)) push(std::move(*failed));
                break;
            case action_type::remove_state:
                local.remove_state(a.reason);
                break;
            case action_type::send_graceful:
                worker.send_graceful(a.finish_tasks, a.reason);
                break;
            case action_type::send_new_credentials:
                worker.send_new_credentials();
                local.rewrite_worker_config();  // keep the config file on disk current too
                break;
            case action_type::terminate_worker:
                worker.terminate(a.reason);
                break;
            case action_type::kill_worker:
                worker.kill(a.reason);
                break;
            case action_type::acknowledge_notice:
                in_order("acknowledging the termination notice", prov.acknowledge());
                break;
            case action_type::report_error:
                report(a.reason);
                break;
            case action_type::notify_ready:
                obs.ready();
                break;
            case action_type::notify_stopping:
                obs.stopping();
                break;
            case action_type::exit:
                exit_ = a;
                break;
        }
    }

    void start_worker() {
        if (plan.argv.empty()) {
            // dummy: nothing to run; show what a worker would have been given (the machine
            // ends the run).
            log::info("State information:\n{}",
                      json::to_sorted_json_indented(run_state_to_json(s.st)));
            push(make_event(event_type::worker_started));
            return;
        }
        worker.start(plan);
        ops.start("watching for termination notices", op_kind::background,
                  prov.watch_termination());
        push(make_event(event_type::worker_started));
    }
};

runner::runner(asio::io_context& io, config::runner_config cfg, context ctx)
    : impl_(std::make_unique<impl>(io, std::move(cfg), std::move(ctx))) {}

runner::~runner() = default;

awaitable<int> runner::run() {
    return impl_->run();
}

}  // namespace sw::daemon
