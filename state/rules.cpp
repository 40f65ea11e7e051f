#include "state/rules.hpp"

namespace sw::state {

bool reboot_happened(std::optional<time_point> boot_time, std::optional<time_point> state_written) {
    if (!boot_time || !state_written) return true;
    // Boot times have a second's precision: a boot in the same second as the write is not
    // after it.
    return std::chrono::floor<std::chrono::seconds>(*boot_time) >
           std::chrono::floor<std::chrono::seconds>(*state_written);
}

bool deployment_changed(std::string_view at_start, std::string_view now) {
    return !now.empty() && now != at_start;
}

}  // namespace sw::state
