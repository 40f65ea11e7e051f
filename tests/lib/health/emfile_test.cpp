// Issue 14, item 2: out of descriptors (ulimit -n reached), a pending connection to the health
// port made the accept loop spin at a full core on EMFILE. It backs off, then serves again.
#include "lib/health/server.hpp"

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

/// Lowers RLIMIT_NOFILE's soft limit so that the next new descriptor fails with EMFILE;
/// restores it on reset() or destruction.
class no_more_descriptors {
  public:
    no_more_descriptors() {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
        const int probe = ::dup(0);  // the lowest free descriptor number
        REQUIRE(probe >= 0);
        ::close(probe);
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(probe);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
        active_ = true;
    }
    ~no_more_descriptors() { reset(); }
    void reset() {
        if (active_) ::setrlimit(RLIMIT_NOFILE, &saved_);
        active_ = false;
    }

  private:
    rlimit saved_{};
    bool active_ = false;
};

int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return fd;
}

}  // namespace

TEST_CASE("health: EMFILE on accept backs off instead of spinning, then serves",
          "[health][emfile]") {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizers' runtime opens files of its own (UBSan reads /proc/self/maps to check a
    // vptr): with no descriptor left it reports "invalid vptr" inside Asio and stops. The
    // release build runs this test in every ctest run.
    WARN("SKIPPED under the sanitizers: they need file descriptors this test takes away");
    SUCCEED("skipped");  // --warn NoAssertions: the skip is said above, not a silent pass
    return;
#endif
    boost::asio::io_context ioc;
    sw::health::server srv(ioc.get_executor(), "127.0.0.1:0", [] {
        sw::health::snapshot s;
        s.stage = "running";
        return s;
    });
    srv.start();
    const int client = connect_to(srv.port());  // pending in the backlog
    {
        no_more_descriptors limit;
        ioc.run_for(std::chrono::milliseconds(600));
    }
    // Backing off (10 ms doubling, at most 1 s) allows a handful of attempts in 600 ms; a loop
    // that retries at once makes hundreds of thousands.
    CHECK(srv.accept_errors() >= 1);
    CHECK(srv.accept_errors() <= 20);

    // Descriptors back: the pending connection is served.
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::send(client, req.data(), req.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(req.size()));
    std::string answer;
    for (int i = 0; i < 100 && answer.find("\r\n\r\n") == std::string::npos; ++i) {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(50));
        char buf[512];
        const auto n = ::recv(client, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(client);
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    srv.stop();
}
