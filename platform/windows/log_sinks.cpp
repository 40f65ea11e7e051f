// The log destinations' OS calls on Windows: the standard error handle. There is no journald
// or /dev/log: connecting fails (operation not supported) and the log falls back to stderr.
#include "platform/log_sinks.hpp"

#include <utility>
#include <windows.h>

namespace sw::platform {

std::error_code write_stderr(std::string_view bytes) {
    const HANDLE h = ::GetStdHandle(STD_ERROR_HANDLE);
    if (h == nullptr || h == INVALID_HANDLE_VALUE)
        return std::error_code(static_cast<int>(::GetLastError()), std::system_category());
    while (!bytes.empty()) {
        const DWORD chunk = bytes.size() > 1u << 30 ? 1u << 30 : static_cast<DWORD>(bytes.size());
        DWORD written = 0;
        if (!::WriteFile(h, bytes.data(), chunk, &written, nullptr))
            return std::error_code(static_cast<int>(::GetLastError()), std::system_category());
        bytes.remove_prefix(written);
    }
    return {};
}

int current_pid() {
    return static_cast<int>(::GetCurrentProcessId());
}

std::chrono::system_clock::time_point coarse_wall_clock() {
    return std::chrono::system_clock::now();  // GetSystemTimePreciseAsFileTime: cheap enough
}

log_datagram_socket::~log_datagram_socket() = default;

log_datagram_socket::log_datagram_socket(log_datagram_socket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)) {}

log_datagram_socket& log_datagram_socket::operator=(log_datagram_socket&& o) noexcept {
    fd_ = std::exchange(o.fd_, -1);
    return *this;
}

log_datagram_socket log_datagram_socket::connect(const std::string&, std::error_code& ec) {
    ec = std::make_error_code(std::errc::operation_not_supported);
    return {};
}

std::error_code log_datagram_socket::send(std::string_view) {
    return std::make_error_code(std::errc::operation_not_supported);
}

std::error_code log_datagram_socket::send_through_memfd(std::string_view) {
    return std::make_error_code(std::errc::operation_not_supported);
}

}  // namespace sw::platform
