#pragma once
// What kind of failure ended an operation, and what that means: the exit code of CONTRACT.md
// and whether a restart could fix it. Pure functions; the shell classifies what it caught,
// the lifecycle (state/lifecycle.hpp) decides what follows.
#include "lib/common/exit_codes.hpp"

#include <string_view>

namespace sw::state {

enum class failure_class {
    retryable,  ///< the service stayed unreachable or answered 5xx/429 after retries: exit 69
    refused,    ///< 401/403 from Taskcluster, or an unsafe file owner/mode: exit 77
    permanent,  ///< any other 4xx (e.g. registerWorker's 400: the proof is refused): exit 77
    config,     ///< the config (or the state file, or the files it names) is unusable: exit 78
    internal,   ///< a bug: exit 70
};
std::string_view to_string(failure_class c);

/// A Taskcluster (or metadata service) HTTP status after the client's retries: 0 (no response,
/// a timeout) and 5xx, 408 and 429 are retryable; 401 and 403 are refused; every other 4xx is
/// permanent. 2xx/3xx never reach this (they are not failures): they map to internal.
failure_class classify_http_status(unsigned status);

/// The exit code a start-up failure of this class ends the process with (CONTRACT.md table).
exit_code exit_code_for(failure_class c);

/// The class of a failure that lib reports as an exit code (sw::failure::code()): 69 ->
/// retryable, 77 -> refused, 78 -> config, anything else -> internal.
failure_class class_of(exit_code c);

/// True when restarting the runner could make the same start-up succeed (a retryable failure,
/// or a bug that may not recur). refused/permanent/config need an operator.
bool restart_can_fix(failure_class c);

}  // namespace sw::state
