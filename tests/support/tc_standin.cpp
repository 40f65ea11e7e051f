#include "tests/support/tc_standin.hpp"

#include "lib/tc/hawk.hpp"
#include "tests/support/hawk_verify.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace sw::test {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::int64_t default_lifetime_s = 345600;  // worker-manager's reregistrationTimeout
const std::regex pool_id_re("^[a-zA-Z0-9-_]{1,38}/[a-z]([-a-z0-9]{0,36}[a-z0-9])?$");
const std::regex ident_re("^[a-zA-Z0-9-_]{1,38}$");
const std::regex kind_re("^[-a-z0-9]+$");

std::string str(const json::value& v) {
    return std::string(v.as_string());
}

const json::object& obj_at(const json::object& o, std::string_view key, const std::string& ctx) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_object())
        throw std::invalid_argument(ctx + "." + std::string(key) + ": must be an object");
    return v->as_object();
}

std::string string_at(const json::object& o, std::string_view key, const std::string& ctx,
                      std::string fallback = {}, bool required = false) {
    const auto* v = o.if_contains(key);
    if (!v) {
        if (required) throw std::invalid_argument(ctx + "." + std::string(key) + ": missing");
        return fallback;
    }
    if (!v->is_string())
        throw std::invalid_argument(ctx + "." + std::string(key) + ": must be a string");
    return str(*v);
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const std::string hex(s.substr(i + 1, 2));
            if (hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
                out += static_cast<char>(std::stoi(hex, nullptr, 16));
                i += 2;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const auto next = path.find('/', pos);
        const auto seg =
            path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        if (!seg.empty()) out.push_back(percent_decode(seg));
        if (next == std::string_view::npos) break;
        pos = next + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& parts, std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to; ++i) {
        if (i > from) out += '/';
        out += parts[i];
    }
    return out;
}

json::value redact(const json::value& v) {
    static const std::vector<std::string> keys = {"secret", "staticSecret", "accessToken",
                                                  "token",  "certificate",  "password"};
    if (v.is_object()) {
        json::object out;
        for (const auto& kv : v.as_object()) {
            const bool hide =
                std::find(keys.begin(), keys.end(), std::string(kv.key())) != keys.end();
            out[kv.key()] = hide ? json::value("<redacted>") : redact(kv.value());
        }
        return out;
    }
    if (v.is_array()) {
        json::array out;
        for (const auto& e : v.as_array()) out.push_back(redact(e));
        return out;
    }
    return v;
}

// JSON Schema maxLength counts characters, not bytes.
std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
    return n;
}

std::optional<std::string> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct api_failure {
    unsigned status;
    std::string code;
    std::string message;
};

struct provider_cfg {
    std::string type;
    std::map<std::string, std::string> static_secrets;  ///< "wg/wid" -> staticSecret
};

struct pool_cfg {
    std::string provider_id;  ///< empty: any provider
    json::value worker_config = json::object{};
    /// Lifetimes of successive credential issues (the last one repeats).
    std::vector<std::int64_t> lifetimes_s{default_lifetime_s};
    std::size_t issued = 0;
};

struct worker_rec {
    std::string provider_id;
    std::string secret;
    bool running = true;
};

struct fault_state {
    tc_fault fault;
    std::regex re;
    int remaining;
};

fault_state make_fault_state(tc_fault f) {
    fault_state s{f, std::regex(f.path_regex), f.count};
    return s;
}

struct terminate_answer {
    bool terminate = false;
    std::string reason;
};

std::map<std::string, terminate_answer> parse_should_terminate(const json::object& o,
                                                               const std::string& ctx) {
    std::map<std::string, terminate_answer> out;
    for (const auto& kv : o) {
        const std::string key = ctx + "." + std::string(kv.key());
        if (!kv.value().is_object()) throw std::invalid_argument(key + ": must be an object");
        const auto& a = kv.value().as_object();
        terminate_answer t;
        if (const auto* v = a.if_contains("terminate")) {
            if (!v->is_bool()) throw std::invalid_argument(key + ".terminate: must be a boolean");
            t.terminate = v->as_bool();
        }
        t.reason = string_at(a, "reason", key);
        out[std::string(kv.key())] = t;
    }
    return out;
}

}  // namespace

