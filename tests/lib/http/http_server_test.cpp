// The loopback test server (tests/support/http_server.hpp), driven by a plain blocking Beast
// client so that these tests do not depend on lib/http.
#include "tests/support/http_server.hpp"

#include "tests/support/temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <poll.h>
#include <thread>

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using sw::test::http_request;
using sw::test::http_response;
using sw::test::http_server;

namespace {

struct raw_client {
    net::io_context ioc;
    tcp::socket socket{ioc};
    boost::beast::flat_buffer buffer;

    explicit raw_client(std::uint16_t port) {
        socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }
    void send(const std::string& method, const std::string& target, const std::string& body = "") {
        bhttp::request<bhttp::string_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        req.set(bhttp::field::host, "127.0.0.1");
        req.set("X-Test", "hello");
        req.body() = body;
        req.prepare_payload();
        bhttp::write(socket, req);
    }
    bhttp::response<bhttp::string_body> receive() {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(32 * 1024 * 1024);
        bhttp::read(socket, buffer, parser);
        return parser.release();
    }
    // True if data or EOF arrives within `ms`.
    bool readable_within(int ms) {
        pollfd p{socket.native_handle(), POLLIN, 0};
        return ::poll(&p, 1, ms) > 0;
    }
};

}  // namespace

TEST_CASE("test server: request fields reach the handler, the response reaches the client",
          "[http_server]") {
    std::mutex m;
    http_request seen;
    http_server server([&](const http_request& r) {
        std::lock_guard lock(m);
        seen = r;
        http_response res;
        res.status = 201;
        res.headers = {{"X-Answer", "42"}};
        res.body = R"({"ok":true})";
        return res;
    });
    CHECK(server.port() != 0);
    CHECK(server.base_url() == "http://127.0.0.1:" + std::to_string(server.port()));

    raw_client c(server.port());
    c.send("POST", "/a%2Fb/c?x=1&y=%20", "payload");
    const auto res = c.receive();
    CHECK(res.result_int() == 201);
    CHECK(res["X-Answer"] == "42");
    CHECK(res[bhttp::field::content_type] == "application/json");
    CHECK(res.body() == R"({"ok":true})");

    std::lock_guard lock(m);
    CHECK(seen.method == "POST");
    CHECK(seen.target == "/a%2Fb/c?x=1&y=%20");
    CHECK(seen.path == "/a%2Fb/c");
    CHECK(seen.query == "x=1&y=%20");
    CHECK(seen.body == "payload");
    CHECK(seen.header("x-test") == "hello");
    CHECK(seen.header("X-TEST") == "hello");
    CHECK(seen.header("absent").empty());
    CHECK(seen.connection_id == 1);
}

TEST_CASE("test server: keep-alive serves several requests on one connection", "[http_server]") {
    std::atomic<std::uint64_t> last_conn{0};
    http_server server([&](const http_request& r) {
        last_conn = r.connection_id;
        http_response res;
        res.body = r.path;
        return res;
    });
    raw_client a(server.port());
    a.send("GET", "/one");
    CHECK(a.receive().body() == "/one");
    const auto first = last_conn.load();
    a.send("GET", "/two");
    CHECK(a.receive().body() == "/two");
    CHECK(last_conn == first);

    raw_client b(server.port());
    b.send("GET", "/three");
    CHECK(b.receive().body() == "/three");
    CHECK(last_conn != first);
}

TEST_CASE("test server: large request bodies arrive whole", "[http_server]") {
    std::atomic<std::size_t> size{0};
    http_server server([&](const http_request& r) {
        size = r.body.size();
        return http_response{};
    });
    raw_client c(server.port());
    const std::string body(4 * 1024 * 1024, 'x');
    c.send("PUT", "/big", body);
    CHECK(c.receive().result_int() == 200);
    CHECK(size == body.size());
}

TEST_CASE("test server: a handler exception becomes a 500", "[http_server]") {
    http_server server(
        [](const http_request&) -> http_response { throw std::runtime_error("boom"); });
    raw_client c(server.port());
    c.send("GET", "/");
    const auto res = c.receive();
    CHECK(res.result_int() == 500);
    CHECK(res.body().find("boom") != std::string::npos);
}

