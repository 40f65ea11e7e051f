#pragma once
// Files: private and atomic. Everything that holds credentials is created owner-only (POSIX
// 0600; Windows: an owner-only DACL) and replaced atomically (temp file in the same directory,
// fsync, rename, fsync the directory), so a crash leaves the old or the new file, never neither.
#include <cstddef>
#include <string>
#include <string_view>

namespace sw::platform {

/// Reads the runner config with the Go runner's permission handling (reference section 3):
/// not a regular file -> refuse; owner-read bit missing -> refuse; group/other bits set and we
/// own it -> chmod 0600 and warn; someone else owns it -> refuse. Then the owner must be us.
/// Refusals throw sw::failure(exit_code::refused) "cannot secure runner config file <f>: ...".
/// A missing file or one over `max_size` throws sw::failure(exit_code::config).
std::string read_config_file(const std::string& path, std::size_t max_size);

/// Atomically replaces `path` with `contents`, mode 0600. Throws std::system_error naming the
/// path. `fault_after` (tests) makes the N-th step fail (0 = never).
void write_private_file_atomic(const std::string& path, std::string_view contents);

/// Reads a private file: it must be a regular file owned by us with no group/other bits and the
/// owner-read bit set, else sw::failure(exit_code::refused) naming the file and the problem.
/// Returns false (and leaves `out` alone) if it does not exist.
bool read_private_file(const std::string& path, std::size_t max_size, std::string& out);

/// Moves a bad file aside to "<path>.bad-<timestamp>" and returns the new name.
std::string move_aside(const std::string& path);

/// Creates parent directories of `path` (0755).
void make_parent_dirs(const std::string& path);

}  // namespace sw::platform
