// POSIX private and atomic files (reference worker-runner.md sections 3 "Permissions" and 9.3).
#include "platform/fs.hpp"

#include "lib/common/error.hpp"
#include "lib/log/log.hpp"
#include "platform/os_error.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace sw::platform {

namespace {

/// Closes a descriptor on scope exit.
class fd_guard {
  public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }
    /// Closes now, reporting the error (close can report a failed delayed write).
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

  private:
    int fd_;
};

// Environment errors (full or read-only disk, a directory in the way...) are sw::failure with
// a documented exit code (platform/os_error.hpp); others std::system_error.
[[noreturn]] void throw_errno(int err, const std::string& what) {
    throw_os_error(err, what);
}

std::string mode_text(mode_t m) {
    return fmt::format("{:04o}", m & 07777);
}

/// open(2) for reading without following a symlink or blocking on a FIFO. -1 + errno on error.
int open_for_read(const std::string& path) {
    int fd;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

/// Reads the whole (regular) file; over `max_size` -> config failure.
std::string read_all(int fd, const std::string& path, std::size_t max_size) {
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "reading " + path);
        }
        if (n == 0) break;
        if (out.size() + static_cast<std::size_t>(n) > max_size)
            throw failure(errc::config, fmt::format("{}: larger than {} bytes", path, max_size));
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

/// "a directory", "a FIFO"...: what a file that is not a regular file is.
std::string file_type_name(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISREG(m)) return "a regular file";
    return "not a regular file";
}

/// The checks of the Go ReadPrivateFile on an open file; "" if fine, else the problem.
std::string private_problem(const struct stat& st, const std::string& path) {
    if (!S_ISREG(st.st_mode)) return fmt::format("{} is not a regular file", path);
    if (st.st_mode & 077)
        return fmt::format("{} has mode {}; must not be group- or other-accessible", path,
                           mode_text(st.st_mode));
    if (!(st.st_mode & S_IRUSR))
        return fmt::format("{} has mode {}; owner-read bit must be set", path,
                           mode_text(st.st_mode));
    if (st.st_uid != ::getuid())
        return fmt::format("{} has incorrect owner id {}", path, st.st_uid);
    return {};
}

void write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "writing " + path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string parent_dir(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

void fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno(errno, "opening directory " + dir);
    fd_guard g(fd);
    if (::fsync(fd) != 0 && errno != EINVAL) throw_errno(errno, "syncing directory " + dir);
}

}  // namespace

std::string read_config_file(const std::string& path, std::size_t max_size, config_access access) {
    const auto refuse = [&](const std::string& why) {
        return failure(errc::refused,
                       fmt::format("cannot secure runner config file {}: {}", path, why));
    };
    // Not a file at all: a config problem (78), not a permission one.
    const auto not_a_file = [&](const struct stat& st) {
        return failure(errc::config, fmt::format("runner config {} is {}, not a regular file", path,
                                                 file_type_name(st.st_mode)));
    };
    const int fd = open_for_read(path);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) throw failure(errc::config, path + ": no such file");
        if (err == ELOOP) throw refuse(path + " is a symbolic link");
        // A socket cannot be opened (ENXIO); anything else that is not a file is named as such.
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) throw not_a_file(st);
        throw refuse(std::error_code(err, std::generic_category()).message());
    }
    fd_guard g(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        throw refuse(std::error_code(errno, std::generic_category()).message());
    if (!S_ISREG(st.st_mode)) throw not_a_file(st);
    if (!(st.st_mode & S_IRUSR))
        throw refuse(
            fmt::format("{} has mode {}; owner-read bit must be set", path, mode_text(st.st_mode)));
    if (st.st_mode & 077) {
        if (st.st_uid != ::getuid())
            throw refuse(fmt::format(
                "{} has mode {} and is owned by uid {}, not by us (uid {}); refusing to change it",
                path, mode_text(st.st_mode), st.st_uid, ::getuid()));
        if (access == config_access::inspect) {
            sw::log::warn(
                "WARNING: runner config file {} has insecure permissions (mode {}); start-worker "
                "tightens it to be readable only by its owner when it runs (--validate changes "
                "nothing)",
                path, mode_text(st.st_mode));
            st.st_mode &= ~static_cast<mode_t>(077);  // the mode the run would give it
            if (const std::string problem = private_problem(st, path); !problem.empty())
                throw refuse(problem);
            return read_all(fd, path, max_size);
        }
        if (::fchmod(fd, 0600) != 0)
            throw refuse("tightening its mode to 0600: " +
                         std::error_code(errno, std::generic_category()).message());
        sw::log::warn(
            "WARNING: runner config file {} had insecure permissions and has been tightened to "
            "be readable only by its owner; please update your provisioning so the file is "
            "created privately",
            path);
        if (::fstat(fd, &st) != 0)
            throw refuse(std::error_code(errno, std::generic_category()).message());
    }
    if (const std::string problem = private_problem(st, path); !problem.empty())
        throw refuse(problem);
    return read_all(fd, path, max_size);
}

