// The "start_worker" error category and the classifiers (lib/common/error.hpp).
#include "lib/common/error.hpp"

namespace sw {

namespace {

class category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "start_worker"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::config:
                return "invalid runner configuration";
            case errc::refused:
                return "refused";
            case errc::permanent:
                return "rejected by the service";
            case errc::unavailable:
                return "service unavailable";
            case errc::internal:
                return "internal error";
        }
        return "unknown start_worker error " + std::to_string(value);
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const category c;
    return c;
}

bool is_retryable(std::error_code ec) noexcept {
    if (ec == errc::unavailable) return true;
    if (ec.category() == error_category()) return false;
    const auto cond = ec.default_error_condition();
    for (const auto e :
         {std::errc::timed_out, std::errc::connection_refused, std::errc::connection_reset,
          std::errc::connection_aborted, std::errc::host_unreachable,
          std::errc::network_unreachable, std::errc::network_down})
        if (cond == e) return true;
    return false;
}

bool is_permanent(std::error_code ec) noexcept {
    return ec == errc::config || ec == errc::refused || ec == errc::permanent;
}

bool is_refused(std::error_code ec) noexcept {
    return ec == errc::refused;
}

}  // namespace sw
