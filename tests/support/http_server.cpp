// The loopback HTTP/1.1 test server: one io_context on a background thread, one coroutine per
// connection, keep-alive, faults (delay, stall, reset) and optional TLS.
#include "tests/support/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <strings.h>
#include <thread>

namespace sw::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

std::string http_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) {
            return v;
        }
    }
    return {};
}

namespace {

constexpr std::size_t max_request_body = 16 * 1024 * 1024;

http_request to_test_request(const bhttp::request<bhttp::string_body>& req, std::uint64_t conn) {
    http_request out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    const auto q = out.target.find('?');
    out.path = out.target.substr(0, q);
    if (q != std::string::npos) out.query = out.target.substr(q + 1);
    for (const auto& field : req) {
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = req.body();
    out.connection_id = conn;
    return out;
}

}  // namespace

struct http_server::impl {
    http_handler handler;
    std::optional<net::ssl::context> tls;
    std::unique_ptr<net::io_context> ioc = std::make_unique<net::io_context>();
    std::optional<tcp::acceptor> acceptor;
    std::uint16_t port = 0;
    std::atomic<std::uint64_t> connections{0};
    std::thread thread;

    std::mutex mutex;
    std::condition_variable cv;
    bool stopped = false;

    // Waits `d` without blocking the io thread (other connections go on being served).
    static net::awaitable<void> wait(std::chrono::steady_clock::duration d) {
        net::steady_timer timer(co_await net::this_coro::executor);
        timer.expires_after(d);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }

    static net::awaitable<void> wait_forever() {
        net::steady_timer timer(co_await net::this_coro::executor);
        timer.expires_at(net::steady_timer::time_point::max());
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }

    http_response call_handler(const http_request& req) {
        try {
            return handler(req);
        } catch (const std::exception& e) {
            http_response r;
            r.status = 500;
            r.headers = {{"Content-Type", "text/plain"}};
            r.body = std::string("test handler threw: ") + e.what();
            return r;
        }
    }

    // Serves requests on one connection until it closes; returns false if the connection must
    // be dropped without a graceful shutdown (reset fault).
    template <class Stream>
    net::awaitable<bool> serve(Stream& stream, std::uint64_t conn) {
        beast::flat_buffer buffer;
        for (;;) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.body_limit(max_request_body);
            parser.header_limit(64 * 1024);
            auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser,
                                                      net::as_tuple(net::use_awaitable));
            (void)n;
            if (ec) co_return true;
            const auto& req = parser.get();
            const http_response out = call_handler(to_test_request(req, conn));
            if (out.delay.count() > 0) co_await wait(out.delay);
            if (out.stall) {
                co_await wait_forever();
                co_return false;
            }
            if (out.reset) co_return false;

            bhttp::response<bhttp::string_body> res;
            res.version(11);
            res.result(out.status);
            bool has_type = false;
            for (const auto& [k, v] : out.headers) {
                if (::strcasecmp(k.c_str(), "Content-Type") == 0) has_type = true;
                res.insert(k, v);
            }
            if (!has_type) res.set(bhttp::field::content_type, "application/json");
            res.keep_alive(req.keep_alive());
            res.body() = out.body;
            res.prepare_payload();
            auto [wec, wn] =
                co_await bhttp::async_write(stream, res, net::as_tuple(net::use_awaitable));
            (void)wn;
            if (wec || !res.keep_alive()) co_return true;
        }
    }

    net::awaitable<void> session(tcp::socket socket) {
        const std::uint64_t conn = ++connections;
        if (!tls) {
            if (co_await serve(socket, conn)) {
                boost::system::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_send, ignored);
            }
            co_return;
        }
        net::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
        auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server,
                                                    net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        if (co_await serve(stream, conn)) {
            co_await stream.async_shutdown(net::as_tuple(net::use_awaitable));
        }
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor->async_accept(net::as_tuple(net::use_awaitable));
            if (ec) {
                if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
                continue;
            }
            // As real HTTP servers do: a response written as several TLS records (Beast writes
            // header and body separately) must not wait for the client's delayed ACK (40 ms).
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            net::co_spawn(*ioc, session(std::move(socket)), net::detached);
        }
    }

    // Wakes run_until_signal(); safe from any thread.
    void request_stop() {
        {
            std::lock_guard lock(mutex);
            stopped = true;
        }
        cv.notify_all();
    }

    // Stops the io_context, joins its thread and destroys every pending session, which closes
    // the connections (stalled ones included). On the io thread itself it only stops the loop;
    // the destructor finishes the job.
    void finish() {
        std::lock_guard lock(join_mutex);
        if (!ioc) return;
        ioc->stop();
        if (thread.get_id() == std::this_thread::get_id()) return;
        if (thread.joinable()) thread.join();
        signals.reset();
        acceptor.reset();
        ioc.reset();
    }

    std::mutex join_mutex;
    std::optional<net::signal_set> signals;
    std::string base_url;
};

