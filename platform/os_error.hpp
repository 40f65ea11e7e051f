#pragma once
// Operating-system errors caused by the host's setup are the operator's to fix, not bugs: they
// end the run with a documented exit code (issue 14, item 7), never 70 ("internal error").
#include "lib/common/error.hpp"

#include <cerrno>
#include <optional>
#include <string>
#include <system_error>

namespace sw::platform {

/// The exit code for errno `err` from a file or exec operation on a path the config names:
/// EACCES/EPERM -> refused (77: the host denies us); a missing path, a directory or file in the
/// way, a name or component too long, a symlink loop, a full, read-only or failing file system,
/// a program that cannot be executed -> config (78: the config names a path that cannot be
/// used). nullopt for anything else (EBADF, EINVAL, EMFILE...: a bug or a resource limit).
inline std::optional<exit_code> environment_exit_code(int err) {
    switch (err) {
        case EACCES:
        case EPERM:
            return exit_code::refused;
        case ENOENT:
        case ENOTDIR:
        case EISDIR:
        case ENAMETOOLONG:
        case ELOOP:
        case ENOSPC:
        case EDQUOT:
        case EROFS:
        case EFBIG:
        case EIO:
        case EEXIST:
        case ENOTEMPTY:
        case EMLINK:
        case EXDEV:
        case ETXTBSY:
        case ENOEXEC:
            return exit_code::config;
        default:
            return std::nullopt;
    }
}

/// Throws sw::failure("<what>: <strerror>") with environment_exit_code(err) when there is one,
/// else std::system_error(err, what).
[[noreturn]] inline void throw_os_error(int err, const std::string& what) {
    if (const auto code = environment_exit_code(err))
        throw failure(*code, what + ": " + std::error_code(err, std::generic_category()).message());
    throw std::system_error(err, std::generic_category(), what);
}

}  // namespace sw::platform
