#include "lib/health/server.hpp"

#include "lib/common/error.hpp"
#include "version.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <future>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using sw::health::snapshot;

/// A blocking loopback client socket with a 5 s receive timeout (so a bug cannot hang a test).
class client {
  public:
    explicit client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~client() { ::close(fd_); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    void send(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
            if (n <= 0) return;  // the server may close early; the answer tells
            done += static_cast<std::size_t>(n);
        }
    }
    /// Everything until the server closes (or the timeout, which fails the test).
    std::string read_all() {
        std::string out;
        char buf[4096];
        for (;;) {
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0) return out;
            if (n < 0) {
                const int err = errno;
                INFO("recv failed: errno " << err);
                CHECK(err == ECONNRESET);  // never a timeout
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

  private:
    int fd_ = -1;
};

struct http_answer {
    int status = 0;
    std::string head;  ///< status line and headers
    std::string body;
    bool has_header(const std::string& line) const {
        return head.find("\r\n" + line + "\r\n") != std::string::npos;
    }
};

http_answer parse(const std::string& raw) {
    http_answer a;
    const auto end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
    a.status = std::stoi(raw.substr(9, 3));
    a.head = raw.substr(0, end + 2);
    a.body = raw.substr(end + 4);
    return a;
}

http_answer round_trip(std::uint16_t port, const std::string& raw) {
    client c(port);
    c.send(raw);
    return parse(c.read_all());
}

http_answer get(std::uint16_t port, const std::string& target, const std::string& method = "GET") {
    return round_trip(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

/// A server on 127.0.0.1:0 whose io_context runs on a background thread.
struct fixture {
    boost::asio::io_context ioc;
    std::mutex mu;
    snapshot snap;
    std::optional<sw::health::server> srv;
    std::thread thread;

    fixture() {
        snap.stage = "registering";
        srv.emplace(ioc.get_executor(), "127.0.0.1:0", [this] {
            std::lock_guard lock(mu);
            return snap;
        });
        srv->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~fixture() {
        ioc.stop();
        thread.join();
        srv.reset();
    }
    template <class F>
    void update(F&& f) {
        std::lock_guard lock(mu);
        f(snap);
    }
    std::uint16_t port() const { return srv->port(); }
};

}  // namespace

TEST_CASE("health: /healthz answers ok until the runner is finished", "[health]") {
    fixture f;
    REQUIRE(f.port() != 0);
    auto a = get(f.port(), "/healthz");
    CHECK(a.status == 200);
    CHECK(a.body == "ok\n");
    CHECK(a.has_header("Connection: close"));
    CHECK(a.has_header("Content-Type: text/plain; charset=utf-8"));
    f.update([](snapshot& s) { s.finished = true; });
    a = get(f.port(), "/healthz");
    CHECK(a.status == 503);
    CHECK(a.body == "finished\n");
}

TEST_CASE("health: /readyz follows the worker", "[health]") {
    fixture f;
    auto a = get(f.port(), "/readyz");
    CHECK(a.status == 503);
    CHECK(a.body == "registering\n");
    f.update([](snapshot& s) {
        s.stage = "running";
        s.worker_running = true;
    });
    a = get(f.port(), "/readyz?verbose=1");
    CHECK(a.status == 200);
    CHECK(a.body == "ok\n");
    f.update([](snapshot& s) {
        s.stage = "stopping";
        s.worker_running = false;
    });
    a = get(f.port(), "/readyz");
    CHECK(a.status == 503);
    CHECK(a.body == "stopping\n");
}

TEST_CASE("health: /metrics in the Prometheus text format", "[health]") {
    fixture f;
    f.update([](snapshot& s) {
        s.stage = "running";
        s.worker_running = true;
        s.now_unix = 1767225000;
        s.credentials_expiry_unix = 1767225600;
        s.uptime_seconds = 12.5;
        s.renewals = 3;
        s.renewal_failures = 1;
        s.log_dropped = 42;
        s.error_reports_dropped = 1983;
        s.error_reports_pending = 17;
        s.termination_notice = true;
        using dir = sw::health::counters::direction;
        s.counts.worker_started();
        s.counts.worker_started();
        s.counts.worker_exited(0);
        s.counts.worker_exited(67);
        s.counts.termination_notice();
        for (int i = 0; i < 5; ++i) s.counts.protocol_message(dir::received, "log");
        s.counts.protocol_message(dir::received, "hello");
        s.counts.protocol_message(dir::sent, "welcome");
        s.counts.protocol_message(dir::sent, "new-credentials");
    });
    const auto a = get(f.port(), "/metrics");
    CHECK(a.status == 200);
    CHECK(a.has_header("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    const std::vector<std::string> lines = {
        "# TYPE start_worker_build_info gauge\nstart_worker_build_info{version=\"" +
            std::string(sw::version) + "\"} 1\n",
        "# HELP start_worker_up ",
        "# TYPE start_worker_up gauge\nstart_worker_up 1\n",
        "# TYPE start_worker_uptime_seconds gauge\nstart_worker_uptime_seconds 12.500\n",
        "# TYPE start_worker_stage gauge\nstart_worker_stage{stage=\"running\"} 1\n",
        "\nstart_worker_worker_running 1\n",
        "# TYPE start_worker_credentials_expiry_timestamp_seconds gauge\n"
        "start_worker_credentials_expiry_timestamp_seconds 1767225600\n",
        "# TYPE start_worker_credentials_expiry_seconds gauge\n"
        "start_worker_credentials_expiry_seconds 600\n",
        "# TYPE start_worker_renewals_total counter\nstart_worker_renewals_total 3\n",
        "# TYPE start_worker_renewal_failures_total counter\n"
        "start_worker_renewal_failures_total 1\n",
        "# TYPE start_worker_log_messages_dropped_total counter\n"
        "start_worker_log_messages_dropped_total 42\n",
        "# TYPE start_worker_error_reports_dropped_total counter\n"
        "start_worker_error_reports_dropped_total 1983\n",
        "# TYPE start_worker_error_reports_pending gauge\nstart_worker_error_reports_pending 17\n",
        "\nstart_worker_termination_notice 1\n",
        "# TYPE start_worker_termination_notices_total counter\n"
        "start_worker_termination_notices_total 1\n",
        "\nstart_worker_protocol_messages_total{direction=\"received\",type=\"log\"} 5\n",
        "\nstart_worker_protocol_messages_total{direction=\"received\",type=\"hello\"} 1\n",
        "\nstart_worker_protocol_messages_total{direction=\"received\",type=\"shutdown\"} 0\n",
        "\nstart_worker_protocol_messages_total{direction=\"sent\",type=\"welcome\"} 1\n",
        "\nstart_worker_protocol_messages_total{direction=\"sent\",type=\"new-credentials\"} 1\n",
        "# TYPE start_worker_worker_starts_total counter\nstart_worker_worker_starts_total 2\n",
        "# TYPE start_worker_worker_exits_total counter\n"
        "start_worker_worker_exits_total{code=\"0\"} 1\n"
        "start_worker_worker_exits_total{code=\"67\"} 1\n",
    };
    for (const auto& l : lines) {
        INFO(l);
        CHECK(a.body.find(l) != std::string::npos);
    }
    // Every sample belongs to the family whose HELP and TYPE lines came last, and each family
    // is announced once.
    std::size_t samples = 0;
    std::string family;
    std::vector<std::string> families;
    for (std::size_t pos = 0; pos < a.body.size();) {
        const auto nl = a.body.find('\n', pos);
        REQUIRE(nl != std::string::npos);
        const auto line = a.body.substr(pos, nl - pos);
        if (line.rfind("# TYPE ", 0) == 0) {
            family = line.substr(7, line.find(' ', 7) - 7);
            CHECK(std::find(families.begin(), families.end(), family) == families.end());
            families.push_back(family);
        } else if (line[0] != '#') {
            ++samples;
            INFO(line);
            CHECK(line.substr(0, line.find_first_of("{ ")) == family);
        }
        pos = nl + 1;
    }
    // 15 single samples, 2 x 9 protocol message types, 2 exit codes.
    CHECK(samples == 15 + 2 * sw::health::counters::message_types.size() + 2);
    CHECK(a.body.back() == '\n');
}

TEST_CASE("health: counters keep their label sets bounded", "[health]") {
    using dir = sw::health::counters::direction;
    sw::health::counters c;
    c.protocol_message(dir::received, "graceful-termination");
    c.protocol_message(dir::received, "x-made-up");
    c.protocol_message(dir::received, "another-made-up");
    c.protocol_message(dir::sent, "");
    c.worker_exited(-1);
    c.worker_exited(256);
    c.worker_exited(255);
    const auto& types = sw::health::counters::message_types;
    const auto at = [&](std::string_view t) {
        return static_cast<std::size_t>(std::find(types.begin(), types.end(), t) - types.begin());
    };
    CHECK(c.received[at("graceful-termination")] == 1);
    CHECK(c.received[at("other")] == 2);
    CHECK(c.sent[at("other")] == 1);
    CHECK(c.worker_exits.size() == 2);
    CHECK(c.worker_exits.at(-1) == 2);
    CHECK(c.worker_exits.at(255) == 1);
    snapshot s;
    s.counts = c;
    const auto text = sw::health::render_metrics(s);
    CHECK(text.find("start_worker_worker_exits_total{code=\"other\"} 2\n") != std::string::npos);
    CHECK(text.find("x-made-up") == std::string::npos);
}

TEST_CASE("health: metrics without credentials, with an odd stage name", "[health]") {
    snapshot s;
    s.stage = "a\"b\\c\nd";
    const auto text = sw::health::render_metrics(s);
    CHECK(text.find("start_worker_credentials_expiry") == std::string::npos);
    CHECK(text.find("start_worker_uptime_seconds") == std::string::npos);
    CHECK(text.find("\nstart_worker_worker_starts_total 0\n") != std::string::npos);
    CHECK(text.find("start_worker_stage{stage=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
    CHECK(text.find("\nstart_worker_worker_running 0\n") != std::string::npos);
    CHECK(text.find("\nstart_worker_termination_notice 0\n") != std::string::npos);
}

TEST_CASE("health: unknown paths, other methods, HEAD", "[health]") {
    fixture f;
    CHECK(get(f.port(), "/").status == 404);
    CHECK(get(f.port(), "/healthz/extra").status == 404);
    CHECK(get(f.port(), "/metricsx").status == 404);
    const auto post =
        round_trip(f.port(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(post.status == 405);
    CHECK(post.has_header("Allow: GET, HEAD"));
    CHECK(get(f.port(), "/metrics", "DELETE").status == 405);
    const auto head = get(f.port(), "/healthz", "HEAD");
    CHECK(head.status == 200);
    CHECK(head.has_header("Content-Length: 3"));
    CHECK(head.body.empty());
}

TEST_CASE("health: malformed and oversized requests", "[health]") {
    fixture f;
    CHECK(round_trip(f.port(), "NOT HTTP AT ALL\r\n\r\n").status == 400);
    const std::string big_header(sw::health::max_header_bytes + 100, 'x');
    CHECK(round_trip(f.port(),
                     "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big_header + "\r\n\r\n")
              .status == 431);
    // Just under the limit is fine.
    const std::string ok_header(sw::health::max_header_bytes - 200, 'x');
    CHECK(
        round_trip(f.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + ok_header + "\r\n\r\n")
            .status == 200);
    const std::string big_body(sw::health::max_body_bytes + 1, 'y');
    CHECK(round_trip(f.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                   std::to_string(big_body.size()) + "\r\n\r\n" + big_body)
              .status == 413);
    // The server is still fine afterwards.
    CHECK(get(f.port(), "/healthz").status == 200);
}

TEST_CASE("health: at most 16 connections at once", "[health]") {
    fixture f;
    std::vector<std::unique_ptr<client>> idle;
    for (std::size_t i = 0; i < sw::health::max_connections; ++i)
        idle.push_back(std::make_unique<client>(f.port()));
    // The 17th is accepted after the first 16 and closed unanswered.
    {
        client extra(f.port());
        extra.send("GET /healthz HTTP/1.1\r\n\r\n");
        CHECK(extra.read_all().empty());
    }
    // A slot frees up once an idle connection goes away.
    idle.pop_back();
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (status != 200 && std::chrono::steady_clock::now() < deadline) {
        status = get(f.port(), "/healthz").status;
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(status == 200);
}

TEST_CASE("health: stop() closes idle connections and the listener", "[health]") {
    fixture f;
    client idle(f.port());
    CHECK(get(f.port(), "/healthz").status == 200);  // idle is accepted by now
    std::promise<void> done;
    boost::asio::post(f.ioc, [&] {
        f.srv->stop();
        done.set_value();
    });
    done.get_future().wait();
    CHECK(idle.read_all().empty());
}

TEST_CASE("health: listen values", "[health]") {
    boost::asio::io_context ioc;
    const auto fn = [] { return snapshot{}; };
    for (const std::string bad :
         {"", "127.0.0.1", "127.0.0.1:", ":9177", "127.0.0.1:99999", "127.0.0.1:-1",
          "127.0.0.1:abc", "127.0.0.1:80x", "example.com:80", "::1:80", "[::1:80", "[zz]:80",
          "[]:80", "1.2.3:80"}) {
        INFO(bad);
        try {
            sw::health::server s(ioc.get_executor(), bad, fn);
            FAIL("accepted");
        } catch (const sw::failure& e) {
            CHECK(e.code() == sw::errc::config);
            CHECK(std::string(e.what()).rfind("health.listen: ", 0) == 0);
        }
    }
    sw::health::server a(ioc.get_executor(), "localhost:0", fn);
    CHECK(a.port() != 0);
    // A port already in use.
    try {
        sw::health::server b(ioc.get_executor(), "127.0.0.1:" + std::to_string(a.port()), fn);
        FAIL("bound twice");
    } catch (const sw::failure& e) {
        CHECK(e.code() == sw::errc::config);
        CHECK(std::string(e.what()).find("health.listen: cannot bind") == 0);
    }
}

TEST_CASE("health: health.listen must be loopback unless allowRemote", "[health][config]") {
    for (const std::string local :
         {"127.0.0.1:9177", "127.1.2.3:0", "localhost:80", "[::1]:9177"}) {
        INFO(local);
        CHECK_NOTHROW(sw::health::check_listen(local, false));
    }
    for (const std::string remote :
         {"0.0.0.0:9177", "10.1.2.3:9177", "[::]:9177", "[fe80::1]:80"}) {
        INFO(remote);
        try {
            sw::health::check_listen(remote, false);
            FAIL("accepted without allowRemote");
        } catch (const sw::failure& e) {
            CHECK(e.code() == sw::errc::config);
            CHECK(std::string(e.what()).rfind("health.listen: \"" + remote + "\"", 0) == 0);
            CHECK(std::string(e.what()).find("health.allowRemote") != std::string::npos);
        }
        CHECK_NOTHROW(sw::health::check_listen(remote, true));
    }
    // Malformed values are refused either way.
    for (const bool allow : {false, true})
        CHECK_THROWS_AS(sw::health::check_listen("example.com:80", allow), sw::failure);
}
