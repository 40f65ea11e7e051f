#pragma once
// A small HTTP/1.1 client on Beast: http and https (OpenSSL, certificate and host name
// verification, SNI, system trust store plus SSL_CERT_FILE / SSL_CERT_DIR), optional
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY (CONNECT for https), per-attempt timeouts, keep-alive reuse of
// one connection per host, bounded response bodies. The TLS context is created lazily, on the
// first https request. No retries here: callers own their retry policy (lib/tc/retry.hpp).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sw::http {

struct url {
    std::string scheme;  ///< "http" or "https"
    std::string host;    ///< lower-cased, no brackets for IPv6
    std::uint16_t port = 0;
    std::string target;  ///< path + "?" + query exactly as given ("/" if empty)
};
/// Throws std::invalid_argument("<url>: <problem>").
url parse_url(std::string_view text);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
    std::string method = "GET";
    std::string url;
    header_list headers;  ///< Host, Content-Length and User-Agent are added by the client
    std::string body;
};

struct response {
    unsigned status = 0;
    header_list headers;
    std::string body;
    /// First header with this name (case-insensitive), or "".
    std::string header(std::string_view name) const;
};

struct options {
    std::chrono::milliseconds connect_timeout{10'000};
    /// Whole request (connect, TLS, write, read) for one attempt.
    std::chrono::milliseconds timeout{30'000};
    bool use_proxy = true;  ///< metadata services pass false
    std::size_t max_body = 16 * 1024 * 1024;
};

/// What went wrong, for callers that choose a retry policy or an exit code.
enum class failure_kind {
    connect,     ///< DNS, refused, unreachable, connect timeout
    timeout,     ///< the attempt's deadline passed after connecting
    tls_verify,  ///< the server's certificate or host name did not verify
    tls,         ///< other TLS failure
    protocol,    ///< malformed HTTP, body over max_body
    io,          ///< reset, EOF mid-response
};

class error : public std::runtime_error {
  public:
    error(failure_kind k, const std::string& msg) : std::runtime_error(msg), kind_(k) {}
    failure_kind kind() const noexcept { return kind_; }

  private:
    failure_kind kind_;
};

class client {
  public:
    explicit client(boost::asio::any_io_executor ex);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Performs one attempt. Any HTTP status is a result; network, TLS and timeout problems
    /// throw http::error with a message that names the URL. A malformed proxy variable or an
    /// unusable SSL_CERT_FILE/SSL_CERT_DIR throws sw::failure(errc::config): retrying
    /// cannot fix the operator's environment.
    boost::asio::awaitable<response> send(request req, options opts = {});

    /// Drops idle keep-alive connections.
    void close_idle();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::http
