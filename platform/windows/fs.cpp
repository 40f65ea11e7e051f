// Windows private and atomic files (reference worker-runner.md sections 3 and 9.3): files with
// credentials get an owner-only protected DACL (the Go runner's D:PAI(A;;FA;;;OW), owner = us)
// and are checked on read as the POSIX mode is; replaced atomically with MoveFileExW
// (MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) after FlushFileBuffers.
#include "platform/fs.hpp"

#include "lib/common/error.hpp"
#include "platform/os_error.hpp"
#include "platform/windows/security.hpp"
#include "platform/windows/win.hpp"

#include <fmt/format.h>

#include <aclapi.h>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>

namespace sw::platform {

namespace {

using win::handle;
using win::throw_win32;
using win::widen;

/// Opens an existing file for reading, not following a reparse point (symbolic link).
handle open_for_read(const std::string& path, DWORD& err) {
    handle h(::CreateFileW(widen(path).c_str(), GENERIC_READ | READ_CONTROL,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                           OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, nullptr));
    err = h ? ERROR_SUCCESS : ::GetLastError();
    return h;
}

/// "" if `h` is a regular file (not a directory, device, pipe or reparse point).
std::string not_regular(HANDLE h, const std::string& path) {
    if (::GetFileType(h) != FILE_TYPE_DISK) return path + " is not a regular file";
    BY_HANDLE_FILE_INFORMATION info{};
    if (!::GetFileInformationByHandle(h, &info)) return path + " is not a regular file";
    if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
        return path + " is a symbolic link or junction";
    if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return path + " is a directory";
    return {};
}

[[noreturn]] void throw_os_error_win32(const std::string& what, DWORD err = ::GetLastError());

std::string read_all(HANDLE h, const std::string& path, std::size_t max_size) {
    std::string out;
    char buf[65536];
    for (;;) {
        DWORD n = 0;
        if (!::ReadFile(h, buf, sizeof buf, &n, nullptr)) throw_os_error_win32("reading " + path);
        if (n == 0) break;
        if (out.size() + n > max_size)
            throw failure(errc::config, fmt::format("{}: larger than {} bytes", path, max_size));
        out.append(buf, n);
    }
    return out;
}

/// The owner-only check of an open file; "" if fine.
std::string private_problem(HANDLE h, const std::string& path) {
    PSECURITY_DESCRIPTOR sd = nullptr;
    const DWORD rc =
        ::GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                          nullptr, nullptr, nullptr, nullptr, &sd);
    if (rc != ERROR_SUCCESS)
        return path + ": cannot read its security descriptor: " + win::win32_error(rc).message();
    std::unique_ptr<void, win::local_free> guard(sd);
    return win::private_descriptor_problem(sd, win::current_user_sid(), path);
}

std::string parent_dir(const std::string& path) {
    const auto slash = path.find_last_of("/\\");
    if (slash == std::string::npos) return ".";
    if (slash == 0 || (slash == 2 && path[1] == ':')) return path.substr(0, slash + 1);
    return path.substr(0, slash);
}

/// The errno for the Win32 errors that are the host's setup (platform/os_error.hpp), or 0.
/// As the C runtime's _dosmaperr where it has the error: another process holding the file
/// (a sharing or byte-range lock violation) is EACCES; a name Windows cannot use is ENOENT.
int errno_for(DWORD err) {
    switch (err) {
        case ERROR_ACCESS_DENIED:
        case ERROR_PRIVILEGE_NOT_HELD:
        case ERROR_SHARING_VIOLATION:
        case ERROR_LOCK_VIOLATION:
            return EACCES;
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_DRIVE:
        case ERROR_BAD_NETPATH:
        case ERROR_INVALID_NAME:
        case ERROR_BAD_PATHNAME:
            return ENOENT;
        case ERROR_DIRECTORY:
            return ENOTDIR;
        case ERROR_FILENAME_EXCED_RANGE:
            return ENAMETOOLONG;
        case ERROR_DISK_FULL:
        case ERROR_HANDLE_DISK_FULL:
            return ENOSPC;
        case ERROR_WRITE_PROTECT:
            return EROFS;
        case ERROR_FILE_EXISTS:
        case ERROR_ALREADY_EXISTS:
            return EEXIST;
        case ERROR_DIR_NOT_EMPTY:
            return ENOTEMPTY;
        case ERROR_NOT_SAME_DEVICE:
            return EXDEV;
        default:
            return 0;
    }
}

/// As the POSIX throw_os_error: the host's setup (access denied, a missing path, a full disk)
/// -> sw::failure(errc::refused or errc::config) "<what>: <Win32 message>"; anything else ->
/// std::system_error (throw_win32).
[[noreturn]] void throw_os_error_win32(const std::string& what, DWORD err) {
    if (const auto code = environment_error(errno_for(err)))
        throw failure(*code, what + ": " + win::win32_error(err).message());
    throw_win32(what, err);
}

bool is_directory(const std::wstring& path) {
    const DWORD a = ::GetFileAttributesW(path.c_str());
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

void write_all(HANDLE h, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        DWORD n = 0;
        const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1u << 30));
        if (!::WriteFile(h, data.data(), chunk, &n, nullptr))
            throw_os_error_win32("writing " + path);
        data.remove_prefix(n);
    }
}

}  // namespace

