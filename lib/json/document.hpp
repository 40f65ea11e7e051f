#pragma once
// One nesting limit for every JSON (and YAML) document the runner reads: the runner config,
// Taskcluster and cloud metadata responses, protocol messages, credentials' certificates and
// the state file. A value accepted from any of them can always be written to the state file
// and read back (issue 14, item 4: the state reader once refused what the config allowed).
#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace sw::json {

/// Levels of objects and arrays a document may have (a top-level object is one level).
inline constexpr int max_depth = 64;

/// The state file wraps values from the documents above (worker config, remote worker config)
/// in its own envelope of at most this many levels, so it may nest this much deeper.
inline constexpr int state_envelope_depth = 8;
inline constexpr int max_state_depth = max_depth + state_envelope_depth;

/// Boost.JSON parse options with max_depth = `depth` (its default, 32, is not ours).
boost::json::parse_options parse_options(int depth = max_depth);

/// boost::json::parse with parse_options(depth): on error `ec` is set and null returned.
boost::json::value parse(std::string_view text, boost::system::error_code& ec,
                         int depth = max_depth);

/// Levels of objects and arrays in `v`: 0 for a scalar, 1 for {} or [1], and so on.
/// Iterative, so a deep value cannot exhaust the stack.
int depth_of(const boost::json::value& v);

}  // namespace sw::json
