#pragma once
// One cloud run for the end-to-end tests (aws, google, azure, aws-provisioner): the harness
// (stand-in, temp dir, fake worker), the cloud's metadata fake (tests/support/metadata_fake) on
// its own server, a shutdown command that leaves a marker, and the provider's environment.
// Shared by cloud_test.cpp and security_test.cpp.
#include "lib/common/clock.hpp"
#include "tests/daemon/e2e_checks.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/metadata_fake.hpp"

#include <boost/json.hpp>

#include <mutex>
#include <sstream>

namespace sw::test::cloud_e2e {

namespace json = boost::json;
using namespace std::chrono_literals;

/// Poll intervals and retry delays are multiplied by this in the daemon (its test hook).
inline constexpr const char* time_scale = "0.05";

inline constexpr const char* aws_instance_id = "i-55555nonesense5";
inline constexpr const char* aws_signature = "thisisasignature";
inline constexpr const char* gce_token = "i-promise-a-jwt";
inline constexpr const char* azure_signature = "dHJ1c3QgbWUsIGl0J3MgY29vbCAtLUJpbGw=";
inline constexpr const char* provisioner_token = "provisioner-security-token-0123";
inline constexpr const char* provisioner_client = "provisioner/worker";
inline constexpr const char* provisioner_access_token =
    "provisionerAccessToken0123456789abcdefghijk";

/// The AWS instance identity document, raw (the proof must carry exactly this text).
inline std::string aws_document() {
    return R"({"instanceId":")" + std::string(aws_instance_id) +
           R"(","region":"us-west-2","availabilityZone":"us-west-2a","instanceType":"t2.micro",)"
           R"("imageId":"ami-1234","privateIp":"10.0.0.7"})";
}

/// A small aws-provisioner service: GET/DELETE of the one-time secret, and anything else
/// recorded (removeWorker answers 200, other paths 404).
struct provisioner_service {
    std::mutex mu;
    std::vector<http_request> requests;
    bool deleted = false;
    std::unique_ptr<http_server> server;

    provisioner_service() {
        server = std::make_unique<http_server>([this](const http_request& req) {
            std::lock_guard lock(mu);
            requests.push_back(req);
            http_response r;
            const std::string secret_path =
                "/api/aws-provisioner/v1/secret/" + std::string(provisioner_token);
            if (req.path == secret_path && req.method == "GET") {
                if (deleted) {
                    r.status = 404;
                    r.body = R"({"code":"ResourceNotFound","message":"gone"})";
                    return r;
                }
                r.body = json::serialize(json::object{
                    {"credentials",
                     {{"clientId", provisioner_client}, {"accessToken", provisioner_access_token}}},
                    {"data", {{"fromSecret", true}}},
                    {"scopes", json::array{"assume:worker-type:proj/pool"}}});
                return r;
            }
            if (req.path == secret_path && req.method == "DELETE") {
                deleted = true;
                r.body = "{}";
                return r;
            }
            if (req.path.starts_with("/api/worker-manager/v1/workers/") && req.method == "DELETE") {
                r.body = "{}";
                return r;
            }
            r.status = 404;
            r.body = R"({"code":"ResourceNotFound","message":"no such endpoint"})";
            return r;
        });
    }

    std::vector<http_request> matching(const std::string& fragment, const std::string& method) {
        std::lock_guard lock(mu);
        std::vector<http_request> out;
        for (const auto& r : requests)
            if (r.path.find(fragment) != std::string::npos && r.method == method) out.push_back(r);
        return out;
    }
};

/// One cloud run: the harness (stand-in, temp dir, fake worker), the cloud's metadata fake on
/// its own server, a shutdown command with a marker file, and the provider's environment.
struct cloud_run {
    std::string kind;  ///< aws, google, azure, aws-provisioner
    harness h;
    std::string md_dir;
    std::unique_ptr<metadata_fake> fake;
    std::unique_ptr<http_server> md_server;
    std::unique_ptr<provisioner_service> provisioner;

