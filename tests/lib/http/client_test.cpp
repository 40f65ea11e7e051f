// lib/http/client against the loopback test server, the test CONNECT proxy and generated
// certificates. Every test clears the proxy and CA variables first and restores them after.
#include "lib/http/client.hpp"

#include "tests/support/connect_proxy.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "version.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using sw::http::failure_kind;
using sw::test::http_request;
using sw::test::http_response;
using sw::test::http_server;

namespace {

// Sets (or unsets, with nullptr) environment variables for one test and restores them after.
class scoped_env {
  public:
    scoped_env() {
        for (const char* name : {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                 "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"}) {
            set(name, nullptr);
        }
    }
    ~scoped_env() {
        for (const auto& [name, old] : saved_) {
            if (old) {
                ::setenv(name.c_str(), old->c_str(), 1);
            } else {
                ::unsetenv(name.c_str());
            }
        }
    }
    void set(const std::string& name, const char* value) {
        if (!saved_.count(name)) {
            const char* old = std::getenv(name.c_str());
            saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
        }
        if (value) {
            ::setenv(name.c_str(), value, 1);
        } else {
            ::unsetenv(name.c_str());
        }
    }

  private:
    std::map<std::string, std::optional<std::string>> saved_;
};

// One client on one io_context; each call runs the loop until the request is done.
struct driver {
    net::io_context ioc;
    sw::http::client client{ioc.get_executor()};

    sw::http::response send(sw::http::request req, sw::http::options opts = {}) {
        auto fut = net::co_spawn(ioc, client.send(std::move(req), opts), net::use_future);
        ioc.restart();
        ioc.run();
        return fut.get();
    }
    sw::http::response get(const std::string& url, sw::http::options opts = {}) {
        sw::http::request req;
        req.url = url;
        return send(std::move(req), opts);
    }
    // The error a request fails with (the test fails if it succeeds).
    sw::http::error failure(const std::string& url, sw::http::options opts = {},
                            sw::http::header_list headers = {}) {
        sw::http::request req;
        req.url = url;
        req.headers = std::move(headers);
        try {
            send(std::move(req), opts);
        } catch (const sw::http::error& e) {
            return e;
        }
        FAIL("request to " << url << " succeeded");
        throw std::logic_error("unreachable");
    }
};

// Records every request the server sees.
struct recorder {
    std::mutex mutex;
    std::vector<http_request> seen;
    void add(const http_request& r) {
        std::lock_guard lock(mutex);
        seen.push_back(r);
    }
    std::vector<http_request> all() {
        std::lock_guard lock(mutex);
        return seen;
    }
};

http_response echo(const http_request& r) {
    http_response res;
    res.body = r.method + " " + r.target + " " + r.body;
    res.headers = {{"X-Echo", r.header("X-Custom")}, {"Content-Type", "text/plain"}};
    return res;
}

http_response stall(const http_request&) {
    http_response res;
    res.stall = true;
    return res;
}

http_response reset(const http_request&) {
    http_response res;
    res.reset = true;
    return res;
}

// Answers one connection with fixed bytes, for responses the test server cannot produce.
class raw_server {
  public:
    explicit raw_server(std::string reply) : reply_(std::move(reply)) {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        thread_ = std::thread([this] {
            boost::system::error_code ec;
            tcp::socket s(ioc_);
            acceptor_.accept(s, ec);
            if (ec) return;
            std::string head;
            net::read_until(s, net::dynamic_buffer(head), "\r\n\r\n", ec);
            net::write(s, net::buffer(reply_), ec);
            s.shutdown(tcp::socket::shutdown_both, ec);
        });
    }
    ~raw_server() {
        // Unblocks accept() if the test never connected.
        boost::system::error_code ec;
        tcp::socket poke(ioc_);
        poke.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/";
    }

  private:
    std::string reply_;
    net::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::thread thread_;
};

}  // namespace

