// Issue 9.1 and 9.2: credential renewal for every lifetime, and decisions held until hello.
#include "lib/common/error.hpp"
#include "state/failure.hpp"
#include "state/renewal.hpp"
#include "state/rules.hpp"
#include "tests/state/lifecycle_harness.hpp"

#include <string>
#include <vector>

using namespace sw;
using namespace sw::state;
using namespace sw::state::testing;
using std::chrono::milliseconds;

TEST_CASE("stop_margin never precedes the first renewal attempt", "[lifecycle][renewal]") {
    CHECK(stop_margin(96h, 30s) == milliseconds(40s));
    CHECK(stop_margin(1h, 30s) == milliseconds(40s));
    CHECK(stop_margin(60s, 30s) == milliseconds(15s));
    CHECK(stop_margin(40s, 30s) == milliseconds(15s));
    CHECK(stop_margin(8s, 30s) == milliseconds(4s));
    CHECK(stop_margin(31min, 1800s) == milliseconds(13min));
    CHECK(stop_margin(0s, 30s) == milliseconds(0));
    for (auto life : {5s, 30s, 45s, 90s, 300s, 331s, 3600s, 345600s}) {
        const auto l = milliseconds(life);
        INFO(life.count() << " s");
        CHECK(renew_before_expire(l) < l - stop_margin(l, 1800s));
    }
}

TEST_CASE("renewal backoff doubles from 30 s to 5 min", "[lifecycle][renewal]") {
    CHECK(renewal_backoff(1) == 30s);
    CHECK(renewal_backoff(2) == 60s);
    CHECK(renewal_backoff(4) == 240s);
    CHECK(renewal_backoff(5) == 300s);
    CHECK(renewal_backoff(50) == 300s);
}

TEST_CASE("failure classes and their exit codes", "[lifecycle][failure]") {
    // lib/tc classifies HTTP statuses into sw::errc (tests/lib/tc); the machine sees classes.
    CHECK(class_of(sw::errc::unavailable) == failure_class::retryable);
    CHECK(class_of(sw::errc::refused) == failure_class::refused);
    CHECK(class_of(sw::errc::permanent) == failure_class::permanent);
    CHECK(class_of(sw::errc::config) == failure_class::config);
    CHECK(class_of(sw::errc::internal) == failure_class::internal);
    CHECK(class_of(std::make_error_code(std::errc::permission_denied)) == failure_class::refused);
    CHECK(class_of(std::make_error_code(std::errc::no_space_on_device)) ==
          failure_class::internal);
    CHECK(exit_code_for(failure_class::retryable) == exit_code::unavailable);
    CHECK(exit_code_for(failure_class::refused) == exit_code::refused);
    CHECK(exit_code_for(failure_class::permanent) == exit_code::refused);
    CHECK(exit_code_for(failure_class::config) == exit_code::config);
    CHECK(exit_code_for(failure_class::internal) == exit_code::internal);
    CHECK(restart_can_fix(failure_class::retryable));
    CHECK_FALSE(restart_can_fix(failure_class::refused));
    CHECK_FALSE(restart_can_fix(failure_class::permanent));
    CHECK_FALSE(restart_can_fix(failure_class::config));
}

TEST_CASE("reboot and deploymentId rules", "[lifecycle][rules]") {
    CHECK(reboot_happened(t0, t0 - 1min));
    CHECK_FALSE(reboot_happened(t0 - 1h, t0));
    CHECK_FALSE(reboot_happened(t0 + 300ms, t0));  // the same second: boot times are seconds
    CHECK(reboot_happened(std::nullopt, t0));
    CHECK(reboot_happened(t0, std::nullopt));
    CHECK_FALSE(deployment_changed("\"a\"", "\"a\""));
    CHECK(deployment_changed("\"a\"", "\"b\""));
    CHECK(deployment_changed("", "\"b\""));
    CHECK_FALSE(deployment_changed("\"a\"", ""));
}

