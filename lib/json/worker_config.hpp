#pragma once
// The worker configuration value and its merge rules (reference worker-runner.md section 6.3):
// objects merge recursively, arrays concatenate, anything else: the later value wins.
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace sw::json {

using boost::json::array;
using boost::json::object;
using boost::json::value;

/// a.merge(b) of the Go runner, as a pure function. null merged with null is {}.
value merge(const value& a, const value& b);

/// Returns a copy of `base` with the dotted `path` set to `v`, creating intermediate objects.
/// Throws std::invalid_argument("must specify a nonempty key") or
/// ("<prefix> is not an object in existing config").
value set_path(const value& base, std::string_view path, value v);

/// The value at the dotted `path`; throws std::out_of_range("key <path> not found").
const value& get_path(const value& base, std::string_view path);

/// A double as Go's encoding/json writes it (10.0 -> "10").
std::string format_number(double d);

/// Compact JSON with object keys sorted (Go's json.Marshal of a map).
std::string to_sorted_json(const value& v);
/// Indented ("  ") JSON with keys sorted (Go's json.MarshalIndent).
std::string to_sorted_json_indented(const value& v);

}  // namespace sw::json
