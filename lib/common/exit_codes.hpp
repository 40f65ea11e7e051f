#pragma once
// The exit codes of CONTRACT.md. One table: main(), --help, the man page, the README (exit codes
// and troubleshooting) and the systemd unit's RestartPreventExitStatus= all come from here
// (lib/docs renders them; `scripts/gen-docs` and the `docs` test keep the README current).
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
    /// One line: what happened (--help, the man page, the README's exit-code table).
    std::string_view meaning;
    /// For the operator: what to check and where to look (README troubleshooting, man page).
    std::string_view remedy;
    /// Whether starting the runner again can help. False for deliberate outcomes and for
    /// problems only a person can fix: these become the systemd unit's RestartPreventExitStatus=.
    bool restart_helps;
};

/// Every exit code with its documentation, in ascending order of code.
std::span<const exit_code_doc> exit_code_table();

inline int to_int(exit_code c) {
    return static_cast<int>(c);
}

}  // namespace sw
