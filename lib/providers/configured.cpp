// Provider-config keys shared by the providers configured from the runner config.
#include "lib/common/error.hpp"
#include "lib/providers/builtin.hpp"

#include <boost/json/value.hpp>

namespace sw::providers {

namespace keys {

namespace {
std::string path(std::string_view key) {
    return "provider." + std::string(key);
}
}  // namespace

std::string required(const boost::json::object& provider, std::string_view key) {
    const auto* v = provider.if_contains(key);
    if (!v || v->is_null()) throw config_error(path(key), "missing");
    if (!v->is_string()) throw config_error(path(key), "must be a string");
    if (v->get_string().empty()) throw config_error(path(key), "must not be empty");
    return std::string(v->get_string());
}

boost::json::object optional_object(const boost::json::object& provider, std::string_view key) {
    const auto* v = provider.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_object()) throw config_error(path(key), "must be a map");
    return v->get_object();
}

std::map<std::string, std::string> optional_string_map(const boost::json::object& provider,
                                                       std::string_view key) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : optional_object(provider, key)) {
        if (!v.is_string()) throw config_error(path(key) + "." + std::string(k), "is not a string");
        out.emplace(std::string(k), std::string(v.get_string()));
    }
    return out;
}

}  // namespace keys

configured_identity read_configured_identity(const boost::json::object& provider) {
    configured_identity id;
    id.root_url = keys::required(provider, "rootURL");
    id.worker_pool_id = keys::required(provider, "workerPoolID");
    id.worker_group = keys::required(provider, "workerGroup");
    id.worker_id = keys::required(provider, "workerID");
    id.provider_metadata = keys::optional_object(provider, "providerMetadata");
    id.worker_location = keys::optional_string_map(provider, "workerLocation");
    return id;
}

void apply_configured_identity(const configured_identity& id, std::string_view cloud,
                               run_state& state) {
    state.root_url = normalize_root_url(id.root_url);
    state.worker_pool_id = id.worker_pool_id;
    state.worker_group = id.worker_group;
    state.worker_id = id.worker_id;
    state.provider_metadata = id.provider_metadata;
    state.worker_location = {{"cloud", std::string(cloud)}};
    for (const auto& [k, v] : id.worker_location) state.worker_location[k] = v;
}

}  // namespace sw::providers