tc_fault tc_fault_from_json(const json::value& v) {
    if (!v.is_object()) throw std::invalid_argument("faults: each fault must be an object");
    const auto& o = v.as_object();
    tc_fault f;
    f.path_regex = string_at(o, "path", "fault", "", true);
    f.method = string_at(o, "method", "fault");
    auto int_at = [&](const char* key, std::int64_t fallback) -> std::int64_t {
        const auto* x = o.if_contains(key);
        if (!x) return fallback;
        if (!x->is_int64() && !x->is_uint64())
            throw std::invalid_argument(std::string("fault.") + key + ": must be an integer");
        return x->to_number<std::int64_t>();
    };
    auto bool_at = [&](const char* key) {
        const auto* x = o.if_contains(key);
        if (!x) return false;
        if (!x->is_bool())
            throw std::invalid_argument(std::string("fault.") + key + ": must be a boolean");
        return x->as_bool();
    };
    f.status = static_cast<unsigned>(int_at("status", 0));
    f.count = static_cast<int>(int_at("count", -1));
    f.delay_ms = static_cast<int>(int_at("delay_ms", 0));
    f.stall = bool_at("stall");
    f.reset = bool_at("reset");
    f.after = bool_at("after");
    try {
        std::regex check(f.path_regex);
    } catch (const std::regex_error&) {
        throw std::invalid_argument("fault.path: not a valid regular expression");
    }
    return f;
}

struct tc_standin::impl {
    const sw::clock* clk;
    std::string state_dir;
    bool https = false;

    std::string issuer_id = "static/taskcluster/worker-manager";
    std::string issuer_token;
    std::map<std::string, hawk_client> clients;
    std::map<std::string, provider_cfg> providers;
    std::map<std::string, pool_cfg> pools;

    mutable std::mutex mu;
    std::map<std::string, json::value> secrets;
    std::map<std::string, terminate_answer> should_terminate;
    std::vector<fault_state> faults;
    std::string fault_file_text;
    std::vector<fault_state> file_faults;
    std::map<std::string, worker_rec> workers;  ///< "wp/wg/wid"
    std::vector<json::object> records;
    std::vector<json::object> reports;

    std::unique_ptr<http_server> server;

    void load_config(const json::object& cfg);
    http_response handle(const http_request& req);
    http_response route(const http_request& req, json::object& record, json::object& params,
                        time_point now);
    std::optional<hawk_auth_result> authenticate(const http_request& req, time_point now,
                                                 const std::vector<std::string>& need,
                                                 json::object& record);
    void refresh_files();
    json::object issue(const std::string& provider_id, const std::string& wp, const std::string& wg,
                       const std::string& wid, time_point now, std::string& secret_out);
};

