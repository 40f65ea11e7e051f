#include "state/run_state.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace sw {

namespace {
std::string str_field(const boost::json::object& o, std::string_view key, bool required = false) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) {
        if (required) throw std::invalid_argument(std::string(key) + ": missing");
        return {};
    }
    if (!v->is_string()) throw std::invalid_argument(std::string(key) + ": must be a string");
    return std::string(v->get_string());
}
}  // namespace

worker_file worker_file_from_json(const boost::json::value& v) {
    const auto* o = v.if_object();
    if (!o) throw std::invalid_argument("file item must be an object");
    worker_file f;
    f.description = str_field(*o, "description");
    f.path = str_field(*o, "path");
    f.content = str_field(*o, "content");
    f.encoding = str_field(*o, "encoding");
    f.format = str_field(*o, "format");
    return f;
}

boost::json::object worker_file_to_json(const worker_file& f) {
    return {{"description", f.description},
            {"path", f.path},
            {"content", f.content},
            {"encoding", f.encoding},
            {"format", f.format}};
}

boost::json::object run_state_to_json(const run_state& s) {
    boost::json::object o;
    o["RootURL"] = s.root_url;
    o["Credentials"] = boost::json::object{{"clientId", s.creds.client_id},
                                           {"accessToken", s.creds.access_token},
                                           {"certificate", s.creds.certificate}};
    o["CredentialsExpire"] = s.credentials_expire ? format_rfc3339_ms(*s.credentials_expire)
                                                  : std::string("0001-01-01T00:00:00.000Z");
    o["RegistrationSecret"] = s.registration_secret;
    o["WorkerPoolID"] = s.worker_pool_id;
    o["WorkerGroup"] = s.worker_group;
    o["WorkerID"] = s.worker_id;
    o["ProviderID"] = s.provider_id;
    o["ProviderMetadata"] = s.provider_metadata;
    o["WorkerConfig"] =
        s.worker_config.is_null() ? boost::json::value(boost::json::object{}) : s.worker_config;
    o["RemoteWorkerConfig"] =
        s.remote_config.is_null() ? boost::json::value(boost::json::object{}) : s.remote_config;
    boost::json::array files;
    for (const auto& f : s.files) files.push_back(worker_file_to_json(f));
    o["Files"] = std::move(files);
    boost::json::object loc;
    for (const auto& [k, v] : s.worker_location) loc[k] = v;
    o["WorkerLocation"] = std::move(loc);
    if (s.termination_deadline)
        o["TerminationDeadline"] = format_rfc3339_ms(*s.termination_deadline);
    return o;
}

run_state run_state_from_json(const boost::json::value& v) {
    const auto* o = v.if_object();
    if (!o) throw std::invalid_argument("state is not a JSON object");
    run_state s;
    s.root_url = str_field(*o, "RootURL", true);
    if (const auto* c = o->if_contains("Credentials")) {
        if (!c->is_object()) throw std::invalid_argument("Credentials: must be an object");
        const auto& co = c->get_object();
        s.creds.client_id = str_field(co, "clientId");
        s.creds.access_token = str_field(co, "accessToken");
        s.creds.certificate = str_field(co, "certificate");
    }
    const auto expire = str_field(*o, "CredentialsExpire");
    if (!expire.empty() && expire.rfind("0001-01-01", 0) != 0) {
        time_point t;
        if (!parse_rfc3339(expire, t))
            throw std::invalid_argument("CredentialsExpire: not an RFC 3339 date-time");
        s.credentials_expire = t;
    }
    s.registration_secret = str_field(*o, "RegistrationSecret");
    s.worker_pool_id = str_field(*o, "WorkerPoolID");
    s.worker_group = str_field(*o, "WorkerGroup");
    s.worker_id = str_field(*o, "WorkerID");
    s.provider_id = str_field(*o, "ProviderID");
    if (const auto* m = o->if_contains("ProviderMetadata"); m && !m->is_null()) {
        if (!m->is_object()) throw std::invalid_argument("ProviderMetadata: must be an object");
        s.provider_metadata = m->get_object();
    }
    if (const auto* w = o->if_contains("WorkerConfig"); w && !w->is_null()) {
        if (!w->is_object()) throw std::invalid_argument("WorkerConfig: must be an object");
        s.worker_config = *w;
    }
    if (const auto* w = o->if_contains("RemoteWorkerConfig"); w && !w->is_null()) {
        if (!w->is_object()) throw std::invalid_argument("RemoteWorkerConfig: must be an object");
        s.remote_config = *w;
    }
    if (const auto* f = o->if_contains("Files"); f && !f->is_null()) {
        if (!f->is_array()) throw std::invalid_argument("Files: must be an array");
        for (const auto& item : f->get_array()) s.files.push_back(worker_file_from_json(item));
    }
    if (const auto* l = o->if_contains("WorkerLocation"); l && !l->is_null()) {
        if (!l->is_object()) throw std::invalid_argument("WorkerLocation: must be an object");
        for (const auto& kv : l->get_object()) {
            if (!kv.value().is_string())
                throw std::invalid_argument("WorkerLocation: values must be strings");
            s.worker_location[std::string(kv.key())] = std::string(kv.value().get_string());
        }
    }
    const auto deadline = str_field(*o, "TerminationDeadline");
    if (!deadline.empty()) {
        time_point t;
        if (!parse_rfc3339(deadline, t))
            throw std::invalid_argument("TerminationDeadline: not an RFC 3339 date-time");
        s.termination_deadline = t;
    }
    return s;
}

std::string normalize_root_url(std::string_view root_url) {
    while (!root_url.empty() && root_url.back() == '/') root_url.remove_suffix(1);
    return std::string(root_url);
}

std::string check_provider_results(run_state& s) {
    s.root_url = normalize_root_url(s.root_url);
    if (s.root_url.empty()) return "provider did not set RootURL";
    if (s.creds.client_id.empty()) return "provider did not set Credentials.ClientID";
    if (s.worker_pool_id.empty()) return "provider did not set WorkerPoolID";
    if (s.worker_group.empty()) return "provider did not set WorkerGroup";
    if (s.worker_id.empty()) return "provider did not set WorkerID";
    if (s.provider_id.empty()) return "provider did not set ProviderID";
    auto it = s.worker_location.find("cloud");
    if (it == s.worker_location.end() || it->second.empty())
        return "provider did not set the cloud name";
    return {};
}

}  // namespace sw
