#include "lib/tc/client.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames (GCC bug 109224).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "lib/http/client.hpp"
#include "lib/json/document.hpp"
#include "lib/log/redact.hpp"
#include "lib/providers/parse.hpp"
#include "lib/tc/hawk.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace sw::tc {

namespace {

// std::llround for the delays here (finite, far inside long long), without libm: the runner
// references nothing else of it, and a shared libm costs every start a library to map and
// relocate (about 330 KiB of RSS, README Performance).
// Truncate, then look at the fraction: x - trunc(x) is exact for a double, so values just below
// one half are not rounded up (adding 0.5 before truncating is: 0.49999999999999994 -> 1).
long long round_half_away(double x) {
    auto t = static_cast<long long>(x);
    const double frac = x - static_cast<double>(t);
    if (frac >= 0.5) ++t;
    if (frac <= -0.5) --t;
    return t;
}

}  // namespace

std::chrono::milliseconds backoff_delay(int n, const retry_policy& p, random_source& random) {
    const int exponent = std::clamp(n, 1, 40) - 1;
    const double raw =
        static_cast<double>(p.base.count()) * static_cast<double>(std::uint64_t{1} << exponent);
    const double capped = std::min(raw, static_cast<double>(p.cap.count()));
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    return std::chrono::milliseconds(round_half_away(capped * jitter(random)));
}

namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// Per call kind. The secrets are needed to start at all, so they keep trying for as long as the
// Go runner does (15 minutes); the others are best-effort or have a fallback.
retry_policy startup_policy() {
    retry_policy p;
    p.max_attempts = 30;
    p.base = milliseconds(500);
    p.cap = milliseconds(60'000);
    p.deadline = milliseconds(15 * 60'000);
    return p;
}
// registerWorker runs at boot, before anything else can happen: a worker-manager that stays
// unreachable for a minute is reported (exit 69) and the service manager restarts the runner,
// rather than the machine idling silently for the Go runner's 15 minutes.
retry_policy register_policy() {
    retry_policy p;
    p.max_attempts = 6;  // retries after ~0.5, 1, 2, 4, 8 s
    p.base = milliseconds(500);
    p.cap = milliseconds(30'000);
    p.deadline = milliseconds(60'000);
    return p;
}
retry_policy reregister_policy() {
    retry_policy p;  // only connect failures are retried (see reregister_worker)
    p.deadline = milliseconds(2 * 60'000);
    return p;
}
retry_policy remove_policy() {
    retry_policy p;  // the fallback is a system shutdown: do not wait long
    p.deadline = milliseconds(2 * 60'000);
    return p;
}
retry_policy report_policy() {
    retry_policy p;
    p.deadline = milliseconds(60'000);
    return p;
}
retry_policy poll_policy() {
    retry_policy p;  // polled periodically; the next poll is the retry
    p.max_attempts = 3;
    p.deadline = milliseconds(30'000);
    return p;
}

retry_policy scaled(retry_policy p, double factor) {
    auto scale = [factor](milliseconds d, milliseconds floor) {
        return std::max(floor,
                        milliseconds(round_half_away(static_cast<double>(d.count()) * factor)));
    };
    p.base = scale(p.base, milliseconds(1));
    p.cap = scale(p.cap, milliseconds(1));
    p.deadline = scale(p.deadline, milliseconds(1));
    p.attempt_timeout = scale(p.attempt_timeout, milliseconds(100));
    return p;
}

struct call_spec {
    std::string what;  ///< API method name, for messages
    std::string method;
    std::string url;
    std::optional<json::value> body;
    bool authenticate = true;
    retry_policy policy;
    /// Single-use request (reregisterWorker): retry only when nothing can have been delivered.
    bool single_use = false;
    bool not_found_is_result = false;
    std::vector<std::string> secrets;  ///< values scrubbed from every error message
};

struct call_result {
    unsigned status = 0;
    json::value body;
};

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& s : secrets) {
        if (s.size() < 4) continue;
        for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos))
            text.replace(pos, s.size(), "<redacted>");
    }
    return text;
}

// Printable ASCII only, bounded: error bodies may be HTML from a proxy. Secrets (the call's own
// and the log's) are redacted before the cut, so that none is cut in half and escapes
// (issue 14 item 9).
std::string sanitize(std::string_view s, std::size_t max,
                     const std::vector<std::string>& secrets = {}) {
    const std::string clean = log::redact_then_cut(scrub(std::string(s), secrets), max);
    std::string out;
    out.reserve(clean.size());
    for (char c : clean) {
        const auto u = static_cast<unsigned char>(c);
        out += (u >= 0x20 && u < 0x7f) ? c : ' ';
    }
    return out;
}

struct service_error {
    std::string code;
    std::string message;
};

// The service's {"code", "message"}; anything else is summarised from its first 200 chars.
service_error describe_error_body(const std::string& body,
                                  const std::vector<std::string>& secrets) {
    boost::system::error_code ec;
    const auto v = sw::json::parse(body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        const auto* code = o.if_contains("code");
        const auto* message = o.if_contains("message");
        if (code && code->is_string()) {
            service_error e;
            e.code = sanitize(code->as_string(), 64, secrets);
            if (message && message->is_string()) {
                std::string_view m = message->as_string();
                // Taskcluster appends "\n\n---\n\n* method: ..." details: keep the summary.
                m = m.substr(0, m.find("\n\n---"));
                e.message = sanitize(m, 1000, secrets);
            }
            return e;
        }
    }
    if (body.empty()) return {"", "(empty body)"};
    return {"", "(non-JSON body) " + sanitize(body, 200, secrets)};
}

void add_secret_values(const json::value& v, std::vector<std::string>& out) {
    if (v.is_string()) {
        out.emplace_back(v.as_string());
    } else if (v.is_object()) {
        for (const auto& kv : v.as_object()) add_secret_values(kv.value(), out);
    } else if (v.is_array()) {
        for (const auto& e : v.as_array()) add_secret_values(e, out);
    }
}

api_error make_error(const call_spec& spec, errc code, const std::string& problem, unsigned status,
                     std::string tc_code) {
    return api_error(
        code, scrub(spec.what + ": " + spec.method + " " + spec.url + ": " + problem, spec.secrets),
        status, std::move(tc_code));
}

// The wait a 429 or 503 asks for in Retry-After (RFC 9110 10.2.3: delay-seconds, or an
// HTTP-date read against `wall`); nullopt when absent or unreadable. Never negative.
std::optional<milliseconds> retry_after(const http::response& r, const sw::clock& wall) {
    return providers::parse::retry_after(r.header("Retry-After"), wall.now());
}

// Hawk's answer to a request whose timestamp is too far from the server's clock (RFC-less, the
// hawk library's "Stale timestamp"): a clock that is off, which the operator must fix. Returns
// the advice to add to the error, "" for other 401s.
std::string clock_advice(const http::response& r, const service_error& svc, const sw::clock& wall) {
    const bool stale = svc.message.find("Stale timestamp") != std::string::npos ||
                       r.header("WWW-Authenticate").find("Stale timestamp") != std::string::npos;
    if (!stale) return {};
    std::string advice = " (the request's timestamp was refused as stale: this machine's clock";
    time_point server_now;
    if (providers::parse::parse_rfc1123(r.header("Date"), server_now)) {
        const auto off =
            std::chrono::duration_cast<std::chrono::seconds>(wall.now() - server_now).count();
        advice += " is " + std::to_string(off < 0 ? -off : off) + " s " +
                  (off < 0 ? "behind" : "ahead of") + " Taskcluster's";
    } else {
        advice += " is off";
    }
    return advice + "; fix the clock (NTP), then restart)";
}

// One call with its retry policy. Errors never carry request headers or bodies.
boost::asio::awaitable<call_result> perform(http::client& http,
                                            const std::optional<credentials>& creds,
                                            const client_options& ctx, call_spec spec) {
    if (creds) {
        spec.secrets.push_back(creds->access_token);
        spec.secrets.push_back(creds->certificate);
    }
    const retry_policy policy = scaled(spec.policy, ctx.retry_scale);

    http::url target;
    try {
        target = http::parse_url(spec.url);
    } catch (const std::invalid_argument& e) {
        throw api_error(errc::config, std::string("invalid Taskcluster root URL: ") + e.what(), 0,
                        "");
    }

    std::string ext;
    if (spec.authenticate && creds && !creds->certificate.empty()) {
        try {
            ext = hawk_ext(creds->certificate);
        } catch (const std::invalid_argument& e) {
            throw api_error(errc::config, std::string("Taskcluster credentials: ") + e.what(), 0,
                            "");
        }
    }
    const std::string body = spec.body ? json::serialize(*spec.body) : std::string();

    http::options opts;
    opts.timeout = policy.attempt_timeout;
    opts.connect_timeout = std::min(opts.connect_timeout, policy.attempt_timeout);

    const auto started = ctx.steady->now();
    std::string last_problem;
    unsigned last_status = 0;
    std::string last_code;
    bool maybe_delivered = false;

    for (int attempt = 1;; ++attempt) {
        http::request req;
        req.method = spec.method;
        req.url = spec.url;
        if (spec.body) {
            req.headers.emplace_back("Content-Type", "application/json");
            req.body = body;
        }
        if (spec.authenticate && creds && !creds->client_id.empty()) {
            // Signed over the origin's request-target, host and port, even through a proxy:
            // that is what the service sees once the proxy has forwarded the request.
            hawk_request h;
            h.id = creds->client_id;
            h.key = creds->access_token;
            h.method = spec.method;
            h.resource = target.target;
            h.host = target.host;
            h.port = target.port;
            h.ts =
                std::chrono::duration_cast<std::chrono::seconds>(ctx.wall->now().time_since_epoch())
                    .count();
            h.nonce = make_nonce();
            h.ext = ext;
            req.headers.emplace_back("Authorization", hawk_header(h));
        }

        // The HTTP client re-sends a request once when a kept-alive connection fails before any
        // answer byte; for a single-use request that could deliver it twice (and burn the secret
        // unseen), so those always go out on a fresh connection.
        if (spec.single_use) http.close_idle();
        std::optional<http::response> resp;
        std::optional<milliseconds> server_delay;  ///< what a 429/503 asked for (Retry-After)
        std::optional<http::failure_kind> net_kind;
        std::string net_message;
        try {
            resp = co_await http.send(std::move(req), opts);
        } catch (const http::error& e) {
            net_kind = e.kind();
            net_message = e.what();
        }

        if (net_kind) {
            if (*net_kind == http::failure_kind::tls_verify)
                throw make_error(spec, errc::refused,
                                 "TLS verification failed: " + sanitize(net_message, 500), 0, "");
            const bool delivered = *net_kind != http::failure_kind::connect;
            last_problem = sanitize(net_message, 500);
            last_status = 0;
            last_code.clear();
            maybe_delivered = maybe_delivered || delivered;
            if (spec.single_use && delivered) {
                auto err =
                    make_error(spec, errc::unavailable,
                               last_problem + " (the request may have been delivered)", 0, "");
                err.set_maybe_delivered(true);
                throw err;  // NOLINT(cert-err09-cpp,cert-err61-cpp): flagged, then thrown
            }
        } else {
            const unsigned status = resp->status;
            if (status >= 200 && status < 300) {
                call_result r;
                r.status = status;
                if (!resp->body.empty()) {
                    boost::system::error_code ec;
                    r.body = sw::json::parse(resp->body, ec);
                    if (ec)
                        throw make_error(spec, errc::unavailable,
                                         "malformed JSON in the response: " + ec.message(), status,
                                         "");
                }
                co_return r;
            }
            if (status == 404 && spec.not_found_is_result) co_return call_result{status, {}};

            const auto svc = describe_error_body(resp->body, spec.secrets);
            std::string problem = "HTTP " + std::to_string(status);
            if (!svc.code.empty()) problem += " " + svc.code;
            if (!svc.message.empty()) problem += ": " + svc.message;
            // Redirects are never followed (credentials must not go to another host, and the
            // Taskcluster API does not redirect): name the target so the operator can fix
            // rootURL.
            if (status >= 300 && status < 400) {
                const std::string location = resp->header("Location");
                problem += location.empty() ? " (a redirect; not followed: check rootURL)"
                                            : " (a redirect to " + sanitize(location, 200) +
                                                  "; not followed: check rootURL)";
            }

            if (status == 401) problem += clock_advice(*resp, svc, *ctx.wall);
            if (status == 429 || status == 503) {
                if (const auto asked = retry_after(*resp, *ctx.wall)) {
                    // Honoured (scaled like every delay), capped at the policy's longest wait.
                    const auto ms = static_cast<double>(asked->count()) * ctx.retry_scale;
                    server_delay =
                        std::min(policy.cap, milliseconds(std::llround(std::min(ms, 1e12))));
                    problem += " (Retry-After " + std::to_string(asked->count() / 1000) + " s)";
                }
            }
            if (status >= 500 || status == 429) {
                last_problem = problem;
                last_status = status;
                last_code = svc.code;
                // A Taskcluster error body ({"code": ...}) is the service's own answer: its
                // handler failed before committing (worker-manager rotates the registration
                // secret as the last step before replying), so a single-use request may be
                // sent again. Any other 5xx (a proxy's 502/504) may hide a request that the
                // service did carry out.
                const bool service_answered = !svc.code.empty();
                if (spec.single_use && !service_answered) {
                    auto err = make_error(spec, errc::unavailable,
                                          problem + " (the request may have been delivered)",
                                          status, svc.code);
                    err.set_maybe_delivered(true);
                    throw err;  // NOLINT(cert-err09-cpp,cert-err61-cpp): flagged, then thrown
                }
                if (!service_answered) maybe_delivered = true;
            } else {
                // 4xx (and unexpected 1xx/3xx): retrying the same request cannot help. 401/403
                // refuse our credentials; the rest reject the request itself (an unknown worker
                // pool, a wrong static secret, a conflict).
                const bool refused = status == 401 || status == 403;
                throw make_error(spec, refused ? errc::refused : errc::permanent, problem, status,
                                 svc.code);
            }
        }

        const auto elapsed = std::chrono::duration_cast<milliseconds>(ctx.steady->now() - started);
        const auto delay = std::max(backoff_delay(attempt, policy, *ctx.random),
                                    server_delay.value_or(milliseconds(0)));
        if (attempt >= policy.max_attempts || elapsed + delay > policy.deadline) {
            auto err = make_error(spec, errc::unavailable,
                                  "giving up after " + std::to_string(attempt) +
                                      (attempt == 1 ? " attempt: " : " attempts: ") + last_problem,
                                  last_status, last_code);
            err.set_maybe_delivered(maybe_delivered);
            throw err;  // NOLINT(cert-err09-cpp,cert-err61-cpp): flagged, then thrown
        }
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
        timer.expires_after(delay);
        co_await timer.async_wait(boost::asio::use_awaitable);
    }
}

// ---- response parsing: clear errors, never quoting values (they may be secrets) ----

api_error bad_response(const call_spec& spec, const std::string& problem) {
    return make_error(spec, errc::unavailable, "unexpected response: " + problem, 200, "");
}

const json::object& as_object(const call_spec& spec, const json::value& v, const char* what) {
    if (!v.is_object()) throw bad_response(spec, std::string(what) + " is not a JSON object");
    return v.as_object();
}

std::string string_field(const call_spec& spec, const json::object& o, const char* key,
                         bool required = true) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) {
        if (required) throw bad_response(spec, std::string("missing field ") + key);
        return {};
    }
    if (!v->is_string()) throw bad_response(spec, std::string("field ") + key + " is not a string");
    return std::string(v->as_string());
}

credentials parse_credentials(const call_spec& spec, const json::object& o) {
    const auto* v = o.if_contains("credentials");
    if (!v) throw bad_response(spec, "missing field credentials");
    const auto& c = as_object(spec, *v, "credentials");
    credentials creds;
    creds.client_id = string_field(spec, c, "clientId");
    creds.access_token = string_field(spec, c, "accessToken");
    // Absent or empty: permanent credentials.
    creds.certificate = string_field(spec, c, "certificate", false);
    if (creds.client_id.empty() || creds.access_token.empty())
        throw bad_response(spec, "credentials.clientId or credentials.accessToken is empty");
    if (!creds.certificate.empty()) {
        boost::system::error_code ec;
        const auto cert = sw::json::parse(creds.certificate, ec);
        if (ec || !cert.is_object())
            throw bad_response(spec, "credentials.certificate is not a JSON object");
    }
    return creds;
}

time_point parse_expires(const call_spec& spec, const json::object& o) {
    const std::string text = string_field(spec, o, "expires");
    time_point t;
    if (!parse_rfc3339(text, t))
        throw bad_response(spec,
                           "field expires is not an RFC 3339 date-time: " + sanitize(text, 40));
    return t;
}

// JSON Schema maxLength counts code points: cut at a character boundary.
std::string truncate_chars(std::string_view s, std::size_t max_chars) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) {
            if (chars == max_chars) return std::string(s.substr(0, i));
            ++chars;
        }
    }
    return std::string(s);
}