std::string read_config_file(const std::string& path, std::size_t max_size, config_access) {
    // The Go runner checks the runner config's mode on POSIX only; on Windows the file must be
    // a regular file that we can read (provisioning usually writes it as an administrator).
    DWORD err = 0;
    handle h = open_for_read(path, err);
    if (!h) {
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
            throw failure(errc::config, path + ": no such file");
        if (err == ERROR_ACCESS_DENIED) {
            // CreateFileW on a directory fails with access denied without backup semantics.
            const DWORD attrs = ::GetFileAttributesW(widen(path).c_str());
            if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
                throw failure(errc::config, path + " is a directory, not a config file");
        }
        throw failure(errc::refused, fmt::format("cannot read runner config file {}: {}", path,
                                                 win::win32_error(err).message()));
    }
    if (auto problem = not_regular(h.get(), path); !problem.empty())
        throw failure(errc::config, problem);
    return read_all(h.get(), path, max_size);
}

bool read_private_file(const std::string& path, std::size_t max_size, std::string& out) {
    DWORD err = 0;
    handle h = open_for_read(path, err);
    if (!h) {
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) return false;
        if (err == ERROR_ACCESS_DENIED)
            throw failure(errc::refused, path + ": " + win::win32_error(err).message());
        throw_os_error_win32("opening " + path, err);
    }
    if (auto problem = not_regular(h.get(), path); !problem.empty())
        throw failure(errc::refused, problem);
    if (auto problem = private_problem(h.get(), path); !problem.empty())
        throw failure(errc::refused, problem);
    out = read_all(h.get(), path, max_size);
    return true;
}

