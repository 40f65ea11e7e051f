#pragma once
// Typed calls to the Taskcluster services the runner uses, with retries that fit each call.
// Network and 5xx/429 problems are retried with jittered exponential backoff up to a deadline
// per call kind; other 4xx fail at once. Failures throw tc::api_error (a sw::failure) whose
// code() is an sw::errc: 401/403 and TLS verification -> refused; other 4xx (400, 404, 409...)
// -> permanent; 5xx, 429 and network failures after the retries -> unavailable; a bad root URL
// or certificate -> config. Time and randomness come from client_options.
#include "lib/common/clock.hpp"
#include "lib/common/error.hpp"
#include "lib/common/random.hpp"
#include "state/run_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace sw::http {
class client;
}

namespace sw::tc {

/// How hard to try one call.
struct retry_policy {
    int max_attempts = 6;
    std::chrono::milliseconds base{200};  ///< delay before retry n: base * 2^(n-1), jittered
    std::chrono::milliseconds cap{30'000};
    std::chrono::milliseconds deadline{5 * 60'000};  ///< give up after this much time in all
    std::chrono::milliseconds attempt_timeout{30'000};
};

/// Delay before retry `n` (1-based): min(base * 2^(n-1), cap) * U[0.75, 1.25], the jitter
/// drawn from `random`.
std::chrono::milliseconds backoff_delay(int n, const retry_policy& p, random_source& random);

/// What the client takes from its surroundings. The daemon fills it once (from its context);
/// tests pass manual clocks and a seeded source. The referenced objects must outlive the client.
struct client_options {
    const clock* wall = &real_clock();                        ///< Hawk timestamps
    const monotonic_clock* steady = &real_monotonic_clock();  ///< elapsed time against deadlines
    random_source* random = &os_random();                     ///< backoff jitter
    /// Multiplies every retry delay, deadline and attempt timeout (> 0; tests shorten them so
    /// the suite never sleeps for seconds). 1 in production.
    double retry_scale = 1.0;
};

class api_error : public failure {
  public:
    api_error(std::error_code code, const std::string& message, unsigned status,
              std::string tc_code)
        : failure(code, message), status_(status), tc_code_(std::move(tc_code)) {}
    unsigned status() const noexcept { return status_; }              ///< 0: no HTTP response
    const std::string& tc_code() const noexcept { return tc_code_; }  ///< "ResourceNotFound"...
    /// True when the request may have reached the server but its answer was lost (network
    /// error after sending, timeout, a 5xx without a Taskcluster error body, e.g. a proxy's):
    /// a single-use secret may have been consumed. The service's own 5xx answers do not set it.
    bool maybe_delivered() const noexcept { return maybe_delivered_; }
    void set_maybe_delivered(bool v) { maybe_delivered_ = v; }

  private:
    unsigned status_;
    std::string tc_code_;
    bool maybe_delivered_ = false;
};

struct register_result {
    credentials creds;
    time_point expires;
    std::string secret;
    boost::json::value worker_config;  ///< null when absent
};

struct reregister_result {
    credentials creds;
    time_point expires;
    std::string secret;
};

struct should_terminate_result {
    bool terminate = false;
    std::string reason;
};

struct error_report {
    std::string kind;
    std::string title;
    std::string description;
    boost::json::object extra;
};

class client {
  public:
    /// `creds` empty: unauthenticated calls (registerWorker).
    client(http::client& http, std::string root_url, std::optional<credentials> creds,
           const client_options& opts = {});

    void set_credentials(std::optional<credentials> creds) { creds_ = std::move(creds); }
    const std::string& root_url() const { return root_url_; }

    boost::asio::awaitable<register_result> register_worker(
        const std::string& worker_pool_id, const std::string& provider_id,
        const std::string& worker_group, const std::string& worker_id,
        const boost::json::object& proof, std::optional<time_point> system_boot_time);

    /// Not blindly retried: the secret is single-use. Retried only when the failure proves the
    /// secret was not consumed (connect failure, or the service's own 5xx/429 answer);
    /// otherwise api_error::maybe_delivered() is set and the caller decides.
    boost::asio::awaitable<reregister_result> reregister_worker(const std::string& worker_pool_id,
                                                                const std::string& worker_group,
                                                                const std::string& worker_id,
                                                                const std::string& secret);

    boost::asio::awaitable<void> remove_worker(const std::string& worker_pool_id,
                                               const std::string& worker_group,
                                               const std::string& worker_id);

    boost::asio::awaitable<void> report_worker_error(const std::string& worker_pool_id,
                                                     const std::string& worker_group,
                                                     const std::string& worker_id,
                                                     const error_report& report);

    boost::asio::awaitable<should_terminate_result> should_worker_terminate(
        const std::string& worker_pool_id, const std::string& worker_group,
        const std::string& worker_id);

    /// The secret's `secret` value; std::nullopt on 404. Other errors throw api_error.
    boost::asio::awaitable<std::optional<boost::json::value>> get_secret(const std::string& name);

  private:
    http::client& http_;
    std::string root_url_;
    std::optional<credentials> creds_;
    client_options opts_;
};

}  // namespace sw::tc