namespace {

struct lifetime_case {
    std::chrono::seconds lifetime;
    std::chrono::seconds kill_timeout;
    std::chrono::seconds first_attempt;  ///< after registration (the Go rule)
    std::chrono::seconds stop_at;        ///< finish-tasks:false if no renewal succeeds
};

std::vector<harness::logged> of_type(const std::vector<harness::logged>& log, A t) {
    std::vector<harness::logged> out;
    for (const auto& l : log)
        if (l.what.type == t) out.push_back(l);
    return out;
}

bool is_stop(A t) {
    return t == A::send_graceful || t == A::terminate_worker || t == A::kill_worker;
}

}  // namespace

TEST_CASE("credentials of every lifetime: renewed when the Go rule says, never a stop first",
          "[lifecycle][renewal][issue9]") {
    const std::vector<lifetime_case> cases{
        {8s, 30s, 0s, 4s},
        {40s, 30s, 10s, 25s},
        {60s, 30s, 30s, 45s},
        {31min, 1800s, 5min, 18min},
        {96h, 30s, 95h + 30min, 96h - 40s},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.lifetime.count() << " s credentials") {
            auto o = static_opts();
            o.kill_timeout = c.kill_timeout;
            harness h(o);
            h.run_to_running(t0 + c.lifetime);

            SECTION("renewals succeed: the worker gets every new set and is never stopped") {
                const auto life = c.lifetime;
                auto log = h.run_until(t0 + 5 * c.lifetime, [life](time_point now) {
                    event ok;
                    ok.type = E::reregistered;
                    ok.deadline = now + life;
                    return std::optional(ok);
                });
                const auto renewals = of_type(log, A::reregister);
                REQUIRE(renewals.size() >= 4);
                CHECK(renewals[0].at == t0 + c.first_attempt);
                CHECK(of_type(log, A::send_new_credentials).size() == renewals.size());
                for (const auto& l : log) {
                    INFO(to_string(l.what.type) << " at +" << (l.at - t0).count());
                    CHECK_FALSE(is_stop(l.what.type));
                }
            }
            SECTION("renewals fail: retried, then finish-tasks false at the scaled margin") {
                auto log = h.run_until(t0 + c.lifetime + 1min, [](time_point) {
                    event fail;
                    fail.type = E::reregister_failed;
                    fail.failure = failure_class::retryable;
                    return std::optional(fail);
                });
                const auto renewals = of_type(log, A::reregister);
                REQUIRE(renewals.size() >= 3);
                CHECK(renewals[0].at == t0 + c.first_attempt);
                const auto stops = of_type(log, A::send_graceful);
                REQUIRE(stops.size() == 1);
                CHECK_FALSE(stops[0].what.finish_tasks);
                CHECK(stops[0].at == t0 + c.stop_at);
                CHECK(stops[0].at > renewals[1].at);  // the first attempt and a retry came first
                const auto kills = of_type(log, A::kill_worker);
                REQUIRE(kills.size() == 1);
                CHECK(kills[0].at == std::min(t0 + c.stop_at + c.kill_timeout, t0 + c.lifetime));
                CHECK(of_type(log, A::terminate_worker).empty());
            }
        }
    }
}

TEST_CASE("a renewal that finishes before hello is delivered after it", "[lifecycle][issue9]") {
    harness h(static_opts());
    h.run_to_started(t0 + 8s);
    CHECK(types(h.tick_at(t0)) == std::vector{A::reregister});
    event ok;
    ok.type = E::reregistered;
    ok.deadline = t0 + 9s;
    CHECK(types(h.feed(ok)) == std::vector{A::persist});  // no hello yet: not delivered
    h.now = t0 + 3s;
    SECTION("a worker that takes new credentials gets them, and is not stopped") {
        CHECK(types(h.hello()) == std::vector{A::notify_ready, A::send_new_credentials});
        // Past the old credentials' stop time (t0 + 4 s): only the next renewal.
        CHECK(types(h.tick_at(t0 + 5s)) == std::vector{A::reregister});
        CHECK_FALSE(h.fsm.stopping());
    }
    SECTION("a worker that cannot is told to stop") {
        auto acts = h.hello(true, false);
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK_FALSE(acts[1].finish_tasks);
    }
}

