#include "lib/common/error.hpp"
#include "lib/json/worker_config.hpp"
#include "tests/lib/providers/provider_fixture.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <sstream>

using namespace sw;
using sw::test::cloud;

namespace {

constexpr const char* secret_token = "sekrit-token-1234";

/// The EC2 fake plus the aws-provisioner secret endpoint, on one loopback server.
struct provisioner_env {
    test::temp_dir state;
    test::metadata_fake imds{cloud::aws, state.path()};
    std::mutex mu;
    std::vector<std::string> secret_calls;  ///< "GET <path>", "DELETE <path>"
    unsigned get_status = 200;
    std::unique_ptr<test::provider_fixture> f;

    explicit provisioner_env(bool v1_only) {
        auto md = boost::json::parse(test::metadata_fake::default_metadata(cloud::aws)).as_object();
        md["paths"].as_object()["/latest/user-data"] =
            boost::json::serialize(boost::json::object{{"data", {{"fromUserData", true}}},
                                                       {"workerType", "wt"},
                                                       {"provisionerId", "prov"},
                                                       {"region", "us-west-2"},
                                                       {"taskclusterRootUrl", "ROOT"},
                                                       {"securityToken", secret_token},
                                                       {"capacity", 2}});
        if (v1_only) md["imdsV1Only"] = true;
        f = std::make_unique<test::provider_fixture>(
            cloud::aws, [this](const test::http_request& r) { return handle(r); });
        std::string text = boost::json::serialize(md);
        const auto pos = text.find("ROOT");
        text.replace(pos, 4, f->server->base_url());
        state.write("metadata.json", text);
        f->cfg.provider_type = "aws-provisioner";
        f->cfg.worker_implementation = "docker-worker";
        f->cfg.worker_config = boost::json::object{{"fromRunner", true}};
    }

    test::http_response handle(const test::http_request& r) {
        if (!r.path.starts_with("/api/aws-provisioner/")) return imds.handle(r);
        std::lock_guard lock(mu);
        secret_calls.push_back(r.method + " " + r.path);
        test::http_response resp;
        if (r.path != std::string("/api/aws-provisioner/v1/secret/") + secret_token) {
            resp.status = 404;
        } else if (r.method == "GET") {
            resp.status = get_status;
            resp.body = R"({"credentials":{"clientId":"prov-client","accessToken":"prov-at",
                "certificate":"{\"version\":1}"},"data":{"fromSecret":true},"scopes":[]})";
        } else {
            resp.body = "{}";
        }
        return resp;
    }
};

}  // namespace

TEST_CASE("aws-provisioner takes the one-time secret and fills the state",
          "[providers][aws-provisioner]") {
    for (bool v1_only : {false, true}) {
        CAPTURE(v1_only);
        provisioner_env env(v1_only);
        auto& f = *env.f;
        auto p = providers::make_provider(f.cfg, f.ctx);
        CHECK(p->type() == "aws-provisioner");
        run_state st;
        st.worker_config = f.cfg.worker_config;
        f.run(p->configure(st));
        CHECK(env.secret_calls ==
              std::vector<std::string>{
                  std::string("GET /api/aws-provisioner/v1/secret/") + secret_token,
                  std::string("DELETE /api/aws-provisioner/v1/secret/") + secret_token});
        CHECK(st.root_url == f.server->base_url());
        CHECK(st.provider_id == "aws-provisioner");
        CHECK(st.worker_pool_id == "prov/wt");
        CHECK(st.worker_group == "us-west-2");
        CHECK(st.worker_id == "i-55555nonesense5");
        CHECK(st.creds == credentials{"prov-client", "prov-at", R"({"version":1})"});
        REQUIRE(st.credentials_expire);
        CHECK(*st.credentials_expire == f.clk.now() + std::chrono::hours(96));
        CHECK(st.worker_location ==
              std::map<std::string, std::string>{
                  {"cloud", "aws"}, {"region", "us-west-2"}, {"availabilityZone", "us-west-2a"}});
        CHECK(st.provider_metadata.at("image") == "banana");
        CHECK(st.provider_metadata.at("public-ipv4") == "2.2.2.2");
        CHECK(json::to_sorted_json(st.worker_config) ==
              R"({"capacity":2,"fromRunner":true,"fromSecret":true,"fromUserData":true,)"
              R"("shutdown":{"afterIdleSeconds":900,"enabled":true}})");
        CHECK_FALSE(f.run(p->identity_proof(st)));
        CHECK(check_provider_results(st).empty());
        // IMDSv2 when the token PUT works, plain reads otherwise.
        int reads = 0, tokenless_reads = 0;
        std::istringstream log(env.state.read("requests.jsonl"));
        for (std::string line; std::getline(log, line);) {
            const auto r = boost::json::parse(line).as_object();
            if (r.at("method") != "GET") continue;
            ++reads;
            if (!r.at("headers").as_object().contains("x-aws-ec2-metadata-token"))
                ++tokenless_reads;
        }
        CHECK(reads >= 8);
        CHECK(tokenless_reads == (v1_only ? reads : 0));
    }
}

TEST_CASE("aws-provisioner deletes the secret even when reading it failed, and never shows it",
          "[providers][aws-provisioner]") {
    provisioner_env env(false);
    env.get_status = 403;
    auto& f = *env.f;
    auto p = providers::make_provider(f.cfg, f.ctx);
    run_state st;
    const auto e = f.failure_of(p->configure(st));
    CHECK(e.code() == errc::refused);
    CHECK_THAT(e.what(), Catch::StartsWith("could not get the aws-provisioner secret: "));
    CHECK_THAT(e.what(), !Catch::Contains(secret_token));
    REQUIRE(env.secret_calls.size() == 2);
    CHECK(env.secret_calls[1].starts_with("DELETE "));
}
