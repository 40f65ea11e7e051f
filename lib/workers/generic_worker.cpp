// generic-worker (reference section 5.1): command mode everywhere, service mode on Windows.
#include "lib/common/error.hpp"
#include "lib/json/worker_config.hpp"
#include "lib/workers/detail.hpp"

namespace sw::workers::detail {

namespace {

class generic_worker final : public worker_impl {
  public:
    explicit generic_worker(const boost::json::object& w)
        : config_path_(required_key(w, "configPath")) {
        const auto path = optional_key(w, "path");
        const auto service = optional_key(w, "service");
        const auto pipe = optional_key(w, "protocolPipe");  // only used by service mode
#ifdef _WIN32
        if (service && !service->empty()) {
            if (path && !path->empty())
                throw config_error("worker.service",
                                   "specify exactly one of worker.path and worker.service");
            service_ = *service;
            if (pipe && !pipe->empty()) protocol_pipe_ = *pipe;
            return;
        }
#else
        (void)pipe;
        if (service) throw config_error("worker.service", "only supported on Windows");
#endif
        if (!path || path->empty())
            throw config_error("worker.path",
                               "missing (specify exactly one of worker.path and worker.service)");
        path_ = *path;
    }

    std::string_view name() const override {
        return "generic-worker";
    }

    void configure_run(run_state& s) const override {
        // Copied when the provider knows them; otherwise generic-worker uses its defaults.
        copy_metadata(s, {{"publicIP", "public-ipv4"},
                          {"privateIP", "local-ipv4"},
                          {"instanceType", "instance-type"},
                          {"instanceID", "instance-id"},
                          {"region", "region"},
                          {"availabilityZone", "availability-zone"}});
        set_key(s, "workerLocation", boost::json::string(worker_location_json(s)));

        // Provider metadata is deep-merged over any existing workerTypeMetadata.
        boost::json::object overlay;
        overlay["workerTypeMetadata"] = s.provider_metadata;
        s.worker_config = sw::json::merge(s.worker_config, overlay);

        const auto [provisioner_id, worker_type] = split_worker_pool_id(s.worker_pool_id);
        set_key(s, "rootURL", boost::json::string(s.root_url));
        set_credentials(s);
        set_key(s, "provisionerId", boost::json::string(provisioner_id));
        set_key(s, "workerType", boost::json::string(worker_type));
        set_key(s, "workerGroup", boost::json::string(s.worker_group));
        set_key(s, "workerId", boost::json::string(s.worker_id));
    }

    void set_credentials(run_state& s) const override {
        set_key(s, "clientId", boost::json::string(s.creds.client_id));
        set_key(s, "accessToken", boost::json::string(s.creds.access_token));
        set_certificate(s, "certificate");
    }

    start_plan plan_start(const run_state& s) const override {
        auto p = plan_with_config(config_path_, s);
        if (!service_.empty()) {
            // Service mode: the service runs generic-worker with its own arguments
            // (--worker-runner-protocol-pipe); argv only names it in the log.
            p.argv = {"service " + service_};
            p.windows_service = service_;
            p.protocol_pipe = protocol_pipe_;
            return p;
        }
        p.argv = {path_, "run", "--config", config_path_, "--with-worker-runner"};
        return p;
    }

  private:
    std::string path_;
    std::string service_;
    std::string protocol_pipe_ = "\\\\.\\pipe\\generic-worker";
    std::string config_path_;
};

}  // namespace

std::unique_ptr<worker_impl> make_generic_worker(const boost::json::object& w) {
    return std::make_unique<generic_worker>(w);
}

}  // namespace sw::workers::detail