// worker-manager requires kind to match [-a-z0-9]+ (at most 128 characters).
std::string sanitize_kind(std::string_view kind) {
    std::string out;
    for (char c : kind.substr(0, 128)) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        out += ok ? c : '-';
    }
    return out.empty() ? std::string("worker-error") : out;
}

std::string worker_path(const std::string& wp, const std::string& wg, const std::string& wid) {
    return "workers/" + escape_path_segment(wp) + "/" + escape_path_segment(wg) + "/" +
           escape_path_segment(wid);
}

}  // namespace

client::client(http::client& http, std::string root_url, std::optional<credentials> creds,
               const client_options& opts)
    : http_(http), root_url_(std::move(root_url)), creds_(std::move(creds)), opts_(opts) {}

boost::asio::awaitable<register_result> client::register_worker(
    const std::string& worker_pool_id, const std::string& provider_id,
    const std::string& worker_group, const std::string& worker_id, const boost::json::object& proof,
    std::optional<time_point> system_boot_time) {
    json::object body;
    body["workerPoolId"] = worker_pool_id;
    body["providerId"] = provider_id;
    body["workerGroup"] = worker_group;
    body["workerId"] = worker_id;
    body["workerIdentityProof"] = proof;
    if (system_boot_time) body["systemBootTime"] = format_rfc3339_ms(*system_boot_time);

    call_spec spec;
    spec.what = "registerWorker";
    spec.method = "POST";
    spec.url = api_url(root_url_, "worker-manager", "v1", "worker/register");
    spec.body = std::move(body);
    spec.authenticate = false;  // the identity proof is the authentication
    spec.policy = register_policy();
    add_secret_values(proof, spec.secrets);

    const auto r = co_await perform(http_, creds_, opts_, spec);
    const auto& o = as_object(spec, r.body, "the response");
    register_result out;
    out.creds = parse_credentials(spec, o);
    out.expires = parse_expires(spec, o);
    out.secret = string_field(spec, o, "secret");
    if (const auto* wc = o.if_contains("workerConfig")) out.worker_config = *wc;
    co_return out;
}

