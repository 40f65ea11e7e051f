// Issue 14, item 10 (decided): 301/302/307/308 from Taskcluster are never followed (credentials
// must not reach another host; the Taskcluster API does not redirect). The call fails at once
// (77, not retried) with a message that names the redirect target, so that rootURL can be fixed.
#include "lib/http/client.hpp"
#include "lib/tc/client.hpp"
#include "tests/lib/tc/tc_test_util.hpp"
#include "tests/support/http_server.hpp"

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <atomic>

using Catch::Matchers::Contains;

TEST_CASE("tc: redirects are not followed and name their target", "[tc][redirect]") {
    sw::test::env_var p1("HTTP_PROXY", nullptr);
    sw::test::env_var p2("http_proxy", nullptr);
    for (const unsigned status : {301u, 302u, 307u, 308u}) {
        CAPTURE(status);
        std::atomic<int> requests{0};
        sw::test::http_server server([&](const sw::test::http_request&) {
            ++requests;
            sw::test::http_response r;
            r.status = status;
            r.headers = {{"Location", "https://elsewhere.example/api/worker-manager/v1/"}};
            return r;
        });
        boost::asio::io_context io;
        sw::http::client http(io.get_executor());
        sw::tc::client_options o;
        o.retry_scale = 0.001;
        sw::tc::client c(http, server.base_url(), sw::credentials{"id", "token", ""}, o);
        const auto e = sw::test::expect_error<sw::tc::api_error>(
            [&] { sw::test::run_coro(io, c.should_worker_terminate("proj/pool", "wg", "wid")); });
        CHECK(e.code() == sw::errc::permanent);  // exit 77, as a refusal
        CHECK(e.status() == status);
        CHECK_THAT(e.what(), Contains("https://elsewhere.example/api/worker-manager/v1/") &&
                                 Contains("not followed"));
        CHECK(requests == 1);  // neither followed nor retried
    }
}
