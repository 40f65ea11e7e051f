// The provider registry: providerType -> constructor.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/providers/builtin.hpp"

#include <array>
#include <utility>

namespace sw::providers {

std::unique_ptr<provider> make_provider(const config::runner_config& cfg, context& ctx) {
    using factory = std::unique_ptr<provider> (*)(const config::runner_config&, context&);
    static constexpr std::array<std::pair<std::string_view, factory>, 6> table{{
        {"standalone", &make_standalone},
        {"static", &make_static},
        {"aws", &make_aws},
        {"google", &make_google},
        {"azure", &make_azure},
        {"aws-provisioner", &make_aws_provisioner},
    }};
    if (cfg.provider_type.empty())
        throw config_error("provider.providerType", "no provider given in configuration");
    for (const auto& [name, make] : table)
        if (name == cfg.provider_type) return make(cfg, ctx);
    throw config_error("provider.providerType", "unrecognized provider type " + cfg.provider_type);
}

}  // namespace sw::providers
