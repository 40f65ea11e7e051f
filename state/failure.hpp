#pragma once
// What kind of failure ended an operation, and what that means: the exit code of CONTRACT.md
// and whether a restart could fix it. Pure functions; the shell classifies what it caught,
// the lifecycle (state/lifecycle.hpp) decides what follows.
#include "lib/common/exit_codes.hpp"

#include <system_error>

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

/// The exit code a failure of this class ends the process with (CONTRACT.md table). The one
/// failure -> exit code mapping: daemon/exit_status.hpp goes through it too.
exit_code exit_code_for(failure_class c);

/// The class of a failure that lib reports as an error code (sw::failure::code(), see
/// lib/common/error.hpp): errc::unavailable -> retryable, refused -> refused, permanent ->
/// permanent, config -> config; EACCES/EPERM from the OS -> refused (a file we may not touch);
/// anything else (another OS error, an unknown value) -> internal.
failure_class class_of(std::error_code ec) noexcept;

/// True when restarting the runner could make the same start-up succeed (a retryable failure,
/// or a bug that may not recur). refused/permanent/config need an operator.
bool restart_can_fix(failure_class c);

}  // namespace sw::state