TEST_CASE("client: GET and POST round trips with headers", "[http][client]") {
    scoped_env env;
    recorder rec;
    http_server server([&](const http_request& r) {
        rec.add(r);
        return echo(r);
    });
    driver d;

    sw::http::request get;
    get.url = server.base_url() + "/a%2Fb?x=1";
    get.headers = {{"X-Custom", "hello"}};
    auto res = d.send(get);
    CHECK(res.status == 200);
    CHECK(res.body == "GET /a%2Fb?x=1 ");
    CHECK(res.header("x-echo") == "hello");
    CHECK(res.header("content-type") == "text/plain");
    CHECK(res.header("absent").empty());

    sw::http::request post;
    post.method = "POST";
    post.url = server.base_url() + "/api/v1/thing";
    post.body = R"({"a":1})";
    post.headers = {{"Content-Type", "application/json"}};
    res = d.send(post);
    CHECK(res.body == R"(POST /api/v1/thing {"a":1})");

    const auto seen = rec.all();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].target == "/a%2Fb?x=1");
    CHECK(seen[0].header("Host") == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(seen[0].header("User-Agent") == std::string("start-worker/") + sw::version);
    CHECK(seen[0].header("X-Custom") == "hello");
    CHECK(seen[1].method == "POST");
    CHECK(seen[1].header("Content-Length") == "7");
    CHECK(seen[1].header("Content-Type") == "application/json");
    CHECK(seen[1].body == R"({"a":1})");
}

TEST_CASE("client: HTTP error statuses are results", "[http][client]") {
    scoped_env env;
    http_server server([](const http_request& r) {
        http_response res;
        res.status = r.path == "/missing" ? 404 : 503;
        res.body = "nope";
        return res;
    });
    driver d;
    auto res = d.get(server.base_url() + "/missing");
    CHECK(res.status == 404);
    CHECK(res.body == "nope");
    CHECK(d.get(server.base_url() + "/down").status == 503);
}

TEST_CASE("client: connection refused is a connect failure naming the URL", "[http][client]") {
    scoped_env env;
    std::string url;
    {
        http_server gone([](const http_request&) { return http_response{}; });
        url = gone.base_url() + "/x";
    }
    driver d;
    const auto e = d.failure(url);
    CHECK(e.kind() == failure_kind::connect);
    CHECK(std::string(e.what()).rfind(url + ": ", 0) == 0);
}

TEST_CASE("client: a stalled server times out within the attempt's deadline", "[http][client]") {
    scoped_env env;
    http_server server(stall);
    driver d;
    sw::http::options opts;
    opts.timeout = std::chrono::milliseconds(300);
    const auto start = std::chrono::steady_clock::now();
    const auto e = d.failure(server.base_url() + "/slow", opts,
                             {{"Authorization", "Hawk id=\"x\", mac=\"SECRETMAC\""}});
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(e.kind() == failure_kind::timeout);
    CHECK(elapsed >= std::chrono::milliseconds(300));
    CHECK(elapsed < std::chrono::milliseconds(2000));
    const std::string msg = e.what();
    CHECK(msg.find(server.base_url() + "/slow") != std::string::npos);
    CHECK(msg.find("SECRETMAC") == std::string::npos);
}

TEST_CASE("client: a reset connection is an io failure", "[http][client]") {
    scoped_env env;
    http_server server(reset);
    driver d;
    const auto e = d.failure(server.base_url() + "/");
    CHECK(e.kind() == failure_kind::io);
}

TEST_CASE("client: a response body over max_body is a protocol failure", "[http][client]") {
    scoped_env env;
    http_server server([](const http_request&) {
        http_response res;
        res.body = std::string(1000, 'x');
        return res;
    });
    driver d;
    sw::http::options opts;
    opts.max_body = 999;
    const auto e = d.failure(server.base_url() + "/big", opts);
    CHECK(e.kind() == failure_kind::protocol);
    opts.max_body = 1000;
    CHECK(d.get(server.base_url() + "/big", opts).body.size() == 1000);
}

