// Provider-config keys shared by the providers configured from the runner config.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/providers/builtin.hpp"

#include <boost/json/value.hpp>

namespace sw::providers {

configured_identity read_configured_identity(const boost::json::object& provider) {
    configured_identity id;
    id.root_url = config::required_string(provider, "provider", "rootURL");
    id.worker_pool_id = config::required_string(provider, "provider", "workerPoolID");
    id.worker_group = config::required_string(provider, "provider", "workerGroup");
    id.worker_id = config::required_string(provider, "provider", "workerID");
    id.provider_metadata = config::optional_object(provider, "provider", "providerMetadata")
                               .value_or(boost::json::object{});
    for (auto& [k, v] : config::optional_string_map(provider, "provider", "workerLocation"))
        id.worker_location.emplace(std::move(k), std::move(v));
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
