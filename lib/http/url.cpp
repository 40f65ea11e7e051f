// parse_url and response::header.
#include "lib/http/client.hpp"
#include "lib/http/proxy.hpp"

#include <boost/asio/ip/address.hpp>

#include <stdexcept>
#include <strings.h>

namespace sw::http {

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
    out.scheme = ascii_lower(text.substr(0, sep));
    if (out.scheme != "http" && out.scheme != "https") {
        throw fail("unsupported scheme (want http or https)");
    }
    std::string_view rest = text.substr(sep + 3);
    const auto auth_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
    if (authority.find('@') != std::string_view::npos) throw fail("user info is not supported");

    const bool bracketed = !authority.empty() && authority.front() == '[';
    if (!bracketed && authority.find(':') != authority.rfind(':')) {
        throw fail("IPv6 literal needs brackets");
    }
    if (!split_host_port(authority, out.host, out.port)) throw fail("bad host or port");
    if (out.host.empty()) throw fail("no host");
    if (bracketed) {
        boost::system::error_code ec;
        boost::asio::ip::make_address_v6(out.host, ec);
        if (ec) throw fail("bad IPv6 literal");
    }
    if (out.port == 0) out.port = out.scheme == "https" ? 443 : 80;

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
