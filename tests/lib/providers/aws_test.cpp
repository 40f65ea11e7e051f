#include "lib/common/error.hpp"
#include "lib/log/log.hpp"
#include "tests/lib/providers/provider_fixture.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <atomic>

using namespace sw;
using sw::test::cloud;
using sw::test::provider_fixture;

namespace {

boost::asio::awaitable<void> after(std::chrono::milliseconds d, std::function<void()> fn) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(boost::asio::use_awaitable);
    fn();
}

}  // namespace

TEST_CASE("aws configure and proof (TestAWSConfigureRun)", "[providers][aws]") {
    provider_fixture f(cloud::aws);
    auto p = providers::make_provider(f.cfg, f.ctx);
    CHECK(p->type() == "aws");
    CHECK(p->dynamic());
    run_state st;
    f.run(p->configure(st));
    CHECK(st.root_url == "https://tc.example.com");
    CHECK(st.provider_id == "amazon");
    CHECK(st.worker_pool_id == "w/p");
    CHECK(st.worker_group == "wg");
    CHECK(st.worker_id == "i-55555nonesense5");
    CHECK(st.worker_location ==
          std::map<std::string, std::string>{
              {"cloud", "aws"}, {"region", "us-west-2"}, {"availabilityZone", "us-west-2a"}});
    CHECK(st.provider_metadata == boost::json::object{{"instance-id", "i-55555nonesense5"},
                                                      {"image", "banana"},
                                                      {"instance-type", "t2.micro"},
                                                      {"region", "us-west-2"},
                                                      {"availability-zone", "us-west-2a"},
                                                      {"local-ipv4", "1.1.1.1"},
                                                      {"public-hostname", "hostname"},
                                                      {"public-ipv4", "2.2.2.2"}});
    CHECK(check_provider_results(st) == "provider did not set Credentials.ClientID");

    auto proof = f.run(p->identity_proof(st));
    REQUIRE(proof);
    CHECK(proof->at("signature") == "thisisasignature");
    CHECK(
        proof->at("document") ==
        R"({"instanceId":"i-55555nonesense5","region":"us-west-2","availabilityZone":"us-west-2a","instanceType":"t2.micro","imageId":"banana","privateIp":"1.1.1.1"})");

    // IMDSv2: one token, sent on every read; no read without it.
    CHECK(f.count_requests("/latest/api/token") == 1);
    for (const auto& r : f.requests()) {
        if (r.at("method") == "PUT") {
            CHECK(r.at("headers").at("x-aws-ec2-metadata-token-ttl-seconds") == "21600");
        } else {
            CHECK(r.at("headers").at("x-aws-ec2-metadata-token") == "fake-imds-token-1");
        }
    }
}

TEST_CASE("aws tolerates a missing public IP and hostname", "[providers][aws]") {
    provider_fixture f(cloud::aws);
    auto md = boost::json::parse(test::metadata_fake::default_metadata(cloud::aws)).as_object();
    md["paths"].as_object()["/latest/meta-data/public-ipv4"] = nullptr;
    md["paths"].as_object().erase("/latest/meta-data/public-hostname");
    f.write_metadata(boost::json::serialize(md));
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    f.run(p->configure(st));
    CHECK(st.worker_id == "i-55555nonesense5");
    CHECK_FALSE(st.provider_metadata.contains("public-ipv4"));
    CHECK_FALSE(st.provider_metadata.contains("public-hostname"));
    CHECK(st.provider_metadata.at("local-ipv4") == "1.1.1.1");
}

TEST_CASE("aws user data errors name the user data", "[providers][aws]") {
    provider_fixture f(cloud::aws);
    f.write_metadata(R"({"paths":{"/latest/user-data":"{\"workerPoolId\":\"w/p\"}"}})");
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    const auto e = f.failure_of(p->configure(st));
    CHECK(e.code() == errc::config);
    CHECK(std::string(e.what()) == "could not query user data: missing providerId");
}

TEST_CASE("aws gives up on an unreachable metadata service with exit 69", "[providers][aws]") {
    provider_fixture f(cloud::aws);
    f.ctx.aws_metadata_endpoint = "http://127.0.0.1:1";
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    const auto e = f.failure_of(p->configure(st));
    CHECK(e.code() == errc::unavailable);
    CHECK_THAT(e.what(), Catch::Contains("http://127.0.0.1:1/latest/api/token"));
}

TEST_CASE("aws check_termination_now", "[providers][aws]") {
    provider_fixture f(cloud::aws);
    auto p = providers::make_provider(f.cfg, f.ctx);
    CHECK_FALSE(f.run(p->check_termination_now()));
    f.terminate(R"({"action":"hibernate","time":"2026-03-01T10:20:30Z"})");
    auto n = f.run(p->check_termination_now());
    REQUIRE(n);
    CHECK(n->reason == "aws spot instance-action: hibernate");
    REQUIRE(n->deadline);
    CHECK(format_rfc3339_ms(*n->deadline) == "2026-03-01T10:20:30.000Z");
}

TEST_CASE("aws watch_termination returns a notice once termination is announced",
          "[providers][aws]") {
    provider_fixture f(cloud::aws);
    auto p = providers::make_provider(f.cfg, f.ctx);
    std::size_t polls_before = 0;
    auto n = f.run_with(p->watch_termination(), after(std::chrono::milliseconds(200), [&] {
                            polls_before = f.count_requests("spot/instance-action");
                            f.terminate();
                        }));
    CHECK(polls_before >= 2);  // it was polling (every 50 ms at this time scale) before
    CHECK(n.reason == "aws spot instance-action: terminate");
    CHECK(n.deadline);
}

TEST_CASE("aws watcher logs a metadata outage once", "[providers][aws]") {
    std::atomic<int> spot_calls{0};
    test::http_handler flaky = [&](const test::http_request& r) {
        test::http_response resp;
        if (r.path == "/latest/api/token") {
            resp.body = "tok";
        } else if (r.path == "/latest/meta-data/spot/instance-action") {
            const int n = ++spot_calls;
            if (n <= 5)
                resp.status = 503;
            else if (n <= 7)
                resp.status = 404;
            else
                resp.body = R"({"action":"stop","time":"2026-01-01T00:00:00Z"})";
        } else {
            resp.status = 404;
        }
        return resp;
    };
    provider_fixture f(cloud::aws, flaky);
    std::vector<std::pair<log::level, std::string>> lines;
    log::set_capture([&](log::level l, std::string_view m) {
        if (l != log::level::debug) lines.emplace_back(l, std::string(m));
    });
    auto p = providers::make_provider(f.cfg, f.ctx);
    auto n = f.run(p->watch_termination());
    log::set_capture({});
    CHECK(n.reason == "aws spot instance-action: stop");
    int warns = 0, recovered = 0;
    for (const auto& [l, m] : lines) {
        if (l == log::level::warn && m.find("unreachable") != std::string::npos) ++warns;
        if (m.find("reachable again") != std::string::npos) ++recovered;
    }
    CHECK(warns == 1);
    CHECK(recovered == 1);
}