TEST_CASE("test server: delay does not block other connections", "[http_server]") {
    http_server server([](const http_request& r) {
        http_response res;
        if (r.path == "/slow") res.delay = std::chrono::milliseconds(400);
        res.body = r.path;
        return res;
    });
    raw_client slow(server.port());
    const auto start = std::chrono::steady_clock::now();
    slow.send("GET", "/slow");
    raw_client fast(server.port());
    fast.send("GET", "/fast");
    CHECK(fast.receive().body() == "/fast");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(400));
    CHECK(slow.receive().body() == "/slow");
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(400));
}

TEST_CASE("test server: stall keeps the connection open without answering", "[http_server]") {
    http_server server([](const http_request&) {
        http_response res;
        res.stall = true;
        return res;
    });
    raw_client c(server.port());
    c.send("GET", "/");
    CHECK_FALSE(c.readable_within(200));
    server.stop();
    // Once the server has stopped, the connection is closed.
    REQUIRE(c.readable_within(2000));
    boost::system::error_code ec;
    char byte;
    c.socket.read_some(net::buffer(&byte, 1), ec);
    CHECK(ec);
}

TEST_CASE("test server: reset closes the connection without an answer", "[http_server]") {
    http_server server([](const http_request&) {
        http_response res;
        res.reset = true;
        return res;
    });
    raw_client c(server.port());
    c.send("GET", "/");
    REQUIRE(c.readable_within(2000));
    boost::system::error_code ec;
    char byte;
    const auto n = c.socket.read_some(net::buffer(&byte, 1), ec);
    CHECK(n == 0);
    CHECK(ec);
}

TEST_CASE("test server: stop() wakes run_until_signal() and is idempotent", "[http_server]") {
    http_server server([](const http_request&) { return http_response{}; });
    std::atomic<bool> returned{false};
    std::thread waiter([&] {
        server.run_until_signal();
        returned = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK_FALSE(returned);
    server.stop();
    waiter.join();
    CHECK(returned);
    server.stop();
}

TEST_CASE("test server: https with generated certificates verifies against the CA",
          "[http_server][tls]") {
    sw::test::temp_dir dir;
    const auto files = sw::test::make_test_certificates(dir.path().string());
    CHECK(dir.read("ca.pem").find("BEGIN CERTIFICATE") != std::string::npos);
    CHECK(dir.read("server.pem").find("BEGIN CERTIFICATE") != std::string::npos);
    CHECK(dir.read("server.key").find("PRIVATE KEY") != std::string::npos);

    http_server server(
        [](const http_request& r) {
            http_response res;
            res.body = "secure " + r.target;
            return res;
        },
        0, &files);
    CHECK(server.base_url() == "https://127.0.0.1:" + std::to_string(server.port()));

    auto fetch = [&](const std::string& name, const std::string& ca_file) {
        net::io_context ioc;
        net::ssl::context ctx(net::ssl::context::tls_client);
        if (!ca_file.empty()) ctx.load_verify_file(ca_file);
        net::ssl::stream<tcp::socket> s(ioc, ctx);
        s.set_verify_mode(net::ssl::verify_peer);
        s.set_verify_callback(net::ssl::host_name_verification(name));
        s.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
        s.handshake(net::ssl::stream_base::client);
        bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/x", 11};
        req.set(bhttp::field::host, name);
        bhttp::write(s, req);
        boost::beast::flat_buffer buf;
        bhttp::response<bhttp::string_body> res;
        bhttp::read(s, buf, res);
        return res.body();
    };
    CHECK(fetch("localhost", dir.file("ca.pem")) == "secure /x");
    CHECK(fetch("127.0.0.1", dir.file("ca.pem")) == "secure /x");
    CHECK_THROWS(fetch("example.com", dir.file("ca.pem")));  // not in subjectAltName
    CHECK_THROWS(fetch("localhost", ""));                    // CA not trusted
}
