// Proxy selection from HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
#include "lib/http/proxy.hpp"

#include "lib/common/base64.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace sw::http {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

const char* env(const char* upper, const char* lower_name) {
    const char* v = std::getenv(upper);
    if (v && *v) return v;
    v = std::getenv(lower_name);
    return v && *v ? v : nullptr;
}

bool ip_in_cidr(std::string_view cidr, const boost::asio::ip::address& ip) {
    boost::system::error_code ec;
    const std::string text(cidr);
    if (ip.is_v4()) {
        const auto net = boost::asio::ip::make_network_v4(text, ec);
        if (ec) return false;
        return (ip.to_v4().to_uint() & net.netmask().to_uint()) ==
               (net.address().to_uint() & net.netmask().to_uint());
    }
    const auto net = boost::asio::ip::make_network_v6(text, ec);
    if (ec) return false;
    const auto a = ip.to_v6().to_bytes();
    const auto b = net.address().to_bytes();
    unsigned bits = net.prefix_length();
    for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
        const unsigned n = std::min(bits, 8u);
        const auto mask = static_cast<unsigned char>(0xff << (8 - n));
        if ((a[i] & mask) != (b[i] & mask)) return false;
        bits -= n;
    }
    return true;
}

}  // namespace

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool split_host_port(std::string_view s, std::string& host, std::uint16_t& port) {
    std::string_view port_text;
    port = 0;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos) return false;
        host = ascii_lower(s.substr(1, close - 1));
        const auto after = s.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return false;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = s.rfind(':');
        if (colon != std::string_view::npos && s.find(':') != colon) {
            host = ascii_lower(s);  // bare IPv6 address
            return true;
        }
        host = ascii_lower(s.substr(0, colon));
        if (colon != std::string_view::npos) port_text = s.substr(colon + 1);
    }
    if (!port_text.empty()) {
        unsigned long p = 0;
        for (const char c : port_text) {
            if (c < '0' || c > '9' || p > 65535) return false;
            p = p * 10 + static_cast<unsigned>(c - '0');
        }
        if (p == 0 || p > 65535) return false;
        port = static_cast<std::uint16_t>(p);
    }
    return true;
}

std::string host_port(std::string_view host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string_view::npos;
    return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

proxy parse_proxy(std::string_view text) {
    text = trim(text);
    // Go's net/http: a proxy without a scheme ("host:port") is an http proxy.
    const std::string full = text.find("://") == std::string_view::npos
                                 ? "http://" + std::string(text)
                                 : std::string(text);
    url u;
    std::string userinfo;
    // The messages never quote the text: it may hold a password.
    if (const auto problem = parse_url_parts(full, u, &userinfo); !problem.empty())
        throw std::invalid_argument("bad proxy address (want http://host:port): " + problem);
    if (u.scheme != "http")
        throw std::invalid_argument("unsupported proxy scheme \"" + u.scheme +
                                    "\" (only http:// proxies are supported)");
    proxy out;
    out.host = u.host;
    out.port = u.port == 0 ? 80 : u.port;
    if (!userinfo.empty()) out.authorization = "Basic " + base64_encode(userinfo);
    return out;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::uint16_t port) {
    boost::system::error_code ec;
    const auto host_ip = boost::asio::ip::make_address(std::string(host), ec);
    const bool host_is_ip = !ec;
    std::string_view list = no_proxy;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto raw = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (raw.empty()) continue;
        if (raw == "*") return true;
        if (raw.find('/') != std::string_view::npos) {
            if (host_is_ip && ip_in_cidr(raw, host_ip)) return true;
            continue;
        }
        std::string entry;
        std::uint16_t entry_port = 0;
        if (!split_host_port(raw, entry, entry_port) || entry.empty()) continue;
        if (entry_port != 0 && entry_port != port) continue;
        if (host_is_ip) {
            const auto entry_ip = boost::asio::ip::make_address(entry, ec);
            if (!ec && entry_ip == host_ip) return true;
            continue;
        }
        if (entry.rfind("*.", 0) == 0) entry.erase(0, 1);
        if (entry.front() == '.') {
            // ".example.com": subdomains only.
            if (host.size() > entry.size() && host.ends_with(entry)) return true;
        } else if (host == entry || (host.size() > entry.size() && host.ends_with(entry) &&
                                     host[host.size() - entry.size() - 1] == '.')) {
            return true;
        }
    }
    return false;
}

std::optional<proxy> proxy_from_environment(const url& u) {
    const bool https = u.scheme == "https";
    const char* name = https ? "HTTPS_PROXY" : "HTTP_PROXY";
    const char* value = https ? env("HTTPS_PROXY", "https_proxy") : env("HTTP_PROXY", "http_proxy");
    if (!value) return std::nullopt;
    if (const char* no = env("NO_PROXY", "no_proxy"); no && no_proxy_matches(no, u.host, u.port)) {
        return std::nullopt;
    }
    try {
        return parse_proxy(value);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(name) + ": " + e.what());
    }
}

}  // namespace sw::http
