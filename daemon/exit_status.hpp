#pragma once
// The one place where an error becomes a process exit code (CONTRACT.md "Exit codes"; the
// numbers themselves live in lib/common/exit_codes.hpp).
#include "lib/common/exit_codes.hpp"

#include <system_error>

namespace sw::daemon {

/// The exit code for a run that ended with `ec`:
///   success                                  -> 0  ok
///   errc::config                             -> 78 config
///   errc::refused (401/403, TLS, file modes) -> 77 refused
///   errc::permanent (400/404/409... from TC) -> 77 refused: Taskcluster refused the request
///                                               (unknown pool, wrong static secret); a restart
///                                               cannot help (the exit-code table's remedy: "another refusal")
///   errc::unavailable                        -> 69 unavailable
///   errc::internal                           -> 70 internal
///   std::errc::permission_denied / operation_not_permitted (a file we may not touch) -> 77
///   anything else (another category: an OS error we did not classify) -> 70 internal
exit_code exit_code_for(std::error_code ec) noexcept;

}  // namespace sw::daemon
