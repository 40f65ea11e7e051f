// Proxy selection from HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
#include "lib/http/proxy.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <openssl/evp.h>

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

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

std::string base64(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
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
    std::string_view rest = text;
    const auto sep = text.find("://");
    if (sep != std::string_view::npos) {
        const auto scheme = ascii_lower(text.substr(0, sep));
        if (scheme != "http") {
            throw std::invalid_argument("unsupported proxy scheme \"" + scheme +
                                        "\" (only http:// proxies are supported)");
        }
        rest = text.substr(sep + 3);
    }
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    proxy out;
    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        out.authorization = "Basic " + base64(percent_decode(authority.substr(0, at)));
        authority = authority.substr(at + 1);
    }
    if (!split_host_port(authority, out.host, out.port) || out.host.empty()) {
        throw std::invalid_argument("bad proxy address (want http://host:port)");
    }
    if (out.port == 0) out.port = 80;
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
