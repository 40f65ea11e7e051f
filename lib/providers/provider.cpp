#include "lib/providers/provider.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>

namespace sw::providers {

boost::asio::awaitable<termination_notice> provider::watch_termination() {
    // No notices: wait until cancelled.
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    for (;;) {
        t.expires_at(boost::asio::steady_timer::time_point::max());
        co_await t.async_wait(boost::asio::use_awaitable);
    }
}

void apply_environment(context& ctx) {
    auto set = [](const char* name, std::string& field) {
        const char* v = std::getenv(name);
        if (v && *v) field = v;
    };
    set("AWS_EC2_METADATA_SERVICE_ENDPOINT", ctx.aws_metadata_endpoint);
    set("GCE_METADATA_HOST", ctx.gce_metadata_host);
    set("AZURE_IMDS_ENDPOINT", ctx.azure_imds_endpoint);
}

}  // namespace sw::providers
