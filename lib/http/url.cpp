// parse_url and response::header.
#include "lib/http/client.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <strings.h>

namespace sw::http {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

url parse_url(std::string_view text) {
    const auto fail = [&](std::string_view problem) -> std::invalid_argument {
        // Never echo userinfo (it may hold a password).
        std::string shown(text);
        const auto scheme_end = shown.find("://");
        const auto at = shown.find('@');
        const auto auth_end =
            shown.find_first_of("/?#", scheme_end == std::string::npos ? 0 : scheme_end + 3);
        if (scheme_end != std::string::npos && at != std::string::npos && at < auth_end) {
            shown.replace(scheme_end + 3, at - scheme_end - 3, "***");
        }
        return std::invalid_argument(shown + ": " + std::string(problem));
    };
    for (const unsigned char c : text) {
        if (c <= 0x20 || c >= 0x7f) throw fail("contains a space, control or non-ASCII character");
    }
    url out;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) throw fail("not an absolute http or https URL");
    out.scheme = lower(text.substr(0, sep));
    if (out.scheme != "http" && out.scheme != "https") {
        throw fail("unsupported scheme (want http or https)");
    }
    std::string_view rest = text.substr(sep + 3);
    const auto auth_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
    if (authority.find('@') != std::string_view::npos) throw fail("user info is not supported");

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) throw fail("unterminated IPv6 literal");
        out.host = lower(authority.substr(1, close - 1));
        boost::system::error_code ec;
        boost::asio::ip::make_address_v6(out.host, ec);
        if (ec) throw fail("bad IPv6 literal");
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw fail("unexpected text after the IPv6 literal");
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        out.host = lower(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
        if (out.host.find(':') != std::string::npos) throw fail("IPv6 literal needs brackets");
    }
    if (out.host.empty()) throw fail("no host");

    if (port_text.empty()) {
        out.port = out.scheme == "https" ? 443 : 80;
    } else {
        unsigned long port = 0;
        for (const char c : port_text) {
            if (c < '0' || c > '9' || port > 65535) throw fail("bad port");
            port = port * 10 + static_cast<unsigned>(c - '0');
        }
        if (port == 0 || port > 65535) throw fail("bad port");
        out.port = static_cast<std::uint16_t>(port);
    }

    // The fragment is never sent.
    tail = tail.substr(0, tail.find('#'));
    if (tail.empty()) {
        out.target = "/";
    } else if (tail.front() == '?') {
        out.target = "/" + std::string(tail);
    } else {
        out.target = std::string(tail);
    }
    return out;
}

std::string response::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) {
            return v;
        }
    }
    return {};
}

}  // namespace sw::http
