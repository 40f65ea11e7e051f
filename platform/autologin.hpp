#pragma once
// Keeping a desktop session logged in across reboots. Linux: the display manager's own config
// (GDM custom.conf [daemon] AutomaticLoginEnable/AutomaticLogin, LightDM [Seat:*]
// autologin-user, SDDM [Autologin] User), editing only those keys, atomically, with a backup.
// Windows: Winlogon AutoAdminLogon/DefaultUserName/DefaultDomainName plus the LSA secret
// DefaultPassword (never the password in clear in the registry).
#include <string>
#include <vector>

namespace sw::platform {

struct autologin_edit {
    std::string file;         ///< the config file that changes
    std::string description;  ///< "GDM: AutomaticLogin=worker"
    std::string new_contents;
};

/// What would change to log `username` in automatically. `root` prefixes every system path
/// ("/" normally, a temporary directory in tests). No display manager found -> empty.
std::vector<autologin_edit> plan_autologin(const std::string& root, const std::string& username);

/// Applies the edits (backup "<file>.start-worker.bak" once, then an atomic replace).
void apply_autologin(const std::vector<autologin_edit>& edits);

/// Whether `username` has a graphical session now (loginctl / utmp).
bool user_session_present(const std::string& username);

/// Pure INI edit: sets `key=value` in `[section]`, keeping every other line (comments, order,
/// other keys) as it is; adds the section or key if missing.
std::string ini_set(const std::string& text, const std::string& section, const std::string& key,
                    const std::string& value);

}  // namespace sw::platform
