// Runner-config validation, normalisation and redaction. The tables of config_docs.cpp say which
// keys exist and which are required; this file checks them and builds runner_config.
#include "lib/config/runner_config.hpp"

#include "lib/common/error.hpp"
#include "lib/config/yaml_json.hpp"
#include "lib/health/server.hpp"
#include "lib/json/worker_config.hpp"
#include "platform/fs.hpp"
#include "platform/utf8_path.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

namespace sw::config {

using boost::json::array;
using boost::json::object;
using boost::json::value;

namespace {

std::string path_of(std::string_view section, std::string_view key) {
    if (section.empty()) return std::string(key);
    return std::string(section) + "." + std::string(key);
}

/// Absent and null are the same: YAML `key:` with nothing after it.
const value* present(const object& o, std::string_view key) {
    const value* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

std::string join_names(const std::vector<section_doc>& docs) {
    std::string s;
    for (const auto& d : docs) {
        if (!s.empty()) s += ", ";
        s += d.name;
    }
    return s;
}

const section_doc* find_doc(const std::vector<section_doc>& docs, std::string_view name) {
    for (const auto& d : docs)
        if (d.name == name) return &d;
    return nullptr;
}

/// Checks one provider/worker key against its documented type.
void check_section_key(const object& o, std::string_view section, const key_doc& k) {
    if (k.type == "string") {
        if (k.required)
            required_string(o, section, k.key);
        else
            optional_string(o, section, k.key);
    } else if (k.type == "map") {
        if (k.required && !present(o, k.key))
            throw config_error(path_of(section, k.key), "missing");
        optional_object(o, section, k.key);
    } else if (k.type == "map of strings") {
        if (k.required && !present(o, k.key))
            throw config_error(path_of(section, k.key), "missing");
        optional_string_map(o, section, k.key);
    } else {
        throw failure(errc::internal, "undocumented key type " + std::string(k.type));
    }
}

/// provider: / worker: — a map with a type key naming one of `docs`; returns the other keys.
object check_typed_section(const object& root, std::string_view section, std::string_view type_key,
                           std::string_view kind, const std::vector<section_doc>& docs,
                           std::string& type_out) {
    const value* v = present(root, section);
    if (!v) throw config_error(section, "missing");
    if (!v->is_object()) throw config_error(section, "must be a map");
    object rest = v->get_object();
    type_out = required_string(rest, section, type_key);
    const section_doc* doc = find_doc(docs, type_out);
    if (!doc)
        throw config_error(path_of(section, type_key), std::string("unknown ") + std::string(kind) +
                                                           " \"" + type_out +
                                                           "\" (known: " + join_names(docs) + ")");
    for (const auto& k : doc->keys) check_section_key(rest, section, k);
    rest.erase(type_key);
    return rest;
}

std::chrono::seconds seconds_value(const value& v, const std::string& path) {
    // Ten years: anything longer is a mistake, and it keeps time arithmetic far from overflow.
    constexpr std::int64_t max_seconds = 10LL * 366 * 24 * 3600;
    std::int64_t n = -1;
    if (v.is_int64())
        n = v.get_int64();
    else if (v.is_uint64())
        n = max_seconds + 1;
    if (n < 0) throw config_error(path, "must be a non-negative integer (seconds)");
    if (n > max_seconds)
        throw config_error(path, "must be at most " + std::to_string(max_seconds) + " seconds");
    return std::chrono::seconds(n);
}

std::vector<std::string> command_value(const value& v, const std::string& path) {
    const auto* a = v.if_array();
    if (!a || a->empty()) throw config_error(path, "must be a non-empty list of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
        const auto* s = (*a)[i].if_string();
        const std::string p = path + "[" + std::to_string(i) + "]";
        if (!s) throw config_error(p, "must be a string");
        if (s->empty()) throw config_error(p, "must not be empty");
        out.emplace_back(*s);
    }
    return out;
}

/// The keys of `top_level_docs()` below `section` ("lifecycle" -> stopCheckInterval, ...).
bool documented_subkey(std::string_view section, std::string_view key) {
    for (const auto& d : top_level_docs())
        if (d.key == path_of(section, key)) return true;
    return false;
}

bool documented_top_key(std::string_view key) {
    for (const auto& d : top_level_docs()) {
        const auto dot = d.key.find('.');
        if (d.key.substr(0, dot) == key) return true;
    }
    return false;
}

/// A sub-section of our own (lifecycle, host, ...): a map; unknown keys are noted.
const object* own_section(const object& root, std::string_view name,
                          std::vector<std::string>& unknown) {
    const value* v = present(root, name);
    if (!v) return nullptr;
    if (!v->is_object()) throw config_error(name, "must be a map");
    for (const auto& kv : v->get_object())
        if (!documented_subkey(name, kv.key())) unknown.push_back(path_of(name, kv.key()));
    return &v->get_object();
}

void parse_lifecycle(const object& root, runner_config& cfg) {
    const object* l = own_section(root, "lifecycle", cfg.unknown_keys);
    if (!l) return;
    if (const value* v = present(*l, "stopCheckInterval"))
        cfg.lifecycle.stop_check_interval = seconds_value(*v, "lifecycle.stopCheckInterval");
    if (const value* v = present(*l, "gracefulStopTimeout"))
        cfg.lifecycle.graceful_stop_timeout = seconds_value(*v, "lifecycle.gracefulStopTimeout");
    if (const value* v = present(*l, "killTimeout"))
        cfg.lifecycle.kill_timeout = seconds_value(*v, "lifecycle.killTimeout");
    if (const value* v = present(*l, "startupFailureShutdownDelay"))
        cfg.lifecycle.startup_failure_shutdown_delay =
            seconds_value(*v, "lifecycle.startupFailureShutdownDelay");
    if (const value* v = present(*l, "rebootExitCodes")) {
        const auto* a = v->if_array();
        if (!a) throw config_error("lifecycle.rebootExitCodes", "must be a list of integers");
        cfg.lifecycle.reboot_exit_codes.clear();
        for (std::size_t i = 0; i < a->size(); ++i) {
            const value& e = (*a)[i];
            if (!e.is_int64() || e.get_int64() < 0 || e.get_int64() > 255)
                throw config_error("lifecycle.rebootExitCodes[" + std::to_string(i) + "]",
                                   "must be an integer 0..255");
            cfg.lifecycle.reboot_exit_codes.push_back(static_cast<int>(e.get_int64()));
        }
    }
}

void parse_host(const object& root, runner_config& cfg) {
    const object* h = own_section(root, "host", cfg.unknown_keys);
    if (!h) return;
    if (const value* v = present(*h, "shutdownCommand"))
        cfg.host.shutdown_command = command_value(*v, "host.shutdownCommand");
    if (const value* v = present(*h, "rebootCommand"))
        cfg.host.reboot_command = command_value(*v, "host.rebootCommand");
}

void parse_extras(const object& root, runner_config& cfg) {
    if (const object* a = own_section(root, "autologin", cfg.unknown_keys)) {
        autologin_config al;
        al.username = required_string(*a, "autologin", "username");
        al.password = optional_string(*a, "autologin", "password");
        cfg.autologin = std::move(al);
    }
    if (const object* h = own_section(root, "health", cfg.unknown_keys)) {
        health_config hc;
        hc.listen = required_string(*h, "health", "listen");
        if (const value* v = present(*h, "allowRemote")) {
            if (!v->is_bool())
                throw config_error("health.allowRemote", "must be a boolean (true or false)");
            hc.allow_remote = v->get_bool();
        }
        health::check_listen(hc.listen, hc.allow_remote);
        cfg.health = std::move(hc);
    }
}

void parse_worker_specifics(runner_config& cfg) {
    if (cfg.worker_implementation != "generic-worker") return;
    const bool has_path = present(cfg.worker, "path") != nullptr;
    const bool has_service = present(cfg.worker, "service") != nullptr;
#ifndef _WIN32
    if (has_service) throw config_error("worker.service", "only supported on Windows");
#endif
    if (has_path == has_service)
        throw config_error(has_path ? "worker.service" : "worker.path",
                           "specify exactly one of worker.path and worker.service");
}

bool parse_get_secrets(const value& v) {
    if (v.is_bool()) return v.get_bool();
    // yaml.v3 decodes these YAML 1.1 spellings into a Go bool field too.
    if (const auto* s = v.if_string()) {
        static const char* const yes[] = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"};
        static const char* const no[] = {"n", "N", "no", "No", "NO", "off", "Off", "OFF"};
        for (const char* y : yes)
            if (*s == y) return true;
        for (const char* n : no)
            if (*s == n) return false;
    }
    throw config_error("getSecrets", "must be a boolean (true or false)");
}

std::string parse_cache(const value& v) {
    if (v.is_bool()) return v.get_bool() ? default_state_path() : std::string();
    if (const auto* s = v.if_string()) {
        // The Go runner turned `cacheOverRestarts: true` into a file named "true" (reference 3).
        if (*s == "true") return default_state_path();
        if (*s == "false") return {};
        return std::string(*s);
    }
    throw config_error("cacheOverRestarts", "must be a file path, true or false");
}

runner_config validate(const object& root) {
    runner_config cfg;
    for (const auto& kv : root)
        if (!documented_top_key(kv.key())) cfg.unknown_keys.emplace_back(kv.key());

    cfg.provider = check_typed_section(root, "provider", "providerType", "provider",
                                       provider_docs(), cfg.provider_type);
    cfg.worker = check_typed_section(root, "worker", "implementation", "worker implementation",
                                     worker_docs(), cfg.worker_implementation);
    parse_worker_specifics(cfg);

    if (const value* v = present(root, "workerConfig")) {
        if (!v->is_object()) throw config_error("workerConfig", "must be a map");
        cfg.worker_config = *v;
    }
    if (const value* v = present(root, "logging")) {
        if (!v->is_object()) throw config_error("logging", "must be a map");
        cfg.logging = v->get_object();
        cfg.logging_implementation = required_string(cfg.logging, "logging", "implementation");
        cfg.logging.erase("implementation");
    }
    if (const value* v = present(root, "getSecrets")) cfg.get_secrets = parse_get_secrets(*v);
    if (const value* v = present(root, "cacheOverRestarts"))
        cfg.cache_over_restarts = parse_cache(*v);

    parse_lifecycle(root, cfg);
    parse_host(root, cfg);
    parse_extras(root, cfg);
    return cfg;
}

/// "provider.rootURL: missing" -> the line of provider.rootURL, or of its nearest parent.
int line_for(const std::string& message, const detail::key_lines& lines) {
    std::string path = message.substr(0, message.find(": "));
    while (!path.empty()) {
        if (auto it = lines.find(path); it != lines.end()) return it->second;
        const auto cut = path.find_last_of(".[");
        if (cut == std::string::npos) break;
        path.resize(cut);
    }
    return 0;
}

bool is_secret_key(std::string_view key) {
    std::string k(key);
    std::transform(k.begin(), k.end(), k.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const char* const words[] = {"secret",    "token",      "password",
                                        "accesskey", "privatekey", "certificate"};
    for (const char* w : words)
        if (k.find(w) != std::string::npos) return true;
    return false;
}

void collect_strings(const value& v, std::vector<std::string>& out) {
    if (const auto* s = v.if_string()) {
        if (!s->empty()) out.emplace_back(*s);
    } else if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) collect_strings(kv.value(), out);
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a) collect_strings(e, out);
    }
}

/// Replaces every string in `v` by "<redacted>" (booleans and numbers, e.g. getSecrets, stay).
void redact_strings(value& v) {
    if (v.is_string()) {
        v = "<redacted>";
    } else if (auto* o = v.if_object()) {
        for (auto& kv : *o) redact_strings(kv.value());
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a) redact_strings(e);
    }
}

