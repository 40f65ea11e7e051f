#include "daemon/runner.hpp"

#include "lib/common/error.hpp"
#include "lib/files/extract.hpp"
#include "lib/health/server.hpp"
#include "lib/http/client.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "lib/protocol/codec.hpp"
#include "lib/providers/provider.hpp"
#include "lib/tc/client.hpp"
#include "lib/workers/worker.hpp"
#include "platform/autologin.hpp"
#include "platform/fs.hpp"
#include "platform/process.hpp"
#include "platform/system.hpp"
#include "state/lifecycle.hpp"
#include "state/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <optional>
#include <sys/stat.h>

namespace sw::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using state::action;
using state::action_type;
using state::event;
using state::event_type;
using namespace std::chrono_literals;

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += ' ';
        out += s;
    }
    return out;
}

/// TEST HOOK, deliberately undocumented (not part of CONTRACT.md): START_WORKER_TEST_TIME_SCALE
/// (a positive float, default 1) multiplies the providers' poll intervals and retry delays and
/// the Taskcluster client's retry delays, so integration tests run in seconds. Anything that is
/// not a positive number is ignored.
double test_time_scale() {
    const char* v = std::getenv("START_WORKER_TEST_TIME_SCALE");
    if (!v || !*v) return 1.0;
    char* end = nullptr;
    const double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(d > 0) || d > 1e6) return 1.0;
    return d;
}

/// Identity of the JSON value at `key`, for change detection ("" when absent).
std::string deployment_id_of(const boost::json::value& cfg) {
    try {
        return json::to_sorted_json(json::get_path(cfg, "deploymentId"));
    } catch (const std::exception&) {
        return {};
    }
}

}  // namespace

struct runner::impl {
    asio::io_context& io;
    config::runner_config cfg;
    run_options opts;

    http::client http;
    providers::context pctx;
    std::unique_ptr<providers::provider> provider;
    std::unique_ptr<workers::worker_impl> worker;
    std::optional<state::store> store;
    std::optional<state::lifecycle> fsm;  ///< made once the provider and worker exist
    platform::service_notifier notifier;

    run_state st;
    std::optional<boost::json::object> proof;
    std::string deployment_id;
    std::optional<termination_notice> notice;
    std::optional<std::string> autologin_user;

    // The worker
    std::unique_ptr<platform::child_process> child;
    workers::start_plan plan;
    protocol::negotiation nego;
    std::deque<std::string> outbox;
    bool writing = false;
    bool reader_done = false;
    std::optional<asio::steady_timer> drain_timer;

    // Events
    std::deque<event> events;
    asio::steady_timer wake;
    asio::signal_set signals;
    bool finished = false;
    int early_exit = -1;  ///< set when a signal ends the run before the worker started

    // Observability
    std::unique_ptr<health::server> health_server;
    std::uint64_t renewals = 0;
    std::uint64_t renewal_failures = 0;
    int reports_in_flight = 0;  ///< reportWorkerError calls not finished yet

    impl(asio::io_context& io_, config::runner_config cfg_, run_options opts_)
        : io(io_),
          cfg(std::move(cfg_)),
          opts(opts_),
          http(io_.get_executor()),
          pctx{io_.get_executor(), http, real_clock()},
          nego(local_capabilities()),
          wake(io_),
          signals(io_, SIGTERM, SIGINT) {}

    static protocol::capabilities local_capabilities() {
        return {"error-report", "graceful-termination", "log", "new-credentials", "shutdown",
                "autologin"};
    }

    /// What the state machine needs to know, from the config and from what the provider and
    /// the worker implementation say about themselves.
    state::lifecycle_options make_options() const {
        state::lifecycle_options o;
        o.once = opts.once;
        o.dynamic = provider->dynamic();
        o.registers = provider->registers();
        o.can_register_again = provider->can_reregister_from_scratch();
        o.get_secrets = cfg.get_secrets;
        o.cache = !cfg.cache_over_restarts.empty();
        o.has_process = worker->has_process();
        o.stop_check_interval = cfg.lifecycle.stop_check_interval;
        o.graceful_stop_timeout = cfg.lifecycle.graceful_stop_timeout;
        o.kill_timeout = cfg.lifecycle.kill_timeout;
        o.reboot_exit_codes = cfg.lifecycle.reboot_exit_codes;
        o.autologin = cfg.autologin.has_value();
        return o;
    }

