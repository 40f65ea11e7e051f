#pragma once
// A tiny HTTP CONNECT proxy for tests, on 127.0.0.1 (ephemeral port), with its own io_context
// thread. It tunnels only to loopback addresses and records every CONNECT it sees.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sw::test {

class connect_proxy {
  public:
    connect_proxy();
    ~connect_proxy();  ///< stops and joins
    connect_proxy(const connect_proxy&) = delete;
    connect_proxy& operator=(const connect_proxy&) = delete;

    std::uint16_t port() const;
    /// "http://127.0.0.1:<port>"
    std::string url() const;

    struct tunnel_request {
        std::string authority;            ///< the CONNECT request-target, "host:port"
        std::string proxy_authorization;  ///< the Proxy-Authorization header, or ""
    };
    /// Every CONNECT received so far, in order.
    std::vector<tunnel_request> requests() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::test