    explicit cloud_run(std::string k) : kind(std::move(k)) {
        h.start_standin(R"({
          "providers": {"aws-prov": {"type": "aws"}, "gcp": {"type": "google"},
                        "az": {"type": "azure"}},
          "workerPools": {"proj/pool": {"credentialLifetimeSeconds": 3600,
              "workerConfig": {"genericWorker": {"config": {"fromWM": true}}}}}})");
        if (kind == "aws-provisioner") provisioner = std::make_unique<provisioner_service>();
        md_dir = h.dir.file("metadata");
        std::filesystem::create_directories(md_dir);
        const auto c = kind == "google"  ? cloud::google
                       : kind == "azure" ? cloud::azure
                                         : cloud::aws;
        write_metadata(metadata());
        fake = std::make_unique<metadata_fake>(c, md_dir);
        md_server = std::make_unique<http_server>(fake->handler());
        h.dir.write(
            "shutdown.sh",
            "#!/bin/sh\necho \"shutdown $*\" >> '" + h.dir.file("shutdown-ran") + "'\nexit 0\n",
            0755);
    }

    std::string root_url() const {
        return provisioner ? provisioner->server->base_url() : h.standin->root_url();
    }
    std::string provider_id() const {
        if (kind == "aws") return "aws-prov";
        if (kind == "google") return "gcp";
        if (kind == "azure") return "az";
        return "aws-provisioner";
    }
    std::string worker_id() const {
        if (kind == "google") return "1234567890";
        if (kind == "azure") return "vm-proj-pool-1";
        return aws_instance_id;
    }
    std::string worker_group() const {
        if (kind == "google") return "in-central1";
        if (kind == "azure") return "uswest";
        return "us-west-2";
    }

    /// metadata.json for this cloud, pointing at the stand-in (or the provisioner service).
    json::object metadata() const {
        const std::string root = root_url();
        if (kind == "aws" || kind == "aws-provisioner") {
            std::string user_data;
            if (kind == "aws")
                user_data = json::serialize(json::object{{"workerPoolId", "proj/pool"},
                                                         {"providerId", provider_id()},
                                                         {"workerGroup", worker_group()},
                                                         {"rootUrl", root}});
            else
                user_data = json::serialize(json::object{
                    {"data", {{"genericWorker", {{"config", {{"fromUserData", true}}}}}}},
                    {"workerType", "pool"},
                    {"provisionerId", "proj"},
                    {"region", "us-west-2"},
                    {"taskclusterRootUrl", root},
                    {"securityToken", provisioner_token}});
            return json::object{
                {"paths",
                 {{"/latest/user-data", user_data},
                  {"/latest/dynamic/instance-identity/document", aws_document()},
                  {"/latest/dynamic/instance-identity/signature", aws_signature},
                  {"/latest/meta-data/public-hostname", "ec2-2-2-2-2.example.com"},
                  {"/latest/meta-data/public-ipv4", "2.2.2.2"},
                  {"/latest/meta-data/instance-id", aws_instance_id},
                  {"/latest/meta-data/ami-id", "ami-1234"},
                  {"/latest/meta-data/instance-type", "t2.micro"},
                  {"/latest/meta-data/local-ipv4", "10.0.0.7"},
                  {"/latest/meta-data/placement/availability-zone", "us-west-2a"}}}};
        }
        if (kind == "google") {
            const std::string base = "/computeMetadata/v1";
            return json::object{
                {"paths",
                 {{base + "/instance/id", worker_id()},
                  {base + "/instance/attributes/taskcluster",
                   json::serialize(json::object{{"workerPoolId", "proj/pool"},
                                                {"providerId", provider_id()},
                                                {"workerGroup", worker_group()},
                                                {"rootUrl", root}})},
                  {base + "/project/project-id", "proj-1234"},
                  {base + "/instance/image", "img-123"},
                  {base + "/instance/machine-type", "n1-standard-2"},
                  {base + "/instance/zone", "projects/1234/zones/in-central1-b"},
                  {base + "/instance/hostname", "my-worker.example.com"},
                  {base + "/instance/network-interfaces/0/access-configs/0/external-ip", "1.2.3.4"},
                  {base + "/instance/network-interfaces/0/ip", "192.168.0.1"},
                  // Only the right audience gets a token.
                  {base + "/instance/service-accounts/default/identity?audience=" + root +
                       "&format=full",
                   gce_token}}},
                {"hangMs", 200}};
        }
        json::array tags;
        for (const auto& [k, v] :
             std::vector<std::pair<std::string, std::string>>{{"worker-pool-id", "proj/pool"},
                                                              {"provider-id", provider_id()},
                                                              {"worker-group", worker_group()},
                                                              {"root-url", root}})
            tags.push_back(json::object{{"name", k}, {"value", v}});
        return json::object{
            {"paths",
             {{"/metadata/instance",
               {{"compute",
                 {{"name", worker_id()},
                  {"vmId", "df09142e-c0dd-43d9-a515-489f19829dfd"},
                  {"location", "uswest"},
                  {"vmSize", "Standard_D2s_v3"},
                  {"tagsList", tags}}},
                {"network",
                 {{"interface",
                   json::array{json::object{
                       {"ipv4",
                        {{"ipAddress",
                          json::array{json::object{{"privateIpAddress", "10.1.2.4"},
                                                   {"publicIpAddress", "104.42.72.130"}}}}}}}}}}}}},
              {"/metadata/attested/document",
               {{"encoding", "pkcs7"}, {"signature", azure_signature}}}}}};
    }

    void write_metadata(const json::object& md) const {
        h.dir.write("metadata/metadata.json", json::serialize(md));
    }

    /// Announces termination; `content` is terminate.json (see metadata_fake.hpp).
    void terminate(const json::object& content = {}) const {
        h.dir.write("metadata/terminate.json", json::serialize(content));
    }

    std::string config(const std::string& extra = "") const {
        return "provider:\n  providerType: " + kind + "\n" + h.worker_block() +
               "host:\n"
               "  shutdownCommand: [" +
               h.dir.file("shutdown.sh") + "]\n" + extra;
    }

    env_list environment(const std::string& script) const {
        const auto port = std::to_string(md_server->port());
        return {{"FAKE_WORKER_SCRIPT", script},
                {"START_WORKER_TEST_TIME_SCALE", time_scale},
                {"AWS_EC2_METADATA_SERVICE_ENDPOINT", md_server->base_url()},
                {"GCE_METADATA_HOST", "127.0.0.1:" + port},
                {"AZURE_IMDS_ENDPOINT", md_server->base_url()}};
    }

    proc_result run(const std::string& script, bool once = true) {
        const auto cfg = h.write_config(config());
        std::vector<std::string> args;
        if (once) args.push_back("--once");
        args.push_back(cfg);
        return h.run(args, environment(script), 60s);
    }

    /// Requests the metadata fake saw, matching `fragment` (and `method`).
    std::vector<json::object> metadata_requests(const std::string& fragment,
                                                const std::string& method = "") const {
        std::vector<json::object> out;
        std::istringstream in(h.dir.read("metadata/requests.jsonl"));
        std::string line;
        while (std::getline(in, line)) {
            boost::system::error_code ec;
            auto v = json::parse(line, ec);
            if (ec || !v.is_object()) continue;
            const auto& o = v.as_object();
            if (std::string(o.at("target").as_string()).find(fragment) == std::string::npos)
                continue;
            if (!method.empty() && o.at("method") != method.c_str()) continue;
            out.push_back(o);
        }
        return out;
    }

    std::string remove_path() const {
        return "/api/worker-manager/v1/workers/proj%2Fpool/" + worker_group() + "/" + worker_id();
    }

    /// removeWorker calls (DELETE) seen by worker-manager, with their answers.
    std::vector<unsigned> remove_statuses() {
        std::vector<unsigned> out;
        if (provisioner) {
            // The provisioner service always answers 200.
            out.assign(provisioner->matching(remove_path(), "DELETE").size(), 200u);
            return out;
        }
        for (const auto& r : h.requests(remove_path(), "DELETE"))
            out.push_back(static_cast<unsigned>(r.at("status").to_number<int>()));
        return out;
    }

    std::string shutdown_marker() const { return h.dir.read("shutdown-ran"); }
};

}  // namespace sw::test::cloud_e2e
