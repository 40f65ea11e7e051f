#include "daemon/provider_actions.hpp"

#include "daemon/operations.hpp"
#include "lib/common/error.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "platform/process.hpp"

namespace sw::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using state::event;
using state::event_type;

awaitable<std::optional<event>> provider_actions::configure() {
    log::info("Configuring with provider {}", s_.cfg.provider_type);
    run_state fresh;
    co_await s_.provider->configure(fresh);
    // Worker config from the provider itself (aws-provisioner's user data and secret) ranks like
    // worker-manager's: above the runner's, below the secrets'. prepare_worker rebuilds
    // worker_config from remote_config, so it must live there (and be cached).
    fresh.remote_config = json::merge(fresh.remote_config, fresh.worker_config);
    fresh.worker_config = boost::json::object{};
    s_.st = std::move(fresh);
    s_.remember_secrets();
    s_.proof = co_await s_.provider->identity_proof(s_.st);
    if (s_.provider->registers()) {
        if (!s_.proof) throw failure(errc::internal, "provider gave no identity proof");
        // Credentials come from registerWorker; the rest is checked after it.
    } else {
        s_.check_identity();
    }
    co_return make_event(event_type::provider_configured);
}

awaitable<std::optional<event>> provider_actions::resume() {
    co_await s_.provider->use_cached_run(s_.st);
    s_.check_identity();
    co_return make_event(event_type::provider_configured);
}

std::optional<event> provider_actions::on_notice(const termination_notice& n) {
    if (s_.notice) return std::nullopt;
    s_.notice = n;
    if (n.deadline)
        log::warn("Termination notice: {}; the machine goes away at {}", n.reason,
                  format_rfc3339_ms(*n.deadline));
    else
        log::warn("Termination notice: {}", n.reason);
    event ev;
    ev.type = event_type::notice;
    ev.reason = n.reason;
    ev.deadline = n.deadline;
    return ev;
}

awaitable<std::optional<event>> provider_actions::check_termination() {
    event ev;
    ev.type = event_type::termination_checked;
    try {
        if (auto n = co_await s_.provider->check_termination_now()) {
            on_notice(*n);
            ev.terminate = true;
            ev.reason = n->reason;
            ev.deadline = n->deadline;
        }
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;
        log::warn("Could not check for a termination notice at start-up: {}", e.what());
    }
    co_return ev;
}

awaitable<std::optional<event>> provider_actions::watch_termination() {
    try {
        auto n = co_await s_.provider->watch_termination();
        co_return on_notice(n);
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;
        log::warn("Termination watcher stopped: {}", e.what());
    }
    co_return std::nullopt;
}

awaitable<std::optional<event>> provider_actions::acknowledge() {
    if (!s_.notice) co_return std::nullopt;
    try {
        co_await s_.provider->acknowledge(*s_.notice);
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;
        log::warn("Could not acknowledge the termination notice: {}", e.what());
    }
    co_return std::nullopt;
}

awaitable<std::optional<event>> provider_actions::host_command(bool reboot, std::string reason) {
    const auto& cmd = reboot ? s_.cfg.host.reboot_command : s_.cfg.host.shutdown_command;
    event ev;
    ev.type = event_type::host_action_done;
    log::info("{} the host ({}): running {}", reboot ? "Rebooting" : "Shutting down", reason,
              join(cmd));
    std::string error;
    const int code = co_await platform::run_command(s_.io.get_executor(), cmd, error);
    ev.ok = code == 0;
    if (!ev.ok) {
        ev.reason = error.empty() ? join(cmd) + " exited with code " + std::to_string(code) : error;
        log::error("Host {} failed: {}", reboot ? "reboot" : "shutdown", ev.reason);
    }
    co_return ev;
}

void provider_actions::log_dry_run(bool reboot, const std::string& reason) const {
    const auto& cmd = reboot ? s_.cfg.host.reboot_command : s_.cfg.host.shutdown_command;
    log::info("--once: would run: {} ({})", join(cmd), reason);
}

}  // namespace sw::daemon
