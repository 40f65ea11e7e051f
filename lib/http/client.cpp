// The HTTP/1.1 client: one attempt per send(), over plain TCP, TLS, a CONNECT tunnel or an
// absolute-form HTTP proxy, with a deadline per attempt and one idle keep-alive connection per
// (scheme, host, port, proxy). The client is meant for one executor that is not run from several
// threads at once (a strand or a single-threaded io_context): the idle pool is not locked.
#include "lib/http/client.hpp"

#include "lib/common/error.hpp"
#include "lib/http/proxy.hpp"
#include "platform/system.hpp"
#include "platform/tls_trust.hpp"
#include "version.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

namespace sw::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

bool is_ip_literal(const std::string& host) {
    error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

bool iequals(std::string_view a, std::string_view b) {
    return boost::beast::iequals(a, b);
}

/// Methods that may be sent twice without changing the outcome (RFC 9110 9.2.2).
bool idempotent(std::string_view method) {
    return iequals(method, "GET") || iequals(method, "HEAD") || iequals(method, "PUT") ||
           iequals(method, "DELETE") || iequals(method, "OPTIONS");
}

std::string default_port_suffix(const url& u) {
    const bool is_default =
        (u.scheme == "https" && u.port == 443) || (u.scheme == "http" && u.port == 80);
    return is_default ? "" : ":" + std::to_string(u.port);
}

std::string host_header(const url& u) {
    const bool v6 = u.host.find(':') != std::string::npos;
    return (v6 ? "[" + u.host + "]" : u.host) + default_port_suffix(u);
}

std::string ms(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

bool is_tls_verify_error(const error_code& ec) {
    if (ec.category() != net::error::get_ssl_category()) return false;
    return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
           SSL_R_CERTIFICATE_VERIFY_FAILED;
}

// Errors after the connection is up.
failure_kind classify(const error_code& ec) {
    if (ec == beast::error::timeout) return failure_kind::timeout;
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
        ec == bhttp::error::buffer_overflow) {
        return failure_kind::protocol;
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        return failure_kind::protocol;
    }
    if (ec.category() == net::error::get_ssl_category() && ec != ssl::error::stream_truncated) {
        return failure_kind::tls;
    }
    return failure_kind::io;
}

/// Interim (1xx) responses skipped before a final one; more is a protocol error.
constexpr std::size_t max_interim_responses = 16;

/// True when the kernel holds bytes not yet read from the socket (or the query fails).
bool has_unread_bytes(beast::tcp_stream& tcp) {
    error_code ec;
    const auto n = tcp.socket().available(ec);
    return ec || n != 0;
}

/// The SSL ex_data index that holds the host (std::string*) a connection's certificate must name.
int host_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

/// The client context's certificate verification (SSL_CTX_set_cert_verify_callback):
/// OpenSSL's (X509_verify_cert, with the connection's verify callback); when `ask_system` is not
/// null, a chain it accepted is still refused (X509_V_ERR_CERT_REJECTED) if the system
/// distrusts one of its certificates (platform::system_distrusts: Windows' Disallowed store);
/// then, when OpenSSL found
/// no trusted issuer (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, _UNABLE_TO_GET_ISSUER_CERT,
/// _SELF_SIGNED_CERT_IN_CHAIN) and `ask_system` is not null (neither SSL_CERT_FILE nor
/// SSL_CERT_DIR is set), the system's verdict (platform::system_verifies_server_chain; Windows'
/// chain engine, which fetches roots on demand as Go's runner relies on; POSIX: none). The host
/// name is checked as ssl::host_name_verification does (X509_check_host, X509_check_ip_asc)
/// and, for a name, by the system too. OpenSSL's error stays the result when the system refuses.
int verify_server_chain(X509_STORE_CTX* sctx, void* ask_system) {
    const int ok = X509_verify_cert(sctx);
    if (ask_system == nullptr) return ok;
    if (ok == 1) {
        if (!platform::system_distrusts(X509_STORE_CTX_get0_chain(sctx))) return 1;
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    const int err = X509_STORE_CTX_get_error(sctx);
    if (err != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY &&
        err != X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT && err != X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
        return ok;
    auto* ssl_conn =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    const auto* host =
        ssl_conn ? static_cast<const std::string*>(SSL_get_ex_data(ssl_conn, host_index()))
                 : nullptr;
    X509* leaf = X509_STORE_CTX_get0_cert(sctx);
    if (host == nullptr || leaf == nullptr) return ok;
    const bool ip_host = is_ip_literal(*host);
    const bool names_host =
        ip_host ? X509_check_ip_asc(leaf, host->c_str(), 0) == 1
                : X509_check_host(leaf, host->data(), host->size(), 0, nullptr) == 1;
    if (!names_host ||
        !platform::system_verifies_server_chain(leaf, X509_STORE_CTX_get0_untrusted(sctx),
                                                ip_host ? std::string() : *host))
        return ok;
    X509_STORE_CTX_set_error(sctx, X509_V_OK);
    return 1;
}

}  // namespace

struct connection {
    explicit connection(const net::any_io_executor& ex) : tcp(ex) {}
    beast::tcp_stream tcp;
    std::unique_ptr<ssl::stream<beast::tcp_stream&>> tls;
    std::string tls_host;  // the host the server's certificate must name (host_index())
    beast::flat_buffer buffer;
};

struct client::impl {
    net::any_io_executor ex;
    std::unique_ptr<ssl::context> tls_ctx;
    std::map<std::string, std::unique_ptr<connection>> idle;

    ssl::context& tls_context(const std::string& shown_url) {
        if (tls_ctx) return *tls_ctx;
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
        ctx->set_verify_mode(ssl::verify_peer);
        // SSL_CERT_FILE and SSL_CERT_DIR as OpenSSL reads them (each replaces one default
        // location; set to "" it replaces it with nothing), then the system's trust for the
        // defaults they leave in place (platform/tls_trust.hpp: POSIX OpenSSL's default paths,
        // Windows the ROOT and CA certificate stores).
        error_code ec;
        // UTF-8 (OpenSSL opens a UTF-8 name by its UTF-16 form on Windows).
        const auto env_file = platform::environment_variable(X509_get_default_cert_file_env());
        const auto env_dir = platform::environment_variable(X509_get_default_cert_dir_env());
        if (env_dir && !env_dir->empty()) {
            ctx->add_verify_path(*env_dir, ec);
            if (ec) {
                // The operator's setting, not a network problem: retrying cannot help (78).
                throw failure(errc::config, shown_url + ": cannot use SSL_CERT_DIR " + *env_dir +
                                                ": " + ec.message());
            }
        }
        if (env_file && !env_file->empty()) {
            ctx->load_verify_file(*env_file, ec);
            if (ec) {
                throw failure(errc::config, shown_url + ": cannot load SSL_CERT_FILE " + *env_file +
                                                ": " + ec.message());
            }
        }
        platform::add_system_trust(SSL_CTX_get_cert_store(ctx->native_handle()),
                                   {.file = !env_file, .dir = !env_dir});
        // Any non-null argument asks the system when OpenSSL finds no trusted issuer.
        static int ask_system = 1;
        SSL_CTX_set_cert_verify_callback(ctx->native_handle(), verify_server_chain,
                                         !env_file && !env_dir ? &ask_system : nullptr);
        tls_ctx = std::move(ctx);
        return *tls_ctx;
    }

    // Resolves `host` within `deadline`; IP literals need no lookup.
    net::awaitable<std::vector<tcp::endpoint>> resolve(const std::string& host, std::uint16_t port,
                                                       clock_type::time_point deadline,
                                                       const std::string& shown_url,
                                                       std::chrono::milliseconds limit) {
        error_code ec;
        const auto ip = net::ip::make_address(host, ec);
        if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(ip, port)};
        auto resolver = std::make_shared<tcp::resolver>(ex);
        net::steady_timer timer(ex);
        timer.expires_at(deadline);
        auto timed_out = std::make_shared<bool>(false);
        timer.async_wait([resolver, timed_out](const error_code& e) {
            if (e) return;
            *timed_out = true;
            resolver->cancel();
        });
        auto [rec, results] =
            co_await resolver->async_resolve(host, std::to_string(port), tuple_awaitable);
        timer.cancel();
        if (*timed_out) {
            throw error(failure_kind::connect,
                        shown_url + ": resolving " + host + " timed out after " + ms(limit));
        }
        if (rec) {
            throw error(failure_kind::connect,
                        shown_url + ": cannot resolve " + host + ": " + rec.message());
        }
        std::vector<tcp::endpoint> endpoints;
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
        co_return endpoints;
    }

    // A new connection to the origin (or through the proxy), TLS included.
    net::awaitable<std::unique_ptr<connection>> open(const url& u, const std::optional<proxy>& px,
                                                     const options& opts,
                                                     clock_type::time_point deadline,
                                                     const std::string& shown_url) {
        const auto connect_deadline = std::min(deadline, clock_type::now() + opts.connect_timeout);
        const auto connect_limit = std::min(opts.connect_timeout, opts.timeout);
        const std::string& host = px ? px->host : u.host;
        const std::uint16_t port = px ? px->port : u.port;
        const std::string via = px ? " via proxy " + host_port(px->host, px->port) : "";

        auto conn = std::make_unique<connection>(ex);
        const auto endpoints =
            co_await resolve(host, port, connect_deadline, shown_url, connect_limit);
        conn->tcp.expires_at(connect_deadline);
        auto [cec, ep] = co_await conn->tcp.async_connect(endpoints, tuple_awaitable);
        (void)ep;
        if (cec == beast::error::timeout) {
            throw error(failure_kind::connect,
                        shown_url + ": connect timed out after " + ms(connect_limit) + via);
        }
        if (cec) {
            throw error(failure_kind::connect,
                        shown_url + ": cannot connect" + via + ": " + cec.message());
        }
        conn->tcp.socket().set_option(tcp::no_delay(true));
        conn->tcp.expires_at(deadline);

        if (u.scheme != "https") co_return conn;
        if (px) co_await tunnel(*conn, u, *px, shown_url);

        auto& ctx = tls_context(shown_url);
        conn->tls = std::make_unique<ssl::stream<beast::tcp_stream&>>(conn->tcp, ctx);
        SSL* native = conn->tls->native_handle();
        conn->tls_host = u.host;
        SSL_set_ex_data(native, host_index(), &conn->tls_host);
        const bool ip_host = is_ip_literal(u.host);
        if (!ip_host) SSL_set_tlsext_host_name(native, u.host.c_str());
        conn->tls->set_verify_mode(ssl::verify_peer);
        // ssl::host_name_verification decides; on a mismatch record why, so that the error
        // message can say so.
        conn->tls->set_verify_callback([check = ssl::host_name_verification(u.host), ip_host](
                                           bool preverified, ssl::verify_context& vctx) mutable {
            const bool ok = check(preverified, vctx);
            if (preverified && !ok) {
                X509_STORE_CTX_set_error(vctx.native_handle(), ip_host
                                                                   ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                                   : X509_V_ERR_HOSTNAME_MISMATCH);
            }
            return ok;
        });
        auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, tuple_awaitable);
        if (hec) {
            if (hec == beast::error::timeout) {
                throw error(failure_kind::timeout,
                            shown_url + ": TLS handshake timed out after " + ms(opts.timeout));
            }
            if (is_tls_verify_error(hec)) {
                const long result = SSL_get_verify_result(native);
                const std::string reason =
                    result != X509_V_OK ? X509_verify_cert_error_string(result) : hec.message();
                throw error(failure_kind::tls_verify,
                            shown_url + ": TLS certificate verification failed: " + reason);
            }
            throw error(failure_kind::tls, shown_url + ": TLS handshake failed: " + hec.message());
        }
        co_return conn;
    }

    // Asks the proxy for a tunnel to the origin (CONNECT host:port).
    net::awaitable<void> tunnel(connection& conn, const url& u, const proxy& px,
                                const std::string& shown_url) {
        const std::string authority = host_port(u.host, u.port);
        bhttp::request<bhttp::empty_body> req(bhttp::verb::connect, authority, 11);
        req.set(bhttp::field::host, authority);
        req.set(bhttp::field::user_agent, std::string("start-worker/") + sw::version);
        if (!px.authorization.empty()) req.set(bhttp::field::proxy_authorization, px.authorization);
        const std::string via = " via proxy " + host_port(px.host, px.port);
        auto [wec, wn] = co_await bhttp::async_write(conn.tcp, req, tuple_awaitable);
        (void)wn;
        if (!wec) {
            bhttp::response_parser<bhttp::empty_body> parser;
            parser.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel follows
            auto [rec, rn] =
                co_await bhttp::async_read_header(conn.tcp, conn.buffer, parser, tuple_awaitable);
            (void)rn;
            if (!rec) {
                const unsigned status = parser.get().result_int();
                if (status / 100 != 2) {
                    throw error(failure_kind::connect,
                                shown_url + ": proxy " + host_port(px.host, px.port) +
                                    " refused CONNECT with status " + std::to_string(status));
                }
                co_return;
            }
            wec = rec;
        }
        if (wec == beast::error::timeout) {
            throw error(failure_kind::timeout, shown_url + ": proxy CONNECT timed out" + via);
        }
        throw error(failure_kind::connect,
                    shown_url + ": proxy CONNECT failed" + via + ": " + wec.message());
    }

    // Writes the request and reads its final response into `parser`. Interim (1xx) responses
    // are read and discarded (RFC 9110 15.2: a client must accept any number of them before
    // the final response, even unasked); 101 Switching Protocols is a protocol error, since no
    // upgrade was asked for. At most max_interim_responses interim responses are skipped.
    template <class Stream>
    net::awaitable<std::pair<error_code, bool>> exchange(
        Stream& stream, connection& conn, bhttp::request<bhttp::string_body>& req,
        std::optional<bhttp::response_parser<bhttp::string_body>>& parser, const options& opts,
        bool head) {
        auto [wec, wn] = co_await bhttp::async_write(stream, req, tuple_awaitable);
        (void)wn;
        if (wec) co_return std::pair{wec, false};
        bool got_some = false;
        for (std::size_t interim = 0;; ++interim) {
            parser.emplace();
            parser->body_limit(opts.max_body);
            parser->header_limit(64 * 1024);
            if (head) parser->skip(true);
            auto [rec, rn] =
                co_await bhttp::async_read(stream, conn.buffer, *parser, tuple_awaitable);
            (void)rn;
            got_some = got_some || parser->got_some();
            if (rec) co_return std::pair{rec, got_some};
            const unsigned status = parser->get().result_int();
            if (status / 100 != 1) co_return std::pair{error_code{}, got_some};
            if (status == 101 || interim >= max_interim_responses) {
                co_return std::pair{error_code(bhttp::error::bad_status), got_some};
            }
        }
    }
};

