#include "daemon/taskcluster_actions.hpp"

#include "daemon/operations.hpp"
#include "lib/common/error.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "platform/system.hpp"

namespace sw::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using state::event;
using state::event_type;

std::string deployment_id_of(const boost::json::value& worker_config) {
    // A lookup, not get_path's exception: a config without deploymentId is the common case,
    // and a throw at every start costs the unwinder's walk over .eh_frame (CPU and ~0.3 MB of
    // RSS, README Performance).
    const auto* obj = worker_config.if_object();
    const auto* id = obj ? obj->if_contains("deploymentId") : nullptr;
    return id ? json::to_sorted_json(*id) : std::string();
}

awaitable<std::optional<event>> taskcluster_actions::register_worker() {
    auto& st = s_.st;
    log::info("Registering worker {}/{} in pool {} with worker-manager", st.worker_group,
              st.worker_id, st.worker_pool_id);
    auto c = s_.tc_client(false);
    // Locals, not temporaries, across co_await: GCC 12 mishandles temporaries of a conditional
    // expression in a co_await full-expression.
    const boost::json::object proof_obj = s_.proof ? *s_.proof : boost::json::object{};
    const auto boot_time = platform::system_boot_time();
    auto res = co_await c.register_worker(st.worker_pool_id, st.provider_id, st.worker_group,
                                          st.worker_id, proof_obj, boot_time);
    st.creds = res.creds;
    st.credentials_expire = res.expires;
    st.registration_secret = res.secret;
    s_.remember_secrets();
    auto wm = json::parse_provider_worker_config(res.worker_config, s_.cfg.worker_implementation);
    st.remote_config = json::merge(st.remote_config, wm.config);
    for (auto& f : wm.files) st.files.push_back(worker_file_from_json(f));
    log::info("Registered; credentials expire at {}", format_rfc3339_ms(res.expires));
    s_.check_identity();
    event ev;
    ev.type = event_type::registered;
    ev.deadline = res.expires;
    co_return ev;
}

awaitable<std::optional<event>> taskcluster_actions::reregister() {
    auto& st = s_.st;
    event ev;
    try {
        if (st.credentials_expire) {
            const auto left = std::chrono::duration_cast<std::chrono::seconds>(
                *st.credentials_expire - real_clock().now());
            log::info("Taskcluster credentials expire in {}s; re-registering", left.count());
        }
        auto c = s_.tc_client(true);
        auto res = co_await c.reregister_worker(st.worker_pool_id, st.worker_group, st.worker_id,
                                                st.registration_secret);
        st.creds = res.creds;
        st.credentials_expire = res.expires;
        st.registration_secret = res.secret;
        s_.remember_secrets();
        log::info("Re-registered; credentials expire at {}", format_rfc3339_ms(res.expires));
        ev.type = event_type::reregistered;
        ev.deadline = res.expires;
        ++s_.renewals;
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;  // cancelled: no event
        log::error("Error calling reregisterWorker: {}", e.what());
        ev.type = event_type::reregister_failed;
        ev.reason = e.what();
        ev.failure = classify(e);
        ++s_.renewal_failures;
    }
    co_return ev;
}

