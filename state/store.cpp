// The persisted run state (state/store.hpp): one versioned private JSON file, replaced
// atomically, read strictly.
#include "state/store.hpp"

#include "lib/common/error.hpp"
#include "lib/json/worker_config.hpp"
#include "platform/fs.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>
#include <system_error>

namespace sw::state {

namespace {
constexpr std::string_view format_name = "start-worker-state";
/// A state file is a few KiB; anything this large is not ours.
constexpr std::size_t max_state_bytes = 16 * 1024 * 1024;

constexpr std::pair<phase, std::string_view> phase_names[] = {
    {phase::starting, "starting"},
    {phase::running, "running"},
    {phase::rebooting, "rebooting"},
    {phase::stopping, "stopping"},
};
}  // namespace

std::string_view to_string(phase p) {
    for (const auto& [ph, name] : phase_names)
        if (ph == p) return name;
    return "unknown";
}

std::optional<phase> phase_from_string(std::string_view s) {
    for (const auto& [ph, name] : phase_names)
        if (name == s) return ph;
    return std::nullopt;
}

std::string serialize(const persisted& p) {
    boost::json::object o;
    o["format"] = format_name;
    o["version"] = persisted::format_version;
    o["phase"] = to_string(p.ph);
    o["state"] = run_state_to_json(p.state);
    if (!p.autologin_user.empty()) o["autologinUser"] = p.autologin_user;
    return sw::json::to_sorted_json(o);
}

persisted deserialize(std::string_view text) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(text, ec);
    if (ec) throw std::invalid_argument("not valid JSON: " + ec.message());
    const auto* o = v.if_object();
    if (!o) throw std::invalid_argument("not a JSON object");
    persisted p;
    const auto* format = o->if_contains("format");
    if (!format) {
        // The Go runner's cache file (reference 9.1): a bare run state. A machine switched from
        // the Go start-worker mid-reboot resumes with it.
        if (!o->contains("RootURL"))
            throw std::invalid_argument("neither a start-worker state file nor a Go cache file");
        p.ph = phase::running;
        p.state = run_state_from_json(v);
        return p;
    }
    if (!format->is_string() || format->get_string() != format_name)
        throw std::invalid_argument("unknown format (expected \"start-worker-state\")");
    const auto* version = o->if_contains("version");
    if (!version || !version->is_int64())
        throw std::invalid_argument("version: missing or not an integer");
    if (version->get_int64() != persisted::format_version)
        throw std::invalid_argument("unsupported version " + std::to_string(version->get_int64()) +
                                    " (this start-worker reads version " +
                                    std::to_string(persisted::format_version) + ")");
    const auto* ph = o->if_contains("phase");
    if (!ph || !ph->is_string()) throw std::invalid_argument("phase: missing or not a string");
    const auto parsed = phase_from_string(ph->get_string());
    if (!parsed)
        throw std::invalid_argument("phase: unknown value \"" + std::string(ph->get_string()) +
                                    "\"");
    p.ph = *parsed;
    const auto* st = o->if_contains("state");
    if (!st) throw std::invalid_argument("state: missing");
    p.state = run_state_from_json(*st);
    if (const auto* u = o->if_contains("autologinUser"); u && !u->is_null()) {
        if (!u->is_string()) throw std::invalid_argument("autologinUser: must be a string");
        p.autologin_user = std::string(u->get_string());
    }
    return p;
}

std::optional<persisted> store::load() const {
    std::string text;
    std::string problem;
    try {
        if (!platform::read_private_file(path_, max_state_bytes, text)) return std::nullopt;
        return deserialize(text);
    } catch (const failure& f) {
        if (f.code() != errc::config) throw;  // unsafe owner or mode: refused, not repaired
        problem = f.what();
    } catch (const std::invalid_argument& e) {
        problem = e.what();
    }
    const std::string bad = platform::move_aside(path_);
    throw failure(errc::config, "state file " + path_ + " is unusable (" + problem +
                                    "); moved it aside to " + bad);
}

void store::save(const persisted& p) const {
    platform::make_parent_dirs(path_);
    platform::write_private_file_atomic(path_, serialize(p), fault_);
}

void store::remove() const {
    platform::remove_file(path_);
}

std::optional<time_point> store::written_at() const {
    return platform::file_mtime(path_);
}

}  // namespace sw::state
