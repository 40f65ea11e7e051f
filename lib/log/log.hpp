#pragma once
// Logging. One process-wide destination (stderr in the Go runner's format by default), with
// redaction applied in exactly one place: every registered secret value is replaced by
// "<redacted>" in every line, whatever code path produced it (our own messages, the worker's
// structured logs, its unstructured output).
//
// Writing never blocks the caller on the destination: each line is redacted and time-stamped
// in the caller, then queued (bounded) for one background writer thread. When the destination
// cannot keep up (a slowly drained pipe, journald under load) and the queue is full, messages
// are dropped and counted, and the writer reports "start-worker: dropped N log messages (...)"
// once there is room again. Order is kept.
#include <boost/json/fwd.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sw::log {

enum class level { debug, info, warn, error };

/// The queue's bounds: whichever is reached first.
inline constexpr std::size_t max_queued_messages = 8192;
inline constexpr std::size_t max_queued_bytes = 4 * 1024 * 1024;

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

/// Messages dropped so far because the queue was full.
std::uint64_t dropped_count();

/// Back-pressure for the reader of worker output (bounded_queue::notify_when_room): true when
/// the queue is at least three quarters full; `notify` then runs once on the log's writer thread,
/// under its lock, when the queue is empty again, and must only post to an event loop.
bool notify_when_room(std::function<void()> notify);
/// Removes a pending notify_when_room callback; once it returns, the callback will not run.
void clear_room_notify();
/// Batches written to the destination so far: unchanged while the destination is stuck.
std::uint64_t batches_delivered();

/// Blocks until every line queued before the call is written (and any pending drop report), or
/// until `timeout`; returns false on timeout. The daemon calls it before exiting; it also runs
/// by itself on a normal exit (return from main, std::exit).
bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Tests: write formatted lines ("YYYY/MM/DD HH:MM:SS msg\n") to `fn`, on the writer thread,
/// instead of stderr. An empty function restores stderr.
void set_sink_for_testing(std::function<void(std::string_view)> fn);

/// Tests: receive every (already redacted) line instead of the destination, synchronously.
/// Pass an empty function to remove the hook.
void set_capture(std::function<void(level, std::string_view)> fn);

}  // namespace sw::log
