// Linux desktop autologin through the display manager's own configuration (GDM, LightDM,
// SDDM), and the check that the user's graphical session is actually there.
#include "platform/autologin.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <utmpx.h>

extern char** environ;

namespace sw::platform {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_config_size = 1 << 20;
const std::string backup_suffix = ".start-worker.bak";

void check_username(const std::string& user) {
    if (user.empty()) throw std::invalid_argument("autologin username is empty");
    for (const unsigned char c : user) {
        if (c <= ' ' || c == 0x7f || std::strchr("#;=[]", c))
            throw std::invalid_argument("autologin username \"" + user +
                                        "\" contains a character not allowed in a display "
                                        "manager config");
    }
}

/// The file's contents, "" if it does not exist.
std::string read_text(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return {};
    if (fs::file_size(p, ec) > max_config_size || ec)
        throw std::runtime_error("cannot read " + p.string() + ": not a file of at most 1 MiB");
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), "cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool present(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
}

/// Adds an edit of `file` unless it changes nothing.
void add_edit(std::vector<autologin_edit>& edits, const fs::path& file, std::string description,
              const std::string& old_text, std::string new_text) {
    if (new_text == old_text && present(file)) return;
    edits.push_back({file.string(), std::move(description), std::move(new_text)});
}

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

/// Writes `data` to `fd` completely.
void write_fd(int fd, const std::string& data, const std::string& what) {
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(what);
        off += static_cast<std::size_t>(n);
    }
}

/// Temp file in the same directory, fsync, rename over `path`, fsync the directory. DM configs
/// are not secret: the mode is `mode` (the old file's), not 0600.
void replace_atomically(const fs::path& path, const std::string& data, mode_t mode) {
    const std::string what = "cannot write " + path.string();
    std::string tmp = path.string() + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) throw_errno(what);
    try {
        if (::fchmod(fd, mode) != 0) throw_errno(what);
        write_fd(fd, data, what);
        if (::fsync(fd) != 0) throw_errno(what);
        if (::close(fd) != 0) {
            ::unlink(tmp.c_str());
            throw_errno(what);
        }
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw std::system_error(err, std::generic_category(), what);
    }
    const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

/// Runs a program without a shell and returns its stdout (at most 1 MiB), or nullopt if it
/// could not run or exited non-zero.
std::optional<std::string> capture(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> args = argv;
    std::vector<char*> cargs;
    cargs.reserve(args.size() + 1);
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, cargs[0], &actions, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return std::nullopt;
    }
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (out.size() < max_config_size) out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
    return out;
}

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string s; in >> s;) w.push_back(s);
    return w;
}

/// loginctl's answer, or nullopt when loginctl is not usable (no systemd-logind).
std::optional<bool> graphical_session_by_loginctl(const std::string& user) {
    const auto list = capture({"loginctl", "list-sessions", "--no-legend"});
    if (!list) return std::nullopt;
    std::istringstream lines(*list);
    for (std::string line; std::getline(lines, line);) {
        // SESSION UID USER [SEAT] [TTY] ... : the first three columns are stable.
        const auto w = words(line);
        if (w.size() < 3 || w[2] != user) continue;
        const auto props =
            capture({"loginctl", "show-session", w[0], "--property=Type", "--property=State"});
        if (!props) continue;
        const bool graphical = props->find("Type=x11\n") != std::string::npos ||
                               props->find("Type=wayland\n") != std::string::npos ||
                               props->find("Type=mir\n") != std::string::npos;
        const bool live = props->find("State=active\n") != std::string::npos ||
                          props->find("State=online\n") != std::string::npos;
        if (graphical && live) return true;
    }
    return false;
}

bool session_in_utmp(const std::string& user) {
    bool found = false;
    ::setutxent();
    while (const utmpx* u = ::getutxent()) {
        if (u->ut_type == USER_PROCESS &&
            std::string_view(u->ut_user, ::strnlen(u->ut_user, sizeof u->ut_user)) == user) {
            found = true;
            break;
        }
    }
    ::endutxent();
    return found;
}

}  // namespace

std::vector<autologin_edit> plan_autologin(const std::string& root, const std::string& username,
                                           const std::optional<std::string>& /*password*/) {
    check_username(username);
    const fs::path etc = fs::path(root) / "etc";
    std::vector<autologin_edit> edits;

    // GDM: Debian/Ubuntu "gdm3", Fedora/RHEL "gdm"; GKeyFile syntax.
    for (const char* dir : {"gdm3", "gdm"}) {
        const fs::path file = etc / dir / "custom.conf";
        if (!present(file) && !present(etc / dir)) continue;
        const auto old_text = read_text(file);
        auto text = ini_set(old_text, "daemon", "AutomaticLoginEnable", "true");
        text = ini_set(text, "daemon", "AutomaticLogin", username);
        add_edit(edits, file, "GDM: AutomaticLogin=" + username, old_text, std::move(text));
    }

    // LightDM: [Seat:*] applies to every seat.
    {
        const fs::path file = etc / "lightdm" / "lightdm.conf";
        if (present(file) || present(etc / "lightdm")) {
            const auto old_text = read_text(file);
            auto text = ini_set(old_text, "Seat:*", "autologin-user", username);
            text = ini_set(text, "Seat:*", "autologin-user-timeout", "0");
            add_edit(edits, file, "LightDM: autologin-user=" + username, old_text, std::move(text));
        }
    }

    // SDDM: a drop-in of our own. sddm.conf is read after the drop-ins, so a User= there
    // would win: set it too when it is present.
    {
        const fs::path main = etc / "sddm.conf";
        const fs::path dropin = etc / "sddm.conf.d" / "start-worker-autologin.conf";
        if (present(main) || present(etc / "sddm.conf.d")) {
            const auto old_text = read_text(dropin);
            add_edit(edits, dropin, "SDDM: [Autologin] User=" + username, old_text,
                     ini_set(old_text, "Autologin", "User", username));
            const auto main_text = read_text(main);
            if (ini_get(main_text, "Autologin", "User"))
                add_edit(edits, main, "SDDM: [Autologin] User=" + username + " in sddm.conf",
                         main_text, ini_set(main_text, "Autologin", "User", username));
        }
    }
    return edits;
}

void apply_autologin(const std::vector<autologin_edit>& edits) {
    for (const auto& e : edits) {
        const fs::path file(e.file);
        std::error_code ec;
        fs::create_directories(file.parent_path(), ec);
        if (ec) throw std::system_error(ec, "cannot create " + file.parent_path().string());
        mode_t mode = 0644;
        struct stat st {};
        if (::stat(file.c_str(), &st) == 0) {
            mode = st.st_mode & 07777;
            const fs::path backup = e.file + backup_suffix;
            if (!present(backup)) replace_atomically(backup, read_text(file), mode);
        }
        replace_atomically(file, e.new_contents, mode);
    }
}

bool user_session_present(const std::string& username) {
    if (const auto by_logind = graphical_session_by_loginctl(username)) return *by_logind;
    return session_in_utmp(username);
}

}  // namespace sw::platform
