#pragma once
// Keeping a desktop session logged in across reboots. Linux: the display manager's own config
// (GDM custom.conf [daemon] AutomaticLoginEnable/AutomaticLogin, LightDM [Seat:*]
// autologin-user, SDDM [Autologin] User), editing only those keys, atomically, with a backup.
// Windows: Winlogon AutoAdminLogon/DefaultUserName/DefaultDomainName plus the LSA secret
// DefaultPassword (never the password in clear in the registry).
#include <optional>
#include <string>
#include <vector>

namespace sw::platform {

struct autologin_edit {
    std::string file;         ///< the config file that changes
    std::string description;  ///< "GDM: AutomaticLogin=worker"
    std::string new_contents;
};

/// What would change to log `username` in automatically. `root` prefixes every system path
/// ("/" normally, a temporary directory in tests). No display manager found, or nothing to
/// change -> empty. Throws std::invalid_argument for a username that cannot go into an INI
/// file (empty, whitespace, control characters, '#', ';', '=', '[' or ']').
/// `password` is used on Windows only (the LSA secret DefaultPassword; display managers need
/// none). Windows: `root` "/" means the real Winlogon key under HKEY_LOCAL_MACHINE; any other
/// root is a key path under HKEY_CURRENT_USER that stands in for it (tests).
std::vector<autologin_edit> plan_autologin(const std::string& root, const std::string& username,
                                           const std::optional<std::string>& password = {});

/// Applies the edits: a backup "<file>.start-worker.bak" of an existing file, made only once,
/// then an atomic replace keeping the file's mode (0644 for a new file). Throws
/// std::system_error naming the file.
void apply_autologin(const std::vector<autologin_edit>& edits);

/// Whether `username` has a graphical session now: a session of type x11/wayland/mir in state
/// active or online according to loginctl; without a working loginctl, any utmp USER_PROCESS
/// entry of the user.
bool user_session_present(const std::string& username);

/// Pure INI edit: sets `key=value` in `[section]`, keeping every other line (comments, order,
/// other keys) as it is. Every active `key=` (or `key = `) line of the section gets the value;
/// with none, the first commented `#key=` line of the section is un-commented; failing that the
/// key is added after the section's last non-blank line, or the section is added at the end.
std::string ini_set(const std::string& text, const std::string& section, const std::string& key,
                    const std::string& value);

/// The value of the first active `key` in `[section]`, if there is one.
std::optional<std::string> ini_get(const std::string& text, const std::string& section,
                                   const std::string& key);

}  // namespace sw::platform