// reregisterWorker consumes the single-use registration secret. If the request may have reached
// worker-manager but the answer was lost, a retry would carry a secret that is already burnt and
// get 400. So only connect failures and the service's own 5xx/429 answers (a Taskcluster error
// body: the handler failed before rotating the secret) are retried here; anything else (a reset
// or timeout after sending, a proxy's 5xx) throws with maybe_delivered() set. The caller (the
// credential lifecycle) then keeps the old credentials, which stay valid until their expiry, and
// tries again at its next renewal attempt. If the secret was in fact consumed, that attempt gets
// 400 "Could not generate credentials for this secret" and the worker is told to stop gracefully
// before the old credentials expire.
boost::asio::awaitable<reregister_result> client::reregister_worker(
    const std::string& worker_pool_id, const std::string& worker_group,
    const std::string& worker_id, const std::string& secret) {
    json::object body;
    body["workerPoolId"] = worker_pool_id;
    body["workerGroup"] = worker_group;
    body["workerId"] = worker_id;
    body["secret"] = secret;

    call_spec spec;
    spec.what = "reregisterWorker";
    spec.method = "POST";
    spec.url = api_url(root_url_, "worker-manager", "v1", "worker/reregister");
    spec.body = std::move(body);
    spec.policy = reregister_policy();
    spec.single_use = true;
    spec.secrets.push_back(secret);

    const auto r = co_await perform(http_, creds_, opts_, spec);
    const auto& o = as_object(spec, r.body, "the response");
    reregister_result out;
    out.creds = parse_credentials(spec, o);
    out.expires = parse_expires(spec, o);
    out.secret = string_field(spec, o, "secret");
    co_return out;
}

