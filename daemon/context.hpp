#pragma once
// What the daemon is told once, at start-up, besides the runner config: the command line's
// mode and the test hooks. main() builds it (reading the environment once); everything below
// takes it as a parameter and never reads the environment for these.
#include <string>

namespace sw::daemon {

struct context {
    /// --once: host actions (shutdown, reboot, autologin edits) are logged, not performed.
    bool once = false;

    /// TEST HOOK, deliberately undocumented (not part of CONTRACT.md), from
    /// START_WORKER_TEST_TIME_SCALE: a positive factor (default 1) applied to the providers'
    /// poll intervals and retry delays and the Taskcluster client's retry delays, so
    /// integration tests run in seconds.
    double time_scale = 1.0;

    /// TEST HOOK, deliberately undocumented, from START_WORKER_TEST_ROOT: the directory that
    /// the host paths below and the display-manager paths (autologin) are relative to, "/" in
    /// production, so integration tests edit fixture files instead of /etc and bind the log
    /// sockets themselves.
    std::string filesystem_root = "/";

    /// Where the journald and syslog log destinations send their datagrams: systemd's and
    /// glibc's paths under filesystem_root (no variable of their own). The real binary's tests
    /// bind datagram sockets at <root>/run/systemd/journal/socket and <root>/dev/log
    /// (tests/daemon/logging_test.cpp); the unit tests pass theirs to log::configure.
    std::string journald_socket = "/run/systemd/journal/socket";
    std::string syslog_socket = "/dev/log";
};

/// Reads the test hooks from the environment: START_WORKER_TEST_TIME_SCALE (anything that is
/// not a number in (0, 1e6] is ignored) and START_WORKER_TEST_ROOT (empty = "/"; the log
/// sockets' paths follow it). Called once, by main().
context read_context(bool once);

}  // namespace sw::daemon
