#include "lib/providers/metadata.hpp"

#include "lib/log/log.hpp"
#include "lib/providers/parse.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace sw::providers {

namespace {

bool retryable_status(unsigned status) {
    return status >= 500 || status == 429;
}

std::chrono::milliseconds scaled(const context& ctx, std::chrono::milliseconds d) {
    const double ms = static_cast<double>(d.count()) * std::max(ctx.time_scale, 0.0);
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
}

}  // namespace

std::string strip_trailing_slashes(std::string_view s) {
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return std::string(s);
}

boost::asio::awaitable<void> sleep_scaled(const context& ctx, std::chrono::milliseconds d) {
    boost::asio::steady_timer t(ctx.executor);
    t.expires_after(scaled(ctx, d));
    co_await t.async_wait(boost::asio::use_awaitable);
}

boost::asio::awaitable<http::response> send_with_retries(const context& ctx, http::request req,
                                                         const retry_settings& rs) {
    http::options opts;
    opts.timeout = rs.attempt_timeout;
    opts.connect_timeout = rs.attempt_timeout;
    opts.use_proxy = rs.use_proxy;
    opts.max_body = rs.max_body;

    const auto budget = scaled(ctx, rs.budget);
    const auto started = std::chrono::steady_clock::now();
    auto delay = rs.initial_delay;
    for (;;) {
        std::string problem;
        // What a 429 or 503 asked for in Retry-After: honoured, but capped at the longest
        // backoff delay (as lib/tc caps it), so a server cannot park the start-up.
        std::chrono::milliseconds wait = delay;
        try {
            auto resp = co_await ctx.http.send(req, opts);
            if (!retryable_status(resp.status)) co_return resp;
            problem = "HTTP status " + std::to_string(resp.status);
            if (const auto asked = retry_after_wait(ctx, resp, rs)) {
                wait = std::max(wait, *asked);
                problem += " (with Retry-After)";
            }
        } catch (const http::error& e) {
            problem = e.what();
        }
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        if (elapsed + scaled(ctx, wait) > budget)
            throw failure(errc::unavailable, req.method + " " + req.url + ": " + problem +
                                                 " (gave up after retrying)");
        log::debug("{} {}: {}; retrying in {} ms", req.method, req.url, problem,
                   scaled(ctx, wait).count());
        co_await sleep_scaled(ctx, wait);
        delay = std::min(rs.max_delay,
                         std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
                             static_cast<double>(delay.count()) * rs.multiplier)));
    }
}

std::optional<std::chrono::milliseconds> retry_after_wait(const context& ctx,
                                                          const http::response& resp,
                                                          const retry_settings& rs) {
    if (resp.status != 429 && resp.status != 503) return std::nullopt;
    const auto asked = parse::retry_after(resp.header("Retry-After"), ctx.clk.now());
    if (!asked) return std::nullopt;
    return std::min(*asked, rs.max_delay);
}

std::string body_or_throw(const http::response& resp, std::string_view method,
                          const std::string& url) {
    if (resp.status >= 200 && resp.status < 300) return resp.body;
    if (resp.status == 404) throw metadata_not_found(url);
    throw failure(errc::unavailable,
                  std::string(method) + " " + url + ": HTTP status " + std::to_string(resp.status));
}

metadata_service::metadata_service(const context& ctx, std::string_view base,
                                   http::header_list headers, const retry_settings& rs)
    : ctx_(ctx), base_(strip_trailing_slashes(base)), headers_(std::move(headers)), rs_(rs) {}

http::request metadata_service::make_request(std::string method, std::string_view path,
                                             http::header_list extra, std::string body) const {
    http::request req;
    req.method = std::move(method);
    req.url = url(path);
    req.headers = headers_;
    for (auto& h : extra) req.headers.push_back(std::move(h));
    req.body = std::move(body);
    return req;
}

boost::asio::awaitable<http::response> metadata_service::send(std::string method,
                                                              std::string_view path,
                                                              http::header_list extra,
                                                              std::string body) const {
    co_return co_await send_with_retries(
        ctx_, make_request(std::move(method), path, std::move(extra), std::move(body)), rs_);
}

boost::asio::awaitable<std::string> metadata_service::get(std::string_view path,
                                                          http::header_list extra) const {
    const auto resp = co_await send("GET", path, std::move(extra));
    co_return body_or_throw(resp, "GET", url(path));
}

boost::asio::awaitable<std::optional<std::string>> metadata_service::get_optional(
    std::string_view path, http::header_list extra) const {
    const auto resp = co_await send("GET", path, std::move(extra));
    if (resp.status == 404) co_return std::nullopt;
    co_return body_or_throw(resp, "GET", url(path));
}

boost::asio::awaitable<http::response> metadata_service::get_once(
    std::string_view path, http::header_list extra,
    std::optional<std::chrono::milliseconds> timeout) const {
    http::options opts;
    opts.timeout = timeout.value_or(rs_.attempt_timeout);
    opts.connect_timeout = rs_.attempt_timeout;
    opts.use_proxy = rs_.use_proxy;
    opts.max_body = rs_.max_body;
    co_return co_await ctx_.http.send(make_request("GET", path, std::move(extra), {}), opts);
}

void outage_tracker::failed(std::string_view problem) {
    if (down_) return;
    down_ = true;
    log::warn("{} unreachable ({}); retrying quietly until it answers again", service_, problem);
}

void outage_tracker::succeeded() {
    if (!down_) return;
    down_ = false;
    log::info("{} reachable again", service_);
}

}  // namespace sw::providers