boost::asio::awaitable<void> client::remove_worker(const std::string& worker_pool_id,
                                                   const std::string& worker_group,
                                                   const std::string& worker_id) {
    call_spec spec;
    spec.what = "removeWorker";
    spec.method = "DELETE";
    spec.url = api_url(root_url_, "worker-manager", "v1",
                       worker_path(worker_pool_id, worker_group, worker_id));
    spec.policy = remove_policy();
    co_await perform(http_, creds_, opts_, spec);
}

boost::asio::awaitable<void> client::report_worker_error(const std::string& worker_pool_id,
                                                         const std::string& worker_group,
                                                         const std::string& worker_id,
                                                         const error_report& report) {
    json::object body;
    body["workerGroup"] = worker_group;
    body["workerId"] = worker_id;
    body["kind"] = sanitize_kind(report.kind);
    body["title"] = truncate_chars(report.title, 128);
    body["description"] = truncate_chars(report.description, 10240);
    body["extra"] = report.extra;

    call_spec spec;
    spec.what = "reportWorkerError";
    spec.method = "POST";
    spec.url = api_url(root_url_, "worker-manager", "v1",
                       "worker-pool-errors/" + escape_path_segment(worker_pool_id));
    spec.body = std::move(body);
    spec.policy = report_policy();
    co_await perform(http_, creds_, opts_, spec);
}