void tc_standin::impl::load_config(const json::object& cfg) {
    if (const auto* i = cfg.if_contains("issuer")) {
        if (!i->is_object()) throw std::invalid_argument("issuer: must be an object");
        issuer_id = string_at(i->as_object(), "clientId", "issuer", issuer_id);
        issuer_token = string_at(i->as_object(), "accessToken", "issuer");
    }
    if (issuer_token.empty()) issuer_token = tc::make_slugid() + tc::make_slugid();

    if (cfg.contains("clients")) {
        for (const auto& kv : obj_at(cfg, "clients", "config")) {
            const std::string ctx = "clients." + std::string(kv.key());
            if (!kv.value().is_object()) throw std::invalid_argument(ctx + ": must be an object");
            const auto& c = kv.value().as_object();
            hawk_client hc;
            hc.access_token = string_at(c, "accessToken", ctx, "", true);
            if (const auto* s = c.if_contains("scopes")) {
                if (!s->is_array()) throw std::invalid_argument(ctx + ".scopes: must be an array");
                for (const auto& e : s->as_array()) {
                    if (!e.is_string())
                        throw std::invalid_argument(ctx + ".scopes: must be strings");
                    hc.scopes.push_back(str(e));
                }
            }
            clients[std::string(kv.key())] = hc;
        }
    }
    if (cfg.contains("providers")) {
        for (const auto& kv : obj_at(cfg, "providers", "config")) {
            const std::string ctx = "providers." + std::string(kv.key());
            if (!kv.value().is_object()) throw std::invalid_argument(ctx + ": must be an object");
            const auto& p = kv.value().as_object();
            provider_cfg pc;
            pc.type = string_at(p, "type", ctx, "", true);
            if (pc.type != "static" && pc.type != "aws" && pc.type != "google" &&
                pc.type != "azure")
                throw std::invalid_argument(ctx + ".type: must be static, aws, google or azure");
            if (p.contains("workers")) {
                for (const auto& w : obj_at(p, "workers", ctx)) {
                    const std::string wctx = ctx + ".workers." + std::string(w.key());
                    if (!w.value().is_object())
                        throw std::invalid_argument(wctx + ": must be an object");
                    pc.static_secrets[std::string(w.key())] =
                        string_at(w.value().as_object(), "staticSecret", wctx, "", true);
                }
            }
            providers[std::string(kv.key())] = pc;
        }
    }
    if (cfg.contains("workerPools")) {
        for (const auto& kv : obj_at(cfg, "workerPools", "config")) {
            const std::string ctx = "workerPools." + std::string(kv.key());
            if (!kv.value().is_object()) throw std::invalid_argument(ctx + ": must be an object");
            const auto& p = kv.value().as_object();
            pool_cfg pc;
            pc.provider_id = string_at(p, "providerId", ctx);
            if (const auto* wc = p.if_contains("workerConfig")) pc.worker_config = *wc;
            if (const auto* l = p.if_contains("credentialLifetimeSeconds")) {
                // An integer, or a list of them: the n-th issue (registration or renewal) for
                // this pool uses the n-th lifetime, the last one repeating.
                const std::string key = ctx + ".credentialLifetimeSeconds";
                std::vector<json::value> items;
                if (const auto* a = l->if_array())
                    items.assign(a->begin(), a->end());
                else
                    items.push_back(*l);
                if (items.empty()) throw std::invalid_argument(key + ": must not be empty");
                pc.lifetimes_s.clear();
                for (const auto& item : items) {
                    if (!item.is_int64() && !item.is_uint64())
                        throw std::invalid_argument(key + ": must be an integer or a list of them");
                    const auto s = item.to_number<std::int64_t>();
                    if (s < 1 || s > 30LL * 24 * 3600)
                        throw std::invalid_argument(key + ": must be 1..2592000");
                    pc.lifetimes_s.push_back(s);
                }
            }
            pools[std::string(kv.key())] = pc;
        }
    }
    if (cfg.contains("secrets"))
        for (const auto& kv : obj_at(cfg, "secrets", "config"))
            secrets[std::string(kv.key())] = kv.value();
    if (cfg.contains("shouldTerminate"))
        should_terminate =
            parse_should_terminate(obj_at(cfg, "shouldTerminate", "config"), "shouldTerminate");
    if (const auto* f = cfg.if_contains("faults")) {
        if (!f->is_array()) throw std::invalid_argument("faults: must be an array");
        for (const auto& e : f->as_array())
            faults.push_back(make_fault_state(tc_fault_from_json(e)));
    }
}