http_server::http_server(http_handler handler, std::uint16_t port, const tls_files* tls,
                         std::string bind_address)
    : impl_(std::make_unique<impl>()) {
    impl_->handler = std::move(handler);
    if (tls) {
        impl_->tls.emplace(net::ssl::context::tls_server);
        impl_->tls->set_options(net::ssl::context::default_workarounds |
                                net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 |
                                net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
        impl_->tls->use_certificate_chain_file(tls->cert_chain_file);
        impl_->tls->use_private_key_file(tls->private_key_file, net::ssl::context::pem);
    }
    const tcp::endpoint ep(net::ip::make_address(bind_address), port);
    impl_->acceptor.emplace(*impl_->ioc);
    impl_->acceptor->open(ep.protocol());
    impl_->acceptor->set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor->bind(ep);
    impl_->acceptor->listen();
    impl_->port = impl_->acceptor->local_endpoint().port();
    const auto addr = impl_->acceptor->local_endpoint().address();
    impl_->base_url = std::string(tls ? "https" : "http") + "://" +
                      (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" +
                      std::to_string(impl_->port);
    net::co_spawn(*impl_->ioc, impl_->accept_loop(), net::detached);
    impl_->thread = std::thread([io = impl_->ioc.get()] { io->run(); });
}

http_server::~http_server() {
    stop();
}

std::uint16_t http_server::port() const {
    return impl_->port;
}

std::string http_server::base_url() const {
    return impl_->base_url;
}

void http_server::run_until_signal() {
    {
        std::lock_guard lock(impl_->join_mutex);
        if (!impl_->ioc) return;
        impl_->signals.emplace(*impl_->ioc, SIGINT, SIGTERM);
        impl_->signals->async_wait([this](const boost::system::error_code& ec, int) {
            if (!ec) impl_->request_stop();
        });
    }
    {
        std::unique_lock lock(impl_->mutex);
        impl_->cv.wait(lock, [this] { return impl_->stopped; });
    }
    impl_->finish();
}

void http_server::stop() {
    impl_->request_stop();
    impl_->finish();
}

// ---- certificates ------------------------------------------------------------------------

namespace {

template <class T, void (*F)(T*)>
struct deleter {
    void operator()(T* p) const { F(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("make_test_certificates: ") + what);
}

pkey_ptr make_key() {
    pkey_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EC key generation failed");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "bad certificate extension");
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    check(ok == 1, "X509_add_ext failed");
}

x509_ptr make_cert(EVP_PKEY* key, const char* cn, long serial, X509* issuer, EVP_PKEY* issuer_key) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new failed");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
    check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey failed");
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("start-worker tests"), -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer) {
        add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
        add_ext(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    } else {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign failed");
    return cert;
}

void write_cert(const std::string& path, X509* cert) {
    bio_ptr out(BIO_new_file(path.c_str(), "w"));
    check(out != nullptr, "cannot write certificate file");
    check(PEM_write_bio_X509(out.get(), cert) == 1, "PEM_write_bio_X509 failed");
}

}  // namespace

tls_files make_test_certificates(const std::string& dir) {
    const auto ca_key = make_key();
    const auto ca = make_cert(ca_key.get(), "start-worker test CA", 1, nullptr, ca_key.get());
    const auto server_key = make_key();
    const auto server = make_cert(server_key.get(), "localhost", 2, ca.get(), ca_key.get());

    const std::filesystem::path base(dir);
    write_cert((base / "ca.pem").string(), ca.get());
    write_cert((base / "server.pem").string(), server.get());
    const std::string key_path = (base / "server.key").string();
    {
        bio_ptr out(BIO_new_file(key_path.c_str(), "w"));
        check(out != nullptr, "cannot write key file");
        check(PEM_write_bio_PrivateKey(out.get(), server_key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) == 1,
              "PEM_write_bio_PrivateKey failed");
    }
    std::filesystem::permissions(
        key_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return tls_files{(base / "server.pem").string(), key_path};
}

}  // namespace sw::test