boost::asio::awaitable<should_terminate_result> client::should_worker_terminate(
    const std::string& worker_pool_id, const std::string& worker_group,
    const std::string& worker_id) {
    call_spec spec;
    spec.what = "shouldWorkerTerminate";
    spec.method = "GET";
    spec.url = api_url(root_url_, "worker-manager", "v1",
                       worker_path(worker_pool_id, worker_group, worker_id) + "/should-terminate");
    spec.policy = poll_policy();

    const auto r = co_await perform(http_, creds_, opts_, spec);
    const auto& o = as_object(spec, r.body, "the response");
    const auto* t = o.if_contains("terminate");
    if (!t || !t->is_bool()) throw bad_response(spec, "field terminate missing or not a boolean");
    should_terminate_result out;
    out.terminate = t->as_bool();
    out.reason = string_field(spec, o, "reason", false);
    co_return out;
}

boost::asio::awaitable<std::optional<boost::json::value>> client::get_secret(
    const std::string& name) {
    call_spec spec;
    spec.what = "secrets.get";
    spec.method = "GET";
    spec.url = api_url(root_url_, "secrets", "v1", "secret/" + escape_path_segment(name));
    spec.policy = startup_policy();
    spec.not_found_is_result = true;

    const auto r = co_await perform(http_, creds_, opts_, spec);
    if (r.status == 404) co_return std::nullopt;
    const auto& o = as_object(spec, r.body, "the response");
    const auto* v = o.if_contains("secret");
    if (!v) throw bad_response(spec, "missing field secret");
    co_return *v;
}

}  // namespace sw::tc
