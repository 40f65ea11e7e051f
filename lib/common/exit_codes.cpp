#include "lib/common/exit_codes.hpp"

#include <array>

namespace sw {

std::span<const exit_code_doc> exit_code_table() {
    static constexpr std::array<exit_code_doc, 9> table{{
        {exit_code::ok, "the worker ran and exited cleanly (or a graceful stop completed)",
         "Nothing to do. Under systemd the unit stays stopped (`Restart=on-failure`).", false},
        {exit_code::worker_failed, "the worker exited non-zero (its code is logged)",
         "Look for `Worker exited with code` in the log and at the worker's own output just "
         "before it. The unit restarts the runner.",
         true},
        {exit_code::reboot_skipped,
         "a host reboot was requested but not performed (`--once`, or reboots disabled)",
         "Expected with `--once`. Otherwise the reboot could not be performed: the log names "
         "the failed `host.rebootCommand`; check that it is on PATH and works as root. Not "
         "restarted.",
         false},
        {exit_code::shutdown_skipped,
         "a host shutdown was requested but not performed (`--once`, or static/standalone "
         "provider asked to shut down)",
         "Expected with `--once` and for static/standalone workers told to stop, and when the "
         "instance was already marked for termination at start. Otherwise the shutdown command "
         "failed: check `host.shutdownCommand` in the log. Not restarted: a machine that should "
         "go away stays idle rather than taking new work.",
         false},
        {exit_code::usage, "bad command line",
         "Fix `ExecStart=` in the unit (`start-worker <runnerConfig>`); the usage is printed on "
         "stderr. Not restarted.",
         false},
        {exit_code::unavailable,
         "Taskcluster or the cloud metadata service stayed unreachable after retries",
         "The log names the URL that failed. Check the network, DNS, proxies (`HTTPS_PROXY`, "
         "`NO_PROXY`) and `provider.rootURL`. The unit retries every `RestartSec=`.",
         true},
        {exit_code::internal, "internal error (a bug)",
         "Please report it with the log (`journalctl -u start-worker`). The unit restarts the "
         "runner.",
         true},
        {exit_code::refused,
         "refused: 401/403 from Taskcluster, or a config/state file with unsafe ownership or "
         "mode",
         "Also another refusal from Taskcluster (an unknown worker pool, a wrong static secret), "
         "an untrusted TLS certificate, or expired cached credentials. The log names the call "
         "or file. Check the worker pool's scopes and provider "
         "settings, the static secret, `SSL_CERT_FILE`, and that the config and state files "
         "belong to root with mode 0600. Not restarted until fixed.",
         false},
        {exit_code::config,
         "the runner config is invalid, unreadable as a config (a directory, a FIFO, empty) or "
         "unusable (nothing was contacted, nothing was written)",
         "Also a worker file from worker-manager or secrets that cannot be extracted. The log "
         "names the key path (e.g. `provider.workerPoolID`) or file. Run `start-worker "
         "--validate` on the config, fix it, then restart the unit. Not restarted until fixed.",
         false},
    }};
    return table;
}

}  // namespace sw
