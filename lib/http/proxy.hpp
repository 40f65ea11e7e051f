#pragma once
// Proxy selection from the environment, as Go's net/http does it: HTTPS_PROXY / https_proxy for
// https URLs, HTTP_PROXY / http_proxy for http URLs, NO_PROXY / no_proxy to bypass. Internal to
// lib/http.
#include "lib/http/client.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sw::http {

struct proxy {
    std::string host;  ///< lower-cased, no brackets for IPv6
    std::uint16_t port = 0;
    std::string authorization;  ///< "Basic ..." from the proxy URL's userinfo, or ""
};

/// Parses a proxy URL ("http://[user:pass@]host[:port]" or "host:port"). Throws
/// std::invalid_argument with a message that never contains the userinfo.
proxy parse_proxy(std::string_view text);

/// True if `host` (lower-cased, no brackets) with `port` is excluded by a NO_PROXY list.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::uint16_t port);

/// The proxy for `u` according to the environment, or nullopt. Throws std::invalid_argument
/// naming the variable when its value is not a usable proxy URL.
std::optional<proxy> proxy_from_environment(const url& u);

/// Parses an absolute URL with Boost.URL (RFC 3986) into `out` (any scheme, lower-cased; port
/// 0 when absent; target "/" when the path is empty). With `userinfo`, user info is accepted and
/// stored there percent-decoded; without, it is refused. Returns "" or the problem (which
/// never quotes the URL).
std::string parse_url_parts(std::string_view text, url& out, std::string* userinfo);

/// ASCII lower case.
std::string ascii_lower(std::string_view s);

/// Splits "host[:port]", "[v6][:port]" or a bare IPv6 address into a lower-cased host without
/// brackets and a port (0 if absent). False if the text is malformed (bad port, open bracket).
bool split_host_port(std::string_view s, std::string& host, std::uint16_t& port);

/// "host:port" with brackets around IPv6 hosts.
std::string host_port(std::string_view host, std::uint16_t port);

}  // namespace sw::http
