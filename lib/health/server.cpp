// The health endpoint: an acceptor coroutine and one short coroutine per connection, on the
// daemon's executor. Every connection reads one bounded request, answers it, and closes.
#include "lib/health/server.hpp"

#include "lib/common/error.hpp"
#include "version.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <exception>
#include <list>
#include <utility>

namespace sw::health {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::chrono::seconds io_timeout{10};
// After answering a request we did not read completely (too large, malformed), the rest of it
// is read and discarded for a moment, so that closing does not reset the connection before the
// client has read the answer.
constexpr std::chrono::seconds linger_timeout{1};
constexpr std::size_t linger_bytes = 64 * 1024;

constexpr const char* plain_text = "text/plain; charset=utf-8";
constexpr const char* prometheus_text = "text/plain; version=0.0.4; charset=utf-8";

tcp::endpoint parse_listen(const std::string& listen) {
    const auto bad = [&](std::string_view why) {
        return config_error("health.listen", "\"" + listen + "\" " + std::string(why));
    };
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size())
        throw bad("is not host:port (e.g. 127.0.0.1:9177)");
    std::string host = listen.substr(0, colon);
    const std::string port_text = listen.substr(colon + 1);

    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (ec != std::errc() || ptr != end || port_text.size() > 5 || port > 65535)
        throw bad("has no valid port (0-65535)");

    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') throw bad("is not host:port");
        host = host.substr(1, host.size() - 2);
        boost::system::error_code aec;
        const auto addr = net::ip::make_address_v6(host, aec);
        if (aec) throw bad("has no valid IPv6 address in brackets");
        return {addr, static_cast<std::uint16_t>(port)};
    }
    if (host.find(':') != std::string::npos)
        throw bad("is not host:port (write IPv6 addresses in brackets: [::1]:9177)");
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code aec;
    const auto addr = net::ip::make_address_v4(host, aec);
    if (aec) throw bad("has no valid host: an IP address or localhost");
    return {addr, static_cast<std::uint16_t>(port)};
}

struct reply {
    unsigned status = 200;
    const char* content_type = plain_text;
    std::string body;
    bool allow = false;  // add "Allow: GET, HEAD" (405)
};

reply text(unsigned status, std::string body) {
    return reply{status, plain_text, std::move(body), false};
}

// Prometheus label value escaping: backslash, double quote and newline.
std::string label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels,
            const std::string& value) {
    out.append(name).append(labels).append(" ").append(value).append("\n");
}

void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::string_view labels, const std::string& value) {
    header(out, name, type, help);
    sample(out, name, labels, value);
}

std::string flag(bool b) {
    return b ? "1" : "0";
}

}  // namespace

void counters::worker_exited(int code) {
    // Exit statuses are 0..255 (128 + n for signal n); anything else shares one label.
    ++worker_exits[code >= 0 && code <= 255 ? code : -1];
}

void counters::protocol_message(direction d, std::string_view type) {
    std::size_t i = 0;
    while (i + 1 < message_types.size() && message_types[i] != type) ++i;
    ++(d == direction::received ? received : sent)[i];
}