// Runtime files, re-read on every request so tests can change them while the program runs. A
// file that does not parse (perhaps half-written) is ignored for this request.
void tc_standin::impl::refresh_files() {
    if (state_dir.empty()) return;
    const fs::path dir(state_dir);
    if (auto text = read_file(dir / "faults.json"); text && *text != fault_file_text) {
        boost::system::error_code ec;
        const auto v = json::parse(*text, ec);
        if (!ec && v.is_array()) {
            try {
                std::vector<fault_state> fresh;
                for (const auto& e : v.as_array())
                    fresh.push_back(make_fault_state(tc_fault_from_json(e)));
                file_faults = std::move(fresh);
                fault_file_text = *text;
            } catch (const std::invalid_argument&) {
            }
        }
    }
    if (auto text = read_file(dir / "secrets.json")) {
        boost::system::error_code ec;
        const auto v = json::parse(*text, ec);
        if (!ec && v.is_object()) {
            for (const auto& kv : v.as_object()) {
                if (kv.value().is_null())
                    secrets.erase(std::string(kv.key()));
                else
                    secrets[std::string(kv.key())] = kv.value();
            }
        }
    }
    if (auto text = read_file(dir / "should-terminate.json")) {
        boost::system::error_code ec;
        const auto v = json::parse(*text, ec);
        if (!ec && v.is_object()) {
            try {
                for (auto& [k, a] : parse_should_terminate(v.as_object(), "should-terminate.json"))
                    should_terminate[k] = a;
            } catch (const std::invalid_argument&) {
            }
        }
    }
}

