#include "lib/tc/hawk.hpp"

#include "lib/common/base64.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <stdexcept>

namespace sw::tc {
namespace {

std::string hmac_sha256(std::string_view key, std::string_view msg) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    const unsigned char* res =
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
    if (res == nullptr) throw std::runtime_error("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string sha256(std::string_view data) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

std::string random_bytes(std::size_t n) {
    std::string buf(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("the OS random number generator failed");
    return buf;
}

bool is_ascii_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// Hawk escapes "\" and newlines in ext before it goes into the normalized string.
std::string escape_ext(std::string_view ext) {
    std::string out;
    out.reserve(ext.size());
    for (char c : ext) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

}  // namespace

std::string hawk_normalized_string(const hawk_request& r) {
    std::string s = "hawk.1.header\n";
    s += std::to_string(r.ts) + "\n";
    s += r.nonce + "\n";
    s += to_upper(r.method) + "\n";
    s += (r.resource.empty() ? std::string("/") : r.resource) + "\n";
    s += to_lower(r.host) + "\n";
    s += std::to_string(r.port) + "\n";
    s += r.hash + "\n";
    s += escape_ext(r.ext) + "\n";
    return s;
}

std::string hawk_mac(const hawk_request& r) {
    return base64_encode(hmac_sha256(r.key, hawk_normalized_string(r)));
}

std::string hawk_header(const hawk_request& r) {
    std::string h =
        "Hawk id=\"" + r.id + "\", ts=\"" + std::to_string(r.ts) + "\", nonce=\"" + r.nonce + "\"";
    if (!r.hash.empty()) h += ", hash=\"" + r.hash + "\"";
    if (!r.ext.empty()) h += ", ext=\"" + r.ext + "\"";
    h += ", mac=\"" + hawk_mac(r) + "\"";
    return h;
}

std::string hawk_timestamp_mac(std::string_view key, std::int64_t ts) {
    return base64_encode(hmac_sha256(key, "hawk.1.ts\n" + std::to_string(ts) + "\n"));
}

std::string hawk_payload_hash(std::string_view content_type, std::string_view body) {
    // Hawk normalizes the content type: parameters dropped, trimmed, lower-cased.
    std::string_view ct = content_type.substr(0, content_type.find(';'));
    while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.front()))) ct.remove_prefix(1);
    while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.back()))) ct.remove_suffix(1);
    std::string msg = "hawk.1.payload\n" + to_lower(ct) + "\n";
    msg.append(body);
    msg += "\n";
    return base64_encode(sha256(msg));
}

std::string hawk_ext(std::string_view certificate,
                     const std::optional<std::vector<std::string>>& authorized_scopes) {
    if (certificate.empty() && !authorized_scopes) return {};
    std::string json = "{";
    if (!certificate.empty()) {
        // The certificate must reach the service as a JSON object. Check that it is one (the
        // message deliberately does not quote it), then insert the received text unchanged.
        boost::system::error_code ec;
        const auto v = boost::json::parse(certificate, ec);
        if (ec || !v.is_object())
            throw std::invalid_argument("the credentials' certificate is not a JSON object");
        json += "\"certificate\":";
        json.append(certificate);
    }
    if (authorized_scopes) {
        if (json.size() > 1) json += ",";
        boost::json::array a;
        for (const auto& s : *authorized_scopes) a.emplace_back(s);
        json += "\"authorizedScopes\":" + boost::json::serialize(a);
    }
    json += "}";
    return base64_encode(json);
}

std::string make_nonce() {
    return base64_encode(random_bytes(6));
}

std::string make_slugid() {
    // slugid.nice(): a v4 UUID in base64url, with the top bit cleared so it never starts with '-'.
    std::string b = random_bytes(16);
    b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0f) | 0x40);
    b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3f) | 0x80);
    b[0] = static_cast<char>(static_cast<unsigned char>(b[0]) & 0x7f);
    return base64url_nopad(b);
}

std::string temp_access_token(std::string_view issuer_access_token, std::string_view seed) {
    return base64url_nopad(hmac_sha256(issuer_access_token, seed));
}

