#pragma once
// Internal to lib/config: YAML to JSON with the key-path -> line table that validation uses to
// point at the offending line.
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>

namespace sw::config::detail {

/// Dotted key path ("provider.rootURL", "workerConfig.list[2].x") -> 1-based line of the key.
using key_lines = std::map<std::string, int, std::less<>>;

/// yaml_to_json, also filling `lines` (if not null) with the line of every map key.
boost::json::value yaml_to_json(std::string_view text, const std::string& source, key_lines* lines);

}  // namespace sw::config::detail
