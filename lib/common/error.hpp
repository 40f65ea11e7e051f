#pragma once
// start-worker's own error conditions (the shape of Beast's and Boost.Redis's error.hpp): an
// enum of error values in the "start_worker" category, make_error_code found by ADL, and
// classifiers in the shape of Boost.MySQL's is_fatal_error. Library code reports what went wrong
// (sw::errc); only the daemon turns that into a process exit code (daemon/exit_status.hpp), once.
//
// The one exception type that crosses module boundaries is sw::failure: an error_code (usually
// an sw::errc) and a message that names the key, file or URL. It is caught at the top of the
// daemon and turned into a log line and an exit code.
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace sw {

/// What went wrong, as far as the caller's next step is concerned.
enum class errc {
    /// The runner config is invalid, unreadable as a config (a directory, a FIFO, empty) or
    /// names something unusable. The operator must fix the config; nothing should be retried.
    config = 1,
    /// Our credentials or our authority were refused: HTTP 401/403, a TLS certificate that does
    /// not verify, or a config/state file with unsafe ownership or mode. Retrying the same thing
    /// cannot succeed.
    refused,
    /// The service rejected the request itself (HTTP 400, 404, 409 and other 4xx but 401, 403
    /// and 429): an unknown worker pool, a wrong static secret. The same request cannot succeed.
    permanent,
    /// The service (Taskcluster, a cloud metadata service) stayed unreachable or answered
    /// 5xx/429 after the call's retries. A later attempt may succeed.
    unavailable,
    /// A bug: an invariant of start-worker itself does not hold.
    internal,
};

}  // namespace sw

template <>
struct std::is_error_code_enum<sw::errc> : std::true_type {};

namespace sw {

/// The "start_worker" category of sw::errc.
const std::error_category& error_category() noexcept;

/// Found by ADL: lets an sw::errc be used wherever a std::error_code is expected.
inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// Whether a later attempt of the same operation may succeed (errc::unavailable, and the
/// standard network conditions: timed out, connection refused/reset/aborted, host or network
/// unreachable). False for success.
bool is_retryable(std::error_code ec) noexcept;

/// Whether no retry of the same operation can succeed: errc::config, refused and permanent.
/// False for success.
bool is_permanent(std::error_code ec) noexcept;

/// Whether our credentials or authority were refused (errc::refused).
bool is_refused(std::error_code ec) noexcept;

class failure : public std::runtime_error {
  public:
    /// `message` names the key path, file or URL and says what is wrong with it.
    failure(std::error_code code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    failure(errc code, const std::string& message) : failure(make_error_code(code), message) {}
    const std::error_code& code() const noexcept { return code_; }

  private:
    std::error_code code_;
};

/// A runner-config problem (errc::config), message "<key path>: <problem>".
inline failure config_error(std::string_view key_path, std::string_view problem) {
    return failure(errc::config, std::string(key_path) + ": " + std::string(problem));
}

}  // namespace sw