std::string render_metrics(const snapshot& s) {
    std::string out;
    metric(out, "start_worker_build_info", "gauge",
           "The running start-worker's version (the value is always 1).",
           "{version=\"" + label_value(sw::version) + "\"}", "1");
    metric(out, "start_worker_up", "gauge", "Whether start-worker is answering (always 1).", "",
           "1");
    if (s.uptime_seconds)
        metric(out, "start_worker_uptime_seconds", "gauge", "Seconds since start-worker started.",
               "", fmt::format("{:.3f}", *s.uptime_seconds));
    metric(out, "start_worker_stage", "gauge",
           "The runner's current stage (the one labelled is 1).",
           "{stage=\"" + label_value(s.stage.empty() ? "unknown" : s.stage) + "\"}", "1");
    metric(out, "start_worker_worker_running", "gauge", "Whether the worker process is running.",
           "", flag(s.worker_running));
    if (s.credentials_expiry_unix) {
        metric(out, "start_worker_credentials_expiry_timestamp_seconds", "gauge",
               "When the worker's current Taskcluster credentials expire (unix time).", "",
               std::to_string(*s.credentials_expiry_unix));
        if (s.now_unix)
            metric(out, "start_worker_credentials_expiry_seconds", "gauge",
                   "Seconds until the worker's current Taskcluster credentials expire (negative "
                   "once expired).",
                   "", std::to_string(*s.credentials_expiry_unix - *s.now_unix));
    }
    metric(out, "start_worker_renewals_total", "counter", "Successful credential renewals.", "",
           std::to_string(s.renewals));
    metric(out, "start_worker_renewal_failures_total", "counter", "Failed credential renewals.", "",
           std::to_string(s.renewal_failures));
    metric(out, "start_worker_termination_notice", "gauge",
           "Whether the cloud provider has announced this instance's termination.", "",
           flag(s.termination_notice));
    metric(out, "start_worker_termination_notices_total", "counter",
           "Termination notices received from the cloud provider.", "",
           std::to_string(s.counts.termination_notices));

    const auto& c = s.counts;
    header(out, "start_worker_protocol_messages_total", "counter",
           "Worker-runner protocol messages, by direction and type (unknown types as \"other\").");
    for (const auto dir : {counters::direction::received, counters::direction::sent}) {
        const auto& n = dir == counters::direction::received ? c.received : c.sent;
        const char* d = dir == counters::direction::received ? "received" : "sent";
        for (std::size_t i = 0; i < counters::message_types.size(); ++i)
            sample(out, "start_worker_protocol_messages_total",
                   fmt::format("{{direction=\"{}\",type=\"{}\"}}", d, counters::message_types[i]),
                   std::to_string(n[i]));
    }
    metric(out, "start_worker_worker_starts_total", "counter", "Worker processes started.", "",
           std::to_string(c.worker_starts));
    header(out, "start_worker_worker_exits_total", "counter",
           "Worker process exits, by exit status (128+n when signal n ended the worker).");
    for (const auto& [code, n] : c.worker_exits)
        sample(
            out, "start_worker_worker_exits_total",
            fmt::format("{{code=\"{}\"}}", code < 0 ? std::string("other") : std::to_string(code)),
            std::to_string(n));
    metric(out, "start_worker_log_messages_dropped_total", "counter",
           "Log messages dropped because the log destination could not keep up.", "",
           std::to_string(s.log_dropped));
    metric(out, "start_worker_error_reports_dropped_total", "counter",
           "Error reports (reportWorkerError) dropped because worker-manager could not keep up "
           "(one call in flight, a bounded number waiting).",
           "", std::to_string(s.error_reports_dropped));
    metric(out, "start_worker_error_reports_pending", "gauge",
           "Error reports waiting to be sent, the one in flight included.", "",
           std::to_string(s.error_reports_pending));
    return out;
}

void check_listen(const std::string& listen, bool allow_remote) {
    const tcp::endpoint ep = parse_listen(listen);
    if (!allow_remote && !ep.address().is_loopback())
        throw config_error("health.listen",
                           "\"" + listen +
                               "\" is not a loopback address and the endpoint has no "
                               "authentication: set health.allowRemote: true to serve it there");
}

struct server::impl : std::enable_shared_from_this<impl> {
    net::any_io_executor ex;
    std::function<snapshot()> fn;
    tcp::acceptor acceptor;
    std::uint16_t port = 0;
    bool started = false;
    bool stopped = false;
    std::list<beast::tcp_stream*> connections;  // open ones, for stop(); single-threaded
    net::steady_timer backoff_timer;
    std::uint64_t accept_errors = 0;

    impl(net::any_io_executor e, std::function<snapshot()> f)
        : ex(std::move(e)), fn(std::move(f)), acceptor(ex), backoff_timer(ex) {}

    reply route(std::string_view method, std::string_view target) {
        if (method != "GET" && method != "HEAD") {
            reply r = text(405, "method not allowed\n");
            r.allow = true;
            return r;
        }
        const std::string_view path = target.substr(0, target.find('?'));
        if (path != "/healthz" && path != "/readyz" && path != "/metrics")
            return text(404, "not found\n");
        snapshot s;
        try {
            s = fn();
        } catch (const std::exception& e) {
            return text(500, std::string("snapshot failed: ") + e.what() + "\n");
        }
        if (path == "/healthz") return s.finished ? text(503, "finished\n") : text(200, "ok\n");
        if (path == "/readyz") {
            if (s.worker_running && !s.finished) return text(200, "ok\n");
            return text(503, (s.stage.empty() ? std::string("unknown") : s.stage) + "\n");
        }
        return reply{200, prometheus_text, render_metrics(s), false};
    }

    static net::awaitable<void> answer(beast::tcp_stream& stream, const reply& r, bool head) {
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
        res.set(bhttp::field::content_type, r.content_type);
        res.set(bhttp::field::cache_control, "no-store");
        if (r.allow) res.set(bhttp::field::allow, "GET, HEAD");
        res.keep_alive(false);
        res.body() = r.body;
        res.prepare_payload();
        stream.expires_after(io_timeout);
        if (head) {
            bhttp::response_serializer<bhttp::string_body> sr(res);
            co_await bhttp::async_write_header(stream, sr, net::as_tuple(net::use_awaitable));
        } else {
            co_await bhttp::async_write(stream, res, net::as_tuple(net::use_awaitable));
        }
    }

