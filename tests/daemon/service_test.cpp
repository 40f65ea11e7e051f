// Service integration of the real binary: systemd's notify protocol and the health endpoint.
#include "tests/daemon/harness.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace sw::test;
using namespace std::chrono_literals;

namespace {

/// A datagram socket standing in for systemd's NOTIFY_SOCKET.
struct notify_socket {
    int fd = -1;
    std::string path;
    std::vector<std::string> messages;

    explicit notify_socket(std::string p) : path(std::move(p)) {
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~notify_socket() { ::close(fd); }

    void drain(int timeout_ms = 50) {
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, timeout_ms) > 0) {
            char buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            messages.emplace_back(buf, static_cast<std::size_t>(n));
        }
    }
    bool saw(const std::string& needle) {
        drain();
        for (const auto& m : messages)
            if (m.find(needle) != std::string::npos) return true;
        return false;
    }
    std::size_t index_of(const std::string& needle) const {
        for (std::size_t i = 0; i < messages.size(); ++i)
            if (messages[i].find(needle) != std::string::npos) return i;
        return messages.size();
    }
};

}  // namespace

TEST_CASE("systemd notify: READY once the worker runs, STATUS, STOPPING on SIGTERM",
          "[e2e][service]") {
    harness h;
    h.start_standin();
    notify_socket ns(h.dir.file("notify.sock"));
    const auto cfg = h.write_config(h.static_config());
    auto p = h.start({cfg}, {{"NOTIFY_SOCKET", ns.path},
                             {"WATCHDOG_USEC", "200000"},
                             {"FAKE_WORKER_SCRIPT", "log:started;wait-graceful;exit:0"}});
    REQUIRE(eventually([&] { return ns.saw("READY=1"); }, 20s));
    // The worker is running by the time READY=1 is sent.
    REQUIRE(eventually([&] { return !h.worker_events("start").empty(); }, 5s));
    CHECK(ns.saw("STATUS="));
    // WATCHDOG_USEC=200 ms: pings at least every 100 ms.
    const auto pings_before = std::count(ns.messages.begin(), ns.messages.end(), "WATCHDOG=1");
    std::this_thread::sleep_for(500ms);
    ns.drain();
    const auto pings_after = std::count(ns.messages.begin(), ns.messages.end(), "WATCHDOG=1");
    CHECK(pings_after - pings_before >= 3);

    p->signal(SIGTERM);
    CHECK(p->wait(20s) == 0);
    CHECK(ns.saw("STOPPING=1"));
    CHECK(ns.index_of("READY=1") < ns.index_of("STOPPING=1"));
    // The drain may outlast TimeoutStopSec=: gracefulStopTimeout 900 + killTimeout 30 + 30 s.
    CHECK(ns.saw("EXTEND_TIMEOUT_USEC=960000000"));
    CHECK(ns.index_of("STOPPING=1") < ns.index_of("EXTEND_TIMEOUT_USEC=960000000"));
    const auto graceful = h.worker_events("received", "graceful-termination");
    REQUIRE(graceful.size() == 1);
    CHECK(graceful[0].at("message").at("finish-tasks") == true);
}

TEST_CASE("health endpoint: /healthz, /readyz and /metrics while the worker runs",
          "[e2e][service]") {
    harness h;
    h.start_standin();
    const auto port = free_port();
    const auto cfg = h.write_config(
        h.static_config("health:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n"));
    auto p = h.start({cfg}, {{"FAKE_WORKER_SCRIPT", "wait-graceful;exit:0"}});
    REQUIRE(eventually([&] { return !h.worker_events("received", "welcome").empty(); }, 20s));
    REQUIRE(eventually([&] { return http_get(port, "/readyz").rfind("200", 0) == 0; }, 10s));
    CHECK(http_get(port, "/healthz").rfind("200 ok", 0) == 0);
    const auto metrics = http_get(port, "/metrics");
    CHECK(metrics.rfind("200", 0) == 0);
    CHECK(metrics.find("start_worker_up 1") != std::string::npos);
    CHECK(metrics.find("start_worker_stage{stage=\"running\"} 1") != std::string::npos);
    CHECK(metrics.find("start_worker_credentials_expiry_seconds") != std::string::npos);
    CHECK(metrics.find("start_worker_build_info{version=\"") != std::string::npos);
    CHECK(metrics.find("\nstart_worker_uptime_seconds ") != std::string::npos);
    CHECK(metrics.find("\nstart_worker_worker_starts_total 1\n") != std::string::npos);
    CHECK(metrics.find("start_worker_protocol_messages_total{direction=\"sent\",type=\"welcome\"} "
                       "1\n") != std::string::npos);
    CHECK(
        metrics.find("start_worker_protocol_messages_total{direction=\"received\",type=\"hello\"} "
                     "1\n") != std::string::npos);
    CHECK(http_get(port, "/nope").rfind("404", 0) == 0);
    p->signal(SIGTERM);
    CHECK(p->wait(20s) == 0);
}

