#pragma once
// The optional localhost health endpoint (`health: {listen: "127.0.0.1:9177"}`, CONTRACT.md):
// plain HTTP/1.1 on the daemon's own io_context, one coroutine per connection.
//   GET /healthz  200 "ok" while the event loop answers; 503 once the runner has finished
//   GET /readyz   200 when the worker is running; else 503 with the current stage
//   GET /metrics  Prometheus text exposition (text/plain; version=0.0.4): stage, credentials
//                 expiry, renewals, termination notices, protocol messages by type, worker
//                 starts and exits by code, dropped log lines, dropped and pending error
//                 reports, uptime, build info
// The endpoint is off unless `health.listen` is set: then nothing listens and nothing runs.
// Anything else is 404; methods other than GET and HEAD are 405. Every connection is bounded:
// at most 8 KiB of request header (431) and 8 KiB of body (413), a 10 s deadline, at most 16
// connections at once (more are closed unanswered), Connection: close after one response.
#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sw::health {

/// Event counts the daemon keeps for /metrics. Plain integers: counting costs nothing whether
/// or not the endpoint is configured. Label sets are bounded (known message types, exit codes
/// 0..255 plus "other"), so a misbehaving worker cannot grow them.
struct counters {
    /// The worker-runner protocol's message types (reference/worker-runner.md, "Protocol");
    /// any other type is counted as "other".
    static constexpr std::array<std::string_view, 9> message_types{
        "welcome",         "hello",     "graceful-termination",
        "new-credentials", "log",       "error-report",
        "shutdown",        "autologin", "other"};
    enum class direction { received, sent };

    std::uint64_t worker_starts = 0;
    std::map<int, std::uint64_t>
        worker_exits;                       ///< by exit status 0..255; -1 = anything else ("other")
    std::uint64_t termination_notices = 0;  ///< cloud notices received (each counted once)
    std::array<std::uint64_t, message_types.size()> received{};  ///< indexed like message_types
    std::array<std::uint64_t, message_types.size()> sent{};

    void worker_started() { ++worker_starts; }
    /// `code` is the worker's exit status as platform::child_process reports it (128 + n when
    /// signal n ended it); a value outside 0..255 is counted under -1 ("other").
    void worker_exited(int code);
    void termination_notice() { ++termination_notices; }
    /// One protocol message of `type` ("log", "new-credentials", ...).
    void protocol_message(direction d, std::string_view type);
};

/// What the endpoints report. Taken afresh (on the executor's thread) for every request.
struct snapshot {
    std::string stage;  ///< e.g. "registering", "running", "stopping"
    bool worker_running = false;
    bool finished = false;  ///< the runner is on its way out: /healthz answers 503
    /// When the snapshot was taken, seconds since the epoch (the daemon's injected clock); with
    /// credentials_expiry_unix it gives the seconds until expiry.
    std::optional<std::int64_t> now_unix;
    std::optional<std::int64_t> credentials_expiry_unix;  ///< seconds since the epoch
    std::optional<double> uptime_seconds;                 ///< since the runner started
    std::uint64_t renewals = 0;
    std::uint64_t renewal_failures = 0;
    std::uint64_t log_dropped = 0;
    std::uint64_t error_reports_dropped = 0;  ///< reportWorkerError calls given up for want of room
    std::uint64_t error_reports_pending = 0;  ///< waiting, the one in flight included
    bool termination_notice = false;
    counters counts;
};

/// Limits (exposed for tests and documentation).
inline constexpr std::size_t max_header_bytes = 8 * 1024;
inline constexpr std::size_t max_body_bytes = 8 * 1024;
inline constexpr std::size_t max_connections = 16;
/// After failed accepts for want of descriptors or memory, the longest wait before the next.
inline constexpr std::chrono::milliseconds max_accept_backoff{1000};

class server {
  public:
    /// Parses `listen` ("host:port", "[v6]:port"; the host an IP address or "localhost"; port 0
    /// picks a free one) and binds it. Throws sw::failure(errc::config, "health.listen: ...")
    /// if the value is malformed or cannot be bound. Serves nothing until start().
    server(boost::asio::any_io_executor ex, const std::string& listen,
           std::function<snapshot()> fn);
    /// stop()s. Not thread-safe: like every member, call it on the executor's thread or while
    /// the executor is not running.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Starts accepting on the executor.
    void start();
    /// Closes the listening socket and every open connection. Idempotent.
    void stop();
    /// The bound port (the real one when `listen` said port 0).
    std::uint16_t port() const;
    /// Failed accept() calls so far (EMFILE and the like; each is followed by a back-off).
    std::uint64_t accept_errors() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;  // shared with the connection coroutines that outlive stop()
};

/// Checks a `health.listen` value without binding it: the syntax server() accepts, and a
/// loopback address (127.0.0.0/8, ::1, localhost) unless `allow_remote` (`health.allowRemote`),
/// since the endpoint has no authentication. Throws sw::failure(errc::config,
/// "health.listen: ...").
void check_listen(const std::string& listen, bool allow_remote);

/// The Prometheus text for `s` (what GET /metrics returns).
std::string render_metrics(const snapshot& s);

}  // namespace sw::health
