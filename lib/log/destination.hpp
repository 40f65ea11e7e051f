#pragma once
// Where log records go: the destination of `logging.implementation` (CONTRACT.md "Logging
// destinations"), chosen once the runner config is read. The logging front end is spdlog
// (levels, formatting, one sink of ours, lib/log/log.cpp):
// - stdio (default): stderr, the Go runner's "YYYY/MM/DD HH:MM:SS <message>" in local time;
// - json: stderr, one object per line (lib/log/formats.hpp);
// - journald: the native socket, falling back to stderr when it cannot be connected;
// - syslog: /dev/log, RFC 3164, facility daemon.
// Redaction happens at the sink, before formatting (lib/log/redact.hpp). Records go through a
// bounded queue to one writer thread that writes whole batches (lib/log/queue.hpp): nothing
// blocks the caller, drops are counted and reported once, exit never waits on a stuck stderr
// beyond flush()'s timeout.
//
// Until configure() is called, records are held (bounded) so that every line comes out in the
// configured format; an exit before that (a bad config) writes them in the stdio format.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sw::log {

/// Records held before configure(); later ones are dropped and counted.
inline constexpr std::size_t max_held_messages = 1024;
inline constexpr std::size_t max_held_bytes = 1024 * 1024;

/// Where log records go (`logging.implementation`).
enum class destination { stdio, json, journald, syslog };

/// "stdio", "json", "journald", "syslog"; nullopt for anything else.
std::optional<destination> parse_destination(std::string_view name);

struct destination_options {
    destination dest = destination::stdio;
    /// systemd-journald's native socket (tests bind their own).
    std::string journald_socket = "/run/systemd/journal/socket";
    /// The syslog socket (tests bind their own).
    std::string syslog_socket = "/dev/log";
};

/// Chooses the destination and releases the records held until now, in its format. A
/// journald or syslog socket that cannot be connected falls back to stdio, with a warning
/// naming the socket and the error. Callable again (tests).
void configure(const destination_options& opts);

/// The worker's identity, once known: added to json and journald records from now on.
void set_identity(std::string_view worker_pool_id, std::string_view worker_group,
                  std::string_view worker_id);

/// Within a burst of records from one thread (the records of one read of worker output), the
/// log's writer thread is woken once, at the end of the scope (or when the queue is half full),
/// instead of once per record.
class batch_scope {
  public:
    batch_scope();
    ~batch_scope();
    batch_scope(const batch_scope&) = delete;
    batch_scope& operator=(const batch_scope&) = delete;
};

}  // namespace sw::log
