#include "lib/http/client.hpp"
#include "lib/http/proxy.hpp"

#include <catch2/catch.hpp>

using sw::http::parse_url;

TEST_CASE("parse_url: scheme, host, default and explicit ports, target", "[http][url]") {
    auto u = parse_url("https://Queue.Taskcluster.NET/api/queue/v1/ping");
    CHECK(u.scheme == "https");
    CHECK(u.host == "queue.taskcluster.net");
    CHECK(u.port == 443);
    CHECK(u.target == "/api/queue/v1/ping");

    u = parse_url("HTTP://127.0.0.1:8080");
    CHECK(u.scheme == "http");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 8080);
    CHECK(u.target == "/");

    u = parse_url("http://example.com?x=1");
    CHECK(u.port == 80);
    CHECK(u.target == "/?x=1");

    u = parse_url("http://[::1]:9000/a%2Fb?x=%20y#frag");
    CHECK(u.host == "::1");
    CHECK(u.port == 9000);
    CHECK(u.target == "/a%2Fb?x=%20y");

    u = parse_url("https://[FE80::1]/");
    CHECK(u.host == "fe80::1");
    CHECK(u.port == 443);
}

TEST_CASE("parse_url: errors name the URL", "[http][url]") {
    const char* bad[] = {"ftp://x/",        "example.com/x",  "http:///x",    "http://h:0/",
                         "http://h:70000/", "http://h:8a/",   "http://[::1/", "http://::1/",
                         "http://h/a b",    "http://[zz]:80/"};
    for (const char* text : bad) {
        INFO(text);
        try {
            parse_url(text);
            FAIL("no exception");
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).rfind(std::string(text) + ": ", 0) == 0);
        }
    }
}

TEST_CASE("parse_url: user info is refused without echoing the password", "[http][url]") {
    try {
        parse_url("https://user:hunter2@example.com/x");
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        const std::string msg = e.what();
        CHECK(msg.find("hunter2") == std::string::npos);
        CHECK(msg.find("example.com/x") != std::string::npos);
    }
}

TEST_CASE("no_proxy_matches follows Go's rules", "[http][proxy]") {
    using sw::http::no_proxy_matches;
    CHECK(no_proxy_matches("*", "anything.example", 443));
    CHECK(no_proxy_matches("example.com", "example.com", 443));
    CHECK(no_proxy_matches("example.com", "a.b.example.com", 443));
    CHECK_FALSE(no_proxy_matches("example.com", "notexample.com", 443));
    CHECK(no_proxy_matches(".example.com", "a.example.com", 443));
    CHECK_FALSE(no_proxy_matches(".example.com", "example.com", 443));
    CHECK(no_proxy_matches("*.example.com", "a.example.com", 443));
    CHECK(no_proxy_matches(" foo.org , example.com ", "example.com", 80));
    CHECK(no_proxy_matches("example.com:8443", "example.com", 8443));
    CHECK_FALSE(no_proxy_matches("example.com:8443", "example.com", 443));
    CHECK(no_proxy_matches("127.0.0.1", "127.0.0.1", 80));
    CHECK_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.2", 80));
    CHECK(no_proxy_matches("10.0.0.0/8", "10.1.2.3", 80));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "11.1.2.3", 80));
    CHECK(no_proxy_matches("[::1]", "::1", 80));
    CHECK(no_proxy_matches("fd00::/8", "fd12::1", 80));
    // localhost and 127.0.0.1 are not excluded unless listed.
    CHECK_FALSE(no_proxy_matches("example.com", "localhost", 80));
    CHECK_FALSE(no_proxy_matches("", "127.0.0.1", 80));
    CHECK_FALSE(no_proxy_matches(",,", "127.0.0.1", 80));
}

TEST_CASE("parse_proxy: address, default port, Basic credentials", "[http][proxy]") {
    using sw::http::parse_proxy;
    auto p = parse_proxy("http://Proxy.Example:3128");
    CHECK(p.host == "proxy.example");
    CHECK(p.port == 3128);
    CHECK(p.authorization.empty());

    p = parse_proxy("proxy.example:8080");
    CHECK(p.host == "proxy.example");
    CHECK(p.port == 8080);

    p = parse_proxy("http://proxy.example/");
    CHECK(p.port == 80);

    // "Aladdin:open sesame", percent-encoded in the URL.
    p = parse_proxy("http://Aladdin:open%20sesame@[::1]:3128");
    CHECK(p.host == "::1");
    CHECK(p.authorization == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");

    CHECK_THROWS_AS(parse_proxy("socks5://proxy:1080"), std::invalid_argument);
    CHECK_THROWS_AS(parse_proxy("http://:3128"), std::invalid_argument);
    try {
        parse_proxy("http://user:hunter2@proxy:notaport");
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
}

TEST_CASE("parse_url: a bad port is refused, not cut short (Boost.URL 1.81 parses h:8a as h:8)",
          "[http][url]") {
    for (const char* text : {"http://h:8a/", "http://h:8a", "https://h:443x/p"}) {
        INFO(text);
        CHECK_THROWS_AS(parse_url(text), std::invalid_argument);
    }
    // An empty port is the default one (RFC 3986 allows "h:").
    CHECK(parse_url("http://h:/x").port == 80);
}
