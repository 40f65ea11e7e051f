#pragma once
// The EC2 instance metadata service, IMDSv2 (reference 4.4): a session token from
// PUT /latest/api/token, cached and refreshed when it has less than 15 minutes left, sent on
// every read. Shared by the aws and aws-provisioner providers, with the spot notices.
#include "lib/providers/metadata.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sw::providers {

class aws_imds {
  public:
    /// `allow_v1`: when the token PUT is refused (4xx), read without a token (IMDSv1).
    aws_imds(const context& ctx, bool allow_v1);

    /// GET /latest<path>. `retry`: with the metadata retry policy, else one attempt (pollers;
    /// transport problems throw http::error). A 401 renews the token once.
    boost::asio::awaitable<http::response> fetch(std::string_view path, bool retry);
    /// The 2xx body; metadata_not_found on 404; sw::failure otherwise.
    boost::asio::awaitable<std::string> get(std::string_view path);
    boost::asio::awaitable<std::optional<std::string>> get_optional(std::string_view path);

    std::string url(std::string_view path) const { return svc_.url(path); }

  private:
    boost::asio::awaitable<http::header_list> token_headers(bool retry, bool force_renew);

    const context& ctx_;
    metadata_service svc_;
    bool allow_v1_;
    bool v1_ = false;
    std::string token_;
    time_point token_expiry_{};
};

/// A spot notice, if EC2 announced one: spot/instance-action first, then
/// spot/termination-time. 404 on both: none. Other answers throw sw::failure.
boost::asio::awaitable<std::optional<termination_notice>> aws_spot_notice(aws_imds& imds,
                                                                          bool retry);

/// Polls aws_spot_notice every 5 s (scaled) with single attempts until a notice arrives; an
/// outage is logged once.
boost::asio::awaitable<termination_notice> aws_watch_spot(const context& ctx, aws_imds& imds);

}  // namespace sw::providers
