// Error -> exit code, once (daemon/exit_status.hpp).
#include "daemon/exit_status.hpp"

#include "lib/common/error.hpp"

namespace sw::daemon {

exit_code exit_code_for(std::error_code ec) noexcept {
    if (!ec) return exit_code::ok;
    if (ec.category() == error_category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::config:
                return exit_code::config;
            case errc::refused:
            case errc::permanent:
                return exit_code::refused;
            case errc::unavailable:
                return exit_code::unavailable;
            case errc::internal:
                return exit_code::internal;
        }
        return exit_code::internal;
    }
    if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
        return exit_code::refused;
    return exit_code::internal;
}

state::failure_class failure_class_for(std::error_code ec) noexcept {
    if (ec == errc::config) return state::failure_class::config;
    if (ec == errc::refused) return state::failure_class::refused;
    if (ec == errc::permanent) return state::failure_class::permanent;
    if (is_retryable(ec)) return state::failure_class::retryable;
    return state::failure_class::internal;
}

}  // namespace sw::daemon
