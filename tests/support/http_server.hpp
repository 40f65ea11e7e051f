#pragma once
// A small HTTP/1.1 server for tests and fakes, bound to 127.0.0.1 on an ephemeral port (or a
// given one). Runs its own io_context on a background thread, so Catch2 tests and fake programs
// can use it without an event loop of their own. Handlers see the raw request-target (still
// percent-encoded) and may inject faults.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sw::test {

struct http_request {
    std::string method;
    std::string target;  ///< raw request-target, e.g. "/api/secrets/v1/secret/worker-pool%3Aa%2Fb"
    std::string path;    ///< target without the query
    std::string query;   ///< after '?', raw
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::uint64_t connection_id = 0;  ///< 1 for the server's first connection, 2 for the next...
    std::string header(std::string_view name) const;  ///< case-insensitive, "" if absent
};

/// What to do with a request.
struct http_response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  ///< Content-Type defaults to JSON
    std::string body;

    /// Faults, applied before answering:
    std::chrono::milliseconds delay{0};  ///< wait, then answer
    bool stall = false;                  ///< never answer (the connection stays open)
    bool reset = false;                  ///< close the connection without answering
};

using http_handler = std::function<http_response(const http_request&)>;

struct tls_files {
    std::string cert_chain_file;   ///< PEM
    std::string private_key_file;  ///< PEM
};

class http_server {
  public:
    /// port 0: ephemeral. With `tls`, serves https.
    explicit http_server(http_handler handler, std::uint16_t port = 0,
                         const tls_files* tls = nullptr, std::string bind_address = "127.0.0.1");
    ~http_server();  ///< stops and joins
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    std::uint16_t port() const;
    /// "http://127.0.0.1:<port>" (or https).
    std::string base_url() const;
    /// Blocks the calling thread until stop() is called or a SIGINT/SIGTERM arrives (for fakes
    /// that run as programs).
    void run_until_signal();
    void stop();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Writes a private CA and a server certificate for 127.0.0.1/localhost (OpenSSL APIs) into
/// `dir`: ca.pem, server.pem, server.key. Used for the SSL_CERT_FILE tests.
tls_files make_test_certificates(const std::string& dir);

}  // namespace sw::test
