#pragma once
// Hawk request signing as Taskcluster uses it (taskcluster-wire.md section 1), temporary
// credentials (section 2) and URL construction (section 4). Pure functions: the nonce and the
// timestamp are inputs, so every test vector is reproducible.
#include "state/run_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::tc {

struct hawk_request {
    std::string id;        ///< clientId
    std::string key;       ///< accessToken
    std::string method;    ///< upper-cased on signing
    std::string resource;  ///< request-target exactly as sent ("/" if empty)
    std::string host;      ///< lower-cased on signing
    std::uint16_t port = 0;
    std::int64_t ts = 0;
    std::string nonce;
    std::string hash;  ///< payload hash, usually empty (Taskcluster does not require it)
    std::string ext;   ///< already base64 as sent, or empty
};

std::string hawk_normalized_string(const hawk_request& r);
/// base64(HMAC-SHA256(key, normalized string))
std::string hawk_mac(const hawk_request& r);
/// `Hawk id="..", ts="..", nonce="..", [hash="..",] [ext="..",] mac=".."`
std::string hawk_header(const hawk_request& r);
/// base64(HMAC-SHA256(key, "hawk.1.ts\n<ts>\n")): the `tsm` of a stale-timestamp answer.
std::string hawk_timestamp_mac(std::string_view key, std::int64_t ts);
/// base64(SHA256("hawk.1.payload\n<content type>\n<body>\n"))
std::string hawk_payload_hash(std::string_view content_type, std::string_view body);

/// The `ext` attribute for these credentials: base64 of {"certificate": <cert object>} and/or
/// {"authorizedScopes": [...]}; empty when there is neither. The certificate text is passed
/// through as received (it is inserted verbatim as a JSON object).
std::string hawk_ext(std::string_view certificate,
                     const std::optional<std::vector<std::string>>& authorized_scopes = {});

/// A nonce from the OS CSPRNG (8 characters of base64).
std::string make_nonce();

/// Temporary credentials (taskcluster-wire.md 2.1-2.3), used by the loopback stand-in and tests.
struct temp_creds_request {
    std::string issuer_client_id;
    std::string issuer_access_token;
    std::string name;  ///< named credentials' clientId, empty for unnamed
    std::vector<std::string> scopes;
    std::int64_t start_ms = 0;
    std::int64_t expiry_ms = 0;
    std::string seed;  ///< 44 chars; generated when empty
};
credentials create_temporary_credentials(const temp_creds_request& r);
/// base64url-nopad(HMAC-SHA256(issuer access token, seed))
std::string temp_access_token(std::string_view issuer_access_token, std::string_view seed);
/// The certificate signature string (section 2.2, no trailing newline).
std::string certificate_signature_string(std::string_view temp_client_id, std::string_view issuer,
                                         std::string_view seed, std::int64_t start_ms,
                                         std::int64_t expiry_ms,
                                         const std::vector<std::string>& scopes);

/// base64(HMAC-SHA256(issuer access token, signature string)): the certificate's signature.
std::string certificate_signature(std::string_view issuer_access_token,
                                  std::string_view signature_string);

/// A slugid-like 22-character random identifier ([A-Za-z0-9_-]).
std::string make_slugid();

/// taskcluster-lib-urls api(): "<root>/api/<service>/<version>/<path>", or the legacy
/// "https://<service>.taskcluster.net/<version>/<path>" for rootUrl https://taskcluster.net.
std::string api_url(std::string_view root_url, std::string_view service, std::string_view version,
                    std::string_view path);
/// Escapes one path parameter like encodeURIComponent ("worker-pool:a/b" ->
/// "worker-pool%3Aa%2Fb").
std::string escape_path_segment(std::string_view s);

}  // namespace sw::tc
