#pragma once
// A loopback stand-in for Taskcluster's worker-manager and secrets services, on
// tests/support/http_server. It issues named temporary credentials exactly as worker-manager
// does, verifies Hawk on authenticated calls, checks scopes, rotates the single-use
// registration secret, and injects faults. Used in-process by tests and by the `tc-standin`
// program (tests/fakes/tc-standin/main.cpp documents the config format).
#include "lib/common/clock.hpp"
#include "tests/support/http_server.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sw::test {

struct tc_standin_options {
    boost::json::object config;  ///< see tests/fakes/tc-standin/main.cpp
    /// requests.jsonl is written here; secrets.json, faults.json and should-terminate.json are
    /// re-read from here on every request. Empty: no files.
    std::string state_dir;
    std::uint16_t port = 0;
    const tls_files* tls = nullptr;
    const sw::clock* clk = nullptr;  ///< default: the real clock
};

/// One injected fault (config "faults", DIR/faults.json, or add_fault()).
struct tc_fault {
    std::string path_regex;  ///< searched in the raw request path
    std::string method;      ///< empty: any
    unsigned status = 0;     ///< answer with this status (and an error body) instead
    int count = -1;          ///< how many requests it applies to; -1: all
    int delay_ms = 0;
    bool stall = false;
    bool reset = false;
    /// Apply after handling the request (the service acted, the answer is lost or replaced).
    bool after = false;
};
/// Throws std::invalid_argument naming the key.
tc_fault tc_fault_from_json(const boost::json::value& v);

class tc_standin {
  public:
    /// Throws std::invalid_argument on a malformed config (the message names the key).
    explicit tc_standin(tc_standin_options opts);
    ~tc_standin();
    tc_standin(const tc_standin&) = delete;
    tc_standin& operator=(const tc_standin&) = delete;

    std::uint16_t port() const;
    std::string root_url() const;
    void run_until_signal();

    /// "<workerPoolId>/<workerGroup>/<workerId>" -> answer of shouldWorkerTerminate.
    void set_should_terminate(const std::string& worker_key, bool terminate, std::string reason);
    void set_secret(const std::string& name, boost::json::value value);  ///< null: delete
    void add_fault(tc_fault f);

    /// Every request so far, as written to requests.jsonl.
    std::vector<boost::json::object> requests() const;
    /// Every accepted reportWorkerError body (with workerPoolId added).
    std::vector<boost::json::object> error_reports() const;
    /// The current registration secret of a worker ("" when it never registered).
    std::string registration_secret(const std::string& worker_key) const;
    /// The issuer's (worker-manager's) access token, for tests that mint their own certs.
    std::string issuer_access_token() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::test
