#pragma once
// What one message from the worker means to the runner: the worker-runner protocol's handlers
// (reference section 10.3), sans-io. The worker channel (daemon/worker_channel.cpp) decodes a
// line, calls interpret(), then only performs the result: logs `warning`, pushes `ev` to the
// lifecycle, queues `report`, configures autologin, writes `log_body` to the log. The fuzz target
// tests/fuzz/handlers_fuzz.cpp drives the same function into the lifecycle.
#include "lib/protocol/codec.hpp"
#include "lib/tc/client.hpp"
#include "state/lifecycle.hpp"

#include <optional>
#include <string>

namespace sw::state {

struct worker_input {
    enum class kind {
        hello,         ///< `ev` is the lifecycle's hello (capabilities negotiated)
        shutdown,      ///< `ev` is shutdown_requested
        log,           ///< `log_body` is the structured record to log
        error_report,  ///< `report` is a valid error-report, to send to worker-manager
        autologin,     ///< `username` (+ `password`) to configure automatic logon
        ignored,       ///< invalid or unknown: nothing to do but log `warning`
    };
    kind what = kind::ignored;
    event ev;  ///< hello / shutdown; `now` is left for the run loop to stamp
    /// log: the message's body object. Points into the message: valid only while it lives.
    const boost::json::object* log_body = nullptr;
    tc::error_report report;  ///< error_report; owns its memory (default storage)
    std::string username;     ///< autologin
    std::optional<std::string> password;
    /// Non-empty: a warning to log (the Go runner's wording where it has one). A hello with an
    /// invalid capabilities list still counts as a hello (with no capabilities) and warns.
    std::string warning;
};

/// The capabilities the runner offers in `welcome`: the Go runner's five, plus `autologin`
/// only when an `autologin` section is configured (issue 9.6; the Go runner never offers it).
protocol::capabilities local_capabilities(bool autologin_configured);

/// Interprets one decoded message. A hello updates `nego` (the last hello wins: a late or
/// second hello replaces the capabilities). Copies what it keeps out of `m` (its storage may be
/// the decoder's arena), except log_body. Never throws but std::bad_alloc.
worker_input interpret(const protocol::message& m, protocol::negotiation& nego);

}  // namespace sw::state