    // Reads and discards what the client still sends, briefly, then lets the caller close.
    static net::awaitable<void> linger(beast::tcp_stream& stream) {
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream.expires_after(linger_timeout);
        std::array<char, 4096> sink;
        std::size_t total = 0;
        while (total < linger_bytes) {
            auto [ec, n] = co_await stream.async_read_some(net::buffer(sink),
                                                           net::as_tuple(net::use_awaitable));
            if (ec) break;
            total += n;
        }
    }

    net::awaitable<void> session(beast::tcp_stream stream) {
        // Keeps this impl alive until the coroutine ends, and unlists the connection.
        const auto self = shared_from_this();
        const auto it = connections.insert(connections.end(), &stream);
        struct unlist {
            impl* i;
            std::list<beast::tcp_stream*>::iterator it;
            ~unlist() { i->connections.erase(it); }
        } guard{this, it};

        beast::flat_buffer buffer;
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(max_header_bytes);
        parser.body_limit(max_body_bytes);
        stream.expires_after(io_timeout);
        auto [ec, n] =
            co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
        (void)n;
        if (stopped) co_return;
        if (!ec) {
            const auto& req = parser.get();
            co_await answer(stream, route(req.method_string(), req.target()),
                            req.method() == bhttp::verb::head);
            co_await linger(stream);
        } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
            co_await answer(stream, text(431, "request header too large\n"), false);
            co_await linger(stream);
        } else if (ec == bhttp::error::body_limit) {
            co_await answer(stream, text(413, "request body too large\n"), false);
            co_await linger(stream);
        } else if (ec != bhttp::error::end_of_stream && ec != net::error::eof &&
                   ec != beast::error::timeout && ec != net::error::operation_aborted &&
                   ec != net::error::connection_reset) {
            co_await answer(stream, text(400, "bad request\n"), false);
            co_await linger(stream);
        }
        boost::system::error_code ignored;
        stream.socket().close(ignored);
    }

    net::awaitable<void> accept_loop() {
        const auto self = shared_from_this();
        std::chrono::milliseconds backoff{0};
        while (!stopped) {
            auto [ec, socket] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
            if (stopped) co_return;
            if (ec) {
                if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
                ++accept_errors;
                // Out of descriptors or memory, a pending connection stays pending and accept
                // fails again at once: wait (10 ms doubling to 1 s) instead of spinning a core
                // (issue 14, item 2). Other errors (a reset before accept) retry at once.
                if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
                    ec == net::error::no_memory ||
                    ec == boost::system::errc::too_many_files_open_in_system) {
                    backoff =
                        std::clamp(backoff * 2, std::chrono::milliseconds(10), max_accept_backoff);
                    backoff_timer.expires_after(backoff);
                    co_await backoff_timer.async_wait(net::as_tuple(net::use_awaitable));
                }
                continue;
            }
            backoff = std::chrono::milliseconds(0);
            if (connections.size() >= max_connections) {
                boost::system::error_code ignored;
                socket.close(ignored);  // over the limit: refused without an answer
                continue;
            }
            net::co_spawn(ex, session(beast::tcp_stream(std::move(socket))),
                          [](const std::exception_ptr&) {});
        }
    }
};

server::server(net::any_io_executor ex, const std::string& listen, std::function<snapshot()> fn)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(fn))) {
    const tcp::endpoint ep = parse_listen(listen);
    auto& a = impl_->acceptor;
    boost::system::error_code ec;
    const auto fail = [&](const char* what) {
        return config_error("health.listen",
                            "cannot " + std::string(what) + " " + listen + ": " + ec.message());
    };
    a.open(ep.protocol(), ec);
    if (ec) throw fail("open a socket for");
    a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) throw fail("configure");
    a.bind(ep, ec);
    if (ec) throw fail("bind");
    a.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw fail("listen on");
    impl_->port = a.local_endpoint(ec).port();
}

server::~server() {
    stop();
}

void server::start() {
    if (impl_->started || impl_->stopped) return;
    impl_->started = true;
    net::co_spawn(impl_->ex, impl_->accept_loop(), [](const std::exception_ptr&) {});
}

void server::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->backoff_timer.cancel();
    for (auto* s : impl_->connections) s->socket().close(ignored);
}

std::uint64_t server::accept_errors() const {
    return impl_->accept_errors;
}

std::uint16_t server::port() const {
    return impl_->port;
}

}  // namespace sw::health