TEST_CASE("client: chunked responses are decoded", "[http][client]") {
    scoped_env env;
    raw_server server(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
    driver d;
    CHECK(d.get(server.url()).body == "hello, world");
}

TEST_CASE("client: malformed and truncated responses", "[http][client]") {
    scoped_env env;
    driver d;
    SECTION("garbage is a protocol failure") {
        raw_server server("SMTP ready\r\n\r\n");
        CHECK(d.failure(server.url()).kind() == failure_kind::protocol);
    }
    SECTION("a chunked body over max_body is a protocol failure") {
        raw_server server(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
        sw::http::options opts;
        opts.max_body = 10;
        CHECK(d.failure(server.url(), opts).kind() == failure_kind::protocol);
    }
    SECTION("a body cut short is an io failure") {
        raw_server server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
        const auto e = d.failure(server.url());
        CHECK(e.kind() == failure_kind::io);
    }
}

TEST_CASE("client: keep-alive reuses one connection per host", "[http][client]") {
    scoped_env env;
    recorder rec;
    http_server server([&](const http_request& r) {
        rec.add(r);
        return http_response{};
    });
    driver d;
    for (int i = 0; i < 3; ++i) d.get(server.base_url() + "/k");
    d.client.close_idle();
    d.get(server.base_url() + "/k");
    const auto seen = rec.all();
    REQUIRE(seen.size() == 4);
    CHECK(seen[0].connection_id == seen[1].connection_id);
    CHECK(seen[1].connection_id == seen[2].connection_id);
    CHECK(seen[3].connection_id != seen[2].connection_id);
}

TEST_CASE("client: a stale kept-alive connection is retried once on a fresh one",
          "[http][client]") {
    scoped_env env;
    recorder rec;
    http_server server([&](const http_request& r) {
        rec.add(r);
        http_response res;
        // The first connection dies after its first request.
        res.reset = r.connection_id == 1 && r.path == "/second";
        res.body = r.path;
        return res;
    });
    driver d;
    CHECK(d.get(server.base_url() + "/first").body == "/first");
    CHECK(d.get(server.base_url() + "/second").body == "/second");
    const auto seen = rec.all();
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].connection_id == 1);
    CHECK(seen[2].connection_id == 2);
    CHECK(seen[2].path == "/second");

    // A fresh connection is not retried.
    http_server resetting(reset);
    CHECK(d.failure(resetting.base_url() + "/").kind() == failure_kind::io);
}

TEST_CASE("client: a POST is never sent twice on a stale connection", "[http][client]") {
    scoped_env env;
    recorder rec;
    http_server server([&](const http_request& r) {
        rec.add(r);
        http_response res;
        res.reset = r.connection_id == 1 && r.method == "POST";
        return res;
    });
    driver d;
    d.get(server.base_url() + "/first");
    sw::http::request post;
    post.method = "POST";
    post.url = server.base_url() + "/once";
    post.body = "{}";
    bool failed = false;
    try {
        d.send(post);
    } catch (const sw::http::error& e) {
        failed = true;
        CHECK(e.kind() == failure_kind::io);
    }
    CHECK(failed);
    const auto seen = rec.all();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].method == "POST");
}

TEST_CASE("client: https verifies against SSL_CERT_FILE", "[http][client][tls]") {
    scoped_env env;
    sw::test::temp_dir dir;
    const auto files = sw::test::make_test_certificates(dir.path().string());
    http_server server(echo, 0, &files);
    const std::string port = std::to_string(server.port());

    SECTION("the private CA is trusted: by IP and by name") {
        env.set("SSL_CERT_FILE", dir.file("ca.pem").c_str());
        driver d;
        CHECK(d.get(server.base_url() + "/s?q=1").body == "GET /s?q=1 ");
        CHECK(d.get("https://localhost:" + port + "/n").body == "GET /n ");
    }
    SECTION("without the CA, verification fails") {
        driver d;
        const auto e = d.failure("https://localhost:" + port + "/n");
        CHECK(e.kind() == failure_kind::tls_verify);
        CHECK(std::string(e.what()).rfind(
                  "https://localhost:" + port + "/n: TLS certificate verification failed: ", 0) ==
              0);
    }
}

TEST_CASE("client: https to a host the certificate does not name fails verification",
          "[http][client][tls]") {
    scoped_env env;
    sw::test::temp_dir dir;
    const auto files = sw::test::make_test_certificates(dir.path().string());
    env.set("SSL_CERT_FILE", dir.file("ca.pem").c_str());
    // The certificate names localhost and 127.0.0.1; serve it on 127.0.0.2.
    http_server server(echo, 0, &files, "127.0.0.2");
    driver d;
    const auto e = d.failure(server.base_url() + "/");
    CHECK(e.kind() == failure_kind::tls_verify);
    CHECK(std::string(e.what()).find("mismatch") != std::string::npos);
}

