#pragma once
// Logging. One process-wide destination (spdlog, stderr in the Go runner's format by default),
// with redaction applied in exactly one place: every registered secret value is replaced by
// "<redacted>" in every line, whatever code path produced it (our own messages, the worker's
// structured logs, its unstructured output).
#include <boost/json/fwd.hpp>
#include <fmt/core.h>

#include <functional>
#include <string>
#include <string_view>

namespace sw::log {

enum class level { debug, info, warn, error };

/// Sets up the default destination (stderr, "YYYY/MM/DD HH:MM:SS <msg>"). Safe to call twice.
void init();

/// Registers a secret value: from now on it never appears in log output. Values shorter than
/// 4 characters are ignored (they would redact ordinary words).
void add_secret(std::string_view secret);

/// `msg` with every registered secret replaced by "<redacted>".
std::string redact(std::string_view msg);

/// Writes one (redacted) line.
void write(level lvl, std::string_view msg);

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
    write(level::debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
    write(level::info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
    write(level::warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
    write(level::error, fmt::format(f, std::forward<A>(a)...));
}

/// A worker's structured log message (the `body` of a `log` message), keeping its fields.
void structured(const boost::json::object& body);

/// The Go runner's ToUnstructured: a string textPayload first, then the other keys sorted,
/// "key: value" joined with "; ", non-strings JSON-encoded; an empty object gives "{}".
std::string to_unstructured(const boost::json::object& body);

/// Tests: receive every (already redacted) line instead of, or as well as, the destination.
/// Pass an empty function to remove the hook.
void set_capture(std::function<void(level, std::string_view)> fn);

}  // namespace sw::log
