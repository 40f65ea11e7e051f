#include "daemon/context.hpp"

#include <cstdlib>
#include <string>

namespace sw::daemon {

context read_context(bool once) {
    context c;
    c.once = once;
    if (const char* v = std::getenv("START_WORKER_TEST_TIME_SCALE"); v && *v) {
        char* end = nullptr;
        const double d = std::strtod(v, &end);
        if (end != v && *end == '\0' && d > 0 && d <= 1e6) c.time_scale = d;
    }
    if (const char* root = std::getenv("START_WORKER_TEST_ROOT"); root && *root) {
        c.filesystem_root = root;
        std::string r = c.filesystem_root;  // "/" in production: the paths stay as they are
        while (!r.empty() && r.back() == '/') r.pop_back();
        c.journald_socket = r + c.journald_socket;
        c.syslog_socket = r + c.syslog_socket;
    }
    return c;
}

}  // namespace sw::daemon
