#pragma once
// The exit codes of CONTRACT.md. One table: main(), --help, the README and the systemd unit's
// RestartPreventExitStatus= all come from here.
#include <span>
#include <string_view>

namespace sw {

enum class exit_code : int {
    ok = 0,                ///< the worker ran and exited cleanly (or a graceful stop completed)
    worker_failed = 1,     ///< the worker exited non-zero (its code is logged)
    reboot_skipped = 3,    ///< a host reboot was requested but not performed
    shutdown_skipped = 4,  ///< a host shutdown was requested but not performed
    usage = 64,            ///< bad command line
    unavailable = 69,      ///< Taskcluster or the metadata service stayed unreachable after retries
    internal = 70,         ///< internal error (a bug)
    refused = 77,  ///< 401/403 from Taskcluster, or unsafe ownership/mode of a config/state file
    config = 78,   ///< the runner config is invalid (nothing contacted, nothing written)
};

struct exit_code_doc {
    exit_code code;
    std::string_view meaning;
};

/// Every exit code with its one-line meaning, in table order.
std::span<const exit_code_doc> exit_code_table();

inline int to_int(exit_code c) {
    return static_cast<int>(c);
}

}  // namespace sw
