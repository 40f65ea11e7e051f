#pragma once
// The built-in providers, for the registry, plus the provider-config key helpers they share.
#include "lib/providers/provider.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sw::providers {

std::unique_ptr<provider> make_standalone(const config::runner_config& cfg, context& ctx);
std::unique_ptr<provider> make_static(const config::runner_config& cfg, context& ctx);
std::unique_ptr<provider> make_aws(const config::runner_config& cfg, context& ctx);
std::unique_ptr<provider> make_google(const config::runner_config& cfg, context& ctx);
std::unique_ptr<provider> make_azure(const config::runner_config& cfg, context& ctx);
std::unique_ptr<provider> make_aws_provisioner(const config::runner_config& cfg, context& ctx);

/// What standalone and static read from the config (4.2, 4.3).
struct configured_identity {
    std::string root_url;
    std::string worker_pool_id;
    std::string worker_group;
    std::string worker_id;
    boost::json::object provider_metadata;
    std::map<std::string, std::string> worker_location;
};
configured_identity read_configured_identity(const boost::json::object& provider);
/// Fills the state: root URL normalised, location {cloud: <cloud>} plus the configured entries.
void apply_configured_identity(const configured_identity& id, std::string_view cloud,
                               run_state& state);

}  // namespace sw::providers