void write_private_file_atomic(const std::string& path, std::string_view contents,
                               const write_fault& fault) {
    // An injected fault fails the step as the OS would have, before the real call.
    const auto injected = [&](write_step step, const std::string& what) {
        if (!fault) return;
        if (const std::error_code ec = fault(step)) throw std::system_error(ec, what);
    };
    const std::string tmp = path + ".tmp";
    const std::wstring wtmp = widen(tmp);
    if (!::DeleteFileW(wtmp.c_str()) && ::GetLastError() != ERROR_FILE_NOT_FOUND)
        throw_os_error_win32("removing " + tmp);
    auto sd =
        win::security_descriptor_from_sddl(win::private_file_sddl(win::current_user_sid()), tmp);
    SECURITY_ATTRIBUTES sa{sizeof sa, sd.get(), FALSE};
    injected(write_step::create_temp, "creating " + tmp);
    handle h(::CreateFileW(wtmp.c_str(), GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
                           nullptr));
    if (!h) throw_os_error_win32("creating " + tmp);
    try {
        injected(write_step::write, "writing " + tmp);
        write_all(h.get(), contents, tmp);
        injected(write_step::sync, "syncing " + tmp);
        if (!::FlushFileBuffers(h.get())) throw_os_error_win32("syncing " + tmp);
        h.reset();
        injected(write_step::rename, "renaming " + tmp + " to " + path);
        if (!::MoveFileExW(wtmp.c_str(), widen(path).c_str(),
                           MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
            throw_os_error_win32("renaming " + tmp + " to " + path);
    } catch (...) {
        h.reset();
        ::DeleteFileW(wtmp.c_str());
        throw;
    }
    // MOVEFILE_WRITE_THROUGH has flushed the directory entry: sync_dir is a no-op but for the
    // injected fault, which leaves the new file in place as on POSIX.
    injected(write_step::sync_dir, "syncing directory " + parent_dir(path));
}

std::string move_aside(const std::string& path) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_s(&tm, &now);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    std::string target = path + ".bad-" + stamp;
    for (int n = 2; ::GetFileAttributesW(widen(target).c_str()) != INVALID_FILE_ATTRIBUTES; ++n)
        target = path + ".bad-" + stamp + "-" + std::to_string(n);
    if (!::MoveFileExW(widen(path).c_str(), widen(target).c_str(), MOVEFILE_WRITE_THROUGH))
        throw_os_error_win32("moving " + path + " aside to " + target);
    return target;
}

void make_parent_dirs(const std::string& path) {
    const std::string dir = parent_dir(path);
    if (dir == ".") return;
    make_directories(dir, 0755);  // the host's errors -> sw::failure, as on POSIX
}

void make_directories(const std::string& dir, unsigned /*mode: the inherited ACL applies*/) {
    // Each prefix ending before a separator ('\\' or '/'), then `dir` itself. A drive (C:) or
    // the server and share of a UNC path are never created: they exist, or the first directory
    // under them fails.
    std::size_t pos = 0;
    if (dir.size() >= 2 && (dir[0] == '\\' || dir[0] == '/') && (dir[1] == '\\' || dir[1] == '/')) {
        pos = dir.find_first_of("/\\", 2);                                      // after the server
        if (pos != std::string::npos) pos = dir.find_first_of("/\\", pos + 1);  // after the share
        if (pos == std::string::npos) return;
    }
    while (pos != std::string::npos) {
        pos = dir.find_first_of("/\\", pos + 1);
        const std::string p = dir.substr(0, pos);
        if (p.empty() || p.back() == '/' || p.back() == '\\')
            continue;                                // doubled or trailing separators
        if (p.size() == 2 && p[1] == ':') continue;  // "C:"
        const std::wstring w = widen(p);
        if (::CreateDirectoryW(w.c_str(), nullptr)) continue;
        const DWORD err = ::GetLastError();
        if (is_directory(w)) continue;  // ERROR_ALREADY_EXISTS, or access denied on a root
        if (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS)
            throw_os_error(ENOTDIR, "mkdir " + p);  // a file in the way, as POSIX's ENOTDIR
        throw_os_error_win32("mkdir " + p, err);
    }
}

struct output_file::impl {
    std::string path;
    handle h;
};

output_file::output_file(const std::string& path, unsigned /*mode: the inherited ACL applies*/)
    : impl_(new impl{path, {}}) {
    impl_->h.reset(::CreateFileW(widen(path).c_str(), GENERIC_WRITE,
                                 FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr, CREATE_ALWAYS,
                                 FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!impl_->h) throw_os_error_win32(path);
}

output_file::~output_file() = default;

void output_file::write(std::string_view data) {
    write_all(impl_->h.get(), data, impl_->path);
}

void output_file::close() {
    const HANDLE h = impl_->h.release();
    if (h != nullptr && h != INVALID_HANDLE_VALUE && !::CloseHandle(h))
        throw_os_error_win32(impl_->path);
}

}  // namespace sw::platform
