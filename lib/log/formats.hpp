#pragma once
// The destinations' record formats, as spdlog formatters (spdlog::formatter: one log_msg in,
// the bytes of one record out). The message (log_msg::payload) and a worker's structured
// fields arrive already redacted (see sink.hpp).
#include <boost/json/object.hpp>

#include <spdlog/formatter.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace sw::log {

/// Who this runner is, once known (journald WORKER_POOL_ID/WORKER_GROUP/WORKER_ID, the JSON
/// keys workerPoolId/workerGroup/workerId). Empty members are left out.
struct identity {
    std::string worker_pool_id;
    std::string worker_group;
    std::string worker_id;
};

/// The current identity, shared by the formatters (which may run on several threads).
class identity_source {
  public:
    std::shared_ptr<const identity> get() const;
    void set(identity who);

  private:
    mutable std::mutex mu_;
    std::shared_ptr<const identity> current_ = std::make_shared<const identity>();
};

/// A worker's structured log fields for the record being formatted on this thread (null for a
/// plain message). Set by the sink around one format() call; formatters only read it.
const boost::json::object*& current_fields();

/// The Go runner's ToUnstructured: a string textPayload first, then the other keys sorted,
/// "key: value" joined with "; ", non-strings JSON-encoded; an empty object gives "{}".
std::string to_unstructured(const boost::json::object& body);
/// to_unstructured into `out` (replacing its contents; no allocation once it has grown).
void to_unstructured_into(const boost::json::object& body, std::string& out);

/// `stdio`: "YYYY/MM/DD HH:MM:SS <message>\n" in local time (Go's log.LstdFlags); a structured
/// record renders as to_unstructured(fields).
std::unique_ptr<spdlog::formatter> make_stdio_formatter();

/// `json`: one object per line, {"time": RFC 3339 UTC with milliseconds and Z, "level":
/// debug|info|warning|error, "msg", then workerPoolId, workerGroup, workerId once known, then
/// the worker's own fields (a worker field named like one of these is kept as "worker.<key>")}.
std::unique_ptr<spdlog::formatter> make_json_formatter(const identity_source* who);

/// `journald`: one entry in systemd's native protocol (systemd.journal-fields(7),
/// https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): MESSAGE, PRIORITY (syslog severity),
/// SYSLOG_IDENTIFIER=start-worker, WORKER_POOL_ID/WORKER_GROUP/WORKER_ID once known, then the
/// worker's fields as WORKER_<KEY> (upper case, characters outside [A-Z0-9_] as '_', names cut
/// to 64 bytes; non-string values JSON-encoded). Values with a newline use the binary form.
std::unique_ptr<spdlog::formatter> make_journald_formatter(const identity_source* who);

/// `syslog`: RFC 3164 as glibc's syslog(3) sends it to /dev/log:
/// "<PRI>Mmm dd hh:mm:ss start-worker[pid]: message", facility daemon, local time; a message
/// longer than max_syslog_message bytes is cut with the marker " ... (truncated)".
std::unique_ptr<spdlog::formatter> make_syslog_formatter(int pid);
inline constexpr std::size_t max_syslog_message = 8192;

/// A journald entry too large for any datagram, shortened: its MESSAGE cut to 4 KiB with the
/// marker, PRIORITY and SYSLOG_IDENTIFIER kept, every other field left out.
std::string truncate_journald_entry(std::string_view entry);

inline constexpr std::string_view truncated_marker = " ... (truncated)";

}  // namespace sw::log
