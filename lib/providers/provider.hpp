#pragma once
// Providers: where the worker's identity comes from (reference section 4). Each is an async
// component behind this small interface; the lifecycle shell drives them.
#include "lib/common/clock.hpp"
#include "state/run_state.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::http {
class client;
}
namespace sw::config {
struct runner_config;
}

namespace sw::providers {

/// What a provider may use. Owned by the daemon; outlives every provider.
struct context {
    boost::asio::any_io_executor executor;
    http::client& http;
    const clock& clk;
    /// Base URLs from the environment (CONTRACT.md), already resolved.
    std::string aws_metadata_endpoint = "http://169.254.169.254";
    std::string gce_metadata_host = "metadata.google.internal";
    std::string azure_imds_endpoint = "http://169.254.169.254";
    /// Tests: multiply every retry delay and poll interval by this.
    double time_scale = 1.0;
};

class provider {
  public:
    virtual ~provider() = default;

    /// "standalone", "static", "aws", ...
    virtual std::string_view type() const = 0;

    /// Fills root_url, ids, location, metadata (and credentials where the provider has them).
    /// Throws sw::failure (exit 69 when the metadata service stays unreachable, 78 for bad
    /// provider config).
    virtual boost::asio::awaitable<void> configure(run_state& state) = 0;

    /// The workerIdentityProof for registerWorker, or nullopt to skip registration
    /// (standalone, aws-provisioner).
    virtual boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state& state) = 0;

    /// Resuming from persisted state: re-checks what must be re-checked (nothing for most).
    virtual boost::asio::awaitable<void> use_cached_run(run_state& /*state*/) { co_return; }

    /// Cloud-provisioned: removeWorker (and a host shutdown) when the worker is done.
    virtual bool dynamic() const = 0;

    /// Registers with worker-manager (registerWorker, reregisterWorker, shouldWorkerTerminate).
    /// False for providers whose credentials come from elsewhere (standalone, aws-provisioner).
    virtual bool registers() const { return true; }

    /// Whether this provider can prove its identity again after a reboot (cloud providers),
    /// so expired cached credentials can be replaced by a fresh registration.
    virtual bool can_reregister_from_scratch() const { return dynamic(); }

    /// Checks once, before the worker starts, whether the instance is already marked for
    /// termination. Default: no.
    virtual boost::asio::awaitable<std::optional<termination_notice>> check_termination_now() {
        co_return std::nullopt;
    }

    /// Runs until the cloud announces termination and returns that notice; never returns
    /// for providers without notices. Cancelled (by closing the executor's operations) when the
    /// worker is finished. Metadata outages are logged once per outage and retried.
    virtual boost::asio::awaitable<termination_notice> watch_termination();

    /// Tells the platform that the worker has stopped, so it may proceed early (azure
    /// scheduled events). Default: nothing.
    virtual boost::asio::awaitable<void> acknowledge(const termination_notice&) { co_return; }
};

/// Fills the metadata endpoints from AWS_EC2_METADATA_SERVICE_ENDPOINT, GCE_METADATA_HOST and
/// AZURE_IMDS_ENDPOINT when they are set.
void apply_environment(context& ctx);

/// Creates the provider named by `cfg.provider`'s providerType. Throws sw::failure(config).
std::unique_ptr<provider> make_provider(const config::runner_config& cfg, context& ctx);

}  // namespace sw::providers