bool read_private_file(const std::string& path, std::size_t max_size, std::string& out) {
    const int fd = open_for_read(path);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) return false;
        if (err == ELOOP)
            throw failure(errc::refused, path + " is a symbolic link; refusing to read it");
        if (err == EACCES || err == EPERM)
            throw failure(errc::refused,
                          path + ": " + std::error_code(err, std::generic_category()).message());
        throw_errno(err, "opening " + path);
    }
    fd_guard g(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno(errno, "stat " + path);
    if (const std::string problem = private_problem(st, path); !problem.empty())
        throw failure(errc::refused, problem);
    // A second name of a private file lets whoever made it swap what is read here (issue 14:
    // a state file replaced by a hard link is refused, as a symbolic link is).
    if (S_ISREG(st.st_mode) && st.st_nlink > 1)
        throw failure(errc::refused, fmt::format("{} has {} hard links; refusing to read a private "
                                                 "file that has other names",
                                                 path, st.st_nlink));
    out = read_all(fd, path, max_size);
    return true;
}

void write_private_file_atomic(const std::string& path, std::string_view contents,
                               const write_fault& fault) {
    // An injected fault fails the step as the OS would have, before the real call.
    const auto injected = [&](write_step step, const std::string& what) {
        if (!fault) return;
        if (const std::error_code ec = fault(step)) throw std::system_error(ec, what);
    };
    // A fixed temp name: a crash leaves at most one stale temp file, removed by the next write.
    const std::string tmp = path + ".tmp";
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) throw_errno(errno, "removing " + tmp);
    injected(write_step::create_temp, "creating " + tmp);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw_errno(errno, "creating " + tmp);
    fd_guard g(fd);
    try {
        // The umask may have taken bits away; never more than 0600 either way.
        if (::fchmod(fd, 0600) != 0) throw_errno(errno, "chmod " + tmp);
        injected(write_step::write, "writing " + tmp);
        write_all(fd, contents, tmp);
        injected(write_step::sync, "syncing " + tmp);
        if (::fsync(fd) != 0) throw_errno(errno, "syncing " + tmp);
        if (g.close() != 0) throw_errno(errno, "closing " + tmp);
        injected(write_step::rename, "renaming " + tmp + " to " + path);
        if (::rename(tmp.c_str(), path.c_str()) != 0)
            throw_errno(errno, "renaming " + tmp + " to " + path);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    const std::string dir = parent_dir(path);
    injected(write_step::sync_dir, "syncing directory " + dir);
    fsync_dir(dir);
}

std::string move_aside(const std::string& path) {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    std::string target = path + ".bad-" + stamp;
    struct stat st {};
    for (int n = 2; ::lstat(target.c_str(), &st) == 0; ++n)
        target = path + ".bad-" + stamp + "-" + std::to_string(n);
    if (::rename(path.c_str(), target.c_str()) != 0)
        throw_errno(errno, "moving " + path + " aside to " + target);
    return target;
}

void make_parent_dirs(const std::string& path) {
    const std::string dir = parent_dir(path);
    if (dir == "." || dir == "/") return;
    for (std::size_t pos = 1;; ++pos) {
        pos = dir.find('/', pos);
        const std::string prefix = dir.substr(0, pos);
        if (::mkdir(prefix.c_str(), 0755) != 0) {
            const int err = errno;
            struct stat st {};
            if (err != EEXIST || ::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                throw_errno(err == EEXIST ? ENOTDIR : err, "creating directory " + prefix);
        }
        if (pos == std::string::npos) break;
    }
}

void make_directories(const std::string& dir, unsigned mode) {
    for (std::size_t pos = 0; pos != std::string::npos;) {
        pos = dir.find('/', pos + 1);  // each prefix ending before a '/', then `dir` itself
        const std::string p = dir.substr(0, pos);
        if (p.empty() || p.back() == '/') continue;  // "//" inside, or a trailing '/'
        if (::mkdir(p.c_str(), static_cast<mode_t>(mode)) == 0) continue;
        const int err = errno;
        struct stat st {};
        if (err == EEXIST && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
        throw_errno(err == EEXIST ? ENOTDIR : err, "mkdir " + p);
    }
}

struct output_file::impl {
    std::string path;
    int fd = -1;
};

output_file::output_file(const std::string& path, unsigned mode) : impl_(new impl{path}) {
    impl_->fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
    if (impl_->fd < 0) throw_errno(errno, path);
}

output_file::~output_file() {
    if (impl_->fd >= 0) ::close(impl_->fd);
}

void output_file::write(std::string_view data) {
    write_all(impl_->fd, data, impl_->path);
}

void output_file::close() {
    const int fd = std::exchange(impl_->fd, -1);
    if (fd >= 0 && ::close(fd) != 0) throw_errno(errno, impl_->path);
}

}  // namespace sw::platform
