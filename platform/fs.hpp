#pragma once
// Files: private and atomic. Everything that holds credentials is created owner-only (POSIX
// 0600; Windows: an owner-only DACL) and replaced atomically (temp file in the same directory,
// fsync, rename, fsync the directory), so a crash leaves the old or the new file, never neither.
#include "lib/common/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sw::platform {

/// The steps of write_private_file_atomic, in order.
enum class write_step {
    create_temp,  ///< create "<path>.tmp" owner-only (POSIX open O_CREAT|O_EXCL, 0600)
    write,        ///< write the contents into it
    sync,         ///< flush it to the disk (fsync; Windows FlushFileBuffers)
    rename,       ///< replace `path` with it (rename; Windows MoveFileEx REPLACE_EXISTING)
    sync_dir,     ///< flush the directory entry (fsync of the directory; a no-op on Windows)
};

/// Fault injection (Beast's test::fail_count): called before each step; a non-zero error code
/// makes that step fail with it, exactly as if the OS had returned it. Empty: no faults.
using write_fault = std::function<std::error_code(write_step)>;

/// What reading the runner config may do to it.
enum class config_access {
    secure,   ///< a run: tighten loose permissions (the Go runner's behaviour)
    inspect,  ///< --validate: change nothing; say what a run would change
};

/// Reads the runner config with the Go runner's permission handling (reference section 3):
/// owner-read bit missing -> refuse; group/other bits set and we own it -> chmod 0600 and warn
/// (with config_access::inspect: only warn that a run would); someone else owns it -> refuse.
/// Then the owner must be us. Refusals throw sw::failure(errc::refused) "cannot secure runner
/// config file <f>: ...". A missing file, one over `max_size`, or one that is not a regular
/// file (a directory, a FIFO, a device, a socket: "runner config <f> is a directory, not a
/// regular file") throws sw::failure(errc::config).
std::string read_config_file(const std::string& path, std::size_t max_size,
                             config_access access = config_access::secure);

/// Atomically replaces `path` with `contents`, mode 0600: temp file in the same directory,
/// write, sync, rename, sync the directory. A failure at any step before the rename leaves
/// `path` as it was and removes the temp file; a failure to sync the directory leaves the new
/// file in place. Either way it throws std::system_error naming the file and the step.
void write_private_file_atomic(const std::string& path, std::string_view contents,
                               const write_fault& fault = {});

/// write_private_file_atomic, unless `path` already is a private file (as read_private_file
/// accepts it) holding exactly `contents`: then nothing is written or synced and it returns
/// false. The worker config is rewritten before every worker start and is mostly unchanged
/// from one boot to the next; leaving it alone keeps its atomicity (it is not touched) and
/// saves the two fsyncs, which on a busy disk are most of a run's start-up (README
/// Performance). A file that cannot be read as private (loose mode, another owner, a symbolic
/// link, too large) is replaced. Errors: those of write_private_file_atomic.
bool write_private_file_if_changed(const std::string& path, std::string_view contents);

/// Reads a private file: it must be a regular file (not a symbolic link, and on POSIX with no
/// other hard link) owned by us with no group/other bits and the owner-read bit set, else
/// sw::failure(errc::refused) naming the file and the problem.
/// Returns false (and leaves `out` alone) if it does not exist.
bool read_private_file(const std::string& path, std::size_t max_size, std::string& out);

/// Moves a bad file aside to "<path>.bad-<timestamp>" and returns the new name.
std::string move_aside(const std::string& path);

/// Creates parent directories of `path` (0755).
void make_parent_dirs(const std::string& path);

/// Removes the file `path`; a missing file is fine. Throws std::system_error naming the path.
void remove_file(const std::string& path);

/// When `path` was last modified, or nullopt if it does not exist or cannot be examined.
std::optional<time_point> file_mtime(const std::string& path);

/// What tells one version of a file from another without reading it: its modification time
/// and its size in bytes (a rewrite within the file system's time resolution usually changes
/// the size).
struct file_stamp {
    time_point mtime;
    std::uint64_t size = 0;
    bool operator==(const file_stamp&) const = default;
};

/// The stamp of `path` (UTF-8), or nullopt if it does not exist or cannot be examined.
std::optional<file_stamp> stamp_of(const std::string& path);

/// Go's os.MkdirAll: creates `dir` and its missing parents with POSIX permission bits `mode`
/// (the umask applies; Windows: the inherited ACL). An existing directory is fine. Throws
/// std::system_error("mkdir <first path that failed>: <reason>"), ENOTDIR when a
/// non-directory is in the way.
void make_directories(const std::string& dir, unsigned mode);

/// A file created (or truncated) for writing with POSIX permission bits `mode` for a new file
/// (the umask applies; an existing file keeps its mode; Windows: the inherited ACL). Closed by
/// the destructor; close() reports the error of the final close. Every error throws
/// std::system_error naming the path.
class output_file {
  public:
    output_file(const std::string& path, unsigned mode);
    ~output_file();
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;

    void write(std::string_view data);
    void close();

  private:
    struct impl;  ///< the platform's handle (a file descriptor, a HANDLE)
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::platform
