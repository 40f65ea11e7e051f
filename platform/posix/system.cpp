// Small OS facts (boot time, OOM protection) and systemd's notify protocol without libsystemd.
#include "platform/system.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sw::platform {
namespace {

/// Parses a whole string as an unsigned decimal number.
template <class T>
bool parse_unsigned(std::string_view s, T& out) {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<std::string> environment_variable(const char* name) {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
}

std::optional<time_point> system_boot_time() {
    std::ifstream in("/proc/stat");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("btime ", 0) != 0) continue;
        std::int64_t secs = 0;
        if (!parse_unsigned(std::string_view(line).substr(6), secs)) return std::nullopt;
        return time_point(std::chrono::seconds(secs));
    }
    return std::nullopt;
}

std::error_code disable_oom_killer(int pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/oom_score_adj";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return {errno, std::generic_category()};
    static constexpr std::string_view value = "-1000";
    std::error_code ec;
    if (::write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        ec = std::error_code(errno, std::generic_category());
    if (::close(fd) != 0 && !ec) ec = std::error_code(errno, std::generic_category());
    return ec;
}

std::error_code disable_oom_killer() {
    return disable_oom_killer(static_cast<int>(::getpid()));
}

service_notifier::service_notifier() {
    // A filesystem path or '@' for an abstract socket (systemd's notify-selfcontained-example);
    // anything else (vsock:, relative paths) or a path too long for sun_path is not for us.
    if (const char* s = std::getenv("NOTIFY_SOCKET")) {
        const std::string_view path(s);
        if ((path.size() > 1 && (path[0] == '/' || path[0] == '@')) &&
            path.size() < sizeof(sockaddr_un{}.sun_path))
            socket_path_ = path;
    }
    // The watchdog is ours only if WATCHDOG_PID is unset or names this process.
    const char* usec = std::getenv("WATCHDOG_USEC");
    const char* wpid = std::getenv("WATCHDOG_PID");
    std::uint64_t interval = 0;
    pid_t for_pid = 0;
    if (usec && parse_unsigned(usec, interval) && interval > 0 &&
        (!wpid || (parse_unsigned(wpid, for_pid) && for_pid == ::getpid())))
        watchdog_ = std::chrono::microseconds(std::clamp<std::uint64_t>(
            interval / 2, min_watchdog_interval.count(), max_watchdog_interval.count()));
}

bool service_notifier::notify(std::string_view message) {
    if (socket_path_.empty()) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());

    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ssize_t sent;
    do {
        // MSG_DONTWAIT: a service manager that does not read its socket must not block the
        // event loop (issue 14, item 10); the notification is dropped instead.
        sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                        reinterpret_cast<const sockaddr*>(&addr), len);
    } while (sent < 0 && errno == EINTR);
    ::close(fd);
    return sent == static_cast<ssize_t>(message.size());
}

void service_notifier::ready() {
    notify("READY=1");
}

void service_notifier::status(std::string_view text) {
    // One line: a newline in the text would start another assignment.
    std::string msg = "STATUS=";
    for (char c : text) msg += (c == '\n' || c == '\r') ? ' ' : c;
    notify(msg);
}

void service_notifier::stopping() {
    notify("STOPPING=1");
}

void service_notifier::watchdog() {
    notify("WATCHDOG=1");
}

}  // namespace sw::platform
