#include "lib/common/error.hpp"
#include "tests/lib/providers/provider_fixture.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

using namespace sw;
using sw::test::cloud;
using sw::test::provider_fixture;

TEST_CASE("google configure and proof (TestGoogleConfigureRun)", "[providers][google]") {
    provider_fixture f(cloud::google);
    auto p = providers::make_provider(f.cfg, f.ctx);
    CHECK(p->type() == "google");
    run_state st;
    f.run(p->configure(st));
    CHECK(st.root_url == "https://tc.example.com");
    CHECK(st.provider_id == "gcp");
    CHECK(st.worker_pool_id == "w/p");
    CHECK(st.worker_group == "wg");
    CHECK(st.worker_id == "i-123");
    CHECK(st.worker_location == std::map<std::string, std::string>{{"cloud", "google"},
                                                                   {"region", "in-central1"},
                                                                   {"zone", "in-central1-b"}});
    CHECK(st.provider_metadata == boost::json::object{{"project-id", "proj-1234"},
                                                      {"image", "img-123"},
                                                      {"instance-type", "most-of-the-cloud"},
                                                      {"instance-id", "i-123"},
                                                      {"zone", "in-central1-b"},
                                                      {"region", "in-central1"},
                                                      {"public-ipv4", "1.2.3.4"},
                                                      {"public-hostname", "my-worker.example.com"},
                                                      {"local-ipv4", "192.168.0.1"}});
    auto proof = f.run(p->identity_proof(st));
    REQUIRE(proof);
    CHECK(*proof == boost::json::object{{"token", "i-promise"}});
    CHECK(f.count_requests("identity?audience=https://tc.example.com&format=full") == 1);
    for (const auto& r : f.requests()) CHECK(r.at("headers").at("metadata-flavor") == "Google");
}

TEST_CASE("google tolerates a missing external IP", "[providers][google]") {
    provider_fixture f(cloud::google);
    auto md = boost::json::parse(test::metadata_fake::default_metadata(cloud::google)).as_object();
    md["paths"].as_object().erase(
        "/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip");
    f.write_metadata(boost::json::serialize(md));
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    f.run(p->configure(st));
    CHECK_FALSE(st.provider_metadata.contains("public-ipv4"));
    CHECK(st.provider_metadata.at("local-ipv4") == "192.168.0.1");
}

TEST_CASE("google names the metadata path that failed", "[providers][google]") {
    provider_fixture f(cloud::google);
    auto md = boost::json::parse(test::metadata_fake::default_metadata(cloud::google)).as_object();
    md["paths"].as_object().erase("/computeMetadata/v1/instance/image");
    f.write_metadata(boost::json::serialize(md));
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    CHECK_THROWS_WITH(f.run(p->configure(st)),
                      Catch::StartsWith("error querying GCE metadata /instance/image: "));
}

TEST_CASE("google preemption: check now and the hanging watcher", "[providers][google]") {
    provider_fixture f(cloud::google);
    f.write_metadata(R"({"paths":{},"hangMs":100})");
    auto p = providers::make_provider(f.cfg, f.ctx);
    CHECK_FALSE(f.run(p->check_termination_now()));

    std::size_t waits_before = 0;
    auto side = [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(300));
        co_await t.async_wait(boost::asio::use_awaitable);
        waits_before = f.count_requests("preempted?wait_for_change=true");
        f.terminate();
    };
    const auto start = f.clk.now();
    auto n = f.run_with(p->watch_termination(), side());
    CHECK(waits_before >= 1);
    CHECK(n.reason == "gce instance preempted");
    REQUIRE(n.deadline);
    CHECK(*n.deadline == start + std::chrono::seconds(30));
    CHECK(f.run(p->check_termination_now()));
}
