// google (reference 4.5): identity from the `taskcluster` instance attribute and a signed
// identity token; preemption from a hanging GET on instance/preempted.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames (GCC bug 109224).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "lib/config/runner_config.hpp"
#include "lib/log/log.hpp"
#include "lib/providers/builtin.hpp"
#include "lib/providers/metadata.hpp"
#include "lib/providers/parse.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace sw::providers {

namespace {

/// GCE gives about 30 s between the preemption notice and the stop.
constexpr auto preemption_notice = std::chrono::seconds(30);
constexpr auto hanging_get_timeout = std::chrono::minutes(10);

class google_provider final : public provider {
  public:
    explicit google_provider(context& ctx)
        : ctx_(ctx),
          svc_(ctx, "http://" + ctx.gce_metadata_host + "/computeMetadata/v1",
               {{"Metadata-Flavor", "Google"}}) {}

    std::string_view type() const override { return "google"; }

    boost::asio::awaitable<void> configure(run_state& state) override {
        const auto id = co_await get("/instance/id");
        const auto attr = co_await get("/instance/attributes/taskcluster");
        parse::cloud_user_data ud;
        try {
            ud = parse::cloud_user_data_from_json(attr);
            if (auto missing = parse::first_missing_field(ud); !missing.empty())
                throw std::invalid_argument("missing " + std::string(missing));
        } catch (const std::invalid_argument& e) {
            throw failure(errc::config, "error querying GCE metadata " +
                                            svc_.url("/instance/attributes/taskcluster") + ": " +
                                            e.what());
        }
        boost::json::object md{{"instance-id", id}};
        md["project-id"] = co_await get("/project/project-id");
        md["image"] = co_await get("/instance/image");
        md["instance-type"] = co_await get("/instance/machine-type");
        const auto zone = parse::gce_zone_from_path(co_await get("/instance/zone"));
        const auto region = parse::gce_region_from_zone(zone);
        md["zone"] = zone;
        md["region"] = region;
        md["public-hostname"] = co_await get("/instance/hostname");
        const auto ip =
            co_await get_optional("/instance/network-interfaces/0/access-configs/0/external-ip");
        if (ip) md["public-ipv4"] = *ip;
        md["local-ipv4"] = co_await get("/instance/network-interfaces/0/ip");

        state.root_url = ud.root_url;
        state.provider_id = ud.provider_id;
        state.worker_pool_id = ud.worker_pool_id;
        state.worker_group = ud.worker_group;
        state.worker_id = id;
        state.worker_location = {{"cloud", "google"}, {"region", region}, {"zone", zone}};
        state.provider_metadata = std::move(md);
    }

    boost::asio::awaitable<std::optional<boost::json::object>> identity_proof(
        const run_state& state) override {
        // The audience is the root URL, not escaped (as the Go runner sends it).
        auto token =
            co_await get("/instance/service-accounts/default/identity?audience=" + state.root_url +
                         "&format=full");
        log::add_secret(token);
        co_return boost::json::object{{"token", token}};
    }

    bool dynamic() const override { return true; }

    boost::asio::awaitable<std::optional<termination_notice>> check_termination_now() override {
        // (No co_await inside a condition: GCC 12 miscompiles some of those.)
        const auto body = co_await get("/instance/preempted");
        std::optional<termination_notice> n;
        if (parse::gce_preempted(body)) n = notice();
        co_return n;
    }

    boost::asio::awaitable<termination_notice> watch_termination() override {
        outage_tracker outage("GCE metadata service");
        std::string etag;
        auto backoff = std::chrono::milliseconds(1'000);
        for (bool first = true;; first = false) {
            // A plain read first, then hanging reads that return when the value changes from
            // the one we saw (last_etag), so a change in between is never missed.
            std::string path = "/instance/preempted";
            if (!first) {
                path += "?wait_for_change=true";
                if (!etag.empty()) path += "&last_etag=" + etag;
            }
            try {
                log::debug("polling for termination-time");
                const auto resp = co_await svc_.get_once(path, {}, hanging_get_timeout);
                // A 429/503 with Retry-After: the next poll waits as asked (capped at 10 s).
                if (const auto asked = retry_after_wait(ctx_, resp, svc_.retries()))
                    backoff = std::max(backoff, *asked);
                if (resp.status < 200 || resp.status >= 300)
                    throw failure(errc::unavailable, "GET " + svc_.url(path) + ": HTTP status " +
                                                         std::to_string(resp.status));
                outage.succeeded();
                backoff = std::chrono::milliseconds(1'000);
                if (parse::gce_preempted(resp.body)) {
                    log::info("GCP Metadata Service says termination is imminent");
                    co_return notice();
                }
                etag = resp.header("ETag");
                // Guard against servers that answer at once instead of hanging.
                co_await sleep_scaled(ctx_, std::chrono::milliseconds(1'000));
                continue;
            } catch (const http::error& e) {
                outage.failed(e.what());
            } catch (const failure& e) {
                outage.failed(e.what());
            }
            co_await sleep_scaled(ctx_, backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
        }
    }

  private:
    termination_notice notice() const {
        return termination_notice{"gce instance preempted", ctx_.clk.now() + preemption_notice, {}};
    }

    boost::asio::awaitable<std::string> get(std::string path) const {
        try {
            co_return co_await svc_.get(path);
        } catch (const failure& e) {
            throw failure(e.code(), "error querying GCE metadata " + path + ": " + e.what());
        }
    }

    boost::asio::awaitable<std::optional<std::string>> get_optional(std::string path) const {
        try {
            co_return co_await svc_.get_optional(path);
        } catch (const failure& e) {
            throw failure(e.code(), "error querying GCE metadata " + path + ": " + e.what());
        }
    }

    const context& ctx_;
    metadata_service svc_;
};

}  // namespace

std::unique_ptr<provider> make_google(const config::runner_config&, context& ctx) {
    return std::make_unique<google_provider>(ctx);
}

}  // namespace sw::providers
