#include "lib/providers/aws_imds.hpp"

#include "lib/log/log.hpp"
#include "lib/providers/parse.hpp"

namespace sw::providers {

namespace {
constexpr auto token_ttl = std::chrono::seconds(21600);
constexpr auto token_margin = std::chrono::minutes(15);
constexpr auto spot_poll_interval = std::chrono::milliseconds(5'000);
}  // namespace

aws_imds::aws_imds(const context& ctx, bool allow_v1)
    : ctx_(ctx),
      svc_(ctx, strip_trailing_slashes(ctx.aws_metadata_endpoint) + "/latest", {}),
      allow_v1_(allow_v1) {}

boost::asio::awaitable<http::header_list> aws_imds::token_headers(bool retry, bool force_renew) {
    if (v1_) co_return http::header_list{};
    const auto now = ctx_.clk.now();
    if (force_renew || token_.empty() || token_expiry_ - now < token_margin) {
        http::header_list h{
            {"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(token_ttl.count())}};
        http::response resp;
        if (retry) {
            resp = co_await svc_.send("PUT", "/api/token", std::move(h));
        } else {
            http::request req{"PUT", svc_.url("/api/token"), std::move(h), {}};
            http::options opts;
            opts.timeout = opts.connect_timeout = svc_.retries().attempt_timeout;
            opts.use_proxy = false;
            resp = co_await ctx_.http.send(std::move(req), opts);
        }
        // A 4xx refuses IMDSv2 (a service that only has v1); 429 only says "later" (the
        // retrying send waits for it; a poller's next poll tries again).
        if (resp.status >= 400 && resp.status < 500 && resp.status != 429 && allow_v1_) {
            log::info("EC2 metadata service refused a session token (HTTP {}); using IMDSv1",
                      resp.status);
            v1_ = true;
            co_return http::header_list{};
        }
        token_ = body_or_throw(resp, "PUT", svc_.url("/api/token"));
        token_expiry_ = now + token_ttl;
    }
    co_return http::header_list{{"X-aws-ec2-metadata-token", token_}};
}

boost::asio::awaitable<http::response> aws_imds::fetch(std::string_view path, bool retry) {
    for (int attempt = 0;; ++attempt) {
        auto headers = co_await token_headers(retry, attempt > 0);
        // (No co_await inside ?: : GCC 12 miscompiles it.)
        http::response resp;
        if (retry)
            resp = co_await svc_.send("GET", path, std::move(headers));
        else
            resp = co_await svc_.get_once(path, std::move(headers));
        if (resp.status != 401 || v1_ || attempt > 0) co_return resp;
    }
}

boost::asio::awaitable<std::string> aws_imds::get(std::string_view path) {
    const auto resp = co_await fetch(path, true);
    co_return body_or_throw(resp, "GET", url(path));
}

boost::asio::awaitable<std::optional<std::string>> aws_imds::get_optional(std::string_view path) {
    const auto resp = co_await fetch(path, true);
    if (resp.status == 404) co_return std::nullopt;
    co_return body_or_throw(resp, "GET", url(path));
}

boost::asio::awaitable<std::optional<termination_notice>> aws_spot_notice(aws_imds& imds,
                                                                          bool retry) {
    const auto action = co_await imds.fetch("/meta-data/spot/instance-action", retry);
    if (action.status != 404) {
        const auto body = body_or_throw(action, "GET", imds.url("/meta-data/spot/instance-action"));
        try {
            co_return parse::aws_instance_action_notice(body);
        } catch (const std::invalid_argument& e) {
            log::warn("EC2 spot instance-action: {}", e.what());
            co_return termination_notice{"aws spot instance-action", std::nullopt, {}};
        }
    }
    const auto time = co_await imds.fetch("/meta-data/spot/termination-time", retry);
    if (time.status == 404) co_return std::nullopt;
    co_return parse::aws_termination_time_notice(
        body_or_throw(time, "GET", imds.url("/meta-data/spot/termination-time")));
}

boost::asio::awaitable<termination_notice> aws_watch_spot(const context& ctx, aws_imds& imds) {
    outage_tracker outage("EC2 metadata service");
    for (;;) {
        std::optional<termination_notice> notice;
        try {
            log::debug("polling for termination-time");
            notice = co_await aws_spot_notice(imds, false);
            outage.succeeded();
        } catch (const http::error& e) {
            outage.failed(e.what());
        } catch (const failure& e) {
            outage.failed(e.what());
        }
        if (notice) {
            log::info("EC2 Metadata Service says termination is imminent ({})", notice->reason);
            co_return *notice;
        }
        co_await sleep_scaled(ctx, spot_poll_interval);
    }
}

}  // namespace sw::providers