namespace {

api_failure input_error(std::string message) {
    return {400, "InputError", std::move(message)};
}
api_failure validation_error(std::string message) {
    return {400, "InputValidationError", std::move(message)};
}

// The request schemas: required keys, all strings unless listed, no additional properties.
void check_body(const json::object& body, const std::vector<std::string>& required,
                const std::vector<std::string>& optional,
                const std::vector<std::string>& non_string = {}) {
    for (const auto& k : required)
        if (!body.contains(k))
            throw validation_error("data should have required property '" + k + "'");
    for (const auto& kv : body) {
        const std::string k(kv.key());
        const bool known = std::find(required.begin(), required.end(), k) != required.end() ||
                           std::find(optional.begin(), optional.end(), k) != optional.end();
        if (!known) throw validation_error("data should NOT have additional properties: " + k);
        const bool string_expected =
            std::find(non_string.begin(), non_string.end(), k) == non_string.end();
        if (string_expected && !kv.value().is_string())
            throw validation_error("data." + k + " should be string");
    }
}

void check_ids(const std::string& wp, const std::string& wg, const std::string& wid) {
    if (!std::regex_match(wp, pool_id_re))
        throw api_failure{400, "InvalidRequestArguments", "Invalid workerPoolId " + wp};
    if (!std::regex_match(wg, ident_re))
        throw api_failure{400, "InvalidRequestArguments", "Invalid workerGroup " + wg};
    if (!std::regex_match(wid, ident_re))
        throw api_failure{400, "InvalidRequestArguments", "Invalid workerId " + wid};
}

std::vector<std::string> worker_scopes(const std::string& wp, const std::string& wg,
                                       const std::string& wid) {
    const std::string w = wg + "/" + wid;
    const std::string full = wp + "/" + w;
    return {"assume:worker-type:" + wp,
            "assume:worker-pool:" + wp,
            "assume:worker-id:" + w,
            "queue:worker-id:" + w,
            "secrets:get:worker-type:" + wp,
            "secrets:get:worker-pool:" + wp,
            "queue:claim-work:" + wp,
            "worker-manager:remove-worker:" + full,
            "worker-manager:reregister-worker:" + full,
            "worker-manager:should-worker-terminate:" + full};
}

http_response json_response(unsigned status, const json::value& body) {
    http_response r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
    r.body = json::serialize(body);
    return r;
}

http_response error_response(const api_failure& f, const http_request& req, time_point now) {
    json::object info;
    info["method"] = req.method;
    info["params"] = json::object{};
    info["payload"] = json::object{};  // never echoed: it may hold secrets
    info["time"] = format_rfc3339_ms(now);
    json::object body;
    body["code"] = f.code;
    body["message"] = f.message + "\n\n---\n\n* method: " + req.method +
                      "\n* errorCode: " + f.code + "\n* statusCode: " + std::to_string(f.status);
    body["requestInfo"] = std::move(info);
    auto r = json_response(f.status, body);
    if (f.status == 401) r.headers.emplace_back("www-authenticate", "hawk");
    return r;
}

std::int64_t to_ms(time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::optional<hawk_auth_result> tc_standin::impl::authenticate(const http_request& req,
                                                               time_point now,
                                                               const std::vector<std::string>& need,
                                                               json::object& record) {
    hawk_auth_result who;
    if (req.header("Authorization").empty()) {
        who.scopes = {"assume:anonymous"};
    } else {
        who = hawk_authenticate(
            req, https,
            [this](const std::string& id) -> std::optional<hawk_client> {
                if (id == issuer_id) return hawk_client{issuer_token, {"*"}};
                const auto it = clients.find(id);
                if (it == clients.end()) return std::nullopt;
                return it->second;
            },
            now);
        if (!who.ok) throw api_failure{401, "AuthenticationFailed", who.message};
        record["clientId"] = who.client_id;
    }
    std::vector<std::string> missing;
    for (const auto& s : need)
        if (!scope_satisfied(who.scopes, s)) missing.push_back(s);
    if (!missing.empty()) {
        std::string m = "Client ID " + (who.client_id.empty() ? "(none)" : who.client_id) +
                        " does not have sufficient scopes and is missing the following scopes:";
        for (const auto& s : missing) m += "\n" + s;
        throw api_failure{403, "InsufficientScopes", m};
    }
    return who;
}

json::object tc_standin::impl::issue(const std::string& provider_id, const std::string& wp,
                                     const std::string& wg, const std::string& wid, time_point now,
                                     std::string& secret_out) {
    auto& pool = pools.at(wp);
    const auto lifetime =
        std::chrono::seconds(pool.lifetimes_s[std::min(pool.issued, pool.lifetimes_s.size() - 1)]);
    ++pool.issued;
    // Whole milliseconds, so that "expires" and the certificate's expiry agree.
    const auto expires = time_point(std::chrono::milliseconds(to_ms(now + lifetime)));
    tc::temp_creds_request r;
    r.issuer_client_id = issuer_id;
    r.issuer_access_token = issuer_token;
    r.name = "worker/" + provider_id + "/" + wp + "/" + wg + "/" + wid;
    r.scopes = worker_scopes(wp, wg, wid);
    r.start_ms = to_ms(now - std::chrono::minutes(15));
    r.expiry_ms = to_ms(expires);
    const auto creds = tc::create_temporary_credentials(r);
    secret_out = tc::make_slugid() + tc::make_slugid();

    json::object c;
    c["clientId"] = creds.client_id;
    c["accessToken"] = creds.access_token;
    c["certificate"] = creds.certificate;
    json::object out;
    out["expires"] = format_rfc3339_ms(expires);
    out["credentials"] = std::move(c);
    out["secret"] = secret_out;
    return out;
}

http_response tc_standin::impl::route(const http_request& req, json::object& record,
                                      json::object& params, time_point now) {
    // Bodies are read only with Content-Type: application/json, as lib-api does.
    json::object body;
    std::string ctype = req.header("Content-Type");
    ctype = ctype.substr(0, ctype.find(';'));
    while (!ctype.empty() && ctype.back() == ' ') ctype.pop_back();
    if (ctype == "application/json" && !req.body.empty()) {
        boost::system::error_code ec;
        const auto v = json::parse(req.body, ec);
        if (ec || !v.is_object())
            throw api_failure{400, "MalformedPayload", "Failed to parse JSON payload"};
        body = v.as_object();
    }
    record["body"] = redact(body);

    const auto seg = split_path(req.path);
    auto is = [&](std::initializer_list<const char*> prefix) {
        if (seg.size() < prefix.size()) return false;
        std::size_t i = 0;
        for (const char* p : prefix)
            if (seg[i++] != p) return false;
        return true;
    };

    if ((is({"api", "worker-manager", "v1", "ping"}) || is({"api", "secrets", "v1", "ping"})) &&
        seg.size() == 4)
        return json_response(200, json::object{{"alive", true}, {"uptime", 1}});

    if (is({"api", "worker-manager", "v1", "worker", "register"}) && seg.size() == 5 &&
        req.method == "POST") {
        check_body(body,
                   {"workerPoolId", "providerId", "workerGroup", "workerId", "workerIdentityProof"},
                   {"systemBootTime"}, {"workerIdentityProof"});
        const std::string wp = str(body.at("workerPoolId")), pid = str(body.at("providerId")),
                          wg = str(body.at("workerGroup")), wid = str(body.at("workerId"));
        if (!body.at("workerIdentityProof").is_object())
            throw validation_error("data.workerIdentityProof should be object");
        const auto& proof = body.at("workerIdentityProof").as_object();
        const auto pool = pools.find(wp);
        if (pool == pools.end())
            throw api_failure{404, "ResourceNotFound", "Worker pool " + wp + " does not exist"};
        const auto prov = providers.find(pid);
        if (prov == providers.end())
            throw api_failure{404, "ResourceNotFound", "Provider " + pid + " does not exist"};
        if (!pool->second.provider_id.empty() && pool->second.provider_id != pid)
            throw input_error("Worker pool " + wp + " not associated with provider " + pid);
        const std::string key = wp + "/" + wg + "/" + wid;
        auto proof_keys = [&](std::vector<std::string> want) {
            for (const auto& k : want)
                if (!proof.contains(k) || !proof.at(k).is_string())
                    throw input_error("missing " + k + " in workerIdentityProof");
            if (proof.size() != want.size())
                throw validation_error("data.workerIdentityProof should match exactly one schema");
        };
        const auto& type = prov->second.type;
        if (type == "static") {
            const auto w = prov->second.static_secrets.find(wg + "/" + wid);
            if (w == prov->second.static_secrets.end())
                throw api_failure{404, "ResourceNotFound",
                                  "Worker " + wg + "/" + wid + " does not exist"};
            if (const auto it = workers.find(key); it != workers.end() && !it->second.running)
                throw input_error("worker is not running");
            if (!proof.contains("staticSecret") || !proof.at("staticSecret").is_string())
                throw input_error("missing staticSecret in workerIdentityProof");
            if (str(proof.at("staticSecret")) != w->second)
                throw input_error("bad staticSecret in workerIdentityProof");
        } else if (type == "aws") {
            proof_keys({"document", "signature"});
        } else if (type == "google") {
            proof_keys({"token"});
        } else {
            proof_keys({"document"});
        }
        if (const auto* b = body.if_contains("systemBootTime")) {
            time_point t;
            if (!parse_rfc3339(b->as_string(), t))
                throw validation_error("data.systemBootTime should match format \"date-time\"");
        }
        std::string secret;
        auto out = issue(pid, wp, wg, wid, now, secret);
        workers[key] = worker_rec{pid, secret, true};
        out["workerConfig"] = pool->second.worker_config;
        return json_response(200, out);
    }

    if (is({"api", "worker-manager", "v1", "worker", "reregister"}) && seg.size() == 5 &&
        req.method == "POST") {
        check_body(body, {"workerPoolId", "workerGroup", "workerId", "secret"}, {});
        const std::string wp = str(body.at("workerPoolId")), wg = str(body.at("workerGroup")),
                          wid = str(body.at("workerId")), secret = str(body.at("secret"));
        static const std::regex secret_re("^[a-zA-Z0-9_-]{44}$");
        if (!std::regex_match(secret, secret_re))
            throw validation_error("data.secret should match pattern \"^[a-zA-Z0-9_-]{44}$\"");
        authenticate(req, now, {"worker-manager:reregister-worker:" + wp + "/" + wg + "/" + wid},
                     record);
        const auto it = workers.find(wp + "/" + wg + "/" + wid);
        if (it == workers.end() || it->second.secret != secret)
            throw input_error("Could not generate credentials for this secret");
        if (!it->second.running) throw input_error("Worker " + wg + "/" + wid + " is not running");
        std::string fresh;
        auto out = issue(it->second.provider_id, wp, wg, wid, now, fresh);
        it->second.secret = fresh;  // single use: the old secret is burnt
        return json_response(200, out);
    }

    if (is({"api", "worker-manager", "v1", "worker-pool-errors"}) && seg.size() >= 5 &&
        req.method == "POST") {
        const std::string wp = join(seg, 4, seg.size());
        params["workerPoolId"] = wp;
        check_body(body, {"workerGroup", "workerId", "kind", "title", "description", "extra"}, {},
                   {"extra"});
        const std::string wg = str(body.at("workerGroup")), wid = str(body.at("workerId"));
        const std::string kind = str(body.at("kind")), title = str(body.at("title")),
                          description = str(body.at("description"));
        if (!body.at("extra").is_object()) throw validation_error("data.extra should be object");
        if (utf8_length(kind) > 128 || !std::regex_match(kind, kind_re))
            throw validation_error("data.kind should match pattern \"^[-a-z0-9]+$\"");
        if (utf8_length(title) > 128)
            throw validation_error("data.title should NOT be longer than 128");
        if (utf8_length(description) > 10240)
            throw validation_error("data.description should NOT be longer than 10240");
        authenticate(req, now, {"assume:worker-pool:" + wp, "assume:worker-id:" + wg + "/" + wid},
                     record);
        if (!pools.count(wp))
            throw api_failure{404, "ResourceNotFound", "Worker pool does not exist"};
        json::object extra = body.at("extra").as_object();
        extra["workerGroup"] = wg;
        extra["workerId"] = wid;
        json::object out;
        out["workerPoolId"] = wp;
        out["errorId"] = tc::make_slugid();
        out["reported"] = format_rfc3339_ms(now);
        out["kind"] = kind;
        out["title"] = title;
        out["description"] = description;
        out["extra"] = extra;
        reports.push_back(out);
        return json_response(200, out);
    }

    if (is({"api", "worker-manager", "v1", "workers"}) && seg.size() >= 7) {
        const bool st = seg.back() == "should-terminate";
        const std::size_t n = seg.size() - (st ? 1 : 0);
        if (n >= 7 && ((st && req.method == "GET") || (!st && req.method == "DELETE"))) {
            const std::string wp = join(seg, 4, n - 2), wg = seg[n - 2], wid = seg[n - 1];
            params["workerPoolId"] = wp;
            params["workerGroup"] = wg;
            params["workerId"] = wid;
            check_ids(wp, wg, wid);
            const std::string key = wp + "/" + wg + "/" + wid;
            if (st) {
                authenticate(req, now, {"worker-manager:should-worker-terminate:" + key}, record);
                terminate_answer a;
                if (const auto it = workers.find(key); it != workers.end() && !it->second.running)
                    a = {true, "worker is not running"};
                if (const auto it = should_terminate.find(key); it != should_terminate.end())
                    a = it->second;
                return json_response(
                    200, json::object{{"terminate", a.terminate}, {"reason", a.reason}});
            }
            authenticate(req, now, {"worker-manager:remove-worker:" + key}, record);
            auto it = workers.find(key);
            if (it == workers.end()) throw api_failure{404, "ResourceNotFound", "Worker not found"};
            it->second.running = false;
            return json_response(200, json::object{});
        }
    }

    if (is({"api", "secrets", "v1", "secret"}) && seg.size() >= 5 && req.method == "GET") {
        const std::string name = join(seg, 4, seg.size());
        params["name"] = name;
        authenticate(req, now, {"secrets:get:" + name}, record);
        const auto it = secrets.find(name);
        if (it == secrets.end()) throw api_failure{404, "ResourceNotFound", "Secret not found"};
        json::object out;
        out["secret"] = it->second;
        out["expires"] = format_rfc3339_ms(now + std::chrono::hours(24 * 365));
        return json_response(200, out);
    }

    return error_response({404, "ResourceNotFound", "No such endpoint"}, req, now);
}

http_response tc_standin::impl::handle(const http_request& req) {
    std::lock_guard lock(mu);
    const time_point now = clk->now();
    refresh_files();

    json::object record;
    record["time"] = format_rfc3339_ms(now);
    // Milliseconds since the Unix epoch, as the fake worker's record has them ("t").
    record["t"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    record["method"] = req.method;
    record["path"] = req.path;
    record["query"] = req.query;
    record["params"] = json::object{};
    record["body"] = nullptr;
    record["clientId"] = nullptr;

    auto pick_fault = [&](bool after) -> std::optional<tc_fault> {
        for (auto* list : {&faults, &file_faults}) {
            for (auto& f : *list) {
                if (f.fault.after != after || f.remaining == 0) continue;
                if (!f.fault.method.empty() && f.fault.method != req.method) continue;
                if (!std::regex_search(req.path, f.re)) continue;
                if (f.remaining > 0) --f.remaining;
                return f.fault;
            }
        }
        return std::nullopt;
    };
    auto apply = [&](const tc_fault& f, http_response r) {
        if (f.status != 0) {
            r = error_response({f.status, f.status >= 500 ? "InternalServerError" : "InputError",
                                "injected fault"},
                               req, now);
        }
        r.delay = std::chrono::milliseconds(f.delay_ms);
        r.stall = f.stall;
        r.reset = f.reset;
        record["fault"] = true;
        return r;
    };

    http_response resp;
    const auto before = pick_fault(false);
    if (before && (before->status != 0 || before->stall || before->reset)) {
        resp = apply(*before, {});
    } else {
        json::object params;
        try {
            resp = route(req, record, params, now);
        } catch (const api_failure& f) {
            resp = error_response(f, req, now);
        }
        record["params"] = std::move(params);
        if (before) resp.delay = std::chrono::milliseconds(before->delay_ms);
        if (const auto after = pick_fault(true)) resp = apply(*after, std::move(resp));
    }
    record["status"] = resp.stall || resp.reset ? 0 : resp.status;

    if (records.size() < 100'000) records.push_back(record);
    if (!state_dir.empty()) {
        std::ofstream out(fs::path(state_dir) / "requests.jsonl", std::ios::app);
        out << json::serialize(record) << '\n';
        out.flush();
    }
    return resp;
}

tc_standin::tc_standin(tc_standin_options opts) : impl_(std::make_unique<impl>()) {
    impl_->clk = opts.clk ? opts.clk : &real_clock();
    impl_->state_dir = opts.state_dir;
    impl_->https = opts.tls != nullptr;
    impl_->load_config(opts.config);
    if (!impl_->state_dir.empty()) fs::create_directories(impl_->state_dir);
    impl_->server = std::make_unique<http_server>(
        [this](const http_request& r) { return impl_->handle(r); }, opts.port, opts.tls);
}

tc_standin::~tc_standin() {
    if (impl_->server) impl_->server->stop();
}

std::uint16_t tc_standin::port() const {
    return impl_->server->port();
}
std::string tc_standin::root_url() const {
    return impl_->server->base_url();
}
void tc_standin::run_until_signal() {
    impl_->server->run_until_signal();
}

void tc_standin::set_should_terminate(const std::string& worker_key, bool terminate,
                                      std::string reason) {
    std::lock_guard lock(impl_->mu);
    impl_->should_terminate[worker_key] = {terminate, std::move(reason)};
}

void tc_standin::set_secret(const std::string& name, json::value value) {
    std::lock_guard lock(impl_->mu);
    if (value.is_null())
        impl_->secrets.erase(name);
    else
        impl_->secrets[name] = std::move(value);
}

void tc_standin::add_fault(tc_fault f) {
    std::lock_guard lock(impl_->mu);
    impl_->faults.push_back(make_fault_state(std::move(f)));
}

std::vector<json::object> tc_standin::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->records;
}

std::vector<json::object> tc_standin::error_reports() const {
    std::lock_guard lock(impl_->mu);
    return impl_->reports;
}

std::string tc_standin::registration_secret(const std::string& worker_key) const {
    std::lock_guard lock(impl_->mu);
    const auto it = impl_->workers.find(worker_key);
    return it == impl_->workers.end() ? std::string() : it->second.secret;
}

std::string tc_standin::issuer_access_token() const {
    return impl_->issuer_token;
}

}  // namespace sw::test
