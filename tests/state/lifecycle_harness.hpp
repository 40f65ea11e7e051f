#pragma once
// Drives the lifecycle state machine in transcript tests: events in, actions out, time moved
// by hand. No sockets, no clocks.
#include "state/lifecycle.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace sw::state::testing {

using namespace std::chrono_literals;
using A = action_type;
using E = event_type;

inline const time_point t0 = time_point{} + std::chrono::hours(24 * 365 * 56);

struct harness {
    lifecycle fsm;
    time_point now = t0;

    explicit harness(lifecycle_options o) : fsm(std::move(o)) {}

    std::vector<action> feed(event ev) {
        ev.now = now;
        return fsm.resume(ev);
    }
    std::vector<action> feed(E type) {
        event ev;
        ev.type = type;
        return feed(ev);
    }
    std::vector<action> tick_at(time_point t) {
        now = t;
        return feed(E::tick);
    }
    std::vector<action> exited(int status) {
        event ev;
        ev.type = E::worker_exited;
        ev.exit_status = status;
        return feed(ev);
    }
    std::vector<action> hello(bool graceful = true, bool creds = true) {
        event ev;
        ev.type = E::hello;
        ev.can_graceful = graceful;
        ev.can_new_credentials = creds;
        return feed(ev);
    }
    std::vector<action> registered(std::optional<time_point> expires) {
        event ev;
        ev.type = E::registered;
        ev.deadline = expires;
        return feed(ev);
    }
    std::vector<action> failed(failure_class c, std::string reason = "it failed") {
        event ev;
        ev.type = E::failed;
        ev.failure = c;
        ev.reason = std::move(reason);
        return feed(ev);
    }
    std::vector<action> notice(std::optional<time_point> deadline = std::nullopt) {
        event ev;
        ev.type = E::notice;
        ev.deadline = deadline;
        ev.reason = "spot";
        return feed(ev);
    }
    /// Feeds a fresh start, one successful step at a time, until the machine is in `target`
    /// (at most stage::running, before the worker's hello).
    void run_to(stage target, std::optional<time_point> expires = t0 + 96h) {
        if (fsm.current() == stage::init && target != stage::init) feed(E::start);
        while (fsm.current() != target) {
            switch (fsm.current()) {
                case stage::checking_termination:
                    feed(E::termination_checked);
                    break;
                case stage::loading_state:
                    feed(E::state_missing);
                    break;
                case stage::configuring:
                    feed(E::provider_configured);
                    break;
                case stage::registering:
                    registered(expires);
                    break;
                case stage::fetching_secrets:
                    feed(E::secrets_fetched);
                    break;
                case stage::preparing:
                    feed(E::worker_prepared);
                    break;
                case stage::starting_worker:
                    feed(E::worker_started);
                    break;
                default:
                    FAIL("cannot reach " << to_string(target) << " from "
                                         << to_string(fsm.current()));
            }
        }
    }
    /// A fresh start up to (not including) the worker's hello; the actions of worker_started.
    std::vector<action> run_to_started(std::optional<time_point> expires = t0 + 96h) {
        run_to(stage::starting_worker, expires);
        return feed(E::worker_started);
    }
    /// Runs a fresh start up to a running worker that said hello.
    void run_to_running(std::optional<time_point> expires = t0 + 96h) {
        run_to_started(expires);
        hello();
        REQUIRE(fsm.current() == stage::running);
    }

    struct logged {
        time_point at;
        action what;
    };
    /// Moves time from deadline to deadline (as the shell does) until `end` or the end of the
    /// run, answering every reregister with `renew` (nullopt: no answer yet), and returns every
    /// action with its time.
    std::vector<logged> run_until(time_point end,
                                  const std::function<std::optional<event>(time_point)>& renew) {
        std::vector<logged> log;
        for (int guard = 0; guard < 100000 && fsm.current() != stage::done; ++guard) {
            const auto d = fsm.next_deadline();
            if (!d || *d > end) break;
            now = std::max(now, *d);
            std::vector<action> acts = feed(E::tick);
            for (std::size_t i = 0; i < acts.size(); ++i) {
                log.push_back({now, acts[i]});
                if (acts[i].type == A::reregister) {
                    if (auto ev = renew(now)) {
                        auto more = feed(*ev);
                        acts.insert(acts.end(), more.begin(), more.end());
                    }
                }
            }
        }
        return log;
    }
};

/// The state file's contents as load_state reports them.
inline event state_loaded(phase ph, std::optional<time_point> expires = std::nullopt) {
    event ev;
    ev.type = E::state_loaded;
    ev.loaded_phase = ph;
    ev.deadline = expires;
    return ev;
}

inline std::vector<A> types(const std::vector<action>& acts) {
    std::vector<A> out;
    for (const auto& a : acts) out.push_back(a.type);
    return out;
}

inline const action* find(const std::vector<action>& acts, A t) {
    for (const auto& a : acts)
        if (a.type == t) return &a;
    return nullptr;
}

inline lifecycle_options static_opts() {
    lifecycle_options o;
    o.registers = true;
    o.dynamic = false;
    o.cache = true;
    o.stop_check_interval = 0s;
    return o;
}

inline lifecycle_options cloud_opts() {
    lifecycle_options o;
    o.registers = true;
    o.dynamic = true;
    o.can_register_again = true;
    o.cache = true;
    o.stop_check_interval = 0s;
    return o;
}

}  // namespace sw::state::testing
