#pragma once
// The runner configuration (reference section 3 plus CONTRACT.md's additions). Loading is
// strict: every problem names its key path and throws sw::failure(errc::config), before any
// network call or file write.
#include "lib/json/document.hpp"
#include "platform/fs.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sw::config {

struct lifecycle_config {
    std::chrono::seconds stop_check_interval{300};  ///< 0 = off
    std::chrono::seconds graceful_stop_timeout{900};
    std::chrono::seconds kill_timeout{30};
    std::vector<int> reboot_exit_codes{67};
    /// Cloud providers: seconds after a start-up failure that a restart cannot fix before
    /// host.shutdownCommand runs; 0 = never.
    std::chrono::seconds startup_failure_shutdown_delay{900};
};

struct host_config {
    std::vector<std::string> shutdown_command{"shutdown", "-h", "now"};
    std::vector<std::string> reboot_command{"shutdown", "-r", "now"};
};

struct autologin_config {
    std::string username;
    std::optional<std::string> password;  ///< a secret: redacted everywhere
};

struct health_config {
    std::string listen;  ///< "127.0.0.1:9177"; empty = off
    /// `health.allowRemote`: without it, a `listen` address that is not loopback is refused.
    bool allow_remote = false;
};

struct runner_config {
    /// The file it was loaded from.
    std::string source_path;

    std::string provider_type;
    boost::json::object provider;  ///< every key of `provider:` except providerType

    std::string worker_implementation;
    boost::json::object worker;  ///< every key of `worker:` except implementation

    boost::json::value worker_config = boost::json::object{};  ///< `workerConfig`
    std::string logging_implementation = "stdio";
    boost::json::object logging;
    bool get_secrets = true;
    /// The state file; empty = no caching. `true` means the default path.
    std::string cache_over_restarts;

    lifecycle_config lifecycle;
    host_config host;
    std::optional<autologin_config> autologin;
    std::optional<health_config> health;

    /// Keys the runner does not know (top level, and inside lifecycle/host/autologin/health),
    /// as dotted paths. Ignored, as the Go runner does; the daemon may warn about them.
    std::vector<std::string> unknown_keys;
};

/// Limits on what a config file may be.
inline constexpr std::size_t max_config_bytes = 4 * 1024 * 1024;
inline constexpr int max_config_depth = sw::json::max_depth;      ///< one limit for all documents
inline constexpr std::size_t max_yaml_alias_expansions = 10'000;  ///< nodes, all aliases together
/// What all alias expansions together may cost, in bytes (string and key bytes plus a fixed
/// cost per node): a large anchor referenced many times is refused, however few nodes it has.
inline constexpr std::size_t max_yaml_alias_bytes = max_config_bytes;

/// Reads `path` with the permission handling of reference section 3 (tighten or refuse:
/// exit 77; with config_access::inspect nothing is tightened), parses YAML/JSON and validates.
/// Throws sw::failure.
runner_config load_runner_config(const std::string& path,
                                 platform::config_access access = platform::config_access::secure);

/// Parses and validates text (no file access). `source` names it in messages.
runner_config parse_runner_config(std::string_view text, const std::string& source);

/// Converts YAML text to JSON with the limits above; integers become numbers. Throws
/// sw::failure(config) naming `source` and the line.
boost::json::value yaml_to_json(std::string_view text, const std::string& source);

/// Where `cacheOverRestarts: true` puts the state file.
std::string default_state_path();

/// The normalized config with secret values (accessToken, staticSecret, passwords, ...)
/// replaced by "<redacted>", as YAML-compatible JSON, for --validate.
std::string normalized_redacted(const runner_config& cfg);

/// Every secret value in the config, for the log redactor.
std::vector<std::string> secret_values(const runner_config& cfg);

/// Typed access to implementation keys, with key-path errors ("provider.rootURL: missing",
/// "worker.configPath: must be a string").
std::string required_string(const boost::json::object& o, std::string_view section,
                            std::string_view key);
std::optional<std::string> optional_string(const boost::json::object& o, std::string_view section,
                                           std::string_view key);
/// A map of strings (workerLocation); throws naming the key and the entry.
std::vector<std::pair<std::string, std::string>> optional_string_map(const boost::json::object& o,
                                                                     std::string_view section,
                                                                     std::string_view key);
std::optional<boost::json::object> optional_object(const boost::json::object& o,
                                                   std::string_view section, std::string_view key);

/// The documentation tables --help prints, shared with validation (one source of truth).
struct key_doc {
    std::string_view key;
    std::string_view type;
    bool required;
    std::string_view description;
};
struct section_doc {
    std::string_view name;  ///< "standalone" (a provider), "generic-worker" (a worker), ...
    std::string_view summary;
    std::vector<key_doc> keys;
};
const std::vector<section_doc>& provider_docs();
const std::vector<section_doc>& worker_docs();
const std::vector<key_doc>& top_level_docs();  ///< includes lifecycle.*, host.*, ...

/// One way of invoking start-worker (CONTRACT.md, "Command line"), for --help and the man page.
struct mode_doc {
    std::string_view synopsis;     ///< "--once <runnerConfig>" (after "start-worker ")
    std::string_view description;  ///< one sentence, may be long (renderers wrap it)
};
const std::vector<mode_doc>& mode_docs();

/// One environment variable the runner reads (CONTRACT.md, "Environment").
struct env_doc {
    std::string_view name;  ///< "HTTPS_PROXY, HTTP_PROXY, NO_PROXY" for a group
    std::string_view description;
};
const std::vector<env_doc>& environment_docs();

/// The full --help text.
std::string help_text();

/// `text` filled to `width` columns, assuming it starts at column `col`; continuation lines are
/// indented with `col` spaces. A word longer than a line stays whole.
std::string wrap_text(std::string_view text, std::size_t col, std::size_t width);

}  // namespace sw::config
