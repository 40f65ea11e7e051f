#include "state/failure.hpp"

#include "lib/common/error.hpp"

namespace sw::state {

std::string_view to_string(failure_class c) {
    switch (c) {
        case failure_class::retryable:
            return "retryable";
        case failure_class::refused:
            return "refused";
        case failure_class::permanent:
            return "permanent";
        case failure_class::config:
            return "config";
        case failure_class::internal:
            return "internal";
    }
    return "?";
}

exit_code exit_code_for(failure_class c) {
    switch (c) {
        case failure_class::retryable:
            return exit_code::unavailable;
        case failure_class::refused:
        case failure_class::permanent:
            return exit_code::refused;
        case failure_class::config:
            return exit_code::config;
        case failure_class::internal:
            return exit_code::internal;
    }
    return exit_code::internal;
}

failure_class class_of(std::error_code ec) noexcept {
    if (ec.category() == error_category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::unavailable:
                return failure_class::retryable;
            case errc::refused:
                return failure_class::refused;
            case errc::permanent:
                return failure_class::permanent;
            case errc::config:
                return failure_class::config;
            case errc::internal:
                return failure_class::internal;
        }
        return failure_class::internal;
    }
    if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
        return failure_class::refused;
    return failure_class::internal;
}

bool restart_can_fix(failure_class c) {
    return c == failure_class::retryable || c == failure_class::internal;
}

}  // namespace sw::state
