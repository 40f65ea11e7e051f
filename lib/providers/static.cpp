// static (reference 4.3): identity from the runner config, credentials from registerWorker with
// the static secret as proof. Unlike the Go runner, a cached run is allowed: the static secret
// can prove the identity again, so registerWorker can simply be repeated.
#include "lib/config/runner_config.hpp"
#include "lib/providers/builtin.hpp"

namespace sw::providers {

namespace {

class static_provider final : public provider {
  public:
    explicit static_provider(const boost::json::object& cfg)
        : id_(read_configured_identity(cfg)),
          provider_id_(config::required_string(cfg, "provider", "providerID")),
          static_secret_(config::required_string(cfg, "provider", "staticSecret")) {}

    std::string_view type() const override { return "static"; }

    boost::asio::awaitable<void> configure(run_state& state) override {
        apply_configured_identity(id_, "static", state);
        state.provider_id = provider_id_;
        co_return;
    }

    boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state&) override {
        co_return boost::json::object{{"staticSecret", static_secret_}};
    }

    bool dynamic() const override { return false; }
    bool can_reregister_from_scratch() const override { return true; }

  private:
    configured_identity id_;
    std::string provider_id_;
    std::string static_secret_;
};

}  // namespace

std::unique_ptr<provider> make_static(const config::runner_config& cfg, context&) {
    return std::make_unique<static_provider>(cfg.provider);
}

}  // namespace sw::providers
