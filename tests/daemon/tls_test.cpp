// End to end: an https root URL whose certificate comes from a private CA.
#include "tests/daemon/e2e_checks.hpp"

using namespace sw::test;
using namespace std::chrono_literals;

namespace {

/// Starts the harness's stand-in over https with a fresh private CA; returns the CA file.
std::string start_https_standin(harness& h, tls_files& tls) {
    const auto tls_dir = h.dir.file("tls");
    std::filesystem::create_directories(tls_dir);
    tls = make_test_certificates(tls_dir);
    tc_standin_options o;
    o.config = boost::json::parse(harness::default_standin_config()).as_object();
    o.state_dir = h.dir.file("standin");
    std::filesystem::create_directories(o.state_dir);
    o.tls = &tls;
    h.standin = std::make_unique<tc_standin>(std::move(o));
    return tls_dir + "/ca.pem";
}

}  // namespace

TEST_CASE("https root URL: trusted through SSL_CERT_FILE, refused without", "[e2e][tls]") {
    harness h;
    tls_files tls;
    const auto ca = start_https_standin(h, tls);
    REQUIRE(h.standin->root_url().rfind("https://", 0) == 0);
    REQUIRE(!read_file(ca).empty());
    const auto cfg = h.write_config(h.static_config());

    SECTION("SSL_CERT_FILE names the private CA: a full run") {
        auto r = h.run(
            {"--once", cfg},
            {{"SSL_CERT_FILE", ca}, {"SSL_CERT_DIR", ""}, {"FAKE_WORKER_SCRIPT", "exit:0"}}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(h.requests("/worker/register", "POST").size() == 1);
        CHECK(h.requests("worker-pool%3Aproj%2Fpool", "GET").size() == 1);
        const auto cfgs = h.worker_events("config");
        REQUIRE(cfgs.size() == 1);
        CHECK(cfgs[0].at("config").at("rootURL") == h.standin->root_url().c_str());
        check_no_secrets(h, r.err);
    }
    SECTION("without it: refused (77), naming the URL") {
        auto r = h.run({"--once", cfg}, {{"SSL_CERT_FILE", ""}, {"SSL_CERT_DIR", ""}}, 60s);
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK_THAT(r.err, Catch::Contains(h.standin->root_url() +
                                          "/api/worker-manager/v1/worker/register"));
        CHECK_THAT(r.err, Catch::Contains("TLS verification failed"));
        CHECK(h.standin->requests().empty());  // nothing was sent over the untrusted channel
        CHECK(h.worker_record().empty());
        check_no_secrets(h, r.err);
    }
}

// Issue 14, security: TLS verification cannot be switched off by accident. The switches other
// TLS clients honour (environment variables of Node, Python, Git, curl, Go; an OpenSSL config
// that asks for no verification; config keys that look like an "insecure" option) change
// nothing: an untrusted certificate is refused (77) and nothing is sent over the channel.
TEST_CASE("TLS verification cannot be switched off by accident", "[e2e][tls][security]") {
    harness h;
    tls_files tls;
    start_https_standin(h, tls);
    const auto cfg = h.write_config(
        h.static_config("insecure: true\ntls:\n  verify: false\n  insecureSkipVerify: true\n"));
    const auto openssl_conf = h.dir.write("openssl.cnf",
                                          "openssl_conf = init\n[init]\nssl_conf = ssl\n"
                                          "[ssl]\nsystem_default = sys\n[sys]\n"
                                          "VerifyMode = None\nMinProtocol = None\n");
    auto r = h.run({"--once", cfg},
                   {{"SSL_CERT_FILE", ""},
                    {"SSL_CERT_DIR", ""},
                    {"NODE_TLS_REJECT_UNAUTHORIZED", "0"},
                    {"PYTHONHTTPSVERIFY", "0"},
                    {"GIT_SSL_NO_VERIFY", "1"},
                    {"CURL_CA_BUNDLE", ""},
                    {"REQUESTS_CA_BUNDLE", ""},
                    {"SSL_NO_VERIFY", "1"},
                    {"INSECURE", "1"},
                    {"GODEBUG", "x509ignoreCN=1,x509sha1=1"},
                    {"OPENSSL_CONF", openssl_conf}},
                   60s);
    INFO(r.err);
    CHECK(r.exit_code == 77);
    CHECK_THAT(r.err, Catch::Contains("TLS verification failed"));
    CHECK(h.standin->requests().empty());
    CHECK(h.worker_record().empty());
}
