#include "daemon/session.hpp"

#include "lib/common/error.hpp"
#include "lib/log/destination.hpp"
#include "lib/log/log.hpp"

namespace sw::daemon {

void session::remember_secrets() const {
    log::add_secret(st.creds.access_token);
    log::add_secret(st.creds.certificate);
    log::add_secret(st.registration_secret);
    log::set_identity(st.worker_pool_id, st.worker_group, st.worker_id);
}

void session::check_identity() {
    if (auto why = check_provider_results(st); !why.empty())
        throw failure(errc::internal, why);
    log::set_identity(st.worker_pool_id, st.worker_group, st.worker_id);
    log::info("Identified as worker {}/{}", st.worker_group, st.worker_id);
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += ' ';
        out += s;
    }
    return out;
}

}  // namespace sw::daemon
