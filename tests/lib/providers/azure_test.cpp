#include "lib/common/error.hpp"
#include "lib/providers/parse.hpp"
#include "tests/lib/providers/provider_fixture.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

using namespace sw;
using sw::test::cloud;
using sw::test::provider_fixture;

TEST_CASE("azure configure and proof (TestConfigureRun)", "[providers][azure]") {
    provider_fixture f(cloud::azure);
    auto p = providers::make_provider(f.cfg, f.ctx);
    CHECK(p->type() == "azure");
    run_state st;
    f.run(p->configure(st));
    CHECK(st.root_url == "https://tc.example.com");
    CHECK(st.provider_id == "azure");
    CHECK(st.worker_pool_id == "w/p");
    CHECK(st.worker_group == "wg");
    CHECK(st.worker_id == "vm-w-p-test");
    CHECK(st.worker_location ==
          std::map<std::string, std::string>{{"cloud", "azure"}, {"region", "uswest"}});
    CHECK(st.provider_metadata ==
          boost::json::object{{"vm-id", "df09142e-c0dd-43d9-a515-489f19829dfd"},
                              {"instance-type", "medium"},
                              {"region", "uswest"},
                              {"local-ipv4", "10.1.2.4"},
                              {"public-ipv4", "104.42.72.130"}});
    auto proof = f.run(p->identity_proof(st));
    REQUIRE(proof);
    // base64("trust me, it's cool --Bill")
    CHECK(*proof == boost::json::object{{"document", "dHJ1c3QgbWUsIGl0J3MgY29vbCAtLUJpbGw="}});
    CHECK(f.count_requests("/metadata/instance?api-version=2025-04-07") == 1);
    CHECK(f.count_requests("/metadata/attested/document?api-version=2025-04-07") == 1);
    for (const auto& r : f.requests()) CHECK(r.at("headers").at("metadata") == "true");
}

TEST_CASE("azure missing tag", "[providers][azure]") {
    provider_fixture f(cloud::azure);
    f.write_metadata(R"({"paths":{"/metadata/instance":{"compute":{"name":"vm","tagsList":[
        {"name":"worker-pool-id","value":"w/p"},{"name":"provider-id","value":"azure"},
        {"name":"worker-group","value":"wg"}]}}}})");
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    CHECK_THROWS_WITH(f.run(p->configure(st)),
                      Catch::EndsWith("did not get root-url from instance tagged data"));
}

TEST_CASE("azure scheduled events: notice, deadline, acknowledge", "[providers][azure]") {
    provider_fixture f(cloud::azure);
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    f.run(p->configure(st));

    std::size_t polls_before = 0;
    auto side = [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(200));
        co_await t.async_wait(boost::asio::use_awaitable);
        polls_before = f.count_requests("/metadata/scheduledevents?api-version=2020-07-01");
        f.terminate(R"({"EventId":"77213DA4-5DAF","EventType":"Reboot",
                        "NotBefore":"Thu, 05 Dec 2019 00:31:50 GMT"})");
    };
    auto n = f.run_with(p->watch_termination(), side());
    CHECK(polls_before >= 2);
    CHECK(n.event_id == "77213DA4-5DAF");
    CHECK(n.reason == "azure scheduled event: Reboot");
    time_point expected;
    REQUIRE(providers::parse::parse_rfc1123("Thu, 05 Dec 2019 00:31:50 GMT", expected));
    CHECK(n.deadline == expected);

    f.run(p->acknowledge(n));
    int posts = 0;
    for (const auto& r : f.requests()) {
        if (r.at("method") != "POST") continue;
        ++posts;
        CHECK(r.at("target") == "/metadata/scheduledevents?api-version=2020-07-01");
        CHECK(boost::json::parse(r.at("body").as_string()) ==
              boost::json::parse(R"({"StartRequests":[{"EventId":"77213DA4-5DAF"}]})"));
    }
    CHECK(posts == 1);
}

TEST_CASE("azure ignores Freeze and other VMs' events", "[providers][azure]") {
    provider_fixture f(cloud::azure);
    f.terminate(R"({"EventType":"Freeze"})");
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    f.run(p->configure(st));
    auto side = [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(200));
        co_await t.async_wait(boost::asio::use_awaitable);
        f.terminate(R"({"EventType":"Preempt","Resources":["another-vm"]})");
        t.expires_after(std::chrono::milliseconds(200));
        co_await t.async_wait(boost::asio::use_awaitable);
        f.terminate(R"({"EventType":"Terminate","EventId":"mine"})");
    };
    auto n = f.run_with(p->watch_termination(), side());
    CHECK(n.event_id == "mine");
    CHECK(n.reason == "azure scheduled event: Terminate");
}

TEST_CASE("azure check_termination_now looks at the scheduled events once", "[providers][azure]") {
    provider_fixture f(cloud::azure);
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    f.run(p->configure(st));
    CHECK_FALSE(f.run(p->check_termination_now()));
    f.terminate(R"({"EventId":"E1","EventType":"Terminate"})");
    auto n = f.run(p->check_termination_now());
    REQUIRE(n);
    CHECK(n->event_id == "E1");
    CHECK(n->reason == "azure scheduled event: Terminate");
    CHECK(f.count_requests("/metadata/scheduledevents?api-version=2020-07-01") == 2);
}

TEST_CASE("azure check_termination_now: an unreadable service does not stop the start",
          "[providers][azure]") {
    provider_fixture f(cloud::azure);
    f.ctx.azure_imds_endpoint = "http://127.0.0.1:1";
    auto p = providers::make_provider(f.cfg, f.ctx);
    CHECK_FALSE(f.run(p->check_termination_now()));
}