TEST_CASE("8 s credentials and a hello after 12 s: renewed all along, never stopped",
          "[lifecycle][issue9]") {
    harness h(static_opts());
    h.run_to_started(t0 + 8s);
    auto log = h.run_until(t0 + 12s, [](time_point now) {
        event ok;
        ok.type = E::reregistered;
        ok.deadline = now + 8s;
        return std::optional(ok);
    });
    CHECK(of_type(log, A::reregister).size() >= 2);
    for (const auto& l : log) CHECK_FALSE(is_stop(l.what.type));
    h.now = t0 + 12s;
    CHECK(types(h.hello()) == std::vector{A::notify_ready, A::send_new_credentials});
    CHECK_FALSE(h.fsm.stopping());
}

TEST_CASE("decisions that depend on capabilities wait for hello", "[lifecycle][issue9]") {
    SECTION("a notice before hello: graceful-termination once hello says it can") {
        auto o = cloud_opts();
        harness h(o);
        h.run_to_started();
        h.now = t0 + 1s;
        CHECK(types(h.notice(t0 + 2min)) == std::vector{A::persist});
        CHECK(h.fsm.status() == "running: stop requested; waiting for the worker's hello");
        h.now = t0 + 12s;
        auto acts = h.hello();
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK_FALSE(acts[1].finish_tasks);
    }
    SECTION("two signals before hello: finish-tasks false, not SIGTERM") {
        harness h(static_opts());
        h.run_to_started();
        h.feed(E::signal);
        CHECK(h.feed(E::signal).empty());
        auto acts = h.hello();
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK_FALSE(acts[1].finish_tasks);
    }
    SECTION("a third signal kills at once, hello or not") {
        harness h(static_opts());
        h.run_to_started();
        h.feed(E::signal);
        h.feed(E::signal);
        CHECK(types(h.feed(E::signal)) == std::vector{A::kill_worker});
    }
    SECTION("a signal and no hello: SIGTERM once gracefulStopTimeout passes, not at hello timeout") {
        auto o = static_opts();
        o.graceful_stop_timeout = 2s;
        o.kill_timeout = 2s;
        harness h(o);
        h.run_to_started();
        CHECK(types(h.feed(E::signal)) == std::vector{A::notify_stopping});
        REQUIRE(h.fsm.next_deadline() == t0 + 2s);
        auto acts = h.tick_at(t0 + 2s);
        REQUIRE(types(acts) == std::vector{A::terminate_worker});
        CHECK(h.fsm.stopping_level() == stop_level::terminating);
        CHECK(types(h.tick_at(t0 + 4s)) == std::vector{A::kill_worker});
        // A hello that comes after all that changes nothing.
        CHECK(types(h.hello()) == std::vector{A::notify_ready});
    }
    SECTION("a notice and no hello: SIGTERM in time for the machine's end") {
        auto o = cloud_opts();
        harness h(o);
        h.run_to_started();
        CHECK(types(h.notice(t0 + 40s)) == std::vector{A::persist});
        // killTimeout 30 s + 5 s before the deadline, well before the 30 s hello timeout ends.
        REQUIRE(h.fsm.next_deadline() == t0 + 5s);
        auto acts = h.tick_at(t0 + 5s);
        REQUIRE(types(acts) == std::vector{A::terminate_worker});
    }
    SECTION("a stop check's answer before hello") {
        auto o = cloud_opts();
        o.stop_check_interval = 5s;
        harness h(o);
        h.run_to_started();
        CHECK(types(h.tick_at(t0 + 5s)) == std::vector{A::stop_check});
        event r;
        r.type = E::stop_check_result;
        r.terminate = true;
        r.reason = "worker-manager says terminate";
        CHECK(h.feed(r).empty());
        h.now = t0 + 12s;
        auto acts = h.hello();
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK(acts[1].finish_tasks);
    }
    SECTION("expiry before hello: finish-tasks false to a worker that can take it") {
        harness h(static_opts());
        h.run_to_started(t0 + 8s);
        auto log = h.run_until(t0 + 12s, [](time_point) {
            event fail;
            fail.type = E::reregister_failed;
            return std::optional(fail);
        });
        for (const auto& l : log) CHECK_FALSE(is_stop(l.what.type));
        h.now = t0 + 12s;
        auto acts = h.hello();
        REQUIRE(types(acts) == std::vector{A::notify_ready, A::send_graceful});
        CHECK_FALSE(acts[1].finish_tasks);
    }
}
