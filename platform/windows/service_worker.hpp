#pragma once
// generic-worker's Windows service mode as a child_process (reference worker-runner.md 5.1).
#include "platform/process.hpp"

namespace sw::platform::win {

/// Creates `<opts.protocol_pipe>-input` and `-output` (owner-only descriptor, 64 KiB buffers,
/// one connection each), then starts `opts.windows_service`. read_some() and write_all() first
/// wait for the worker to connect to their pipe ("Worker connected on input/output
/// protocolPipe" is logged). wait() polls the service every 2 s until it is neither start
/// pending nor running: 67 if its service-specific exit code is 67 (reboot), else 0.
/// terminate() and kill() ask the SCM to stop the service; kill() also ends its process.
/// Throws std::system_error "error opening service manager" / "error getting service <s>" /
/// "error starting service <s>" / "creating pipe <p>".
std::unique_ptr<child_process> spawn_service_worker(boost::asio::any_io_executor ex,
                                                    const spawn_options& opts);

}  // namespace sw::platform::win
