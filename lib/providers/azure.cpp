// azure (reference 4.6): identity from the VM's tags, proof from the attested document,
// termination from scheduled events, which (unlike the Go runner) are acknowledged once the
// worker has stopped so the platform may proceed early.
#include "lib/config/runner_config.hpp"
#include "lib/log/log.hpp"
#include "lib/providers/builtin.hpp"
#include "lib/providers/metadata.hpp"
#include "lib/providers/parse.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace sw::providers {

namespace {

constexpr std::string_view instance_path = "/metadata/instance?api-version=2025-04-07";
constexpr std::string_view attested_path = "/metadata/attested/document?api-version=2025-04-07";
constexpr std::string_view events_path = "/metadata/scheduledevents?api-version=2020-07-01";
/// Every second, as the Go runner polls: an eviction (spot, Preempt) can give only 30 s of
/// notice (Microsoft's advice for scheduled events). Stated in --help (config_docs.cpp).
constexpr auto events_poll_interval = std::chrono::milliseconds(1'000);
/// The first scheduled-events call may take up to 120 s while the service starts.
constexpr auto events_timeout = std::chrono::milliseconds(150'000);
/// The look before the worker starts waits less: the watcher covers a slow first answer.
constexpr auto startup_events_timeout = std::chrono::milliseconds(10'000);

class azure_provider final : public provider {
  public:
    explicit azure_provider(context& ctx)
        : ctx_(ctx), svc_(ctx, ctx.azure_imds_endpoint, {{"Metadata", "true"}}) {}

    std::string_view type() const override { return "azure"; }

    boost::asio::awaitable<void> configure(run_state& state) override {
        const auto text = co_await svc_.get(instance_path);
        parse::azure_instance inst;
        parse::cloud_user_data id;
        try {
            inst = parse::azure_instance_from_json(text);
            id = parse::azure_identity_from_tags(inst.tags);
        } catch (const std::invalid_argument& e) {
            throw failure(errc::config, svc_.url(instance_path) + ": " + e.what());
        }
        vm_name_ = inst.name;
        fill_state(inst, id, state);
    }

    boost::asio::awaitable<void> use_cached_run(run_state& state) override {
        vm_name_ = state.worker_id;
        co_return;
    }

    boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state&) override {
        const auto text = co_await svc_.get(attested_path);
        try {
            co_return boost::json::object{{"document", parse::azure_attested_signature(text)}};
        } catch (const std::invalid_argument& e) {
            throw failure(errc::unavailable, svc_.url(attested_path) + ": " + e.what());
        }
    }

    bool dynamic() const override { return true; }

    /// One bounded look at the scheduled events before the worker starts. The service may
    /// take up to 120 s to answer its first call; when it does not answer in time (or fails),
    /// the worker starts and watch_termination keeps looking.
    boost::asio::awaitable<std::optional<termination_notice>> check_termination_now() override {
        std::optional<termination_notice> notice;
        try {
            const auto resp = co_await svc_.get_once(events_path, {}, startup_events_timeout);
            notice = parse::azure_termination_notice(
                parse::azure_scheduled_events_from_json(
                    body_or_throw(resp, "GET", svc_.url(events_path))),
                vm_name_);
        } catch (const std::exception& e) {
            log::info(
                "Could not read scheduled events before starting the worker ({}); "
                "watching them while it runs",
                e.what());
        }
        co_return notice;
    }

    boost::asio::awaitable<termination_notice> watch_termination() override {
        outage_tracker outage("Azure metadata service (scheduled events)");
        for (;;) {
            auto wait = events_poll_interval;
            try {
                const auto resp = co_await svc_.get_once(events_path, {}, events_timeout);
                // A 429/503 with Retry-After: the next poll waits as asked (capped at 10 s).
                if (const auto asked = retry_after_wait(ctx_, resp, svc_.retries()))
                    wait = std::max(wait, *asked);
                const auto body = body_or_throw(resp, "GET", svc_.url(events_path));
                auto notice = parse::azure_termination_notice(
                    parse::azure_scheduled_events_from_json(body), vm_name_);
                outage.succeeded();
                if (notice) {
                    log::info("Azure Metadata Service says a maintenance event is imminent ({})",
                              notice->reason);
                    co_return *notice;
                }
            } catch (const http::error& e) {
                outage.failed(e.what());
            } catch (const failure& e) {
                outage.failed(e.what());
            } catch (const std::invalid_argument& e) {
                outage.failed(e.what());
            }
            co_await sleep_scaled(ctx_, wait);
        }
    }

    boost::asio::awaitable<void> acknowledge(const termination_notice& n) override {
        if (n.event_id.empty()) co_return;
        try {
            http::header_list headers;
            headers.emplace_back("Content-Type", "application/json");
            const auto resp =
                co_await svc_.send("POST", events_path, headers, acknowledge_body(n.event_id));
            body_or_throw(resp, "POST", svc_.url(events_path));
            log::info("acknowledged scheduled event {}", n.event_id);
        } catch (const failure& e) {
            log::warn("could not acknowledge scheduled event {}: {}", n.event_id, e.what());
        }
    }

  private:
    static void fill_state(const parse::azure_instance& inst, const parse::cloud_user_data& id,
                           run_state& state) {
        state.root_url = id.root_url;
        state.provider_id = id.provider_id;
        state.worker_pool_id = id.worker_pool_id;
        state.worker_group = id.worker_group;
        state.worker_id = inst.name;
        state.worker_location = {{"cloud", "azure"}, {"region", inst.location}};
        boost::json::object md{
            {"vm-id", inst.vm_id}, {"instance-type", inst.vm_size}, {"region", inst.location}};
        if (inst.local_ipv4) md["local-ipv4"] = *inst.local_ipv4;
        if (inst.public_ipv4) md["public-ipv4"] = *inst.public_ipv4;
        state.provider_metadata = std::move(md);
    }

    static std::string acknowledge_body(const std::string& event_id) {
        boost::json::object body{
            {"StartRequests", boost::json::array{boost::json::object{{"EventId", event_id}}}}};
        return boost::json::serialize(body);
    }

    const context& ctx_;
    metadata_service svc_;
    std::string vm_name_;
};

}  // namespace

std::unique_ptr<provider> make_azure(const config::runner_config&, context& ctx) {
    return std::make_unique<azure_provider>(ctx);
}

}  // namespace sw::providers
