#pragma once
// Checks shared by the end-to-end lifecycle, exit-code and TLS tests: which secret values a run
// handled (none may appear in start-worker's stderr), a standalone-provider config, and clocks.
#include "tests/daemon/harness.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace sw::test {

/// The standalone provider's permanent client, known to the stand-in of standalone_standin().
inline constexpr const char* standalone_client = "project/proj/standalone";
inline constexpr const char* standalone_token = "standaloneAccessToken-0123456789abcdefghijkl";

/// Milliseconds since the Unix epoch (the fake worker's record uses the same).
inline long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline long long t_of(const boost::json::object& record_entry) {
    return record_entry.at("t").to_number<long long>();
}

/// A certificate's signature (the certificate is a JSON string); "" when it is not one.
inline std::string certificate_signature(const boost::json::value& cert) {
    if (!cert.is_string() || cert.as_string().empty()) return {};
    boost::system::error_code ec;
    const auto v = boost::json::parse(cert.as_string(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("signature")) return {};
    return std::string(v.as_object().at("signature").as_string());
}

/// Every secret value a run handled: the static secret, the standalone token, the registration
/// secret, and each access token, certificate and certificate signature the worker was given
/// (in its config file or in new-credentials).
inline std::vector<std::string> run_secrets(const harness& h) {
    std::vector<std::string> out{static_secret, standalone_token};
    auto add = [&](const boost::json::object& o, const char* token_key, const char* cert_key) {
        if (const auto* t = o.if_contains(token_key); t && t->is_string())
            out.emplace_back(t->as_string());
        if (const auto* c = o.if_contains(cert_key); c && c->is_string()) {
            out.emplace_back(c->as_string());
            out.push_back(certificate_signature(*c));
        }
    };
    for (const auto& r : h.worker_events("config"))
        if (const auto* c = r.if_contains("config"); c && c->is_object())
            add(c->as_object(), "accessToken", "certificate");
    for (const auto& r : h.worker_events("received", "new-credentials"))
        add(r.at("message").as_object(), "access-token", "certificate");
    if (h.standin) {
        out.push_back(h.standin->registration_secret("proj/pool/wg/wid"));
        out.push_back(h.standin->issuer_access_token());
    }
    return out;
}

/// No secret value of the run appears in `log` (start-worker's stderr).
inline void check_no_secrets(const harness& h, const std::string& log) {
    const auto secrets = run_secrets(h);
    for (std::size_t i = 0; i < secrets.size(); ++i) {
        if (secrets[i].size() < 8) continue;
        INFO("secret #" << i << " (" << secrets[i].size() << " characters) appears in stderr");
        CHECK(log.find(secrets[i]) == std::string::npos);
    }
}

/// Stand-in config with the static worker (as the harness default) and the standalone client.
inline std::string standalone_standin() {
    return R"({"providers": {"static-prov": {"type": "static", "workers": {"wg/wid":
                {"staticSecret": ")" +
           std::string(static_secret) + R"("}}}},
              "clients": {")" +
           standalone_client + R"(": {"accessToken": ")" + standalone_token + R"(",
                 "scopes": ["secrets:get:worker-pool:proj/pool",
                            "secrets:get:worker-type:proj/pool"]}},
              "workerPools": {"proj/pool": {}}})";
}

/// A standalone-provider + generic-worker (fake-worker) runner config against the stand-in.
inline std::string standalone_config(const harness& h, const std::string& access_token,
                                     const std::string& extra = "") {
    return "provider:\n"
           "  providerType: standalone\n"
           "  rootURL: " +
           h.standin->root_url() +
           "\n"
           "  clientID: " +
           standalone_client +
           "\n"
           "  accessToken: " +
           access_token +
           "\n"
           "  workerPoolID: proj/pool\n"
           "  workerGroup: wg\n"
           "  workerID: wid\n" +
           h.worker_block() + extra;
}

}  // namespace sw::test
