// The names of the lifecycle's stages, levels, actions and events (logs, STATUS=, tests).
#include "state/lifecycle.hpp"

namespace sw::state {

std::string_view to_string(stage s) {
    switch (s) {
        case stage::init:
            return "init";
        case stage::checking_termination:
            return "checking for termination";
        case stage::loading_state:
            return "loading state";
        case stage::configuring:
            return "configuring";
        case stage::resuming:
            return "resuming";
        case stage::registering:
            return "registering";
        case stage::renewing_before_start:
            return "renewing credentials";
        case stage::fetching_secrets:
            return "fetching secrets";
        case stage::preparing:
            return "preparing worker";
        case stage::starting_worker:
            return "starting worker";
        case stage::running:
            return "running";
        case stage::removing:
            return "removing worker";
        case stage::host_action:
            return "host action";
        case stage::startup_failed:
            return "start-up failed";
        case stage::done:
            return "done";
    }
    return "?";
}

std::string_view to_string(stop_level l) {
    switch (l) {
        case stop_level::none:
            return "none";
        case stop_level::draining:
            return "draining";
        case stop_level::terminating:
            return "terminating";
        case stop_level::killing:
            return "killing";
    }
    return "?";
}

std::string_view to_string(renewal_state r) {
    switch (r) {
        case renewal_state::idle:
            return "idle";
        case renewal_state::in_flight:
            return "in flight";
        case renewal_state::backing_off:
            return "backing off";
        case renewal_state::given_up:
            return "given up";
    }
    return "?";
}

std::string_view to_string(action_type a) {
    switch (a) {
        case action_type::check_termination:
            return "check_termination";
        case action_type::load_state:
            return "load_state";
        case action_type::configure_provider:
            return "configure_provider";
        case action_type::resume_provider:
            return "resume_provider";
        case action_type::register_worker:
            return "register_worker";
        case action_type::reregister:
            return "reregister";
        case action_type::fetch_secrets:
            return "fetch_secrets";
        case action_type::prepare_worker:
            return "prepare_worker";
        case action_type::start_worker:
            return "start_worker";
        case action_type::stop_check:
            return "stop_check";
        case action_type::remove_worker:
            return "remove_worker";
        case action_type::shutdown_host:
            return "shutdown_host";
        case action_type::reboot_host:
            return "reboot_host";
        case action_type::cancel:
            return "cancel";
        case action_type::persist:
            return "persist";
        case action_type::remove_state:
            return "remove_state";
        case action_type::send_graceful:
            return "send_graceful";
        case action_type::send_new_credentials:
            return "send_new_credentials";
        case action_type::terminate_worker:
            return "terminate_worker";
        case action_type::kill_worker:
            return "kill_worker";
        case action_type::acknowledge_notice:
            return "acknowledge_notice";
        case action_type::report_error:
            return "report_error";
        case action_type::notify_ready:
            return "notify_ready";
        case action_type::notify_stopping:
            return "notify_stopping";
        case action_type::exit:
            return "exit";
    }
    return "?";
}

std::string_view to_string(event_type e) {
    switch (e) {
        case event_type::start:
            return "start";
        case event_type::termination_checked:
            return "termination_checked";
        case event_type::state_missing:
            return "state_missing";
        case event_type::state_loaded:
            return "state_loaded";
        case event_type::provider_configured:
            return "provider_configured";
        case event_type::registered:
            return "registered";
        case event_type::reregistered:
            return "reregistered";
        case event_type::reregister_failed:
            return "reregister_failed";
        case event_type::secrets_fetched:
            return "secrets_fetched";
        case event_type::worker_prepared:
            return "worker_prepared";
        case event_type::worker_started:
            return "worker_started";
        case event_type::hello:
            return "hello";
        case event_type::signal:
            return "signal";
        case event_type::notice:
            return "notice";
        case event_type::stop_check_result:
            return "stop_check_result";
        case event_type::shutdown_requested:
            return "shutdown_requested";
        case event_type::worker_exited:
            return "worker_exited";
        case event_type::removed:
            return "removed";
        case event_type::remove_failed:
            return "remove_failed";
        case event_type::host_action_done:
            return "host_action_done";
        case event_type::state_write_failed:
            return "state_write_failed";
        case event_type::failed:
            return "failed";
        case event_type::tick:
            return "tick";
    }
    return "?";
}

}  // namespace sw::state
