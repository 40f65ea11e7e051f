#pragma once
// What one run of the daemon knows and shares between its parts (the run loop, the worker
// channel, the Taskcluster, provider and local actions): the configuration, the context, the
// run state and the services that act on it. Plain data, owned by the runner; each part keeps
// a reference. Single-threaded: everything runs on the runner's io_context.
#include "daemon/context.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/health/server.hpp"
#include "lib/http/client.hpp"
#include "lib/providers/provider.hpp"
#include "lib/tc/client.hpp"
#include "lib/tc/report_queue.hpp"
#include "lib/workers/worker.hpp"
#include "state/lifecycle.hpp"
#include "state/run_state.hpp"
#include "state/store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sw::daemon {

struct session {
    session(boost::asio::io_context& io_, config::runner_config cfg_, context ctx_)
        : io(io_),
          cfg(std::move(cfg_)),
          ctx(std::move(ctx_)),
          http(io_.get_executor()),
          pctx{io_.get_executor(), http, real_clock()} {}

    boost::asio::io_context& io;
    const config::runner_config cfg;
    const context ctx;

    http::client http;
    providers::context pctx;
    std::unique_ptr<providers::provider> provider;
    std::unique_ptr<workers::worker_impl> worker;
    std::optional<state::store> store;    ///< when cacheOverRestarts is configured
    std::optional<state::lifecycle> fsm;  ///< made once the provider and worker exist

    run_state st;                              ///< identity, credentials, configuration
    std::optional<boost::json::object> proof;  ///< the provider's identity proof
    std::string deployment_id;                 ///< of the worker config the worker started with
    std::optional<termination_notice> notice;  ///< the first termination notice seen
    std::optional<std::string> autologin_user;

    // Observability
    std::uint64_t renewals = 0;
    std::uint64_t renewal_failures = 0;
    health::counters counts;  ///< /metrics event counts (plain integers, kept even without it)
    /// reportWorkerError calls waiting to be sent (the worker's and the runner's own): one in
    /// flight, a bounded number waiting, the rest dropped and counted (issue 14, finding 2).
    tc::report_queue reports;
    std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
    bool finished = false;  ///< the machine said exit

    /// A Taskcluster client for the run's root URL, with the worker's credentials or none.
    tc::client tc_client(bool authenticated) {
        tc::client_options o;
        o.retry_scale = ctx.time_scale;  // test hook
        return tc::client(http, st.root_url,
                          authenticated ? std::optional<credentials>(st.creds) : std::nullopt, o);
    }

    /// Registers the run's secret values with the log's redaction.
    void remember_secrets() const;

    /// Checks that the provider (and registration) gave a complete identity and logs it.
    /// Throws sw::failure(internal) naming what is missing.
    void check_identity();
};

/// An event of type `t` (its `now` is stamped when the run loop feeds it to the machine).
inline state::event make_event(state::event_type t) {
    state::event ev;
    ev.type = t;
    return ev;
}

/// "a b c" for logs.
std::string join(const std::vector<std::string>& v);

}  // namespace sw::daemon
