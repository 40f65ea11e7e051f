// Issue 14, item 10: a bad HTTPS_PROXY scheme or a missing SSL_CERT_FILE is the operator's
// environment, not a transient network problem: sw::failure(config), so the runner exits 78
// instead of retrying (69) in a restart loop.
#include "lib/common/error.hpp"
#include "lib/http/client.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/scoped_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;

namespace {

sw::failure failure_of(const std::string& url) {
    boost::asio::io_context io;
    sw::http::client c(io.get_executor());
    sw::http::request req;
    req.url = url;
    auto fut = boost::asio::co_spawn(io, c.send(req), boost::asio::use_future);
    io.run();
    try {
        fut.get();
    } catch (const sw::failure& f) {
        return f;
    } catch (const std::exception& e) {
        FAIL("not a config failure (would be retried): " << e.what());
    }
    FAIL("no error");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a malformed proxy variable is a config error", "[http][env]") {
    sw::test::scoped_env no_proxy("NO_PROXY", std::nullopt);
    sw::test::scoped_env no_proxy2("no_proxy", std::nullopt);
    sw::test::scoped_env lower("https_proxy", std::nullopt);
    sw::test::scoped_env proxy("HTTPS_PROXY", "socks5://proxy.example:1080");
    const auto f = failure_of("https://tc.example.com/api");
    CHECK(f.code() == sw::errc::config);
    CHECK_THAT(f.what(), Contains("HTTPS_PROXY") && Contains("unsupported proxy scheme"));
}

TEST_CASE("a missing SSL_CERT_FILE is a config error", "[http][env]") {
    sw::test::scoped_env p1("HTTPS_PROXY", std::nullopt);
    sw::test::scoped_env p2("https_proxy", std::nullopt);
    sw::test::scoped_env dir("SSL_CERT_DIR", std::nullopt);
    sw::test::scoped_env file("SSL_CERT_FILE", "/nonexistent/ca.pem");
    // The TLS context is made once connected: a plain listener will do.
    sw::test::http_server server(
        [](const sw::test::http_request&) { return sw::test::http_response{}; });
    const auto f = failure_of("https://127.0.0.1:" + std::to_string(server.port()) + "/");
    CHECK(f.code() == sw::errc::config);
    CHECK_THAT(f.what(), Contains("SSL_CERT_FILE /nonexistent/ca.pem"));
}
