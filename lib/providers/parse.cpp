#include "lib/providers/parse.hpp"

#include "lib/json/document.hpp"
#include "lib/json/worker_config.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>

namespace sw::providers::parse {

namespace {

std::invalid_argument bad(std::string_view what, std::string_view problem) {
    return std::invalid_argument(std::string(what) + ": " + std::string(problem));
}

const boost::json::object& as_object(const boost::json::value& v, std::string_view what) {
    const auto* o = v.if_object();
    if (!o) throw bad(what, "must be a JSON object");
    return *o;
}

/// The string at `key`; "" when absent or null; an error for any other type.
std::string opt_string(const boost::json::object& o, std::string_view key, std::string_view what) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return {};
    if (!v->is_string()) throw bad(what, std::string(key) + " must be a string");
    return std::string(v->get_string());
}

std::string req_string(const boost::json::object& o, std::string_view key, std::string_view what) {
    auto s = opt_string(o, key, what);
    if (s.empty()) throw bad(what, std::string("missing ") + std::string(key));
    return s;
}

const boost::json::object* opt_object(const boost::json::object& o, std::string_view key,
                                      std::string_view what) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_object()) throw bad(what, std::string(key) + " must be an object");
    return &v->get_object();
}

const boost::json::array* opt_array(const boost::json::object& o, std::string_view key,
                                    std::string_view what) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_array()) throw bad(what, std::string(key) + " must be an array");
    return &v->get_array();
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

}  // namespace

boost::json::value json_document(std::string_view text, std::string_view what) {
    boost::system::error_code ec;
    auto v = sw::json::parse(text, ec);
    if (ec) throw bad(what, "not valid JSON (" + ec.message() + ")");
    return v;
}

cloud_user_data cloud_user_data_from_json(std::string_view text) {
    constexpr std::string_view what = "user data";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    cloud_user_data ud;
    ud.worker_pool_id = opt_string(o, "workerPoolId", what);
    ud.provider_id = opt_string(o, "providerId", what);
    ud.root_url = opt_string(o, "rootUrl", what);
    ud.worker_group = opt_string(o, "workerGroup", what);
    if (const auto* wc = o.if_contains("workerConfig")) ud.worker_config = *wc;
    return ud;
}

std::string_view first_missing_field(const cloud_user_data& ud) {
    if (ud.worker_pool_id.empty()) return "workerPoolId";
    if (ud.provider_id.empty()) return "providerId";
    if (ud.worker_group.empty()) return "workerGroup";
    if (ud.root_url.empty()) return "rootUrl";
    return {};
}

aws_identity_document aws_identity_document_from_json(std::string_view text) {
    constexpr std::string_view what = "instance identity document";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    aws_identity_document d;
    d.instance_id = req_string(o, "instanceId", what);
    d.image_id = opt_string(o, "imageId", what);
    d.instance_type = opt_string(o, "instanceType", what);
    d.region = req_string(o, "region", what);
    d.availability_zone = req_string(o, "availabilityZone", what);
    d.private_ip = opt_string(o, "privateIp", what);
    return d;
}

std::string aws_region_from_zone(std::string_view availability_zone) {
    if (availability_zone.empty()) return {};
    return std::string(availability_zone.substr(0, availability_zone.size() - 1));
}

std::string gce_zone_from_path(std::string_view zone_path) {
    zone_path = trim(zone_path);
    const auto slash = zone_path.rfind('/');
    return std::string(slash == std::string_view::npos ? zone_path : zone_path.substr(slash + 1));
}

std::string gce_region_from_zone(std::string_view zone) {
    if (zone.size() < 2) return {};
    return std::string(zone.substr(0, zone.size() - 2));
}

bool gce_preempted(std::string_view body) {
    return trim(body) == "TRUE";
}

azure_instance azure_instance_from_json(std::string_view text) {
    constexpr std::string_view what = "instance metadata";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    const auto* compute = opt_object(o, "compute", what);
    if (!compute) throw bad(what, "missing compute");
    azure_instance inst;
    inst.name = req_string(*compute, "name", "instance metadata compute");
    inst.vm_id = opt_string(*compute, "vmId", "instance metadata compute");
    inst.location = opt_string(*compute, "location", "instance metadata compute");
    inst.vm_size = opt_string(*compute, "vmSize", "instance metadata compute");
    if (const auto* tags = opt_array(*compute, "tagsList", "instance metadata compute")) {
        for (const auto& t : *tags) {
            const auto& tag = as_object(t, "instance metadata compute.tagsList item");
            auto name = opt_string(tag, "name", "instance metadata compute.tagsList item");
            auto value = opt_string(tag, "value", "instance metadata compute.tagsList item");
            if (!name.empty()) inst.tags.emplace(std::move(name), std::move(value));
        }
    }
    const auto* network = opt_object(o, "network", what);
    const auto* interfaces = network ? opt_array(*network, "interface", "network") : nullptr;
    if (interfaces && interfaces->size() == 1) {
        const auto& iface = as_object(interfaces->front(), "network.interface item");
        const auto* ipv4 = opt_object(iface, "ipv4", "network.interface item");
        const auto* addrs =
            ipv4 ? opt_array(*ipv4, "ipAddress", "network.interface.ipv4") : nullptr;
        if (addrs && addrs->size() == 1) {
            const auto& a = as_object(addrs->front(), "network.interface.ipv4.ipAddress item");
            auto priv = opt_string(a, "privateIpAddress", "ipAddress item");
            auto pub = opt_string(a, "publicIpAddress", "ipAddress item");
            if (!priv.empty()) inst.local_ipv4 = std::move(priv);
            if (!pub.empty()) inst.public_ipv4 = std::move(pub);
        }
    }
    return inst;
}

