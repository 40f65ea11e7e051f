#pragma once
// Redaction: what no log destination may carry. Applied by the log sink to every message and to
// every field of a worker's structured log before it is formatted, so no caller can leak a
// secret by forgetting to redact. Three kinds of secret are replaced by "<redacted>":
// - every value registered with add_secret (and its JSON-escaped spellings);
// - the value after a key that looks like a secret: `*Key`, `*Token`, `*Secret`, `*password`
//   (camel case, snake case or upper case: accessToken, access_token, WORKER_ACCESS_TOKEN), in
//   `key=value`, `key: value`, `"key": "value"` (a dotted configuration path such as
//   `provider.accessToken: missing` names a key, it is not followed by a value);
// - the user-info of a URL (`https://user:pass@host` -> `https://<redacted>@host`).
#include <boost/json/fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace sw::log {

inline constexpr std::string_view redacted_marker = "<redacted>";

/// Registers a secret value (thread-safe). Values shorter than 4 bytes are ignored: they would
/// redact ordinary words.
void add_secret(std::string_view secret);

/// Writes `text` with every secret replaced into `out` and returns true; returns false, leaving
/// `out` alone, when there is nothing to replace (the common case: no copy).
bool redact_into(std::string_view text, std::string& out);

/// `text` with every secret replaced by "<redacted>".
std::string redact(std::string_view text);

/// Redacts first, then cuts to at most `max_bytes` bytes (never inside a UTF-8 sequence),
/// appending `marker` when it cut. Cutting first could leave half a secret that no longer
/// matches (issue 14 item 9).
std::string redact_then_cut(std::string_view text, std::size_t max_bytes,
                            std::string_view marker = "...");

/// Whether a field or key name looks like it holds a secret (`*Key`, `*Token`, `*Secret`,
/// `*password`, in camel, snake or upper case).
bool secret_shaped_key(std::string_view key);

/// Redacts a worker's structured fields in place: values under secret-shaped keys become
/// "<redacted>" (whatever their type), every other string is redacted as text; nested
/// objects and arrays included.
void redact_fields(boost::json::object& fields);

/// Whether redact_fields would change anything (so that the common case copies nothing).
bool fields_need_redaction(const boost::json::object& fields);

}  // namespace sw::log
