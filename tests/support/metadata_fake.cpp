#include "tests/support/metadata_fake.hpp"

#include "lib/common/clock.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

namespace sw::test {

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p, bool& exists) {
    std::ifstream in(p, std::ios::binary);
    exists = static_cast<bool>(in);
    if (!exists) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

http_response text(unsigned status, std::string body) {
    http_response r;
    r.status = status;
    r.headers = {{"Content-Type", "text/plain"}};
    r.body = std::move(body);
    return r;
}

http_response json_response(const boost::json::value& v) {
    http_response r;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = boost::json::serialize(v);
    return r;
}

/// The value of `name` in a raw query string, or nullopt.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto part = query.substr(0, amp);
        const auto eq = part.find('=');
        if (part.substr(0, eq) == name)
            return std::string(eq == std::string_view::npos ? "" : part.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

constexpr const char* aws_default = R"({"paths": {
  "/latest/user-data": "{\"workerPoolId\":\"w/p\",\"providerId\":\"amazon\",\"workerGroup\":\"wg\",\"rootUrl\":\"https://tc.example.com\"}",
  "/latest/dynamic/instance-identity/document": "{\"instanceId\":\"i-55555nonesense5\",\"region\":\"us-west-2\",\"availabilityZone\":\"us-west-2a\",\"instanceType\":\"t2.micro\",\"imageId\":\"banana\",\"privateIp\":\"1.1.1.1\"}",
  "/latest/dynamic/instance-identity/signature": "thisisasignature",
  "/latest/meta-data/public-hostname": "hostname",
  "/latest/meta-data/public-ipv4": "2.2.2.2",
  "/latest/meta-data/instance-id": "i-55555nonesense5",
  "/latest/meta-data/ami-id": "banana",
  "/latest/meta-data/instance-type": "t2.micro",
  "/latest/meta-data/local-ipv4": "1.1.1.1",
  "/latest/meta-data/placement/availability-zone": "us-west-2a"
}})";

constexpr const char* google_default = R"({"paths": {
  "/computeMetadata/v1/instance/id": "i-123",
  "/computeMetadata/v1/instance/attributes/taskcluster": "{\"workerPoolId\":\"w/p\",\"providerId\":\"gcp\",\"workerGroup\":\"wg\",\"rootUrl\":\"https://tc.example.com\"}",
  "/computeMetadata/v1/project/project-id": "proj-1234",
  "/computeMetadata/v1/instance/image": "img-123",
  "/computeMetadata/v1/instance/machine-type": "most-of-the-cloud",
  "/computeMetadata/v1/instance/zone": "/project/1234/zone/in-central1-b",
  "/computeMetadata/v1/instance/hostname": "my-worker.example.com",
  "/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip": "1.2.3.4",
  "/computeMetadata/v1/instance/network-interfaces/0/ip": "192.168.0.1",
  "/computeMetadata/v1/instance/service-accounts/default/identity?audience=https://tc.example.com&format=full": "i-promise"
}, "hangMs": 500})";

constexpr const char* azure_default = R"({"paths": {
  "/metadata/instance": {
    "compute": {"name": "vm-w-p-test", "vmId": "df09142e-c0dd-43d9-a515-489f19829dfd",
                "location": "uswest", "vmSize": "medium",
                "tagsList": [{"name": "worker-pool-id", "value": "w/p"},
                             {"name": "provider-id", "value": "azure"},
                             {"name": "worker-group", "value": "wg"},
                             {"name": "root-url", "value": "https://tc.example.com"}]},
    "network": {"interface": [{"ipv4": {"ipAddress": [
                {"privateIpAddress": "10.1.2.4", "publicIpAddress": "104.42.72.130"}]}}]}},
  "/metadata/attested/document": {"encoding": "pkcs7", "signature": "dHJ1c3QgbWUsIGl0J3MgY29vbCAtLUJpbGw="}
}})";

}  // namespace

