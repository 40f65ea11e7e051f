// The CONNECT proxy for tests: parses the CONNECT head with Beast, dials the (loopback) origin,
// answers 200 and copies bytes both ways until either side closes.
#include "tests/support/connect_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <mutex>
#include <thread>

namespace sw::test {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

net::awaitable<void> pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    std::array<char, 16 * 1024> buf;
    for (;;) {
        auto [ec, n] = co_await from->async_read_some(net::buffer(buf), tuple_awaitable);
        if (ec) break;
        auto [wec, wn] =
            co_await net::async_write(*to, net::buffer(buf.data(), n), tuple_awaitable);
        (void)wn;
        if (wec) break;
    }
    boost::system::error_code ignored;
    to->shutdown(tcp::socket::shutdown_send, ignored);
    from->close(ignored);
}

net::awaitable<void> write_text(tcp::socket& s, const std::string& text) {
    co_await net::async_write(s, net::buffer(text), tuple_awaitable);
}

}  // namespace

struct connect_proxy::impl {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    mutable std::mutex mutex;
    std::vector<tunnel_request> seen;

    net::awaitable<void> session(tcp::socket client) {
        boost::beast::flat_buffer buffer;
        bhttp::request_parser<bhttp::empty_body> parser;
        auto [ec, n] = co_await bhttp::async_read_header(client, buffer, parser, tuple_awaitable);
        (void)n;
        if (ec) co_return;
        const auto& req = parser.get();
        const std::string authority(req.target());
        {
            std::lock_guard lock(mutex);
            seen.push_back({authority, std::string(req[bhttp::field::proxy_authorization])});
        }
        if (req.method() != bhttp::verb::connect) {
            co_await write_text(client,
                                "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
            co_return;
        }
        const auto colon = authority.rfind(':');
        std::string host = authority.substr(0, colon);
        if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
        if (host == "localhost") host = "127.0.0.1";
        boost::system::error_code aec;
        const auto addr = net::ip::make_address(host, aec);
        if (aec || colon == std::string::npos || !addr.is_loopback()) {
            co_await write_text(client, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            co_return;
        }
        auto upstream = std::make_shared<tcp::socket>(ioc);
        const auto port = static_cast<std::uint16_t>(std::stoul(authority.substr(colon + 1)));
        auto [cec] = co_await upstream->async_connect(tcp::endpoint(addr, port), tuple_awaitable);
        if (cec) {
            co_await write_text(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            co_return;
        }
        co_await write_text(client, "HTTP/1.1 200 Connection established\r\n\r\n");
        auto down = std::make_shared<tcp::socket>(std::move(client));
        if (buffer.size() > 0) {
            co_await net::async_write(*upstream, buffer.data(), tuple_awaitable);
        }
        net::co_spawn(ioc, pump(down, upstream), net::detached);
        net::co_spawn(ioc, pump(upstream, down), net::detached);
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
            if (ec) co_return;
            net::co_spawn(ioc, session(std::move(socket)), net::detached);
        }
    }
};

connect_proxy::connect_proxy() : impl_(std::make_unique<impl>()) {
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

connect_proxy::~connect_proxy() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint16_t connect_proxy::port() const {
    return impl_->acceptor.local_endpoint().port();
}

std::string connect_proxy::url() const {
    return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<connect_proxy::tunnel_request> connect_proxy::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->seen;
}

}  // namespace sw::test
