#pragma once
// Talking to a cloud metadata service: one base URL, fixed headers, never a proxy, short
// per-attempt timeouts, and retries with backoff for connection problems and 5xx answers up to a
// bounded total. Pollers use single attempts and an outage tracker that logs once per outage.
#include "lib/common/error.hpp"
#include "lib/http/client.hpp"
#include "lib/providers/provider.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sw::providers {

/// A 404 from a metadata service: the value does not exist (no public IP, no notice).
class metadata_not_found : public failure {
  public:
    explicit metadata_not_found(const std::string& url)
        : failure(errc::unavailable, url + ": 404 Not Found") {}
};

struct retry_settings {
    std::chrono::milliseconds attempt_timeout{2'000};
    /// Time spent retrying before giving up; multiplied by context::time_scale.
    std::chrono::milliseconds budget{60'000};
    std::chrono::milliseconds initial_delay{500};
    double multiplier = 1.5;
    std::chrono::milliseconds max_delay{10'000};
    bool use_proxy = false;
    std::size_t max_body = 1024 * 1024;
};

/// Waits `d * ctx.time_scale` on the context's executor.
boost::asio::awaitable<void> sleep_scaled(const context& ctx, std::chrono::milliseconds d);

/// Sends `req` until an answer that is not 5xx/429 arrives, retrying transport errors and those
/// statuses with exponential backoff; a Retry-After on a 429 or 503 (RFC 9110 10.2.3) makes
/// the wait at least what it asks, capped at `rs.max_delay`. When the (scaled) budget is used
/// up, throws
/// sw::failure(unavailable, "<METHOD> <url>: <last problem>"). Any other status is returned.
boost::asio::awaitable<http::response> send_with_retries(const context& ctx, http::request req,
                                                         const retry_settings& rs);

/// The wait a 429 or 503 answer asks for in Retry-After (RFC 9110 10.2.3), capped at
/// `rs.max_delay` as lib/tc caps it, unscaled; nullopt for other answers or without a readable
/// Retry-After. Retries and pollers wait at least this long.
std::optional<std::chrono::milliseconds> retry_after_wait(const context& ctx,
                                                          const http::response& resp,
                                                          const retry_settings& rs);

/// The body of a 2xx answer; throws metadata_not_found for 404 and sw::failure(unavailable)
/// naming the URL and status for anything else.
std::string body_or_throw(const http::response& resp, std::string_view method,
                          const std::string& url);

/// A metadata service: `base` + path, with `headers` on every request.
class metadata_service {
  public:
    metadata_service(const context& ctx, std::string_view base, http::header_list headers,
                     const retry_settings& rs = {});

    const std::string& base() const { return base_; }
    std::string url(std::string_view path) const { return base_ + std::string(path); }

    /// With retries. `extra` headers are appended to the fixed ones.
    boost::asio::awaitable<http::response> send(std::string method, std::string_view path,
                                                http::header_list extra = {},
                                                std::string body = {}) const;
    /// GET with retries: the 2xx body; metadata_not_found for 404; failure otherwise.
    boost::asio::awaitable<std::string> get(std::string_view path,
                                            http::header_list extra = {}) const;
    /// As get(), but a 404 gives nullopt.
    boost::asio::awaitable<std::optional<std::string>> get_optional(
        std::string_view path, http::header_list extra = {}) const;
    /// One attempt, no retries (pollers). Throws http::error on transport problems.
    boost::asio::awaitable<http::response> get_once(
        std::string_view path, http::header_list extra = {},
        std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;

    const context& ctx() const { return ctx_; }
    const retry_settings& retries() const { return rs_; }

  private:
    http::request make_request(std::string method, std::string_view path, http::header_list extra,
                               std::string body) const;

    const context& ctx_;
    std::string base_;
    http::header_list headers_;
    retry_settings rs_;
};

/// Logs a metadata outage once when it starts (warn) and once when it ends (info), however
/// many polls fail in between.
class outage_tracker {
  public:
    explicit outage_tracker(std::string service) : service_(std::move(service)) {}
    void failed(std::string_view problem);
    void succeeded();
    bool in_outage() const { return down_; }

  private:
    std::string service_;
    bool down_ = false;
};

/// Removes trailing '/' characters.
std::string strip_trailing_slashes(std::string_view s);

}  // namespace sw::providers