std::string certificate_signature_string(std::string_view temp_client_id, std::string_view issuer,
                                         std::string_view seed, std::int64_t start_ms,
                                         std::int64_t expiry_ms,
                                         const std::vector<std::string>& scopes) {
    std::string s = "version:1\n";
    if (!issuer.empty()) {
        s += "clientId:";
        s.append(temp_client_id);
        s += "\nissuer:";
        s.append(issuer);
        s += "\n";
    }
    s += "seed:";
    s.append(seed);
    s += "\nstart:" + std::to_string(start_ms) + "\nexpiry:" + std::to_string(expiry_ms) +
         "\nscopes:";
    // Lines joined by "\n" with no trailing newline, as the auth service and the Go client do
    // (the JS client differs for an empty scope list; see taskcluster-wire.md 2.2).
    for (const auto& scope : scopes) s += "\n" + scope;
    return s;
}

std::string certificate_signature(std::string_view issuer_access_token,
                                  std::string_view signature_string) {
    return base64_encode(hmac_sha256(issuer_access_token, signature_string));
}

credentials create_temporary_credentials(const temp_creds_request& r) {
    constexpr std::int64_t max_ms = 31LL * 24 * 3600 * 1000;
    if (r.issuer_client_id.empty() || r.issuer_access_token.empty())
        throw std::invalid_argument(
            "temporary credentials need the issuer's clientId and accessToken");
    if (r.expiry_ms < r.start_ms)
        throw std::invalid_argument("temporary credentials: expiry is before start");
    if (r.expiry_ms - r.start_ms > max_ms)
        throw std::invalid_argument("temporary credentials cannot last longer than 31 days");
    if (!r.name.empty() && r.name == r.issuer_client_id)
        throw std::invalid_argument("named temporary credentials must differ from the issuer");
    const std::string seed = r.seed.empty() ? make_slugid() + make_slugid() : r.seed;
    if (seed.size() != 44)
        throw std::invalid_argument("temporary credentials: seed must be 44 chars");

    const std::string issuer = r.name.empty() ? std::string() : r.issuer_client_id;
    const std::string sig_text =
        certificate_signature_string(r.name, issuer, seed, r.start_ms, r.expiry_ms, r.scopes);
    const std::string signature = certificate_signature(r.issuer_access_token, sig_text);

    // Key order of the Go client: version, scopes, start, expiry, seed, signature, issuer.
    boost::json::object cert;
    cert["version"] = 1;
    boost::json::array scopes;
    for (const auto& s : r.scopes) scopes.emplace_back(s);
    cert["scopes"] = std::move(scopes);
    cert["start"] = r.start_ms;
    cert["expiry"] = r.expiry_ms;
    cert["seed"] = seed;
    cert["signature"] = signature;
    if (!issuer.empty()) cert["issuer"] = issuer;

    credentials c;
    c.client_id = r.name.empty() ? r.issuer_client_id : r.name;
    c.access_token = temp_access_token(r.issuer_access_token, seed);
    c.certificate = boost::json::serialize(cert);
    return c;
}

std::string api_url(std::string_view root_url, std::string_view service, std::string_view version,
                    std::string_view path) {
    while (!root_url.empty() && root_url.back() == '/') root_url.remove_suffix(1);
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    std::string out;
    if (root_url == "https://taskcluster.net") {
        out = "https://";
        out.append(service);
        out += ".taskcluster.net/";
        out.append(version);
        out += "/";
        out.append(path);
        return out;
    }
    out.append(root_url);
    out += "/api/";
    out.append(service);
    out += "/";
    out.append(version);
    out += "/";
    out.append(path);
    return out;
}

std::string escape_path_segment(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        // encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone.
        if (is_ascii_alnum(c) || c == '-' || c == '_' || c == '.' || c == '!' || c == '~' ||
            c == '*' || c == '\'' || c == '(' || c == ')') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0f];
        }
    }
    return out;
}

}  // namespace sw::tc
