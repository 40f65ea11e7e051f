#include "tests/support/hawk_verify.hpp"

#include "lib/common/base64.hpp"
#include "lib/tc/hawk.hpp"

#include <boost/json/parse.hpp>

#include <openssl/crypto.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <regex>
#include <stdexcept>

namespace sw::test {
namespace {

namespace json = boost::json;

struct auth_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool equal_timing_safe(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// hawk/lib/utils.js parseAuthorizationHeader.
std::map<std::string, std::string> parse_header(const std::string& header) {
    if (header.size() > 4096) throw auth_failure("Bad Request: Header length too long");
    const auto space = header.find(' ');
    std::string scheme = header.substr(0, space);
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "hawk" || space == std::string::npos)
        throw auth_failure("Unauthorized: unsupported authentication scheme");
    const std::string rest = header.substr(space + 1);
    static const std::regex attr(R"re((\w+)="([^"\\]*)"\s*(?:,\s*|$))re");
    static const std::regex value_chars(R"re(^[ \w!#$%&'()*+,\-./:;<=>?@\[\]^`{|}~]+$)re");
    std::map<std::string, std::string> out;
    std::size_t consumed = 0;
    for (auto it = std::sregex_iterator(rest.begin(), rest.end(), attr);
         it != std::sregex_iterator(); ++it) {
        if (static_cast<std::size_t>(it->position()) != consumed)
            throw auth_failure("Bad Request: Bad header format");
        consumed += static_cast<std::size_t>(it->length());
        const std::string name = (*it)[1];
        const std::string value = (*it)[2];
        static const std::vector<std::string> allowed = {"id",  "ts",  "nonce", "hash",
                                                         "ext", "mac", "app",   "dlg"};
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
            throw auth_failure("Bad Request: Unknown attribute: " + name);
        if (!value.empty() && !std::regex_match(value, value_chars))
            throw auth_failure("Bad Request: Bad attribute value: " + name);
        if (!out.emplace(name, value).second)
            throw auth_failure("Bad Request: Duplicate attribute: " + name);
    }
    if (consumed != rest.size()) throw auth_failure("Bad Request: Bad header format");
    for (const char* required : {"id", "ts", "nonce", "mac"})
        if (out[required].empty()) throw auth_failure("Bad Request: Missing attributes");
    return out;
}

std::int64_t to_ms(time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// services/auth/src/signaturevalidator.js: the key and scopes for `id`, given ext.
hawk_auth_result resolve(const std::string& id, const std::string& ext_b64,
                         const hawk_client_lookup& lookup, time_point now, std::string& key) {
    json::object ext;
    if (!ext_b64.empty()) {
        std::string b64 = ext_b64;
        for (auto& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;  // URL-safe accepted too
        while (b64.size() % 4 != 0) b64 += '=';
        boost::system::error_code ec;
        json::value v;
        try {
            v = json::parse(sw::base64_decode(b64), ec);
        } catch (const std::invalid_argument&) {
            ec = make_error_code(json::error::syntax);
        }
        if (ec || !v.is_object()) throw auth_failure("Failed to parse ext");
        ext = v.as_object();
    }

    const json::object* cert = nullptr;
    if (const auto* c = ext.if_contains("certificate")) {
        if (!c->is_object()) throw auth_failure("ext.certificate must be a JSON object");
        cert = &c->as_object();
    }
    std::string issuer = id;
    if (cert && cert->contains("issuer")) {
        const auto& i = cert->at("issuer");
        if (!i.is_string()) throw auth_failure("ext.certificate.issuer must be a string");
        issuer = std::string(i.as_string());
        if (issuer == id)
            throw auth_failure("ext.certificate.issuer must differ from the supplied clientId");
    }
    const auto client = lookup(issuer);
    if (!client) throw auth_failure("Client with clientId '" + issuer + "' not found");

    hawk_auth_result res;
    res.client_id = id;
    key = client->access_token;
    res.scopes = client->scopes;

    if (cert) {
        const auto* version = cert->if_contains("version");
        if (!version || !version->is_int64() || version->as_int64() != 1)
            throw auth_failure("ext.certificate.version must be 1");
        const auto* seed = cert->if_contains("seed");
        if (!seed || !seed->is_string() || seed->as_string().size() != 44)
            throw auth_failure("ext.certificate.seed must be a string of 44 characters");
        const auto* start = cert->if_contains("start");
        const auto* expiry = cert->if_contains("expiry");
        if (!start || !start->is_number() || !expiry || !expiry->is_number())
            throw auth_failure("ext.certificate.start and expiry must be numbers");
        const auto* scopes = cert->if_contains("scopes");
        if (!scopes || !scopes->is_array())
            throw auth_failure("ext.certificate.scopes must be an array");
        std::vector<std::string> cert_scopes;
        for (const auto& s : scopes->as_array()) {
            if (!s.is_string()) throw auth_failure("ext.certificate.scopes must be strings");
            cert_scopes.emplace_back(s.as_string());
        }
        const auto start_ms = start->to_number<std::int64_t>();
        const auto expiry_ms = expiry->to_number<std::int64_t>();
        const auto now_ms = to_ms(now);
        if (start_ms > now_ms + 5 * 60'000) throw auth_failure("ext.certificate.start > now");
        if (expiry_ms < now_ms - 5 * 60'000) throw auth_failure("ext.certificate.expiry < now");
        if (expiry_ms - start_ms > 31LL * 24 * 3600 * 1000)
            throw auth_failure("ext.certificate cannot last longer than 31 days!");
        const bool named = cert->contains("issuer");
        if (named && !scope_satisfied(client->scopes, "auth:create-client:" + id))
            throw auth_failure("ext.certificate issuer `" + issuer +
                               "` doesn't have `auth:create-client:" + id + "`");
        if (!named && cert->contains("clientId"))
            throw auth_failure(
                "ext.certificate.clientId must only be used with ext.certificate.issuer");
        for (const auto& s : cert_scopes)
            if (!scope_satisfied(client->scopes, s))
                throw auth_failure("ext.certificate issuer `" + issuer +
                                   "` doesn't satisfiy all certificate scopes");
        const auto* sig = cert->if_contains("signature");
        const std::string text =
            tc::certificate_signature_string(named ? id : "", named ? issuer : "",
                                             seed->as_string(), start_ms, expiry_ms, cert_scopes);
        if (!sig || !sig->is_string() ||
            !equal_timing_safe(std::string(sig->as_string()),
                               tc::certificate_signature(client->access_token, text)))
            throw auth_failure(named ? "ext.certificate.signature is not valid, or wrong clientId "
                                       "provided"
                                     : "ext.certificate.signature is not valid");
        key = tc::temp_access_token(client->access_token, seed->as_string());
        res.scopes = cert_scopes;
    }

    if (const auto* a = ext.if_contains("authorizedScopes")) {
        if (!a->is_array()) throw auth_failure("ext.authorizedScopes must be an array");
        std::vector<std::string> limited;
        auto have = res.scopes;
        have.push_back("assume:anonymous");
        for (const auto& s : a->as_array()) {
            if (!s.is_string()) throw auth_failure("ext.authorizedScopes must be strings");
            if (!scope_satisfied(have, s.as_string()))
                throw auth_failure(
                    "Supplied credentials do not satisfy authorizedScopes; credentials have "
                    "scopes that do not cover the requested ones");
            limited.emplace_back(s.as_string());
        }
        res.scopes = limited;
    }
    return res;
}

}  // namespace

bool scope_satisfied(const std::vector<std::string>& have, std::string_view need) {
    for (const auto& h : have) {
        if (h == need) return true;
        if (!h.empty() && h.back() == '*' &&
            need.substr(0, h.size() - 1) == std::string_view(h).substr(0, h.size() - 1))
            return true;
    }
    return false;
}

hawk_auth_result hawk_authenticate(const http_request& req, bool https,
                                   const hawk_client_lookup& lookup, time_point now) {
    try {
        const auto attrs = parse_header(req.header("Authorization"));
        auto get = [&](const char* k) {
            const auto it = attrs.find(k);
            return it == attrs.end() ? std::string() : it->second;
        };
        std::string key;
        auto res = resolve(get("id"), get("ext"), lookup, now, key);

        tc::hawk_request h;
        h.id = get("id");
        h.key = key;
        h.method = req.method;
        h.resource = req.target;
        const std::string host_header = req.header("Host");
        const auto colon = host_header.rfind(':');
        if (colon != std::string::npos && host_header.find(']', colon) == std::string::npos) {
            h.host = host_header.substr(0, colon);
            h.port = static_cast<std::uint16_t>(std::atoi(host_header.c_str() + colon + 1));
        } else {
            h.host = host_header;
            h.port = https ? 443 : 80;
        }
        const std::string ts = get("ts");
        if (ts.empty() || ts.find_first_not_of("0123456789") != std::string::npos)
            throw auth_failure("Unauthorized: Invalid timestamp");
        h.ts = std::stoll(ts);
        h.nonce = get("nonce");
        h.hash = get("hash");
        h.ext = get("ext");
        if (!equal_timing_safe(tc::hawk_mac(h), get("mac")))
            throw auth_failure("Unauthorized: Bad mac");
        if (!h.hash.empty() &&
            !equal_timing_safe(tc::hawk_payload_hash(req.header("Content-Type"), req.body), h.hash))
            throw auth_failure("Unauthorized: Bad payload hash");
        const auto now_s =
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        if (std::llabs(now_s - h.ts) > 15 * 60) throw auth_failure("Unauthorized: Stale timestamp");
        res.ok = true;
        return res;
    } catch (const auth_failure& e) {
        hawk_auth_result r;
        r.message = e.what();
        return r;
    }
}

}  // namespace sw::test