/// Walks `v`; every value under a secret-named key is collected and/or replaced.
void walk_secrets(value& v, std::vector<std::string>* found, bool redact) {
    if (auto* o = v.if_object()) {
        for (auto& kv : *o) {
            if (is_secret_key(kv.key())) {
                if (found) collect_strings(kv.value(), *found);
                if (redact) redact_strings(kv.value());
            } else {
                walk_secrets(kv.value(), found, redact);
            }
        }
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a) walk_secrets(e, found, redact);
    }
}

array to_array(const std::vector<std::string>& v) {
    array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

/// The normalized config with defaults filled in (not yet redacted).
value normalized(const runner_config& cfg) {
    object o;
    object provider = cfg.provider;
    provider["providerType"] = cfg.provider_type;
    o["provider"] = std::move(provider);
    object worker = cfg.worker;
    worker["implementation"] = cfg.worker_implementation;
    o["worker"] = std::move(worker);
    o["workerConfig"] = cfg.worker_config;
    object logging = cfg.logging;
    logging["implementation"] = cfg.logging_implementation;
    o["logging"] = std::move(logging);
    o["getSecrets"] = cfg.get_secrets;
    if (!cfg.cache_over_restarts.empty()) o["cacheOverRestarts"] = cfg.cache_over_restarts;
    array reboot_codes;
    for (int c : cfg.lifecycle.reboot_exit_codes) reboot_codes.emplace_back(c);
    o["lifecycle"] = object{
        {"stopCheckInterval", cfg.lifecycle.stop_check_interval.count()},
        {"gracefulStopTimeout", cfg.lifecycle.graceful_stop_timeout.count()},
        {"killTimeout", cfg.lifecycle.kill_timeout.count()},
        {"rebootExitCodes", std::move(reboot_codes)},
        {"startupFailureShutdownDelay", cfg.lifecycle.startup_failure_shutdown_delay.count()},
    };
    o["host"] = object{{"shutdownCommand", to_array(cfg.host.shutdown_command)},
                       {"rebootCommand", to_array(cfg.host.reboot_command)}};
    if (cfg.autologin) {
        object a{{"username", cfg.autologin->username}};
        if (cfg.autologin->password) a["password"] = *cfg.autologin->password;
        o["autologin"] = std::move(a);
    }
    if (cfg.health)
        o["health"] =
            object{{"listen", cfg.health->listen}, {"allowRemote", cfg.health->allow_remote}};
    return o;
}

}  // namespace