cloud_user_data azure_identity_from_tags(const std::map<std::string, std::string>& tags) {
    auto get = [&](const char* tag) {
        auto it = tags.find(tag);
        if (it == tags.end() || it->second.empty())
            throw std::invalid_argument(std::string("did not get ") + tag +
                                        " from instance tagged data");
        return it->second;
    };
    cloud_user_data ud;
    ud.worker_pool_id = get("worker-pool-id");
    ud.provider_id = get("provider-id");
    ud.worker_group = get("worker-group");
    ud.root_url = get("root-url");
    return ud;
}

std::string azure_attested_signature(std::string_view text) {
    constexpr std::string_view what = "attested document";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    const auto encoding = opt_string(o, "encoding", what);
    if (encoding != "pkcs7")
        throw std::invalid_argument("expected attested document with format pkcs7, got " +
                                    encoding);
    return req_string(o, "signature", what);
}

std::vector<scheduled_event> azure_scheduled_events_from_json(std::string_view text) {
    constexpr std::string_view what = "scheduled events";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    std::vector<scheduled_event> out;
    const auto* events = opt_array(o, "Events", what);
    if (!events) return out;
    constexpr std::string_view item = "scheduled events Events item";
    for (const auto& e : *events) {
        const auto& eo = as_object(e, item);
        scheduled_event ev;
        ev.event_id = opt_string(eo, "EventId", item);
        ev.event_type = opt_string(eo, "EventType", item);
        ev.event_status = opt_string(eo, "EventStatus", item);
        ev.resource_type = opt_string(eo, "ResourceType", item);
        ev.not_before = opt_string(eo, "NotBefore", item);
        if (const auto* res = opt_array(eo, "Resources", item)) {
            for (const auto& r : *res) {
                if (!r.is_string()) throw bad(item, "Resources must hold strings");
                ev.resources.emplace_back(r.get_string());
            }
        }
        out.push_back(std::move(ev));
    }
    return out;
}

std::optional<termination_notice> azure_termination_notice(
    const std::vector<scheduled_event>& events, std::string_view vm_name) {
    for (const auto& ev : events) {
        if (ev.event_type == "Freeze") continue;
        if (!vm_name.empty() && !ev.resources.empty()) {
            bool mine = false;
            for (const auto& r : ev.resources) mine = mine || r == vm_name;
            if (!mine) continue;
        }
        termination_notice n;
        n.reason = "azure scheduled event: " + ev.event_type;
        n.event_id = ev.event_id;
        time_point t;
        if (parse_rfc1123(ev.not_before, t)) n.deadline = t;
        return n;
    }
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> retry_after(std::string_view v, time_point now) {
    using std::chrono::milliseconds;
    if (v.empty()) return std::nullopt;
    if (v.find_first_not_of("0123456789") == std::string_view::npos) {
        if (v.size() > 9) return milliseconds(999'999'999'000);  // far beyond any cap
        return milliseconds(std::stoll(std::string(v)) * 1000);
    }
    time_point when;
    if (!parse_rfc1123(v, when)) return std::nullopt;
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(when - now));
}

bool parse_rfc1123(std::string_view s, time_point& out) {
    // "Thu, 05 Dec 2019 00:31:50 GMT": fixed layout, 29 characters.
    static constexpr std::array<std::string_view, 7> days = {"Mon", "Tue", "Wed", "Thu",
                                                             "Fri", "Sat", "Sun"};
    static constexpr std::array<std::string_view, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    s = trim(s);
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT")
        return false;
    bool day_ok = false;
    for (auto d : days) day_ok = day_ok || s.substr(0, 3) == d;
    if (!day_ok) return false;
    auto num = [&](std::size_t pos, std::size_t n, int& v) {
        v = 0;
        for (std::size_t i = pos; i < pos + n; ++i) {
            if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
            v = v * 10 + (s[i] - '0');
        }
        return true;
    };
    int day, year, h, m, sec;
    if (!num(5, 2, day) || !num(12, 4, year) || !num(17, 2, h) || !num(20, 2, m) ||
        !num(23, 2, sec))
        return false;
    unsigned month = 0;
    for (unsigned i = 0; i < months.size(); ++i)
        if (s.substr(8, 3) == months[i]) month = i + 1;
    if (month == 0 || h > 23 || m > 59 || sec > 60) return false;
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                             std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) return false;
    // Clamped as parse_rfc3339 does: a year past 2262 overflowed the nanosecond conversion
    // (found by tests/fuzz/metadata_fuzz).
    const sys_seconds t = sys_days{ymd} + hours{h} + minutes{m} + seconds{sec};
    if (t < time_point_cast<seconds>(earliest_instant()))
        out = earliest_instant();
    else if (t >= time_point_cast<seconds>(latest_instant()))
        out = latest_instant();
    else
        out = time_point{t.time_since_epoch()};
    return true;
}