TEST_CASE("client: https through HTTPS_PROXY uses a CONNECT tunnel", "[http][client][proxy]") {
    scoped_env env;
    sw::test::temp_dir dir;
    const auto files = sw::test::make_test_certificates(dir.path().string());
    env.set("SSL_CERT_FILE", dir.file("ca.pem").c_str());
    http_server server(echo, 0, &files);
    sw::test::connect_proxy proxy;
    const std::string proxy_url =
        "http://worker:s%3Acret@127.0.0.1:" + std::to_string(proxy.port());
    env.set("HTTPS_PROXY", proxy_url.c_str());
    const std::string origin = "localhost:" + std::to_string(server.port());
    driver d;

    CHECK(d.get("https://" + origin + "/via").body == "GET /via ");
    auto seen = proxy.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].authority == origin);
    CHECK(seen[0].proxy_authorization == "Basic d29ya2VyOnM6Y3JldA==");  // worker:s:cret

    SECTION("use_proxy=false goes direct") {
        sw::http::options opts;
        opts.use_proxy = false;
        CHECK(d.get("https://" + origin + "/direct", opts).body == "GET /direct ");
        CHECK(proxy.requests().size() == 1);
    }
    SECTION("NO_PROXY bypasses the proxy") {
        env.set("NO_PROXY", "example.com, localhost");
        CHECK(d.get("https://" + origin + "/bypass").body == "GET /bypass ");
        CHECK(proxy.requests().size() == 1);
    }
    SECTION("localhost is proxied unless listed") {
        env.set("NO_PROXY", "example.com");
        d.client.close_idle();
        CHECK(d.get("https://" + origin + "/again").body == "GET /again ");
        CHECK(proxy.requests().size() == 2);
    }
    SECTION("a refused CONNECT is a connect failure") {
        // The test proxy only tunnels to loopback.
        const auto e = d.failure("https://origin.invalid/x");
        CHECK(e.kind() == failure_kind::connect);
        const std::string msg = e.what();
        CHECK(msg.find("403") != std::string::npos);
        CHECK(msg.find("s%3Acret") == std::string::npos);
    }
}

TEST_CASE("client: http through HTTP_PROXY sends the absolute URL", "[http][client][proxy]") {
    scoped_env env;
    recorder rec;
    http_server proxy([&](const http_request& r) {
        rec.add(r);
        http_response res;
        res.body = "from proxy";
        return res;
    });
    env.set("HTTP_PROXY", proxy.base_url().c_str());
    driver d;
    // origin.invalid is never resolved: the proxy answers.
    CHECK(d.get("http://origin.invalid:8080/p%2Fq?x=1").body == "from proxy");
    auto seen = rec.all();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target == "http://origin.invalid:8080/p%2Fq?x=1");
    CHECK(seen[0].header("Host") == "origin.invalid:8080");
    CHECK(seen[0].header("Proxy-Authorization").empty());

    SECTION("default ports are left out; proxy credentials are sent") {
        const std::string with_auth = "http://u:p@127.0.0.1:" + std::to_string(proxy.port());
        env.set("http_proxy", with_auth.c_str());
        env.set("HTTP_PROXY", nullptr);
        CHECK(d.get("http://Origin.Invalid/").body == "from proxy");
        seen = rec.all();
        REQUIRE(seen.size() == 2);
        CHECK(seen[1].target == "http://origin.invalid/");
        CHECK(seen[1].header("Host") == "origin.invalid");
        CHECK(seen[1].header("Proxy-Authorization") == "Basic dTpw");  // u:p
    }
    SECTION("NO_PROXY match goes direct") {
        http_server direct(echo);
        env.set("NO_PROXY", "127.0.0.1");
        CHECK(d.get(direct.base_url() + "/d").body == "GET /d ");
        CHECK(rec.all().size() == 1);
    }
    SECTION("HTTPS_PROXY is not used for http URLs") {
        env.set("HTTP_PROXY", nullptr);
        env.set("HTTPS_PROXY", proxy.base_url().c_str());
        http_server direct(echo);
        CHECK(d.get(direct.base_url() + "/d").body == "GET /d ");
        CHECK(rec.all().size() == 1);
    }
}