client::client(boost::asio::any_io_executor ex) : impl_(std::make_unique<impl>()) {
    impl_->ex = std::move(ex);
}

client::~client() = default;

void client::close_idle() {
    impl_->idle.clear();
}

boost::asio::awaitable<response> client::send(request req, options opts) {
    const url u = parse_url(req.url);
    const std::string& shown_url = req.url;
    std::optional<proxy> px;
    if (opts.use_proxy) {
        try {
            px = proxy_from_environment(u);
        } catch (const std::invalid_argument& e) {
            // A malformed HTTPS_PROXY/HTTP_PROXY is the operator's to fix: 78, not retried.
            throw failure(errc::config, shown_url + ": " + e.what());
        }
    }
    const std::string key =
        u.scheme + "://" + host_port(u.host, u.port) +
        (px ? " proxy " + host_port(px->host, px->port) + " " + px->authorization : "");

    bhttp::request<bhttp::string_body> out;
    out.method_string(req.method);
    out.version(11);
    // Through a plain HTTP proxy the request-target is the absolute URL.
    out.target(px && u.scheme == "http" ? "http://" + host_header(u) + u.target : u.target);
    out.set(bhttp::field::host, host_header(u));
    bool has_agent = false;
    for (const auto& [name, value] : req.headers) {
        if (iequals(name, "Host") || iequals(name, "Content-Length") ||
            iequals(name, "Transfer-Encoding")) {
            continue;
        }
        if (iequals(name, "User-Agent")) has_agent = true;
        out.insert(name, value);
    }
    if (!has_agent) out.set(bhttp::field::user_agent, std::string("start-worker/") + sw::version);
    if (px && u.scheme == "http" && !px->authorization.empty()) {
        out.set(bhttp::field::proxy_authorization, px->authorization);
    }
    out.body() = std::move(req.body);
    out.prepare_payload();

    const auto deadline = clock_type::now() + opts.timeout;
    const bool head = iequals(req.method, "HEAD");
    std::unique_ptr<connection> conn;
    bool reused = false;
    if (auto it = impl_->idle.find(key); it != impl_->idle.end()) {
        conn = std::move(it->second);
        impl_->idle.erase(it);
        // While idle, the server may have closed the connection or sent something unasked:
        // such a connection cannot carry this request's response alone.
        if (conn->buffer.size() != 0 || has_unread_bytes(conn->tcp)) {
            conn.reset();
        } else {
            reused = true;
        }
    }
    for (;;) {
        if (!conn) conn = co_await impl_->open(u, px, opts, deadline, shown_url);
        conn->tcp.expires_at(deadline);
        std::optional<bhttp::response_parser<bhttp::string_body>> parser;
        // No co_await inside ?: (GCC 12 miscompiles it).
        std::pair<error_code, bool> exchanged;
        if (conn->tls)
            exchanged = co_await impl_->exchange(*conn->tls, *conn, out, parser, opts, head);
        else
            exchanged = co_await impl_->exchange(conn->tcp, *conn, out, parser, opts, head);
        auto [ec, got_some] = exchanged;
        if (ec) {
            conn.reset();
            const failure_kind kind = classify(ec);
            // A kept-alive connection the server had already closed: try once on a fresh one.
            // Only idempotent requests: a POST may have been acted on before the server
            // closed the connection (a single-use secret would be burnt by a second send).
            if (reused && !got_some && kind != failure_kind::timeout && idempotent(req.method)) {
                reused = false;
                continue;
            }
            if (kind == failure_kind::timeout) {
                throw error(kind, shown_url + ": timed out after " + ms(opts.timeout));
            }
            if (ec == bhttp::error::body_limit) {
                throw error(kind, shown_url + ": response body exceeds " +
                                      std::to_string(opts.max_body) + " bytes");
            }
            const char* what = kind == failure_kind::protocol ? ": malformed HTTP response: "
                               : got_some                     ? ": response cut short: "
                                                              : ": no response: ";
            throw error(kind, shown_url + what + ec.message());
        }
        auto res = parser->release();
        response result;
        result.status = res.result_int();
        for (const auto& field : res) {
            result.headers.emplace_back(std::string(field.name_string()),
                                        std::string(field.value()));
        }
        result.body = std::move(res.body());
        // A connection goes back to the pool only when nothing beyond this response has
        // arrived: bytes the server sent unasked would otherwise be read as the next
        // request's response.
        if (res.keep_alive() && out.keep_alive() && conn->buffer.size() == 0 &&
            !has_unread_bytes(conn->tcp)) {
            conn->tcp.expires_never();
            impl_->idle[key] = std::move(conn);
        }
        co_return result;
    }
}

}  // namespace sw::http
