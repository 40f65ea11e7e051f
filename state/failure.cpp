#include "state/failure.hpp"

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

failure_class classify_http_status(unsigned status) {
    if (status == 0 || status >= 500 || status == 408 || status == 429)
        return failure_class::retryable;
    if (status == 401 || status == 403) return failure_class::refused;
    if (status >= 400) return failure_class::permanent;
    return failure_class::internal;
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

failure_class class_of(exit_code c) {
    switch (c) {
        case exit_code::unavailable:
            return failure_class::retryable;
        case exit_code::refused:
            return failure_class::refused;
        case exit_code::config:
            return failure_class::config;
        default:
            return failure_class::internal;
    }
}

bool restart_can_fix(failure_class c) {
    return c == failure_class::retryable || c == failure_class::internal;
}

}  // namespace sw::state