std::string format_rfc1123(time_point t) {
    const auto secs = wall_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::optional<cloud> cloud_from_string(std::string_view s) {
    if (s == "aws") return cloud::aws;
    if (s == "google") return cloud::google;
    if (s == "azure") return cloud::azure;
    return std::nullopt;
}

std::string metadata_fake::default_metadata(cloud c) {
    switch (c) {
        case cloud::aws:
            return aws_default;
        case cloud::google:
            return google_default;
        case cloud::azure:
            return azure_default;
    }
    return "{}";
}

struct metadata_fake::impl {
    cloud which;
    fs::path dir;
    std::mutex mu;
    std::set<std::string> tokens;
    unsigned next_token = 1;
    std::atomic<unsigned> incarnation{1};
    std::map<std::string, long long> throttled;  ///< throttle entry (JSON) -> 429s answered

    /// The 429 a "throttle" entry of metadata.json asks for, if any (see metadata_fake.hpp).
    std::optional<http_response> throttle(const http_request& req) {
        const auto md = metadata();
        const auto* list = md.if_contains("throttle");
        if (!list || !list->is_array()) return std::nullopt;
        for (const auto& v : list->get_array()) {
            const auto* e = v.if_object();
            const auto* path = e ? e->if_contains("path") : nullptr;
            if (!path || !path->is_string() ||
                req.target.find(std::string(path->get_string())) == std::string::npos)
                continue;
            long long count = -1;
            if (const auto* c = e->if_contains("count"); c && c->is_int64()) count = c->get_int64();
            {
                std::lock_guard lock(mu);
                auto& n = throttled[boost::json::serialize(v)];
                if (count >= 0 && n >= count) continue;
                ++n;
            }
            auto r = text(429, "Too Many Requests\n");
            if (const auto* ra = e->if_contains("retryAfter"); ra && ra->is_string())
                r.headers.emplace_back("Retry-After", std::string(ra->get_string()));
            return r;
        }
        return std::nullopt;
    }

    boost::json::object metadata() {
        bool exists = false;
        auto text = read_file(dir / "metadata.json", exists);
        if (!exists) text = default_metadata(which);
        boost::system::error_code ec;
        auto v = boost::json::parse(text, ec);
        if (ec || !v.is_object()) return {};
        return v.get_object();
    }

    /// terminate.json: nullopt when absent; its JSON object (empty if not one) when present.
    std::optional<boost::json::object> termination() {
        bool exists = false;
        const auto text = read_file(dir / "terminate.json", exists);
        if (!exists) return std::nullopt;
        boost::system::error_code ec;
        auto v = boost::json::parse(text, ec);
        if (ec || !v.is_object()) return boost::json::object{};
        return v.get_object();
    }

    void record(const http_request& req) {
        boost::json::object headers;
        for (const auto& [k, v] : req.headers) headers[lower(k)] = v;
        const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        boost::json::object line{{"t", t},
                                 {"method", req.method},
                                 {"target", req.target},
                                 {"headers", std::move(headers)},
                                 {"body", req.body}};
        std::ofstream out(dir / "requests.jsonl", std::ios::app);
        out << boost::json::serialize(line) << '\n';
    }

    http_response from_paths(const boost::json::object& md, const http_request& req) {
        const auto* paths = md.if_contains("paths");
        if (!paths || !paths->is_object()) return text(404, "not found\n");
        const auto& p = paths->get_object();
        const auto* v = p.if_contains(req.target);
        if (!v) v = p.if_contains(req.path);
        if (!v || v->is_null()) return text(404, "not found\n");
        if (v->is_string()) return text(200, std::string(v->get_string()));
        return json_response(*v);
    }

    http_response aws(const http_request& req) {
        const auto md = metadata();
        const bool v1_only = md.contains("imdsV1Only") && md.at("imdsV1Only") == true;
        if (req.path == "/latest/api/token") {
            if (req.method != "PUT") return text(405, "method not allowed\n");
            if (v1_only) return text(403, "forbidden\n");
            const auto ttl = req.header("X-aws-ec2-metadata-token-ttl-seconds");
            int secs = 0;
            try {
                secs = std::stoi(ttl);
            } catch (const std::exception&) {
            }
            if (secs < 1 || secs > 21600) return text(400, "bad ttl\n");
            std::lock_guard lock(mu);
            auto token = "fake-imds-token-" + std::to_string(next_token++);
            tokens.insert(token);
            return text(200, token);
        }
        if (req.method != "GET") return text(405, "method not allowed\n");
        if (!v1_only) {
            std::lock_guard lock(mu);
            if (!tokens.count(req.header("X-aws-ec2-metadata-token")))
                return text(401, "unauthorized\n");
        }
        if (req.path == "/latest/meta-data/spot/instance-action" ||
            req.path == "/latest/meta-data/spot/termination-time") {
            auto t = termination();
            if (!t) return text(404, "not found\n");
            if (!t->contains("action")) (*t)["action"] = "terminate";
            if (!t->contains("time"))
                (*t)["time"] = format_rfc3339_ms(wall_clock::now() + std::chrono::minutes(2));
            if (req.path.ends_with("instance-action")) return json_response(*t);
            const auto* time = t->at("time").if_string();
            return text(200, time ? std::string(*time) : std::string());
        }
        return from_paths(md, req);
    }

    http_response google(const http_request& req) {
        if (req.header("Metadata-Flavor") != "Google")
            return text(403, "missing Metadata-Flavor\n");
        if (req.method != "GET") return text(405, "method not allowed\n");
        const auto md = metadata();
        if (req.path == "/computeMetadata/v1/instance/preempted") {
            const bool preempted = termination().has_value();
            auto r = text(200, preempted ? "TRUE" : "FALSE");
            r.headers.emplace_back("ETag", preempted ? "etag-true" : "etag-false");
            const auto wait = query_param(req.query, "wait_for_change");
            if (!preempted && wait == "true") {
                long hang = 500;
                if (const auto* h = md.if_contains("hangMs"); h && h->is_int64())
                    hang = static_cast<long>(h->get_int64());
                r.delay = std::chrono::milliseconds(hang);
            }
            return r;
        }
        return from_paths(md, req);
    }

    http_response azure(const http_request& req) {
        if (req.header("Metadata") != "true")
            return text(400, "Required metadata header not specified\n");
        if (!query_param(req.query, "api-version")) return text(400, "missing api-version\n");
        const auto md = metadata();
        if (req.path == "/metadata/scheduledevents") {
            if (req.method == "POST") {
                boost::system::error_code ec;
                auto body = boost::json::parse(req.body, ec);
                const auto* o = ec ? nullptr : body.if_object();
                const auto* starts = o ? o->if_contains("StartRequests") : nullptr;
                if (!starts || !starts->is_array()) return text(400, "bad StartRequests\n");
                ++incarnation;
                return text(200, "");
            }
            if (req.method != "GET") return text(405, "method not allowed\n");
            boost::json::array events;
            if (auto t = termination()) {
                std::string vm;
                if (const auto* paths = md.if_contains("paths"); paths && paths->is_object())
                    if (const auto* inst = paths->get_object().if_contains("/metadata/instance"))
                        if (const auto* c = inst->is_object()
                                                ? inst->get_object().if_contains("compute")
                                                : nullptr)
                            if (c->is_object())
                                if (const auto* n = c->get_object().if_contains("name");
                                    n && n->is_string())
                                    vm = std::string(n->get_string());
                boost::json::object ev{
                    {"EventId", "A123BC45-1234-5678-AB90-ABCDEF123456"},
                    {"EventStatus", "Scheduled"},
                    {"EventType", "Preempt"},
                    {"ResourceType", "VirtualMachine"},
                    {"Resources", boost::json::array{boost::json::string(vm)}},
                    {"NotBefore", format_rfc1123(wall_clock::now() + std::chrono::seconds(30))}};
                for (const auto& [k, v] : *t) ev[k] = v;
                events.push_back(std::move(ev));
            }
            return json_response(boost::json::object{{"DocumentIncarnation", incarnation.load()},
                                                     {"Events", std::move(events)}});
        }
        if (req.method != "GET") return text(405, "method not allowed\n");
        return from_paths(md, req);
    }
};

metadata_fake::metadata_fake(cloud c, fs::path state_dir) : impl_(std::make_unique<impl>()) {
    impl_->which = c;
    impl_->dir = std::move(state_dir);
}

metadata_fake::~metadata_fake() = default;

http_response metadata_fake::handle(const http_request& req) {
    impl_->record(req);
    if (auto r = impl_->throttle(req)) return std::move(*r);
    switch (impl_->which) {
        case cloud::aws:
            return impl_->aws(req);
        case cloud::google:
            return impl_->google(req);
        case cloud::azure:
            return impl_->azure(req);
    }
    return text(500, "unknown cloud\n");
}

http_handler metadata_fake::handler() {
    return [this](const http_request& req) { return handle(req); };
}

}  // namespace sw::test
