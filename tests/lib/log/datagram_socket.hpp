#pragma once
// A Unix datagram socket bound at a path of the test's own, standing in for systemd-journald's
// native socket or /dev/log, and a parser for journald's native protocol
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/). Shared by the destinations' unit tests
// (tests/lib/log/destinations_test.cpp) and the real binary's (tests/daemon/logging_test.cpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sw::test {

class datagram_socket {
  public:
    /// Binds at `path` (its directory must exist; the path must fit sockaddr_un).
    explicit datagram_socket(std::string path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        REQUIRE(path_.size() < sizeof a.sun_path);
        std::memcpy(a.sun_path, path_.c_str(), path_.size() + 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        const int big = 4 * 1024 * 1024;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    ~datagram_socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    datagram_socket(const datagram_socket&) = delete;
    datagram_socket& operator=(const datagram_socket&) = delete;

    const std::string& path() const { return path_; }

    /// A datagram as received: its bytes, or the whole content of the descriptor sent with it
    /// (journald's way for an entry too large for a datagram: a sealed memfd, no payload).
    struct datagram {
        std::string bytes;
        bool via_memfd = false;
    };

    /// The next datagram, waiting up to `timeout_ms`; nullopt when none came.
    std::optional<datagram> receive(int timeout_ms = 5000) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
        datagram d;
        d.bytes.assign(1 << 20, '\0');
        iovec iov{d.bytes.data(), d.bytes.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = control;
        mh.msg_controllen = sizeof control;
        const auto n = ::recvmsg(fd_, &mh, MSG_CMSG_CLOEXEC);
        REQUIRE(n >= 0);
        d.bytes.resize(static_cast<std::size_t>(n));
        if (cmsghdr* c = CMSG_FIRSTHDR(&mh); c && c->cmsg_type == SCM_RIGHTS) {
            int passed = -1;
            std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
            CHECK(n == 0);  // the entry is in the memfd only
            d.via_memfd = true;
            d.bytes.clear();
            char chunk[65536];
            ssize_t k;
            while ((k = ::pread(passed, chunk, sizeof chunk, static_cast<off_t>(d.bytes.size()))) >
                   0)
                d.bytes.append(chunk, static_cast<std::size_t>(k));
            // Sealed as journald requires (it refuses an unsealed memfd).
            CHECK((::fcntl(passed, F_GET_SEALS) & F_SEAL_WRITE) != 0);
            ::close(passed);
        }
        return d;
    }

  private:
    std::string path_;
    int fd_ = -1;
};

/// Parses one entry of journald's native protocol into name -> values: "NAME=value\n", or
/// "NAME\n" + 64-bit little-endian length + value + "\n" for values with a newline.
inline std::multimap<std::string, std::string> parse_journal(std::string_view e) {
    std::multimap<std::string, std::string> out;
    while (!e.empty()) {
        const auto eol = e.find_first_of("=\n");
        REQUIRE(eol != std::string_view::npos);
        const std::string name(e.substr(0, eol));
        if (e[eol] == '=') {
            const auto end = e.find('\n', eol);
            REQUIRE(end != std::string_view::npos);
            out.emplace(name, std::string(e.substr(eol + 1, end - eol - 1)));
            e.remove_prefix(end + 1);
        } else {
            REQUIRE(e.size() >= eol + 9);
            std::uint64_t n = 0;
            for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(e[eol + 1 + i]);
            REQUIRE(e.size() >= eol + 9 + n + 1);
            out.emplace(name, std::string(e.substr(eol + 9, n)));
            CHECK(e[eol + 9 + n] == '\n');
            e.remove_prefix(eol + 9 + n + 1);
        }
    }
    return out;
}

}  // namespace sw::test