std::string required_string(const object& o, std::string_view section, std::string_view key) {
    const value* v = present(o, key);
    if (!v) throw config_error(path_of(section, key), "missing");
    if (!v->is_string()) throw config_error(path_of(section, key), "must be a string");
    if (v->get_string().empty()) throw config_error(path_of(section, key), "must not be empty");
    return std::string(v->get_string());
}

std::optional<std::string> optional_string(const object& o, std::string_view section,
                                           std::string_view key) {
    const value* v = present(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) throw config_error(path_of(section, key), "must be a string");
    return std::string(v->get_string());
}

std::vector<std::pair<std::string, std::string>> optional_string_map(const object& o,
                                                                     std::string_view section,
                                                                     std::string_view key) {
    std::vector<std::pair<std::string, std::string>> out;
    const value* v = present(o, key);
    if (!v) return out;
    if (!v->is_object()) throw config_error(path_of(section, key), "must be a map of strings");
    for (const auto& kv : v->get_object()) {
        if (!kv.value().is_string())
            throw config_error(path_of(section, key) + "." + std::string(kv.key()),
                               "must be a string");
        out.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    return out;
}

std::optional<object> optional_object(const object& o, std::string_view section,
                                      std::string_view key) {
    const value* v = present(o, key);
    if (!v) return std::nullopt;
    if (!v->is_object()) throw config_error(path_of(section, key), "must be a map");
    return v->get_object();
}

std::string default_state_path() {
#ifdef _WIN32
    return "C:\\ProgramData\\start-worker\\state.json";
#else
    return "/var/lib/start-worker/state.json";
#endif
}

runner_config parse_runner_config(std::string_view text, const std::string& source) {
    detail::key_lines lines;
    const value root = detail::yaml_to_json(text, source, &lines);
    try {
        runner_config cfg = validate(root.get_object());
        cfg.source_path = source;
        return cfg;
    } catch (const failure& f) {
        const std::string msg = f.what();
        const int line = line_for(msg, lines);
        std::string where = source + ": ";
        if (line > 0) where += "line " + std::to_string(line) + ": ";
        throw failure(f.code(), where + msg);
    }
}

namespace {

/// The same file, as far as paths tell: absolute, `.`/`..` resolved, symlinks of existing
/// parts followed.
bool same_file_path(const std::string& a, const std::string& b) {
    std::error_code ec1, ec2;
    const auto pa = std::filesystem::weakly_canonical(
        std::filesystem::absolute(platform::utf8_path(a), ec1), ec1);
    const auto pb = std::filesystem::weakly_canonical(
        std::filesystem::absolute(platform::utf8_path(b), ec2), ec2);
    if (ec1 || ec2) return a == b;
    return pa == pb;
}

/// worker.configPath is overwritten at every start: it must not be the runner config or the
/// state file (issue 14, item 10: accepted, the next start failed), nor a directory.
void check_worker_config_path(const runner_config& cfg, const std::string& config_file) {
    const auto* v = cfg.worker.if_contains("configPath");
    if (!v || !v->is_string() || v->get_string().empty()) return;
    const std::string path(v->get_string());
    if (same_file_path(path, config_file))
        throw config_error("worker.configPath",
                           path +
                               " is the runner config file; writing the worker config "
                               "there would replace it");
    if (!cfg.cache_over_restarts.empty() && same_file_path(path, cfg.cache_over_restarts))
        throw config_error("worker.configPath",
                           path + " is the state file (cacheOverRestarts); choose another path");
    std::error_code ec;
    if (std::filesystem::is_directory(platform::utf8_path(path), ec))
        throw config_error("worker.configPath", path + " is a directory, not a file path");
}

}  // namespace

runner_config load_runner_config(const std::string& path, platform::config_access access) {
    const std::string text = platform::read_config_file(path, max_config_bytes, access);
    runner_config cfg = parse_runner_config(text, path);
    check_worker_config_path(cfg, path);
    return cfg;
}

std::string normalized_redacted(const runner_config& cfg) {
    value v = normalized(cfg);
    walk_secrets(v, nullptr, true);
    std::string out = sw::json::to_sorted_json_indented(v);
    // The writer escapes < and > as Go does; show the marker plainly. Only the exact JSON token
    // can match: an escaped backslash in user text would appear as \\u003c.
    static const std::string escaped = "\"\\u003credacted\\u003e\"";
    static const std::string plain = "\"<redacted>\"";
    for (auto pos = out.find(escaped); pos != std::string::npos; pos = out.find(escaped, pos))
        out.replace(pos, escaped.size(), plain);
    return out;
}

std::vector<std::string> secret_values(const runner_config& cfg) {
    value v = normalized(cfg);
    std::vector<std::string> out;
    walk_secrets(v, &out, false);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace sw::config
