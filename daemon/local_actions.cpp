#include "daemon/local_actions.hpp"

#include "daemon/taskcluster_actions.hpp"
#include "lib/common/error.hpp"
#include "lib/files/extract.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "platform/autologin.hpp"
#include "platform/fs.hpp"
#include "platform/system.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sw::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using state::event;
using state::event_type;
using namespace std::chrono_literals;

event local_actions::load_state() {
    auto loaded = s_.store->load();
    if (!loaded) {
        log::info("No state at {}: starting afresh", s_.store->path());
        return make_event(event_type::state_missing);
    }
    s_.st = std::move(loaded->state);
    s_.remember_secrets();
    if (!loaded->autologin_user.empty()) s_.autologin_user = loaded->autologin_user;
    log::info("Loaded state from {} (phase {})", s_.store->path(), to_string(loaded->ph));
    event ev;
    ev.type = event_type::state_loaded;
    ev.loaded_phase = loaded->ph;
    ev.deadline = s_.st.credentials_expire;
    // For the machine's "did the requested reboot happen" (state::reboot_happened).
    ev.boot_time = platform::system_boot_time();
    // Whole seconds, as the boot time (/proc/stat btime) has them.
    if (const auto written = s_.store->written_at())
        ev.state_written = std::chrono::floor<std::chrono::seconds>(*written);
    return ev;
}

std::optional<state::event> local_actions::persist(state::phase ph) {
    if (!s_.store) return std::nullopt;
    if (s_.notice && s_.notice->deadline) s_.st.termination_deadline = s_.notice->deadline;
    state::persisted p;
    p.ph = ph;
    p.state = s_.st;
    if (s_.autologin_user) p.autologin_user = *s_.autologin_user;
    try {
        s_.store->save(p);
        log::debug("Saved state ({}) to {}", to_string(ph), s_.store->path());
    } catch (const std::exception& e) {
        log::error("Error writing state cache file {}: {}", s_.store->path(), e.what());
        state::event ev = make_event(event_type::state_write_failed);
        ev.reason = "the state file " + s_.store->path() +
                    " (cacheOverRestarts) cannot be written: " + e.what();
        return ev;
    }
    return std::nullopt;
}

void local_actions::remove_state(const std::string& reason) {
    if (!reason.empty()) log::info("{}", reason);
    if (!s_.store) return;
    try {
        s_.store->remove();
    } catch (const std::exception& e) {
        // A read-only file system, say: the run still ends as decided; the next start sees it.
        log::error("Could not remove the state file (cacheOverRestarts): {}", e.what());
    }
}

workers::start_plan local_actions::prepare_worker(bool resumed) {
    auto& st = s_.st;
    // Precedence: runner workerConfig < worker-manager < secrets < derived values. On a resumed
    // run the cached remote config is re-applied over the runner's, so the runner config
    // neither overrides it nor duplicates its arrays.
    st.worker_config = json::merge(s_.cfg.worker_config, st.remote_config);
    log::info("Configuring for worker implementation {}", s_.cfg.worker_implementation);
    s_.worker->configure_run(st);
    s_.deployment_id = deployment_id_of(st.worker_config);
    if (!resumed && !st.files.empty()) {
        log::info("Writing files");
        try {
            files::extract_all(st.files);
        } catch (const std::exception& e) {
            throw failure(errc::config, e.what());
        }
    }
    auto plan = s_.worker->plan_start(st);
    if (!plan.config_path.empty()) {
        platform::make_parent_dirs(plan.config_path);
        platform::write_private_file_if_changed(plan.config_path, plan.config_contents);
    }
    if (s_.cfg.autologin)
        configure_autologin(s_.cfg.autologin->username, s_.cfg.autologin->password);
    return plan;
}

void local_actions::rewrite_worker_config() {
    try {
        s_.worker->set_credentials(s_.st);
        auto p = s_.worker->plan_start(s_.st);
        if (!p.config_path.empty())
            platform::write_private_file_if_changed(p.config_path, p.config_contents);
    } catch (const std::exception& e) {
        log::warn("Could not rewrite the worker config with the new credentials: {}", e.what());
    }
}

void local_actions::configure_autologin(const std::string& username,
                                        const std::optional<std::string>& password) {
    if (username.empty()) return;
    if (password) log::add_secret(*password);
    std::vector<platform::autologin_edit> edits;
    try {
        edits = platform::plan_autologin(s_.ctx.filesystem_root, username, password);
    } catch (const std::exception& e) {
        // A worker's message arrives on the protocol reader: never let it end the reader.
        log::error("Not configuring autologin for {}: {}", username, e.what());
        return;
    }
    s_.autologin_user = username;
    if (edits.empty()) {
        log::warn("Autologin for {} requested, but no supported display manager was found",
                  username);
        return;
    }
    for (const auto& e : edits) {
        if (s_.ctx.once)
            log::info("--once: would change {}: {}", e.file, e.description);
        else
            log::info("Autologin: changing {}: {}", e.file, e.description);
    }
    if (s_.ctx.once) return;
    try {
        platform::apply_autologin(edits);
    } catch (const std::exception& e) {
        log::error("Could not configure autologin: {}", e.what());
    }
}

awaitable<std::optional<event>> local_actions::verify_autologin(std::string user) {
    asio::steady_timer t(s_.io);
    for (int i = 0; i < 24; ++i) {
        if (platform::user_session_present(user)) {
            log::info("Autologin: {} has a session", user);
            co_return std::nullopt;
        }
        t.expires_after(5s);
        co_await t.async_wait(asio::use_awaitable);  // cancellation ends the wait
    }
    log::error("Autologin: no session for {} appeared within 2 minutes of the reboot", user);
    report_("autologin: no session for " + user + " after the reboot");
    co_return std::nullopt;
}

}  // namespace sw::daemon
