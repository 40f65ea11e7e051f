#pragma once
// Internal to lib/workers: the pieces generic-worker and docker-worker share, and the
// constructors the registry calls. Not for use outside this directory.
#include "lib/workers/worker.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sw::workers::detail {

/// `worker.<key>` as a non-empty string; throws sw::failure(config) naming the key.
std::string required_key(const boost::json::object& w, std::string_view key);
/// `worker.<key>` if present (null counts as absent); throws if it is not a string.
std::optional<std::string> optional_key(const boost::json::object& w, std::string_view key);

/// Sets the dotted `path` in the worker config; a clash with an existing non-object value
/// becomes sw::failure(config) naming the key.
void set_key(run_state& s, std::string_view path, boost::json::value v);

/// Sets the certificate at `path` when there is one; removes a stale one when the new
/// credentials are permanent.
void set_certificate(run_state& s, std::string_view path);

/// For every (config key, provider-metadata key) pair: copies the metadata value when
/// present, otherwise logs that it is not available (the Go runner's wording).
void copy_metadata(run_state& s,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> keys);

/// The worker location as a JSON string with sorted keys (Go's json.Marshal of the map).
std::string worker_location_json(const run_state& s);

/// "prov/type/x" -> {"prov", "type/x"}; throws sw::failure(config)
/// `workerPoolID "<id>" does not contain a slash`.
std::pair<std::string, std::string> split_worker_pool_id(const std::string& id);

/// A plan that writes the worker config (indented JSON, sorted keys) to `config_path` and
/// speaks the protocol; the caller fills in argv and env.
start_plan plan_with_config(const std::string& config_path, const run_state& s);

std::unique_ptr<worker_impl> make_generic_worker(const boost::json::object& w);
std::unique_ptr<worker_impl> make_docker_worker(const boost::json::object& w);
std::unique_ptr<worker_impl> make_dummy(const boost::json::object& w);

}  // namespace sw::workers::detail
