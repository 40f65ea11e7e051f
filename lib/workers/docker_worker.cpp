// docker-worker (reference section 5.3): removed from the Go runner in 2026, kept here for
// configs that still name it.
#include "lib/workers/detail.hpp"

#include <filesystem>
#include <system_error>
#include <vector>

namespace sw::workers::detail {

namespace {

class docker_worker final : public worker_impl {
  public:
    explicit docker_worker(const boost::json::object& w)
        : path_(required_key(w, "path")), config_path_(required_key(w, "configPath")) {}

    std::string_view name() const override { return "docker-worker"; }

    void configure_run(run_state& s) const override {
        copy_metadata(s, {{"host", "public-hostname"},
                          {"publicIp", "public-ipv4"},
                          {"privateIp", "local-ipv4"},
                          {"workerNodeType", "instance-type"},
                          {"instanceType", "instance-type"},
                          {"instanceId", "instance-id"},
                          {"region", "region"}});
        set_key(s, "workerLocation", boost::json::string(worker_location_json(s)));
        set_key(s, "rootUrl", boost::json::string(s.root_url));
        set_credentials(s);
        set_key(s, "workerId", boost::json::string(s.worker_id));
        set_key(s, "workerGroup", boost::json::string(s.worker_group));
        // The Go code indexed the split without checking (a crash on "noslash"): refuse instead.
        const auto [provisioner_id, worker_type] = split_worker_pool_id(s.worker_pool_id);
        set_key(s, "provisionerId", boost::json::string(provisioner_id));
        set_key(s, "workerType", boost::json::string(worker_type));
    }

    void set_credentials(run_state& s) const override {
        set_key(s, "taskcluster.clientId", boost::json::string(s.creds.client_id));
        set_key(s, "taskcluster.accessToken", boost::json::string(s.creds.access_token));
        set_certificate(s, "taskcluster.certificate");
    }

    start_plan plan_start(const run_state& s) const override {
        namespace fs = std::filesystem;
        auto p = plan_with_config(config_path_, s);
        const std::vector<std::string> args = {"--host", "worker-runner", "production"};
        // The release tarball has bin/docker-worker; a repository checkout only the JS entry.
        const auto script = fs::path(path_) / "bin" / "docker-worker";
        std::error_code ec;
        if (fs::status(script, ec).type() == fs::file_type::not_found)
            p.argv = {"node", path_ + "/src/bin/worker.js"};
        else
            p.argv = {script.string()};
        p.argv.insert(p.argv.end(), args.begin(), args.end());
        p.extra_env = {{"DOCKER_WORKER_CONFIG", config_path_}};
        return p;
    }

  private:
    std::string path_;
    std::string config_path_;
};

}  // namespace

std::unique_ptr<worker_impl> make_docker_worker(const boost::json::object& w) {
    return std::make_unique<docker_worker>(w);
}

}  // namespace sw::workers::detail
