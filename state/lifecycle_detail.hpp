#pragma once
// Helpers shared by the lifecycle's implementation files (state/lifecycle*.cpp). Not an
// interface.
#include "state/lifecycle.hpp"

#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace sw::state::detail {

inline action act(action_type t, std::string reason = {}) {
    action a{t};
    a.reason = std::move(reason);
    return a;
}
inline void append(std::vector<action>& to, std::vector<action> more) {
    to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}
/// Sets `slot` to `t` unless it already holds an earlier time.
inline void lower(std::optional<time_point>& slot, time_point t) {
    if (!slot || t < *slot) slot = t;
}

}  // namespace sw::state::detail
