// libFuzzer target: HTTP response parsing in the real client (lib/http/client: interim
// responses, keep-alive, chunked bodies, limits) and the Taskcluster response parsers behind it
// (lib/tc/client: register, reregister, secrets, shouldWorkerTerminate). A loopback server in
// the same io_context answers every request with bytes from the input.
//
// Input: first byte = mode; the rest = the server's raw answer (modes 0-2: the whole HTTP
// response as bytes; modes 3-7: the JSON body of a 200 answer to a Taskcluster call).
#include "lib/common/error.hpp"
#include "lib/http/client.hpp"
#include "lib/tc/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct world {
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::string answer;
    sw::http::client http{io.get_executor()};

    world() {
        ::setenv("NO_PROXY", "*", 1);
        net::co_spawn(io, serve(), net::detached);
    }
    std::string base() const {
        return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    }
    net::awaitable<void> serve() {
        for (;;) {
            auto [ec, s] = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
            if (ec) co_return;
            net::co_spawn(io, session(std::move(s)), net::detached);
        }
    }
    net::awaitable<void> session(tcp::socket s) {
        boost::beast::flat_buffer buf;
        for (;;) {
            boost::beast::http::request<boost::beast::http::string_body> req;
            auto [rec, rn] = co_await boost::beast::http::async_read(
                s, buf, req, net::as_tuple(net::use_awaitable));
            if (rec) co_return;
            auto [wec, wn] = co_await net::async_write(s, net::buffer(answer),
                                                       net::as_tuple(net::use_awaitable));
            if (wec) co_return;
            boost::system::error_code ignored;
            s.shutdown(tcp::socket::shutdown_send, ignored);
        }
    }
};

world& w() {
    static world* instance = new world;  // never destroyed: libFuzzer exits without unwinding
    return *instance;
}

template <class T>
net::awaitable<void> swallow(net::awaitable<T> a) {
    try {
        co_await std::move(a);
    } catch (const sw::failure&) {      // tc::api_error
    } catch (const sw::http::error&) {  // network / malformed HTTP
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto& wd = w();
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const int mode = data[0] % 8;
    if (mode <= 2) {
        wd.answer = rest;
    } else {
        wd.answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(rest.size()) + "\r\n\r\n" + rest;
    }
    sw::http::options opts;
    opts.timeout = std::chrono::milliseconds(2000);
    opts.max_body = 64 * 1024;
    sw::tc::client_options tc_opts;
    tc_opts.retry_scale = 0.0001;
    sw::tc::client tc(wd.http, wd.base(), sw::credentials{"fuzz/client", "token", ""}, tc_opts);
    bool done = false;
    auto run = [&](net::awaitable<void> op) {
        net::co_spawn(wd.io, std::move(op), [&](std::exception_ptr e) {
            done = true;
            if (e) std::rethrow_exception(e);  // anything else escaping is a bug
        });
        wd.io.restart();
        while (!done) wd.io.run_one();
        done = false;
    };
    switch (mode) {
        case 0:
        case 1:
        case 2: {
            sw::http::request req;
            req.method = mode == 0 ? "GET" : mode == 1 ? "POST" : "HEAD";
            req.url = wd.base() + "/x";
            req.body = mode == 1 ? "{}" : "";
            // Twice: the second call must not see the first one's leftovers.
            run(swallow(wd.http.send(req, opts)));
            run(swallow(wd.http.send(req, opts)));
            break;
        }
        case 3:
            run(swallow(tc.register_worker("proj/pool", "prov", "wg", "wid",
                                           boost::json::object{{"staticSecret", "s"}},
                                           std::nullopt)));
            break;
        case 4:
            run(swallow(tc.reregister_worker("proj/pool", "wg", "wid", "secret")));
            break;
        case 5:
            run(swallow(tc.get_secret("worker-pool:proj/pool")));
            break;
        case 6:
            run(swallow(tc.should_worker_terminate("proj/pool", "wg", "wid")));
            break;
        default: {
            sw::tc::error_report r{"k", "t", "d", {}};
            run(swallow(tc.report_worker_error("proj/pool", "wg", "wid", r)));
            break;
        }
    }
    wd.http.close_idle();
    return 0;
}
