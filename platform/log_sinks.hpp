#pragma once
// The operating-system calls behind the log destinations (lib/log): writing to the standard
// error stream, and datagrams to the journal's native socket and to the syslog socket. lib/log
// holds no OS call of its own.
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace sw::platform {

/// Writes all of `bytes` to the standard error stream (file descriptor 2) with as few write(2)
/// calls as the kernel allows: retried on EINTR and on short writes. Blocks while the stream is
/// full (the log writer thread calls it, never the event loop). Returns the first other error.
std::error_code write_stderr(std::string_view bytes);

/// The process id (for the syslog tag "start-worker[pid]").
int current_pid();

/// The wall clock at the kernel tick's resolution (Linux CLOCK_REALTIME_COARSE, a few ms), for
/// log formats that show whole seconds: cheaper than the precise clock on the log's hot path.
std::chrono::system_clock::time_point coarse_wall_clock();

/// A connected Unix datagram socket (AF_UNIX, SOCK_DGRAM, close-on-exec) for one log
/// destination: systemd-journald's native socket or /dev/log.
class log_datagram_socket {
  public:
    log_datagram_socket() = default;
    ~log_datagram_socket();
    log_datagram_socket(log_datagram_socket&& o) noexcept;
    log_datagram_socket& operator=(log_datagram_socket&& o) noexcept;
    log_datagram_socket(const log_datagram_socket&) = delete;
    log_datagram_socket& operator=(const log_datagram_socket&) = delete;

    /// Connects to the socket at `path` (a filesystem path). Errors: whatever socket(2) or
    /// connect(2) report (ENOENT when nothing listens there, ECONNREFUSED, EACCES, ...).
    static log_datagram_socket connect(const std::string& path, std::error_code& ec);

    bool is_open() const { return fd_ >= 0; }

    /// Sends one datagram (blocking, retried on EINTR). EMSGSIZE when it is larger than the
    /// socket allows.
    std::error_code send(std::string_view datagram);

    /// systemd-journald's way for an entry too large for a datagram (systemd's
    /// src/libsystemd/sd-journal/journal-send.c): the entry is written into a sealed memfd
    /// and its descriptor sent alone (SCM_RIGHTS) in an otherwise empty datagram.
    std::error_code send_through_memfd(std::string_view entry);

  private:
    explicit log_datagram_socket(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace sw::platform
