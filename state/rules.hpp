#pragma once
// Small decisions about the world that the lifecycle takes from facts the shell reports.
// Pure functions.
#include "lib/common/clock.hpp"

#include <optional>
#include <string_view>

namespace sw::state {

/// After a reboot the worker asked for, did the host really boot? `boot_time` is the system's
/// boot time and `state_written` when the state file (phase rebooting) was written. Unknown
/// facts (nullopt) give the benefit of the doubt: true. A boot before the write (or at the
/// same second) means no reboot happened.
bool reboot_happened(std::optional<time_point> boot_time, std::optional<time_point> state_written);

/// The deploymentId check of the stop checks: `at_start` is the worker config's deploymentId
/// when the worker started and `now` the one the secrets give now (both as canonical JSON
/// text, "" when absent). A change means "replace this worker". An absent new id never does
/// (the secret may be unreadable for a moment); an id that appears where there was none does.
bool deployment_changed(std::string_view at_start, std::string_view now);

}  // namespace sw::state
