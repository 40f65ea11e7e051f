#pragma once
// The worker configuration value and its merge rules (reference worker-runner.md section 6.3):
// objects merge recursively, arrays concatenate, anything else: the later value wins.
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

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

namespace sw::json {

/// Config and files as delivered by worker-manager or the secrets service.
struct config_and_files {
    value config = nullptr;  ///< null when absent
    std::vector<value> files;
};

/// Worker-manager's workerConfig (reference 6.2): `{"<camelCaseImpl>": {config, files}}` when it
/// is an object with exactly that one key, otherwise the whole object is flat config.
/// Throws std::invalid_argument("while parsing workerConfig from worker-manager: ...").
config_and_files parse_provider_worker_config(const value& v, std::string_view implementation);

/// A secret's value (reference 7): strictly `{config, files}` (keys case-insensitive, nothing
/// else), otherwise the whole object is legacy flat config; `legacy` says which. Throws
/// std::invalid_argument("secret value is not a JSON object").
config_and_files parse_secret_value(const value& v, bool& legacy);

/// "generic-worker" -> "genericWorker"
std::string camel_case(std::string_view implementation);

}  // namespace sw::json