    // ---- events ---------------------------------------------------------------------------

    void push(event ev) {
        events.push_back(std::move(ev));
        wake.cancel();
    }
    void push(event_type t) {
        event ev;
        ev.type = t;
        push(std::move(ev));
    }
    void push_failed(exit_code code, std::string reason) {
        event ev;
        ev.type = event_type::failed;
        ev.code = code;
        ev.reason = std::move(reason);
        push(std::move(ev));
    }

    template <class F>
    void spawn(F&& f) {
        asio::co_spawn(io, std::forward<F>(f), asio::detached);
    }

    // ---- the main loop -----------------------------------------------------------------------

    awaitable<int> run() {
        log::info("Starting start-worker with provider {} and worker {}", cfg.provider_type,
                  cfg.worker_implementation);
        for (const auto& k : cfg.unknown_keys) log::warn("Ignoring unknown config key {}", k);
        if (cfg.logging_implementation != "stdio")
            log::warn("Unrecognized logging implementation {} (falling back to stdio)",
                      cfg.logging_implementation);
        if (!cfg.cache_over_restarts.empty()) store.emplace(cfg.cache_over_restarts);
        providers::apply_environment(pctx);
        pctx.time_scale = test_time_scale();
        try {
            provider = providers::make_provider(cfg, pctx);
            worker = workers::make_worker(cfg);
        } catch (const failure& f) {
            log::error("{}", f.what());
            co_return to_int(f.code());
        }
        fsm.emplace(make_options());
        if (cfg.health && !cfg.health->listen.empty()) {
            try {
                health_server = std::make_unique<health::server>(
                    io.get_executor(), cfg.health->listen, [this] { return health_snapshot(); });
                health_server->start();
                log::info("Health endpoint on {} (port {})", cfg.health->listen,
                          health_server->port());
            } catch (const failure& f) {
                log::error("{}", f.what());
                co_return to_int(f.code());
            }
        }
        platform::disable_oom_killer(::getpid());
        spawn(watch_signals());
        if (auto wd = notifier.watchdog_interval()) spawn(watchdog(*wd));

        push(event_type::start);
        while (true) {
            if (events.empty()) {
                co_await sleep_until_event();
                if (events.empty()) push(event_type::tick);
            }
            event ev = std::move(events.front());
            events.pop_front();
            ev.now = real_clock().now();
            const auto before = fsm->current();
            auto acts = fsm->resume(ev);
            if (fsm->current() != before) notifier.status(std::string(to_string(fsm->current())));
            for (auto& a : acts) {
                if (a.type == action_type::exit) {
                    co_return co_await finish(a);
                }
                co_await perform(a);
            }
        }
    }

