#pragma once
// The run-state model's phase: where the machine is in its life, as far as a restart is
// concerned. The lifecycle (state/lifecycle.hpp) decides it; the store (state/store.hpp)
// persists it. Plain data, no I/O.
#include <optional>
#include <string_view>

namespace sw::state {

/// Where the machine is in its life, as far as a restart is concerned.
enum class phase {
    starting,   ///< registered, worker not yet running
    running,    ///< the worker is running
    rebooting,  ///< the worker asked for a reboot; resume after it
    stopping,   ///< a stop was decided (shutdown, termination): do not resume
};
/// "starting", "running", "rebooting", "stopping" (the state file's spelling).
std::string_view to_string(phase p);
std::optional<phase> phase_from_string(std::string_view s);

}  // namespace sw::state