termination_notice aws_instance_action_notice(std::string_view text) {
    constexpr std::string_view what = "spot instance-action";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    termination_notice n;
    const auto action = opt_string(o, "action", what);
    n.reason = "aws spot instance-action: " + (action.empty() ? std::string("unknown") : action);
    time_point t;
    if (parse_rfc3339(opt_string(o, "time", what), t)) n.deadline = t;
    return n;
}

termination_notice aws_termination_time_notice(std::string_view text) {
    termination_notice n;
    n.reason = "aws spot termination-time";
    time_point t;
    if (parse_rfc3339(trim(text), t)) n.deadline = t;
    return n;
}

aws_provisioner_user_data aws_provisioner_user_data_from_json(std::string_view text) {
    constexpr std::string_view what = "aws-provisioner user data";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    aws_provisioner_user_data ud;
    if (const auto* d = o.if_contains("data"); d && !d->is_null()) {
        if (!d->is_object()) throw bad(what, "data must be an object");
        ud.data = *d;
    } else {
        ud.data = boost::json::object{};
    }
    ud.worker_type = req_string(o, "workerType", what);
    ud.provisioner_id = req_string(o, "provisionerId", what);
    ud.region = req_string(o, "region", what);
    ud.taskcluster_root_url = req_string(o, "taskclusterRootUrl", what);
    ud.security_token = req_string(o, "securityToken", what);
    if (const auto* c = o.if_contains("capacity"); c && !c->is_null()) {
        if (!c->is_number()) throw bad(what, "capacity must be a number");
        ud.capacity = c->to_number<double>();
    }
    return ud;
}

aws_provisioner_secret aws_provisioner_secret_from_json(std::string_view text) {
    constexpr std::string_view what = "aws-provisioner secret";
    const auto doc = json_document(text, what);
    const auto& o = as_object(doc, what);
    const auto* creds = opt_object(o, "credentials", what);
    if (!creds) throw bad(what, "missing credentials");
    aws_provisioner_secret s;
    s.creds.client_id = req_string(*creds, "clientId", "aws-provisioner secret credentials");
    s.creds.access_token = req_string(*creds, "accessToken", "aws-provisioner secret credentials");
    // The certificate is a JSON text; some services send it as an object.
    if (const auto* cert = creds->if_contains("certificate"); cert && !cert->is_null()) {
        if (cert->is_string())
            s.creds.certificate = std::string(cert->get_string());
        else if (cert->is_object())
            s.creds.certificate = boost::json::serialize(*cert);
        else
            throw bad(what, "credentials.certificate must be a string");
    }
    if (const auto* d = o.if_contains("data"); d && !d->is_null()) {
        if (!d->is_object()) throw bad(what, "data must be an object");
        s.data = *d;
    }
    return s;
}

boost::json::value aws_provisioner_worker_config(const aws_provisioner_user_data& ud,
                                                 const boost::json::value& secret_data,
                                                 std::string_view worker_implementation) {
    boost::json::value wc = json::merge(ud.data, secret_data);
    if (worker_implementation == "generic-worker") {
        const auto* gw = wc.as_object().if_contains("genericWorker");
        const auto* gwo = gw ? gw->if_object() : nullptr;
        const auto* gwc = gwo ? gwo->if_contains("config") : nullptr;
        if (gwc && gwc->is_object()) wc = json::merge(wc, *gwc);
    }
    if (ud.capacity != 1) wc = json::set_path(wc, "capacity", ud.capacity);
    if (worker_implementation == "docker-worker") {
        wc = json::set_path(wc, "shutdown.enabled", true);
        wc = json::set_path(wc, "shutdown.afterIdleSeconds", 900);
    }
    return wc;
}

}  // namespace sw::providers::parse
