#pragma once
// The persisted run state: one versioned, private file (the cacheOverRestarts path) holding the
// run state and the machine's phase, so a worker that reboots mid-task resumes without
// registering again. Writes are atomic (platform/fs.hpp); reads are strict.
#include "platform/fs.hpp"
#include "state/phase.hpp"
#include "state/run_state.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sw::state {

struct persisted {
    static constexpr int format_version = 1;
    phase ph = phase::starting;
    run_state state;
    /// Expected autologin user after a reboot, if the runner configured one.
    std::string autologin_user;
};

/// {"format":"start-worker-state","version":1,"phase":...,"state":{Go field names}}
std::string serialize(const persisted& p);
/// Throws std::invalid_argument with a clear message (bad JSON, unknown format or version,
/// malformed field).
persisted deserialize(std::string_view text);

class store {
  public:
    /// `fault` (tests): injected into every save (platform::write_private_file_atomic).
    explicit store(std::string path, platform::write_fault fault = {})
        : path_(std::move(path)), fault_(std::move(fault)) {}
    const std::string& path() const { return path_; }

    /// nullopt if there is no file. Unsafe owner/mode -> sw::failure(refused). A corrupt or
    /// unknown-version file is moved aside and sw::failure(config) thrown naming both paths.
    std::optional<persisted> load() const;

    /// Atomic, 0600: a failure at any step leaves the previous file (or, once it has been
    /// renamed into place, the new one), never a torn or missing one. Throws std::system_error
    /// naming the path.
    void save(const persisted& p) const;

    /// Removes the file (a finished lifecycle that must not resume). A missing file is fine.
    void remove() const;

    /// When the file was last written (the reboot check compares it with the boot time), or
    /// nullopt when there is none.
    std::optional<time_point> written_at() const;

  private:
    std::string path_;
    platform::write_fault fault_;
};

}  // namespace sw::state