    health::snapshot health_snapshot() const {
        health::snapshot h;
        h.stage = std::string(to_string(fsm->current()));
        h.worker_running = fsm->current() == state::stage::running;
        h.finished = finished;
        if (st.credentials_expire)
            h.credentials_expiry_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                            st.credentials_expire->time_since_epoch())
                                            .count();
        h.renewals = renewals;
        h.renewal_failures = renewal_failures;
        h.log_dropped = log::dropped_count();
        h.termination_notice = notice.has_value();
        return h;
    }

    /// Sleeps until an event arrives or the machine's next deadline passes. Deadlines are wall
    /// clock; the sleep is cut into pieces of at most a minute so a suspend or a clock jump is
    /// noticed promptly (taskcluster#5269).
    awaitable<void> sleep_until_event() {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(60s);
        if (auto d = fsm->next_deadline()) {
            const auto until =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d - real_clock().now());
            wait = std::clamp(until, std::chrono::milliseconds(0), wait);
        }
        wake.expires_after(wait);
        boost::system::error_code ec;
        co_await wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }

    awaitable<void> watch_signals() {
        while (!finished) {
            boost::system::error_code ec;
            int sig = co_await signals.async_wait(asio::redirect_error(use_awaitable, ec));
            if (ec) co_return;
            log::info("Received signal {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            if (!child && !finished) {
                // Nothing runs yet (registering, fetching secrets...): those steps may be in the
                // middle of retries, and every file they write is replaced atomically, so stop
                // right here instead of waiting for them.
                log::info("Stopping before the worker started");
                finished = true;
                early_exit = 0;
                if (health_server) health_server->stop();
                io.stop();
                co_return;
            }
            push(event_type::signal);
        }
    }

    awaitable<void> watchdog(std::chrono::microseconds every) {
        asio::steady_timer t(io);
        while (!finished) {
            notifier.watchdog();
            t.expires_after(every);
            boost::system::error_code ec;
            co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        }
    }

    awaitable<int> finish(const action& a) {
        finished = true;
        if (child && !child->exited()) {
            log::warn("Stopping the worker (pid {}) before exiting", child->pid());
            child->kill();
        }
        // An error report the worker sent just before exiting may still be on its way: it is
        // often the only trace of why the worker stopped, so give it a bounded moment.
        if (reports_in_flight > 0) {
            log::info("Waiting for {} error report(s) to be sent", reports_in_flight);
            asio::steady_timer t(io);
            const auto give_up = std::chrono::steady_clock::now() + 10s;
            while (reports_in_flight > 0 && std::chrono::steady_clock::now() < give_up) {
                t.expires_after(50ms);
                boost::system::error_code ec;
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            }
        }
        const int code = to_int(a.code);
        if (a.code == exit_code::ok)
            log::info("Exiting: {}", a.reason.empty() ? "done" : a.reason);
        else
            log::error("Exiting with code {}: {}", code, a.reason);
        signals.cancel();
        if (health_server) health_server->stop();
        co_return code;
    }

    // ---- actions ----------------------------------------------------------------------------

    awaitable<void> perform(const action& a) {
        try {
            switch (a.type) {
                case action_type::load_state:
                    load_state();
                    break;
                case action_type::configure_provider:
                    co_await configure_provider();
                    break;
                case action_type::resume_provider:
                    co_await resume_provider();
                    break;
                case action_type::register_worker:
                    co_await register_worker();
                    break;
                case action_type::reregister:
                    spawn(reregister());
                    break;
                case action_type::fetch_secrets:
                    co_await fetch_secrets();
                    break;
                case action_type::prepare_worker:
                    co_await prepare_worker();
                    break;
                case action_type::persist:
                    persist(a.persist_phase);
                    break;
                case action_type::remove_state:
                    if (!a.reason.empty()) log::info("{}", a.reason);
                    if (store) store->remove();
                    break;
                case action_type::start_worker:
                    start_worker();
                    break;
                case action_type::send_graceful:
                    send_graceful(a);
                    break;
                case action_type::send_new_credentials:
                    send_new_credentials();
                    break;
                case action_type::terminate_worker:
                    log::info("Sending SIGTERM to the worker: {}", a.reason);
                    if (child) child->terminate();
                    break;
                case action_type::kill_worker:
                    log::warn("Killing the worker: {}", a.reason);
                    if (child) child->kill();
                    break;
                case action_type::stop_check:
                    spawn(stop_check());
                    break;
                case action_type::acknowledge_notice:
                    co_await acknowledge();
                    break;
                case action_type::report_error:
                    co_await report_error(a.reason);
                    break;
                case action_type::remove_worker:
                    spawn(remove_worker());
                    break;
                case action_type::shutdown_host:
                    spawn(host_action(false, a.reason));
                    break;
                case action_type::reboot_host:
                    spawn(host_action(true, a.reason));
                    break;
                case action_type::notify_ready:
                    notifier.ready();
                    break;
                case action_type::notify_stopping:
                    notifier.stopping();
                    break;
                case action_type::exit:
                    break;
            }
        } catch (const failure& f) {
            push_failed(f.code(), f.what());
        } catch (const std::exception& e) {
            push_failed(exit_code::internal, e.what());
        }
        co_return;
    }

    void remember_secrets() {
        log::add_secret(st.creds.access_token);
        log::add_secret(st.creds.certificate);
        log::add_secret(st.registration_secret);
    }

    void load_state() {
        auto loaded = store->load();
        if (!loaded) {
            log::info("No state at {}: starting afresh", store->path());
            push(event_type::state_missing);
            return;
        }
        st = std::move(loaded->state);
        remember_secrets();
        if (!loaded->autologin_user.empty()) autologin_user = loaded->autologin_user;
        log::info("Loaded state from {} (phase {})", store->path(), to_string(loaded->ph));
        if (loaded->ph == state::phase::rebooting) {
            check_reboot_happened();
            if (autologin_user && !opts.once) spawn(verify_autologin(*autologin_user));
        }
        event ev;
        ev.type = event_type::state_loaded;
        ev.loaded_phase = loaded->ph;
        ev.deadline = st.credentials_expire;
        push(std::move(ev));
    }

    /// After a requested reboot, the system must have booted since the state was written.
    void check_reboot_happened() {
        struct stat sb {};
        const auto boot = platform::system_boot_time();
        if (!boot || ::stat(store->path().c_str(), &sb) != 0) return;
        const auto written = wall_clock::from_time_t(sb.st_mtime);
        if (*boot < written) {
            log::error("A reboot was requested at {} but the system has not rebooted since",
                       format_rfc3339_ms(written));
            spawn(report_error_async("a requested reboot did not happen"));
        } else {
            log::info("Resuming after the reboot requested at {}", format_rfc3339_ms(written));
        }
    }

    /// After a reboot with autologin configured, the user's session must appear in time.
    awaitable<void> verify_autologin(std::string user) {
        asio::steady_timer t(io);
        for (int i = 0; i < 24 && !finished; ++i) {
            if (platform::user_session_present(user)) {
                log::info("Autologin: {} has a session", user);
                co_return;
            }
            t.expires_after(5s);
            boost::system::error_code ec;
            co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        if (finished) co_return;
        log::error("Autologin: no session for {} appeared within 2 minutes of the reboot", user);
        const std::string why = "autologin: no session for " + user + " after the reboot";
        co_await report_error(why);
    }

    void check_results() {
        if (auto why = check_provider_results(st); !why.empty())
            throw failure(exit_code::internal, why);
        log::info("Identified as worker {}/{}", st.worker_group, st.worker_id);
    }

    awaitable<void> configure_provider() {
        log::info("Configuring with provider {}", cfg.provider_type);
        run_state fresh;
        co_await provider->configure(fresh);
        // Worker config from the provider itself (aws-provisioner's user data and secret)
        // ranks like worker-manager's: above the runner's, below the secrets'. prepare_worker
        // rebuilds worker_config from remote_config, so it must live there (and be cached).
        fresh.remote_config = json::merge(fresh.remote_config, fresh.worker_config);
        fresh.worker_config = boost::json::object{};
        st = std::move(fresh);
        remember_secrets();
        proof = co_await provider->identity_proof(st);
        if (provider->registers()) {
            if (!proof) throw failure(exit_code::internal, "provider gave no identity proof");
            // Credentials come from registerWorker; the rest is checked after it.
        } else {
            check_results();
        }
        push(event_type::provider_configured);
    }

    awaitable<void> resume_provider() {
        co_await provider->use_cached_run(st);
        check_results();
        push(event_type::provider_configured);
    }

    tc::client tc_client(bool authenticated) {
        tc::client c(http, st.root_url,
                     authenticated ? std::optional<credentials>(st.creds) : std::nullopt);
        if (pctx.time_scale != 1.0) c.set_retry_scale(pctx.time_scale);  // test hook
        return c;
    }

    awaitable<void> register_worker() {
        log::info("Registering worker {}/{} in pool {} with worker-manager", st.worker_group,
                  st.worker_id, st.worker_pool_id);
        auto c = tc_client(false);
        // Locals, not temporaries, across co_await: GCC 12 mishandles temporaries of a
        // conditional expression in a co_await full-expression.
        const boost::json::object proof_obj = proof ? *proof : boost::json::object{};
        const auto boot_time = platform::system_boot_time();
        auto res = co_await c.register_worker(st.worker_pool_id, st.provider_id, st.worker_group,
                                              st.worker_id, proof_obj, boot_time);
        st.creds = res.creds;
        st.credentials_expire = res.expires;
        st.registration_secret = res.secret;
        remember_secrets();
        auto wm = json::parse_provider_worker_config(res.worker_config, cfg.worker_implementation);
        st.remote_config = json::merge(st.remote_config, wm.config);
        for (auto& f : wm.files) st.files.push_back(worker_file_from_json(f));
        log::info("Registered; credentials expire at {}", format_rfc3339_ms(res.expires));
        check_results();
        event ev;
        ev.type = event_type::registered;
        ev.deadline = res.expires;
        push(std::move(ev));
    }

    awaitable<void> reregister() {
        event ev;
        try {
            if (st.credentials_expire) {
                const auto left = std::chrono::duration_cast<std::chrono::seconds>(
                    *st.credentials_expire - real_clock().now());
                log::info("Taskcluster credentials expire in {}s; re-registering", left.count());
            }
            auto c = tc_client(true);
            auto res = co_await c.reregister_worker(st.worker_pool_id, st.worker_group,
                                                    st.worker_id, st.registration_secret);
            st.creds = res.creds;
            st.credentials_expire = res.expires;
            st.registration_secret = res.secret;
            remember_secrets();
            log::info("Re-registered; credentials expire at {}", format_rfc3339_ms(res.expires));
            ev.type = event_type::reregistered;
            ev.deadline = res.expires;
            ++renewals;
        } catch (const tc::api_error& e) {
            log::error("Error calling reregisterWorker: {}", e.what());
            ev.type = event_type::reregister_failed;
            ev.reason = e.what();
            ev.permanent = e.status() >= 400 && e.status() < 500 && e.status() != 429;
        } catch (const std::exception& e) {
            log::error("Error calling reregisterWorker: {}", e.what());
            ev.type = event_type::reregister_failed;
            ev.reason = e.what();
        }
        if (ev.type == event_type::reregister_failed) ++renewal_failures;
        push(std::move(ev));
    }

    /// Both secrets, merged; `files` appended to `files_out` when given.
    awaitable<json::value> read_secrets(std::vector<worker_file>* files_out) {
        auto c = tc_client(true);
        json::value merged = nullptr;
        bool found = false;
        for (const std::string prefix : {"worker-type:", "worker-pool:"}) {
            const std::string name = prefix + st.worker_pool_id;
            std::optional<boost::json::value> v;
            try {
                v = co_await c.get_secret(name);
            } catch (const tc::api_error& e) {
                if (prefix == "worker-type:" && e.status() == 403) {
                    log::info("No permission to read secret {}; skipping", name);
                    continue;
                }
                throw;
            }
            if (!v) continue;
            found = true;
            bool legacy = false;
            auto parsed = json::parse_secret_value(*v, legacy);
            if (legacy)
                log::info(
                    "Falling back to legacy secret format without top-level config/files "
                    "properties");
            merged = json::merge(merged, parsed.config);
            if (files_out)
                for (auto& f : parsed.files) files_out->push_back(worker_file_from_json(f));
        }
        if (!found && files_out)
            log::warn("WARNING: No worker secrets for worker pool {}.", st.worker_pool_id);
        co_return merged;
    }

    awaitable<void> fetch_secrets() {
        log::info("Getting secrets from secrets service");
        std::vector<worker_file> files;
        auto secret_config = co_await read_secrets(&files);
        st.remote_config = json::merge(st.remote_config, secret_config);
        for (auto& f : files) st.files.push_back(std::move(f));
        push(event_type::secrets_fetched);
    }

    awaitable<void> prepare_worker() {
        // Precedence: runner workerConfig < worker-manager < secrets < derived values. On a
        // resumed run the cached remote config is re-applied over the runner's, so the runner
        // config neither overrides it nor duplicates its arrays.
        st.worker_config = json::merge(cfg.worker_config, st.remote_config);
        log::info("Configuring for worker implementation {}", cfg.worker_implementation);
        worker->configure_run(st);
        deployment_id = deployment_id_of(st.worker_config);
        if (!fsm->resumed() && !st.files.empty()) {
            log::info("Writing files");
            try {
                files::extract_all(st.files);
            } catch (const std::exception& e) {
                throw failure(exit_code::config, e.what());
            }
        }
        plan = worker->plan_start(st);
        if (!plan.config_path.empty()) {
            platform::make_parent_dirs(plan.config_path);
            platform::write_private_file_atomic(plan.config_path, plan.config_contents);
        }
        configure_autologin(cfg.autologin ? cfg.autologin->username : std::string(),
                            cfg.autologin ? cfg.autologin->password : std::nullopt);
        if (auto n = co_await provider->check_termination_now()) on_notice(*n);
        push(event_type::worker_prepared);
    }

    void persist(state::phase ph) {
        if (!store) return;
        if (notice && notice->deadline) st.termination_deadline = notice->deadline;
        state::persisted p;
        p.ph = ph;
        p.state = st;
        if (autologin_user) p.autologin_user = *autologin_user;
        try {
            store->save(p);
            log::debug("Saved state ({}) to {}", to_string(ph), store->path());
        } catch (const std::exception& e) {
            log::error("Error writing state cache file {}: {}", store->path(), e.what());
        }
    }

    // ---- the worker -------------------------------------------------------------------------

    void start_worker() {
        if (plan.argv.empty()) {
            // dummy: nothing to run; show what a worker would have been given.
            log::info("State information:\n{}",
                      json::to_sorted_json_indented(run_state_to_json(st)));
            push(event_type::worker_started);
            event ev;
            ev.type = event_type::worker_exited;
            ev.exit_status = 0;
            push(std::move(ev));
            return;
        }
        log::info("Starting worker: {}", join(plan.argv));
        platform::spawn_options so;
        so.argv = plan.argv;
        so.extra_env = plan.extra_env;
        so.windows_service = plan.windows_service;
        if (!plan.protocol_pipe.empty()) so.protocol_pipe = plan.protocol_pipe;
        child = platform::spawn(io.get_executor(), so);
        platform::disable_oom_killer(child->pid());
        if (provider) spawn(watch_termination());
        spawn(read_worker());
        spawn(wait_worker());
        send(nego.welcome());
        push(event_type::worker_started);
    }

    void send(const protocol::message& m) {
        if (!child) return;
        outbox.push_back(protocol::encode(m));
        if (!writing) {
            writing = true;
            spawn(write_worker());
        }
    }

    awaitable<void> write_worker() {
        while (!outbox.empty() && child) {
            std::string data = std::move(outbox.front());
            outbox.pop_front();
            if (!co_await child->write_all(std::move(data))) {
                log::warn("Could not write to the worker's protocol pipe (it has closed)");
                outbox.clear();
            }
        }
        writing = false;
    }

    awaitable<void> read_worker() {
        protocol::line_decoder dec(
            {[this](protocol::message&& m) { on_message(std::move(m)); },
             [](std::string_view line) { log::write(log::level::info, line); },
             [](std::size_t skipped) {
                 log::warn("Dropped {} bytes of an over-long line from the worker", skipped);
             }});
        std::vector<char> buf(64 * 1024);
        while (true) {
            const std::size_t n = co_await child->read_some(buf.data(), buf.size());
            if (n == 0) break;
            dec.feed(std::string_view(buf.data(), n));
        }
        dec.finish();
        reader_done = true;
        if (drain_timer) drain_timer->cancel();
    }

    awaitable<void> wait_worker() {
        const int code = co_await child->wait();
        // Drain what the worker wrote just before exiting (bounded: a grandchild may hold the
        // pipe open).
        if (!reader_done) {
            drain_timer.emplace(io);
            drain_timer->expires_after(2s);
            boost::system::error_code ec;
            co_await drain_timer->async_wait(asio::redirect_error(use_awaitable, ec));
        }
        log::info("Worker exited with code {}", code);
        event ev;
        ev.type = event_type::worker_exited;
        ev.exit_status = code;
        push(std::move(ev));
    }

    void on_message(protocol::message&& m) {
        if (m.type == "hello") {
            if (!nego.on_hello(m))
                log::warn("Worker's hello has no valid capabilities list; assuming none");
            event ev;
            ev.type = event_type::hello;
            ev.can_graceful = nego.capable("graceful-termination");
            ev.can_new_credentials = nego.capable("new-credentials");
            push(std::move(ev));
        } else if (m.type == "log") {
            const auto* body = m.properties.if_contains("body");
            if (!body)
                log::warn("received log message from worker lacking 'body' property");
            else if (!body->is_object())
                log::warn("received log message from worker with a non-object 'body'");
            else
                log::structured(body->get_object());
        } else if (m.type == "error-report") {
            on_error_report(m);
        } else if (m.type == "shutdown") {
            log::info("Worker requested a shutdown");
            push(event_type::shutdown_requested);
        } else if (m.type == "autologin") {
            const auto* u = m.properties.if_contains("username");
            const auto* p = m.properties.if_contains("password");
            if (!u || !u->is_string() || (p && !p->is_string())) {
                log::warn("Ignoring autologin message without a string username");
                return;
            }
            std::optional<std::string> pw;
            if (p) pw = std::string(p->get_string());
            configure_autologin(std::string(u->get_string()), pw);
        } else {
            log::warn("No callback registered for message {}", m.type);
        }
    }

    void on_error_report(const protocol::message& m) {
        tc::error_report r;
        auto str = [&](const char* k, std::string& out) {
            const auto* v = m.properties.if_contains(k);
            if (!v || !v->is_string()) return false;
            out = std::string(v->get_string());
            return true;
        };
        if (!str("kind", r.kind) || !str("title", r.title) || !str("description", r.description)) {
            log::warn(
                "Error processing error-report message, missing kind, title or description or "
                "not a string");
            return;
        }
        if (const auto* e = m.properties.if_contains("extra")) {
            if (!e->is_object()) {
                log::warn("Error processing error-report message, extra is not an object");
                return;
            }
            r.extra = e->get_object();
        }
        spawn(send_error_report(std::move(r)));
    }

    awaitable<void> send_error_report(tc::error_report r) {
        ++reports_in_flight;
        try {
            auto c = tc_client(true);
            co_await c.report_worker_error(st.worker_pool_id, st.worker_group, st.worker_id, r);
            log::info("Reported worker error: {}", r.title);
        } catch (const std::exception& e) {
            log::error("Error reporting worker error: {}", e.what());
        }
        --reports_in_flight;
    }

    awaitable<void> report_error_async(std::string reason) {
        tc::error_report r;
        r.kind = "worker-runner-error";
        r.title = "start-worker error";
        r.description = reason;
        r.extra = {{"stage", std::string(to_string(fsm->current()))}};
        co_await send_error_report(std::move(r));
    }

    awaitable<void> report_error(const std::string& reason) {
        if (st.creds.client_id.empty() || st.worker_pool_id.empty()) co_return;
        co_await report_error_async(reason);
    }

    void send_graceful(const action& a) {
        log::info("Sending graceful-termination request with finish-tasks={} ({})", a.finish_tasks,
                  a.reason);
        protocol::message m{"graceful-termination", {{"finish-tasks", a.finish_tasks}}};
        send(m);
    }

    void send_new_credentials() {
        log::info("Sending new credentials to worker");
        send(protocol::message{"new-credentials",
                               {{"client-id", st.creds.client_id},
                                {"access-token", st.creds.access_token},
                                {"certificate", st.creds.certificate}}});
        // Keep the config file on disk current too.
        try {
            worker->set_credentials(st);
            auto p = worker->plan_start(st);
            if (!p.config_path.empty())
                platform::write_private_file_atomic(p.config_path, p.config_contents);
        } catch (const std::exception& e) {
            log::warn("Could not rewrite the worker config with the new credentials: {}", e.what());
        }
    }

    // ---- termination notices, stop checks, the end ------------------------------------------

    void on_notice(const termination_notice& n) {
        if (notice) return;
        notice = n;
        if (n.deadline)
            log::warn("Termination notice: {}; the machine goes away at {}", n.reason,
                      format_rfc3339_ms(*n.deadline));
        else
            log::warn("Termination notice: {}", n.reason);
        event ev;
        ev.type = event_type::notice;
        ev.reason = n.reason;
        ev.deadline = n.deadline;
        push(std::move(ev));
    }

    awaitable<void> watch_termination() {
        try {
            auto n = co_await provider->watch_termination();
            if (!finished) on_notice(n);
        } catch (const std::exception& e) {
            if (!finished) log::warn("Termination watcher stopped: {}", e.what());
        }
    }

    awaitable<void> acknowledge() {
        if (!notice) co_return;
        try {
            co_await provider->acknowledge(*notice);
        } catch (const std::exception& e) {
            log::warn("Could not acknowledge the termination notice: {}", e.what());
        }
    }

    awaitable<void> stop_check() {
        event ev;
        ev.type = event_type::stop_check_result;
        try {
            auto c = tc_client(true);
            auto r = co_await c.should_worker_terminate(st.worker_pool_id, st.worker_group,
                                                        st.worker_id);
            if (r.terminate) {
                ev.terminate = true;
                ev.reason = "worker-manager says terminate: " + r.reason;
            } else if (cfg.get_secrets) {
                auto secret_config = co_await read_secrets(nullptr);
                const auto now_id = deployment_id_of(json::merge(st.remote_config, secret_config));
                if (!now_id.empty() && now_id != deployment_id) {
                    ev.terminate = true;
                    ev.reason = "deploymentId changed from " +
                                (deployment_id.empty() ? std::string("(none)") : deployment_id) +
                                " to " + now_id;
                }
            }
            if (ev.terminate) log::info("Stop check: {}", ev.reason);
        } catch (const std::exception& e) {
            log::warn("Stop check failed (will retry at the next interval): {}", e.what());
        }
        push(std::move(ev));
    }

    awaitable<void> remove_worker() {
        event ev;
        try {
            log::info("Removing worker {}/{} from worker-manager", st.worker_group, st.worker_id);
            auto c = tc_client(true);
            co_await c.remove_worker(st.worker_pool_id, st.worker_group, st.worker_id);
            ev.type = event_type::removed;
        } catch (const std::exception& e) {
            log::error("Error removing the worker: {}", e.what());
            log::info("Falling back to system shutdown");
            ev.type = event_type::remove_failed;
            ev.reason = e.what();
        }
        push(std::move(ev));
    }

    awaitable<void> host_action(bool reboot, std::string reason) {
        const auto& cmd = reboot ? cfg.host.reboot_command : cfg.host.shutdown_command;
        event ev;
        ev.type = event_type::host_action_done;
        if (opts.once) {
            log::info("--once: would run: {} ({})", join(cmd), reason);
            ev.ok = false;
            push(std::move(ev));
            co_return;
        }
        log::info("{} the host ({}): running {}", reboot ? "Rebooting" : "Shutting down", reason,
                  join(cmd));
        std::string error;
        const int code = co_await platform::run_command(io.get_executor(), cmd, error);
        ev.ok = code == 0;
        if (!ev.ok) {
            ev.reason =
                error.empty() ? join(cmd) + " exited with code " + std::to_string(code) : error;
            log::error("Host {} failed: {}", reboot ? "reboot" : "shutdown", ev.reason);
        }
        push(std::move(ev));
    }

    /// The directory that display manager paths are relative to: "/". TEST HOOK, not part of
    /// the interface and deliberately undocumented: START_WORKER_TEST_ROOT replaces it so the
    /// integration tests (tests/daemon/reboot_test.cpp) can edit fixture files instead of /etc.
    static std::string autologin_root() {
        const char* test_root = std::getenv("START_WORKER_TEST_ROOT");
        return test_root && *test_root ? std::string(test_root) : std::string("/");
    }

    void configure_autologin(const std::string& username,
                             const std::optional<std::string>& password) {
        if (username.empty()) return;
        if (password) log::add_secret(*password);
        std::vector<platform::autologin_edit> edits;
        try {
            edits = platform::plan_autologin(autologin_root(), username, password);
        } catch (const std::exception& e) {
            // A worker's message arrives on the protocol reader: never let it end the reader.
            log::error("Not configuring autologin for {}: {}", username, e.what());
            return;
        }
        autologin_user = username;
        if (edits.empty()) {
            log::warn("Autologin for {} requested, but no supported display manager was found",
                      username);
            return;
        }
        for (const auto& e : edits) {
            if (opts.once)
                log::info("--once: would change {}: {}", e.file, e.description);
            else
                log::info("Autologin: changing {}: {}", e.file, e.description);
        }
        if (opts.once) return;
        try {
            platform::apply_autologin(edits);
        } catch (const std::exception& e) {
            log::error("Could not configure autologin: {}", e.what());
        }
    }
};

runner::runner(asio::io_context& io, config::runner_config cfg, run_options opts)
    : impl_(std::make_unique<impl>(io, std::move(cfg), opts)) {}

runner::~runner() = default;

awaitable<int> runner::run() {
    return impl_->run();
}

int runner::early_exit_code() const {
    return impl_->early_exit;
}

}  // namespace sw::daemon
