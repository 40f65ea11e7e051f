// standalone, static and the registry: providers configured from the runner config alone.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/http/client.hpp"
#include "lib/providers/provider.hpp"
#include "tests/lib/providers/provider_fixture.hpp"
#include "tests/support/scoped_env.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

using namespace sw;

namespace {

using env = test::provider_env;

config::runner_config cfg_of(std::string type, const char* provider_json) {
    config::runner_config cfg;
    cfg.provider_type = std::move(type);
    cfg.provider = boost::json::parse(provider_json).as_object();
    return cfg;
}

constexpr const char* standalone_min = R"({"rootURL":"https://tc.example.com/","clientID":"c",
    "accessToken":"at","workerPoolID":"w/p","workerGroup":"wg","workerID":"wi"})";

std::string config_error_of(const config::runner_config& cfg, providers::context& ctx) {
    try {
        providers::make_provider(cfg, ctx);
    } catch (const failure& e) {
        CHECK(e.code() == errc::config);
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("standalone without optional keys (TestConfigureRunNoOptional)",
          "[providers][standalone]") {
    env e;
    auto p = providers::make_provider(cfg_of("standalone", standalone_min), e.ctx);
    CHECK(p->type() == "standalone");
    CHECK_FALSE(p->dynamic());
    CHECK_FALSE(p->registers());
    CHECK_FALSE(p->can_reregister_from_scratch());
    run_state st;
    e.run(p->configure(st));
    CHECK(st.root_url == "https://tc.example.com");
    CHECK(st.provider_id == "standalone");
    CHECK(st.creds == credentials{"c", "at", ""});
    CHECK_FALSE(st.credentials_expire);
    CHECK(st.worker_pool_id == "w/p");
    CHECK(st.worker_group == "wg");
    CHECK(st.worker_id == "wi");
    CHECK(st.provider_metadata.empty());
    CHECK(st.worker_location == std::map<std::string, std::string>{{"cloud", "standalone"}});
    CHECK_FALSE(e.run(p->identity_proof(st)));
    CHECK_FALSE(e.run(p->check_termination_now()));
    CHECK(check_provider_results(st).empty());
}

TEST_CASE("standalone with optional keys (TestConfigureRunAllOptional)",
          "[providers][standalone]") {
    env e;
    auto p = providers::make_provider(
        cfg_of("standalone", R"({"rootURL":"https://tc.example.com","clientID":"c",
            "accessToken":"at","workerPoolID":"w/p","workerGroup":"wg","workerID":"wi",
            "workerLocation":{"region":"underworld","zone":"666"},
            "providerMetadata":{"public-ip":"1.2.3.4","secret-ip":"0.0.0.0"}})"),
        e.ctx);
    run_state st;
    e.run(p->configure(st));
    CHECK(st.worker_location == std::map<std::string, std::string>{{"cloud", "standalone"},
                                                                   {"region", "underworld"},
                                                                   {"zone", "666"}});
    CHECK(st.provider_metadata ==
          boost::json::object{{"public-ip", "1.2.3.4"}, {"secret-ip", "0.0.0.0"}});
    CHECK_FALSE(e.run(p->identity_proof(st)));
}

TEST_CASE("standalone config errors name the key (TestConfigureRunNonStringLocation)",
          "[providers][standalone]") {
    env e;
    auto cfg = cfg_of("standalone", standalone_min);
    cfg.provider["workerLocation"] = boost::json::object{{"region", 13}};
    CHECK(config_error_of(cfg, e.ctx) == "provider.workerLocation.region: must be a string");
    cfg = cfg_of("standalone", standalone_min);
    cfg.provider.erase("accessToken");
    CHECK(config_error_of(cfg, e.ctx) == "provider.accessToken: missing");
    cfg = cfg_of("standalone", standalone_min);
    cfg.provider["workerID"] = 7;
    CHECK(config_error_of(cfg, e.ctx) == "provider.workerID: must be a string");
    cfg = cfg_of("standalone", standalone_min);
    cfg.provider["providerMetadata"] = "x";
    CHECK(config_error_of(cfg, e.ctx) == "provider.providerMetadata: must be a map");
}

TEST_CASE("static (TestConfigureRun)", "[providers][static]") {
    env e;
    auto p = providers::make_provider(
        cfg_of("static", R"({"rootURL":"https://tc.example.com","providerID":"static-1",
            "workerPoolID":"w/p","workerGroup":"wg","workerID":"wi","staticSecret":"quiet",
            "workerLocation":{"region":"underworld","zone":"666"},
            "providerMetadata":{"temperature":"24"}})"),
        e.ctx);
    CHECK(p->type() == "static");
    CHECK_FALSE(p->dynamic());
    CHECK(p->registers());
    CHECK(p->can_reregister_from_scratch());
    run_state st;
    e.run(p->configure(st));
    CHECK(st.provider_id == "static-1");
    CHECK(st.root_url == "https://tc.example.com");
    CHECK(st.worker_location == std::map<std::string, std::string>{{"cloud", "static"},
                                                                   {"region", "underworld"},
                                                                   {"zone", "666"}});
    CHECK(st.provider_metadata == boost::json::object{{"temperature", "24"}});
    CHECK(st.creds.client_id.empty());
    auto proof = e.run(p->identity_proof(st));
    REQUIRE(proof);
    CHECK(*proof == boost::json::object{{"staticSecret", "quiet"}});
    // Unlike the Go runner, a cached run is fine (the static secret proves the identity again).
    CHECK_NOTHROW(e.run(p->use_cached_run(st)));
}

TEST_CASE("registry", "[providers][registry]") {
    env e;
    for (const char* type : {"aws", "google", "azure", "aws-provisioner"}) {
        auto p = providers::make_provider(cfg_of(type, "{}"), e.ctx);
        CHECK(p->type() == type);
        CHECK(p->dynamic());
        // aws-provisioner's credentials come from the provisioner, not from worker-manager.
        CHECK(p->registers() == (std::string(type) != "aws-provisioner"));
        CHECK(p->can_reregister_from_scratch() == p->registers());
    }
    CHECK(config_error_of(cfg_of("ec2", "{}"), e.ctx) ==
          "provider.providerType: unrecognized provider type ec2");
    CHECK(config_error_of(cfg_of("", "{}"), e.ctx) ==
          "provider.providerType: no provider given in configuration");
    CHECK(config_error_of(cfg_of("static", "{}"), e.ctx) == "provider.rootURL: missing");
}

TEST_CASE("apply_environment", "[providers][registry]") {
    env e;
    test::scoped_env aws("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1234");
    test::scoped_env gce("GCE_METADATA_HOST", "127.0.0.1:5678");
    test::scoped_env azure("AZURE_IMDS_ENDPOINT", "");
    providers::apply_environment(e.ctx);
    CHECK(e.ctx.aws_metadata_endpoint == "http://127.0.0.1:1234");
    CHECK(e.ctx.gce_metadata_host == "127.0.0.1:5678");
    CHECK(e.ctx.azure_imds_endpoint == "http://169.254.169.254");
}
