#pragma once
// Operating-system errors caused by the host's setup are the operator's to fix, not bugs: they
// end the run with a documented exit code (issue 14, item 7), never 70 ("internal error").
#include "lib/common/error.hpp"

#include <cerrno>
#include <optional>
#include <string>
#include <system_error>

namespace sw::platform {

/// The error (sw::errc) for errno `err` from a file or exec operation on a path the config names:
/// EACCES/EPERM -> refused (exit 77: the host denies us); a missing path, a directory or file in the
/// way, a name or component too long, a symlink loop, a full, read-only or failing file system,
/// a program that cannot be executed -> config (exit 78: the config names a path that cannot be
/// used). nullopt for anything else (EBADF, EINVAL, EMFILE...: a bug or a resource limit).
inline std::optional<errc> environment_error(int err) {
    switch (err) {
        case EACCES:
        case EPERM:
            return errc::refused;
        case ENOENT:
        case ENOTDIR:
        case EISDIR:
        case ENAMETOOLONG:
        case ELOOP:
        case ENOSPC:
#ifdef EDQUOT  // not in Windows' C runtime
        case EDQUOT:
#endif
        case EROFS:
        case EFBIG:
        case EIO:
        case EEXIST:
        case ENOTEMPTY:
        case EMLINK:
        case EXDEV:
        case ETXTBSY:
        case ENOEXEC:
            return errc::config;
        default:
            return std::nullopt;
    }
}

/// Throws sw::failure("<what>: <strerror>") with environment_error(err) when there is one,
/// else std::system_error(err, what).
[[noreturn]] inline void throw_os_error(int err, const std::string& what) {
    if (const auto code = environment_error(err))
        throw failure(*code, what + ": " + std::error_code(err, std::generic_category()).message());
    throw std::system_error(err, std::generic_category(), what);
}

}  // namespace sw::platform
