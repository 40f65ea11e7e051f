// Error -> exit code, once (daemon/exit_status.hpp).
#include "daemon/exit_status.hpp"

#include "state/failure.hpp"

namespace sw::daemon {

exit_code exit_code_for(std::error_code ec) noexcept {
    if (!ec) return exit_code::ok;
    return state::exit_code_for(state::class_of(ec));
}

}  // namespace sw::daemon
