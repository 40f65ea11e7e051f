#include "lib/common/exit_codes.hpp"

#include <array>

namespace sw {

std::span<const exit_code_doc> exit_code_table() {
    static constexpr std::array<exit_code_doc, 9> table{{
        {exit_code::ok, "the worker ran and exited cleanly (or a graceful stop completed)"},
        {exit_code::worker_failed, "the worker exited non-zero (its code is logged)"},
        {exit_code::reboot_skipped,
         "a host reboot was requested but not performed (--once, or reboots disabled)"},
        {exit_code::shutdown_skipped,
         "a host shutdown was requested but not performed (--once, or static/standalone "
         "provider asked to shut down)"},
        {exit_code::usage, "bad command line"},
        {exit_code::unavailable,
         "Taskcluster or the cloud metadata service stayed unreachable after retries"},
        {exit_code::internal, "internal error (a bug)"},
        {exit_code::refused,
         "refused: 401/403 from Taskcluster, or a config/state file with unsafe ownership or "
         "mode"},
        {exit_code::config,
         "the runner config is invalid (nothing was contacted, nothing was written)"},
    }};
    return table;
}

}  // namespace sw
