// The log destinations' OS calls: write(2) to stderr, Unix datagrams, memfds (Linux).
#include "platform/log_sinks.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <utility>

namespace sw::platform {

namespace {

std::error_code last_error() {
    return {errno, std::system_category()};
}

/// Writes all of `bytes` to `fd`, retried on EINTR and short writes.
std::error_code write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace

std::error_code write_stderr(std::string_view bytes) {
    return write_all(STDERR_FILENO, bytes);
}

int current_pid() {
    return static_cast<int>(::getpid());
}

std::chrono::system_clock::time_point coarse_wall_clock() {
    timespec ts{};
    if (::clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return std::chrono::system_clock::now();
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

log_datagram_socket::~log_datagram_socket() {
    if (fd_ >= 0) ::close(fd_);
}

log_datagram_socket::log_datagram_socket(log_datagram_socket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)) {}

log_datagram_socket& log_datagram_socket::operator=(log_datagram_socket&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

log_datagram_socket log_datagram_socket::connect(const std::string& path, std::error_code& ec) {
    ec.clear();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        ec = std::make_error_code(std::errc::filename_too_long);
        return {};
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ec = last_error();
        return {};
    }
    log_datagram_socket s(fd);
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
        ec = last_error();
        return {};
    }
    return s;
}

std::error_code log_datagram_socket::send(std::string_view datagram) {
    for (;;) {
        if (::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL) >= 0) return {};
        if (errno != EINTR) return last_error();
    }
}

std::error_code log_datagram_socket::send_through_memfd(std::string_view entry) {
    const int mfd = ::memfd_create("journal-message", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    if (mfd < 0) return last_error();
    std::error_code ec = write_all(mfd, entry);
    if (!ec &&
        ::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
        ec = last_error();
    if (!ec) {
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr mh{};
        mh.msg_control = control;
        mh.msg_controllen = sizeof control;
        cmsghdr* cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &mfd, sizeof(int));
        for (;;) {
            if (::sendmsg(fd_, &mh, MSG_NOSIGNAL) >= 0) break;
            if (errno != EINTR) {
                ec = last_error();
                break;
            }
        }
    }
    ::close(mfd);
    return ec;
}

}  // namespace sw::platform
