// lib/http/client: interim (1xx) responses are skipped (RFC 9110 15.2) and a response is never
// matched to the wrong request on a kept-alive connection. A scripted loopback server writes
// exact bytes per request, since the test HTTP server cannot send 1xx or unasked responses.
#include "lib/http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using sw::http::failure_kind;

namespace {

struct seen_request {
    unsigned connection = 0;  ///< 1 for the first connection
    std::string method;
    std::string target;
};

// Serves connections one after another; for each request read, writes script(request) as
// raw bytes and keeps the connection open for the next request.
class scripted_server {
  public:
    using script = std::function<std::string(const seen_request&)>;
    explicit scripted_server(script s) : script_(std::move(s)) {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        thread_ = std::thread([this] { run(); });
    }
    ~scripted_server() {
        stopping_ = true;
        boost::system::error_code ec;
        {
            std::lock_guard lock(mutex_);
            if (current_) current_->shutdown(tcp::socket::shutdown_both, ec);
        }
        tcp::socket poke(ioc_);
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }
    std::vector<seen_request> seen() {
        std::lock_guard lock(mutex_);
        return seen_;
    }

  private:
    void run() {
        unsigned connection = 0;
        while (!stopping_) {
            auto s = std::make_shared<tcp::socket>(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(*s, ec);
            if (ec || stopping_) return;
            ++connection;
            {
                std::lock_guard lock(mutex_);
                current_ = s;
            }
            boost::beast::flat_buffer buffer;
            for (;;) {
                bhttp::request<bhttp::string_body> req;
                bhttp::read(*s, buffer, req, ec);
                if (ec) break;
                seen_request r{connection, std::string(req.method_string()),
                               std::string(req.target())};
                {
                    std::lock_guard lock(mutex_);
                    seen_.push_back(r);
                }
                net::write(*s, net::buffer(script_(r)), ec);
                if (ec) break;
            }
            std::lock_guard lock(mutex_);
            current_.reset();
        }
    }

    script script_;
    net::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::shared_ptr<tcp::socket> current_;
    std::vector<seen_request> seen_;
    std::thread thread_;
};

std::string ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct driver {
    net::io_context ioc;
    sw::http::client client{ioc.get_executor()};
    sw::http::response send(const std::string& method, const std::string& url,
                            std::string body = {}) {
        sw::http::request req;
        req.method = method;
        req.url = url;
        req.body = std::move(body);
        sw::http::options opts;
        opts.timeout = std::chrono::seconds(10);
        auto fut = net::co_spawn(ioc, client.send(std::move(req), opts), net::use_future);
        ioc.restart();
        ioc.run();
        return fut.get();
    }
};

// Proxy variables would route loopback requests elsewhere.
struct no_proxy_env {
    no_proxy_env() {
        for (const char* name : {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}) {
            if (const char* v = std::getenv(name)) saved.emplace_back(name, v);
            ::unsetenv(name);
        }
    }
    ~no_proxy_env() {
        for (const auto& [n, v] : saved) ::setenv(n.c_str(), v.c_str(), 1);
    }
    std::vector<std::pair<std::string, std::string>> saved;
};

}  // namespace

TEST_CASE("client: 100 Continue before the final response is skipped", "[http][client][interim]") {
    no_proxy_env env;
    scripted_server server(
        [](const seen_request& r) { return "HTTP/1.1 100 Continue\r\n\r\n" + ok(r.target); });
    driver d;
    const auto res = d.send("POST", server.url("/register"), "{}");
    CHECK(res.status == 200);
    CHECK(res.body == "/register");
}

TEST_CASE("client: several interim responses, with headers, are skipped",
          "[http][client][interim]") {
    no_proxy_env env;
    scripted_server server([](const seen_request& r) {
        return "HTTP/1.1 100 Continue\r\n\r\n"
               "HTTP/1.1 102 Processing\r\n\r\n"
               "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
               ok(r.target);
    });
    driver d;
    const auto res = d.send("GET", server.url("/x"));
    CHECK(res.status == 200);
    CHECK(res.body == "/x");
    CHECK(res.header("Link").empty());  // interim headers are not the final response's
}

TEST_CASE("client: every call on a kept-alive connection gets its own answer",
          "[http][client][interim]") {
    no_proxy_env env;
    scripted_server server(
        [](const seen_request& r) { return "HTTP/1.1 100 Continue\r\n\r\n" + ok(r.target); });
    driver d;
    // As the stop checks do with stopCheckInterval: 1: the same call again and again.
    for (const char* path : {"/first", "/second", "/third", "/fourth"}) {
        const auto res = d.send("POST", server.url(path), "{}");
        CHECK(res.status == 200);
        CHECK(res.body == path);
    }
    const auto seen = server.seen();
    REQUIRE(seen.size() == 4);
    CHECK(seen[3].connection == seen[0].connection);  // still one kept-alive connection
}

TEST_CASE("client: bytes the server sends unasked are never taken as the next answer",
          "[http][client][interim]") {
    no_proxy_env env;
    scripted_server server([](const seen_request& r) {
        // The first connection's first answer is followed by a stray response.
        if (r.connection == 1 && r.target == "/first") return ok("/first") + ok("stray");
        return ok(r.target);
    });
    driver d;
    CHECK(d.send("GET", server.url("/first")).body == "/first");
    CHECK(d.send("POST", server.url("/second"), "{}").body == "/second");
    CHECK(d.send("GET", server.url("/third")).body == "/third");
    const auto seen = server.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].connection == 2);  // the connection with stray bytes was not reused
}

TEST_CASE("client: 101 and endless interim responses are protocol failures",
          "[http][client][interim]") {
    no_proxy_env env;
    SECTION("101 Switching Protocols, never asked for") {
        scripted_server server([](const seen_request&) {
            return std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n");
        });
        driver d;
        try {
            d.send("GET", server.url("/"));
            FAIL("a 101 was taken as a response");
        } catch (const sw::http::error& e) {
            CHECK(e.kind() == failure_kind::protocol);
            CHECK_THAT(e.what(), Catch::Contains("malformed HTTP response"));
        }
    }
    SECTION("more interim responses than any server needs") {
        scripted_server server([](const seen_request& r) {
            std::string out;
            for (int i = 0; i < 1000; ++i) out += "HTTP/1.1 100 Continue\r\n\r\n";
            return out + ok(r.target);
        });
        driver d;
        try {
            d.send("GET", server.url("/"));
            FAIL("1000 interim responses were accepted");
        } catch (const sw::http::error& e) {
            CHECK(e.kind() == failure_kind::protocol);
        }
    }
}
