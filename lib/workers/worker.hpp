#pragma once
// Worker implementations (reference section 5). Sans-io: an implementation turns the run state
// into config keys and a start plan; the daemon writes the file and starts the process.
#include "state/run_state.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sw::config {
struct runner_config;
}

namespace sw::workers {

struct start_plan {
    /// Empty for implementations without a process (dummy).
    std::vector<std::string> argv;
    /// Added to the inherited environment.
    std::vector<std::pair<std::string, std::string>> extra_env;
    /// Where the worker config goes (written 0600 before start), and its contents.
    std::string config_path;
    std::string config_contents;
    /// Speaks the worker-runner protocol on stdin/stdout.
    bool protocol = true;
    /// Windows service mode (generic-worker `worker.service`): the service to start instead of
    /// argv (argv then only names it in logs), and the protocol pipes' base name.
    std::string windows_service;
    std::string protocol_pipe;
};

class worker_impl {
  public:
    virtual ~worker_impl() = default;
    virtual std::string_view name() const = 0;
    /// Starts a process (false for dummy, which has nothing to run).
    virtual bool has_process() const { return true; }
    /// Sets the derived config keys (they override everything else). Logs what it cannot set.
    /// Throws sw::failure for impossible states (e.g. a worker pool id without '/').
    virtual void configure_run(run_state& state) const = 0;
    /// Puts the current credentials into the worker config (also part of configure_run), for
    /// renewals.
    virtual void set_credentials(run_state& state) const = 0;
    /// The process to start and the config file to write, from the final state.
    virtual start_plan plan_start(const run_state& state) const = 0;
};

/// Validates `cfg.worker` and creates the implementation. Throws sw::failure(config) naming the
/// key (`worker.configPath: missing`).
std::unique_ptr<worker_impl> make_worker(const config::runner_config& cfg);

}  // namespace sw::workers
