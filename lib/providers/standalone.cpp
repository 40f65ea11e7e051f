// standalone (reference 4.2): everything, credentials included, from the runner config; no
// registration, no renewal, no notices.
#include "lib/config/runner_config.hpp"
#include "lib/providers/builtin.hpp"

namespace sw::providers {

namespace {

class standalone_provider final : public provider {
  public:
    explicit standalone_provider(const boost::json::object& cfg)
        : id_(read_configured_identity(cfg)),
          client_id_(config::required_string(cfg, "provider", "clientID")),
          access_token_(config::required_string(cfg, "provider", "accessToken")) {}

    std::string_view type() const override { return "standalone"; }

    boost::asio::awaitable<void> configure(run_state& state) override {
        apply_configured_identity(id_, "standalone", state);
        state.provider_id = "standalone";
        state.creds = credentials{client_id_, access_token_, {}};
        state.credentials_expire.reset();
        co_return;
    }

    boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state&) override {
        co_return std::nullopt;
    }

    bool dynamic() const override { return false; }
    bool registers() const override { return false; }

  private:
    configured_identity id_;
    std::string client_id_;
    std::string access_token_;
};

}  // namespace

std::unique_ptr<provider> make_standalone(const config::runner_config& cfg, context&) {
    return std::make_unique<standalone_provider>(cfg.provider);
}

}  // namespace sw::providers
