#include "state/renewal.hpp"

#include <algorithm>

namespace sw::state {

using namespace std::chrono;

milliseconds renew_before_expire(milliseconds until) {
    // Reference 11.0: 30 minutes ahead, but not sooner than 5 minutes from now, and at least
    // 30 seconds before expiry.
    milliseconds renew = until - minutes(30);
    if (renew < minutes(5)) {
        renew = minutes(5);
        if (renew > until - seconds(30)) renew = std::max(until - seconds(30), milliseconds(0));
    }
    return renew;
}

milliseconds stop_margin(milliseconds lifetime, seconds kill_timeout) {
    if (lifetime <= milliseconds(0)) return milliseconds(0);
    const milliseconds left_at_first_attempt = lifetime - renew_before_expire(lifetime);
    return std::min<milliseconds>(kill_timeout + seconds(10), left_at_first_attempt / 2);
}

seconds renewal_backoff(int failures) {
    const int n = std::clamp(failures, 1, 5);
    return std::min(seconds(30) * (1 << (n - 1)), seconds(300));
}

}  // namespace sw::state
