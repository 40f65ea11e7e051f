#include "state/worker_message.hpp"

namespace sw::state {

namespace {

worker_input ignored(std::string warning) {
    worker_input in;
    in.warning = std::move(warning);
    return in;
}

worker_input error_report(const protocol::message& m) {
    worker_input in;
    auto& r = in.report;
    auto str = [&](const char* k, std::string& out) {
        const auto* v = m.properties.if_contains(k);
        if (!v || !v->is_string()) return false;
        out = std::string(v->get_string());
        return true;
    };
    if (!str("kind", r.kind) || !str("title", r.title) || !str("description", r.description))
        return ignored(
            "Error processing error-report message, missing kind, title or description or not "
            "a string");
    if (const auto* e = m.properties.if_contains("extra")) {
        if (!e->is_object())
            return ignored("Error processing error-report message, extra is not an object");
        r.extra = e->get_object();  // copy-assigned: into r.extra's own (default) storage
    }
    in.what = worker_input::kind::error_report;
    return in;
}

}  // namespace

protocol::capabilities local_capabilities(bool autologin_configured) {
    protocol::capabilities c{"error-report", "graceful-termination", "log", "new-credentials",
                             "shutdown"};
    if (autologin_configured) c.add("autologin");
    return c;
}

worker_input interpret(const protocol::message& m, protocol::negotiation& nego) {
    worker_input in;
    if (m.type == "hello") {
        if (!nego.on_hello(m))
            in.warning = "Worker's hello has no valid capabilities list; assuming none";
        in.what = worker_input::kind::hello;
        in.ev.type = event_type::hello;
        in.ev.can_graceful = nego.capable("graceful-termination");
        in.ev.can_new_credentials = nego.capable("new-credentials");
        return in;
    }
    if (m.type == "log") {
        const auto* body = m.properties.if_contains("body");
        if (!body) return ignored("received log message from worker lacking 'body' property");
        if (!body->is_object())
            return ignored("received log message from worker with a non-object 'body'");
        in.what = worker_input::kind::log;
        in.log_body = &body->get_object();
        return in;
    }
    if (m.type == "error-report") return error_report(m);
    if (m.type == "shutdown") {
        in.what = worker_input::kind::shutdown;
        in.ev.type = event_type::shutdown_requested;
        return in;
    }
    if (m.type == "autologin") {
        const auto* u = m.properties.if_contains("username");
        const auto* p = m.properties.if_contains("password");
        if (!u || !u->is_string() || (p && !p->is_string()))
            return ignored("Ignoring autologin message without a string username");
        in.what = worker_input::kind::autologin;
        in.username = std::string(u->get_string());
        if (p) in.password = std::string(p->get_string());
        return in;
    }
    return ignored("No callback registered for message " + m.type);
}

}  // namespace sw::state
