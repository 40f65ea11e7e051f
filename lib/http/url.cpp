// parse_url (on Boost.URL, RFC 3986) and response::header.
#include "lib/http/client.hpp"
#include "lib/http/proxy.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <stdexcept>

namespace sw::http {

namespace {

/// `text` with any user info replaced by "***", for error messages: a URL that failed to parse
/// may still hold a password ("https://user:secret@host:bad/").
std::string without_userinfo(std::string_view text) {
    std::string shown(text);
    const auto scheme_end = shown.find("://");
    if (scheme_end == std::string::npos) return shown;
    const auto auth_start = scheme_end + 3;
    const auto auth_end = shown.find_first_of("/?#", auth_start);
    const auto at = shown.rfind('@', auth_end == std::string::npos ? shown.size() : auth_end);
    if (at != std::string::npos && at >= auth_start)
        shown.replace(auth_start, at - auth_start, "***");
    return shown;
}

}  // namespace

std::string parse_url_parts(std::string_view text, url& out, std::string* userinfo) {
    for (const unsigned char c : text) {
        if (c <= 0x20 || c >= 0x7f) return "contains a space, control or non-ASCII character";
    }
    // RFC 3986 URI: "scheme://authority/path?query#fragment".
    const auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
    if (!parsed) {
        if (text.find("://") == std::string_view::npos) return "not an absolute http or https URL";
        return "not a valid URL (" + parsed.error().message() + ")";
    }
    const boost::urls::url_view& u = *parsed;
    out.scheme = ascii_lower(std::string_view(u.scheme().data(), u.scheme().size()));
    if (!u.has_authority()) return "not an absolute http or https URL";
    if (u.has_userinfo()) {
        if (!userinfo) return "user info is not supported";
        *userinfo = u.userinfo();  // percent-decoded
    }
    switch (u.host_type()) {
        case boost::urls::host_type::ipv6:
            out.host = ascii_lower(u.host_address());
            break;
        case boost::urls::host_type::ipv4:
        case boost::urls::host_type::name: {
            const auto encoded = u.encoded_host();
            const std::string_view h(encoded.data(), encoded.size());
            if (h.find('%') != std::string_view::npos)
                return "percent-encoded host names are not supported";
            out.host = ascii_lower(h);
            break;
        }
        default:
            return "unsupported host (want a name, an IPv4 or an IPv6 address)";
    }
    if (out.host.empty()) return "no host";
    out.port = 0;
    if (u.has_port() && !u.port().empty()) {
        // port_number() is 0 for "0" and for anything that does not fit in 16 bits.
        if (u.port_number() == 0) return "bad port";
        out.port = u.port_number();
    }
    // The request-target: path and query exactly as given; the fragment is never sent.
    const auto path = u.encoded_path();
    // After an authority the path is empty or starts with '/' (RFC 3986 path-abempty). Boost.URL
    // 1.81 ends the port at its first non-digit and leaves the rest as a relative path
    // ("http://h:8a/" -> port "8", path "a/"): refuse that here.
    if (!path.empty() && path.front() != '/') return "bad host or port";
    out.target = path.empty() ? "/" : std::string(path.data(), path.size());
    if (u.has_query()) {
        const auto q = u.encoded_query();
        out.target += "?";
        out.target.append(q.data(), q.size());
    }
    return {};
}

url parse_url(std::string_view text) {
    url out;
    std::string problem = parse_url_parts(text, out, nullptr);
    if (problem.empty() && out.scheme != "http" && out.scheme != "https")
        problem = "unsupported scheme (want http or https)";
    if (!problem.empty()) throw std::invalid_argument(without_userinfo(text) + ": " + problem);
    if (out.port == 0) out.port = out.scheme == "https" ? 443 : 80;
    return out;
}

std::string response::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (boost::beast::iequals(k, name)) return v;
    }
    return {};
}

}  // namespace sw::http