TEST_CASE("a health.listen that cannot be bound is a config error", "[e2e][service]") {
    harness h;
    h.start_standin();
    // 192.0.2.1 (TEST-NET-1) is on no interface: the bind fails.
    const auto cfg =
        h.write_config(h.static_config("health:\n  listen: 192.0.2.1:9177\n  allowRemote: true\n"));
    auto r = h.run({"--once", cfg});
    CHECK(r.exit_code == 78);
    CHECK(r.err.find("health.listen: cannot bind") != std::string::npos);
    CHECK(h.requests("/worker/register").empty());  // nothing contacted
}

TEST_CASE("a health.listen that is not loopback needs health.allowRemote", "[e2e][service]") {
    harness h;
    h.start_standin();
    const auto cfg = h.write_config(h.static_config("health:\n  listen: 0.0.0.0:9177\n"));
    for (const char* mode : {"--validate", "--once"}) {
        INFO(mode);
        auto r = h.run({mode, cfg});
        CHECK(r.exit_code == 78);
        CHECK(r.err.find("health.listen: \"0.0.0.0:9177\" is not a loopback address") !=
              std::string::npos);
        CHECK(r.err.find("health.allowRemote") != std::string::npos);
    }
    CHECK(h.requests("/worker/register").empty());  // nothing contacted
}

TEST_CASE("SIGTERM during registration stops at once", "[e2e][service]") {
    harness h;
    auto& standin = h.start_standin();
    tc_fault stall;
    stall.path_regex = "worker/register";
    stall.stall = true;
    standin.add_fault(stall);
    const auto cfg = h.write_config(h.static_config());
    auto p = h.start({cfg});
    REQUIRE(eventually([&] { return !h.requests("/worker/register").empty(); }, 20s));
    const auto t0 = std::chrono::steady_clock::now();
    p->signal(SIGTERM);
    CHECK(p->wait(10s) == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(h.worker_events("start").empty());
}

TEST_CASE("systemd notify: READY=1 only after the worker's hello (issue 9.5)", "[e2e][service]") {
    harness h;
    h.start_standin();
    notify_socket ns(h.dir.file("notify.sock"));
    const auto cfg = h.write_config(h.static_config());
    // The worker takes 3 s to say hello.
    auto p = h.start({cfg}, {{"NOTIFY_SOCKET", ns.path},
                             {"FAKE_WORKER_NO_HELLO", "1"},
                             {"FAKE_WORKER_SCRIPT", "sleep:3000;hello;wait-graceful;exit:0"}});
    REQUIRE(eventually([&] { return !h.worker_events("start").empty(); }, 20s));
    std::this_thread::sleep_for(2000ms);
    // Running, not ready: STATUS= says what it waits for.
    CHECK(h.worker_events("sent", "hello").empty());
    CHECK_FALSE(ns.saw("READY=1"));
    CHECK(ns.saw("STATUS="));
    REQUIRE(eventually([&] { return ns.saw("READY=1"); }, 10s));
    const auto hello = h.worker_events("sent", "hello");
    REQUIRE(hello.size() == 1);
    p->signal(SIGTERM);
    CHECK(p->wait(20s) == 0);
    CHECK(ns.index_of("READY=1") < ns.index_of("STOPPING=1"));
}
