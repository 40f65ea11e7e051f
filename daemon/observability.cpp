#include "daemon/observability.hpp"

#include "lib/log/log.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sw::daemon {

namespace asio = boost::asio;

void observability::start_health() {
    if (!s_.cfg.health || s_.cfg.health->listen.empty()) return;
    health_ = std::make_unique<health::server>(s_.io.get_executor(), s_.cfg.health->listen,
                                               [this] { return snapshot(); });
    health_->start();
    log::info("Health endpoint on {} (port {})", s_.cfg.health->listen, health_->port());
}

void observability::start_watchdog(operations& ops) {
    const auto every = notifier_.watchdog_interval();
    if (!every) return;
    auto loop =
        [](observability& self,
           std::chrono::microseconds period) -> asio::awaitable<std::optional<state::event>> {
        asio::steady_timer t(self.s_.io);
        while (true) {
            self.notifier_.watchdog();
            t.expires_after(period);
            co_await t.async_wait(asio::use_awaitable);  // cancellation ends the loop
        }
    };
    ops.start("the service manager's watchdog", op_kind::background, loop(*this, *every));
}

void observability::stopping() {
    using namespace std::chrono_literals;
    notifier_.stopping();
    notifier_.extend_timeout(s_.cfg.lifecycle.graceful_stop_timeout +
                             s_.cfg.lifecycle.kill_timeout + 30s);
}

void observability::stop() {
    if (health_) health_->stop();
}

health::snapshot observability::snapshot() const {
    health::snapshot h;
    h.stage = std::string(to_string(s_.fsm->current()));
    h.worker_running = s_.fsm->current() == state::stage::running;
    h.finished = s_.finished;
    if (s_.st.credentials_expire)
        h.credentials_expiry_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                        s_.st.credentials_expire->time_since_epoch())
                                        .count();
    const auto now = real_clock().now();
    h.now_unix = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    h.uptime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s_.started_at).count();
    h.counts = s_.counts;
    h.renewals = s_.renewals;
    h.renewal_failures = s_.renewal_failures;
    h.log_dropped = log::dropped_count();
    h.error_reports_dropped = s_.reports.dropped_total();
    h.error_reports_pending = s_.reports.pending() + (s_.reports.in_flight() ? 1 : 0);
    h.termination_notice = s_.notice.has_value();
    return h;
}

}  // namespace sw::daemon
