#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/log/log.hpp"
#include "lib/workers/detail.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <stdexcept>

namespace sw::workers {

namespace detail {

namespace {
std::string key_path(std::string_view key) {
    return "worker." + std::string(key);
}
}  // namespace

std::optional<std::string> optional_key(const boost::json::object& w, std::string_view key) {
    const auto* v = w.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) throw config_error(key_path(key), "must be a string");
    return std::string(v->get_string());
}

std::string required_key(const boost::json::object& w, std::string_view key) {
    auto v = optional_key(w, key);
    if (!v) throw config_error(key_path(key), "missing");
    if (v->empty()) throw config_error(key_path(key), "must not be empty");
    return *v;
}

void set_key(run_state& s, std::string_view path, boost::json::value v) {
    try {
        s.worker_config = sw::json::set_path(s.worker_config, path, std::move(v));
    } catch (const std::invalid_argument& e) {
        throw failure(errc::config,
                      "workerConfig: cannot set " + std::string(path) + ": " + e.what());
    }
}

void set_certificate(run_state& s, std::string_view path) {
    if (!s.creds.certificate.empty()) {
        set_key(s, path, boost::json::string(s.creds.certificate));
        return;
    }
    // Remove a certificate left from earlier temporary credentials.
    const auto dot = path.rfind('.');
    boost::json::value* parent = &s.worker_config;
    if (dot != std::string_view::npos) {
        try {
            parent = const_cast<boost::json::value*>(
                &sw::json::get_path(s.worker_config, path.substr(0, dot)));
        } catch (const std::out_of_range&) {
            return;
        }
    }
    if (auto* o = parent->if_object())
        o->erase(path.substr(dot == std::string_view::npos ? 0 : dot + 1));
}

void copy_metadata(run_state& s,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> keys) {
    for (const auto& [cfg_key, md_key] : keys) {
        if (const auto* v = s.provider_metadata.if_contains(md_key))
            set_key(s, cfg_key, *v);
        else
            sw::log::info("provider metadata {} not available; not setting config {}", md_key,
                          cfg_key);
    }
}

std::string worker_location_json(const run_state& s) {
    boost::json::object loc;
    for (const auto& [k, v] : s.worker_location) loc[k] = v;
    return sw::json::to_sorted_json(loc);
}

std::pair<std::string, std::string> split_worker_pool_id(const std::string& id) {
    const auto slash = id.find('/');
    if (slash == std::string::npos)
        throw failure(errc::config, "workerPoolID " +
                                        boost::json::serialize(boost::json::string(id)) +
                                        " does not contain a slash");
    return {id.substr(0, slash), id.substr(slash + 1)};
}

start_plan plan_with_config(const std::string& config_path, const run_state& s) {
    start_plan p;
    p.config_path = config_path;
    p.config_contents = sw::json::to_sorted_json_indented(s.worker_config);
    p.protocol = true;
    return p;
}

}  // namespace detail

std::unique_ptr<worker_impl> make_worker(const config::runner_config& cfg) {
    const auto& impl = cfg.worker_implementation;
    if (impl == "generic-worker") return detail::make_generic_worker(cfg.worker);
    if (impl == "docker-worker") return detail::make_docker_worker(cfg.worker);
    if (impl == "dummy") return detail::make_dummy(cfg.worker);
    if (impl.empty()) throw config_error("worker.implementation", "missing");
    throw config_error("worker.implementation",
                       "unrecognized worker implementation " +
                           boost::json::serialize(boost::json::string(impl)) +
                           " (known: docker-worker, dummy, generic-worker)");
}

}  // namespace sw::workers
