#include "platform/system.hpp"

#include "platform/process.hpp"
#include "tests/support/scoped_env.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

/// A bound datagram socket standing in for systemd's notify socket.
class notify_listener {
  public:
    /// `name`: a filesystem path, or '@' + name for the abstract namespace.
    explicit notify_listener(const std::string& name) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, name.data(), name.size());
        if (name[0] == '@') addr.sun_path[0] = '\0';
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0);
    }
    ~notify_listener() { ::close(fd_); }
    notify_listener(const notify_listener&) = delete;
    notify_listener& operator=(const notify_listener&) = delete;

    /// Every datagram queued so far, in order.
    std::vector<std::string> received() {
        std::vector<std::string> out;
        char buf[4096];
        for (;;) {
            const auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0) break;
            out.emplace_back(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

  private:
    int fd_ = -1;
};

}  // namespace

TEST_CASE("system_boot_time reads btime", "[system]") {
    const auto boot = sw::platform::system_boot_time();
    REQUIRE(boot);
    CHECK(*boot < std::chrono::system_clock::now());
    CHECK(*boot > std::chrono::system_clock::from_time_t(946684800));  // 2000-01-01
    // Consistent with the uptime the kernel reports, within a few seconds.
    std::ifstream up("/proc/uptime");
    double uptime = 0;
    up >> uptime;
    const auto expected = std::chrono::system_clock::now() -
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(uptime));
    CHECK(std::chrono::abs(*boot - expected) < std::chrono::seconds(5));
}

TEST_CASE("disable_oom_killer writes -1000 or reports why not", "[system]") {
    boost::asio::io_context ctx;
    auto child = sw::platform::spawn(ctx.get_executor(), {{"sleep", "10"}, {}, false});
    const auto ec = sw::platform::disable_oom_killer(child->pid());
    std::ifstream in("/proc/" + std::to_string(child->pid()) + "/oom_score_adj");
    int adj = 0;
    in >> adj;
    if (ec) {
        // Unprivileged: lowering the score needs CAP_SYS_RESOURCE.
        CHECK((ec.value() == EACCES || ec.value() == EPERM));
        CHECK(adj != -1000);
    } else {
        CHECK(adj == -1000);
    }
    child->kill();
    auto fut = boost::asio::co_spawn(ctx, child->wait(), boost::asio::use_future);
    ctx.run();
    CHECK(fut.get() == 128 + 9);

    CHECK(sw::platform::disable_oom_killer(999999999).value() == ENOENT);
}

TEST_CASE("service_notifier sends exactly the notify messages", "[system]") {
    sw::test::temp_dir dir;
    const auto path = dir.file("notify");
    notify_listener listener(path);
    sw::test::scoped_env sock("NOTIFY_SOCKET", path);
    sw::test::scoped_env usec("WATCHDOG_USEC", std::nullopt);
    sw::platform::service_notifier n;
    REQUIRE(n.enabled());
    CHECK_FALSE(n.watchdog_interval());
    n.ready();
    n.status("worker running\nREADY=0");
    n.watchdog();
    n.stopping();
    CHECK(n.notify("EXTEND_TIMEOUT_USEC=5000000"));
    CHECK(listener.received() ==
          std::vector<std::string>{"READY=1", "STATUS=worker running READY=0", "WATCHDOG=1",
                                   "STOPPING=1", "EXTEND_TIMEOUT_USEC=5000000"});
}

TEST_CASE("service_notifier speaks to an abstract socket", "[system]") {
    const std::string name = "@start-worker-test-" + std::to_string(::getpid());
    notify_listener listener(name);
    sw::test::scoped_env sock("NOTIFY_SOCKET", name);
    sw::platform::service_notifier n;
    REQUIRE(n.enabled());
    n.ready();
    n.status("hello");
    CHECK(listener.received() == std::vector<std::string>{"READY=1", "STATUS=hello"});
}

TEST_CASE("service_notifier does nothing without NOTIFY_SOCKET", "[system]") {
    sw::test::scoped_env sock("NOTIFY_SOCKET", std::nullopt);
    sw::platform::service_notifier n;
    CHECK_FALSE(n.enabled());
    n.ready();
    n.status("x");
    n.watchdog();
    n.stopping();
    CHECK_FALSE(n.notify("READY=1"));

    sw::test::scoped_env relative("NOTIFY_SOCKET", "relative/path");
    CHECK_FALSE(sw::platform::service_notifier().enabled());
}

TEST_CASE("service_notifier reports a socket nobody listens on", "[system]") {
    sw::test::temp_dir dir;
    sw::test::scoped_env sock("NOTIFY_SOCKET", dir.file("gone"));
    sw::platform::service_notifier n;
    CHECK(n.enabled());
    CHECK_FALSE(n.notify("READY=1"));
    CHECK_NOTHROW(n.ready());  // a service manager that went away never ends the run
}

TEST_CASE("service_notifier watchdog interval is half of WATCHDOG_USEC", "[system]") {
    sw::test::scoped_env sock("NOTIFY_SOCKET", std::nullopt);
    {
        sw::test::scoped_env usec("WATCHDOG_USEC", "30000000");
        sw::test::scoped_env pid("WATCHDOG_PID", std::nullopt);
        CHECK(sw::platform::service_notifier().watchdog_interval() ==
              std::chrono::microseconds(15000000));
    }
    {
        sw::test::scoped_env usec("WATCHDOG_USEC", "30000000");
        sw::test::scoped_env pid("WATCHDOG_PID", std::to_string(::getpid()));
        CHECK(sw::platform::service_notifier().watchdog_interval() ==
              std::chrono::microseconds(15000000));
    }
    {
        sw::test::scoped_env usec("WATCHDOG_USEC", "30000000");
        sw::test::scoped_env pid("WATCHDOG_PID", std::to_string(::getpid() + 1));
        CHECK_FALSE(sw::platform::service_notifier().watchdog_interval());
    }
    for (const char* bad : {"", "0", "-5", "12abc", "abc"}) {
        sw::test::scoped_env usec("WATCHDOG_USEC", bad);
        sw::test::scoped_env pid("WATCHDOG_PID", std::nullopt);
        CHECK_FALSE(sw::platform::service_notifier().watchdog_interval());
    }
}