awaitable<boost::json::value> taskcluster_actions::read_secrets(
    std::vector<worker_file>* files_out) {
    auto c = s_.tc_client(true);
    const auto& pool = s_.st.worker_pool_id;
    json::value merged = nullptr;
    bool found = false;
    for (const std::string prefix : {"worker-type:", "worker-pool:"}) {
        const std::string name = prefix + pool;
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
    if (!found && files_out) log::warn("WARNING: No worker secrets for worker pool {}.", pool);
    co_return merged;
}

awaitable<std::optional<event>> taskcluster_actions::fetch_secrets() {
    log::info("Getting secrets from secrets service");
    std::vector<worker_file> files;
    auto secret_config = co_await read_secrets(&files);
    s_.st.remote_config = json::merge(s_.st.remote_config, secret_config);
    for (auto& f : files) s_.st.files.push_back(std::move(f));
    co_return make_event(event_type::secrets_fetched);
}

awaitable<std::optional<event>> taskcluster_actions::stop_check() {
    auto& st = s_.st;
    event ev;
    ev.type = event_type::stop_check_result;
    try {
        auto c = s_.tc_client(true);
        auto r =
            co_await c.should_worker_terminate(st.worker_pool_id, st.worker_group, st.worker_id);
        if (r.terminate) {
            ev.terminate = true;
            ev.reason = "worker-manager says terminate: " + r.reason;
            log::info("Stop check: {}", ev.reason);
        } else if (s_.cfg.get_secrets) {
            auto secret_config = co_await read_secrets(nullptr);
            ev.deployment_id = deployment_id_of(json::merge(st.remote_config, secret_config));
        }
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;
        log::warn("Stop check failed (will retry at the next interval): {}", e.what());
        ev.ok = false;
        ev.reason = e.what();
    }
    co_return ev;
}

awaitable<std::optional<event>> taskcluster_actions::remove_worker() {
    auto& st = s_.st;
    event ev;
    try {
        log::info("Removing worker {}/{} from worker-manager", st.worker_group, st.worker_id);
        auto c = s_.tc_client(true);
        co_await c.remove_worker(st.worker_pool_id, st.worker_group, st.worker_id);
        ev.type = event_type::removed;
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;
        log::error("Error removing the worker: {}", e.what());
        log::info("Falling back to system shutdown");
        ev.type = event_type::remove_failed;
        ev.reason = e.what();
    }
    co_return ev;
}

awaitable<std::optional<event>> taskcluster_actions::send_error_report(tc::error_report r) {
    try {
        auto c = s_.tc_client(true);
        co_await c.report_worker_error(s_.st.worker_pool_id, s_.st.worker_group, s_.st.worker_id,
                                       r);
        log::info("Reported worker error: {}", r.title);
    } catch (const std::exception& e) {
        if (is_cancellation(e)) throw;
        log::error("Error reporting worker error: {}", e.what());
    }
    co_return std::nullopt;
}

void taskcluster_actions::report_error(std::string reason) {
    if (s_.st.creds.client_id.empty() || s_.st.worker_pool_id.empty()) {
        log::error("{} (not reported: not registered with worker-manager)", reason);
        return;
    }
    log::error("Reporting to worker-manager: {}", reason);
    tc::error_report r;
    r.kind = "worker-runner-error";
    r.title = "start-worker error";
    r.description = std::move(reason);
    r.extra = {{"stage", std::string(to_string(s_.fsm->current()))}};
    queue_report(std::move(r));
}

void taskcluster_actions::queue_report(tc::error_report r) {
    if (reports_closed_) {
        log::warn("Not reporting worker error (the runner is exiting): {}", r.title);
        return;
    }
    s_.reports.push(std::move(r));
    send_next_report();
}

void taskcluster_actions::send_next_report() {
    if (reports_closed_) return;
    auto r = s_.reports.start_next();
    if (!r) return;
    ops_.start("reporting an error", op_kind::report, send_error_report(std::move(*r)),
               std::nullopt, [this] {
                   s_.reports.finish();
                   log_dropped_reports();
                   send_next_report();
               });
}

void taskcluster_actions::log_dropped_reports() {
    if (const auto n = s_.reports.take_dropped(); n > 0)
        log::warn(
            "Dropped {} error report(s) from the worker: worker-manager takes them one at a time "
            "and at most {} wait (start_worker_error_reports_dropped_total counts them)",
            n, tc::report_queue::limits{}.max_pending);
}

void taskcluster_actions::close_reports() {
    reports_closed_ = true;
    log_dropped_reports();
    if (const auto n = s_.reports.pending(); n > 0)
        log::warn("{} error report(s) not sent: the runner is exiting", n);
}

}  // namespace sw::daemon
