#pragma once
// The optional localhost health endpoint (`health: {listen: "127.0.0.1:9177"}`, CONTRACT.md):
// plain HTTP/1.1 on the daemon's own io_context, one coroutine per connection.
//   GET /healthz  200 "ok" while the event loop answers; 503 once the runner has finished
//   GET /readyz   200 when the worker is running; else 503 with the current stage
//   GET /metrics  Prometheus text exposition (text/plain; version=0.0.4)
// Anything else is 404; methods other than GET and HEAD are 405. Every connection is bounded:
// at most 8 KiB of request header (431) and 8 KiB of body (413), a 10 s deadline, at most 16
// connections at once (more are closed unanswered), Connection: close after one response.
#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace sw::health {

/// What the endpoints report. Taken afresh (on the executor's thread) for every request.
struct snapshot {
    std::string stage;  ///< e.g. "registering", "running", "stopping"
    bool worker_running = false;
    bool finished = false;  ///< the runner is on its way out: /healthz answers 503
    std::optional<std::int64_t> credentials_expiry_unix;  ///< seconds since the epoch
    std::uint64_t renewals = 0;
    std::uint64_t renewal_failures = 0;
    std::uint64_t log_dropped = 0;
    bool termination_notice = false;
};

/// Limits (exposed for tests and documentation).
inline constexpr std::size_t max_header_bytes = 8 * 1024;
inline constexpr std::size_t max_body_bytes = 8 * 1024;
inline constexpr std::size_t max_connections = 16;

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

  private:
    struct impl;
    std::shared_ptr<impl> impl_;  // shared with the connection coroutines that outlive stop()
};

/// The Prometheus text for `s` (what GET /metrics returns).
std::string render_metrics(const snapshot& s);

}  // namespace sw::health
