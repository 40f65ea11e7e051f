// Worker files (reference section 8). Two passes: the first decodes every item and reads every
// zip entry (names, types, sizes, CRCs) without touching the disk; only when all items are good
// does the second pass write anything.
#include "lib/files/extract.hpp"

#include <openssl/evp.h>
#include <zip.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#ifdef _WIN32
#include <io.h>
#endif
#include <memory>
#include <stdexcept>
#include <string_view>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace sw::files {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t max_total_size = std::uint64_t{1} << 30;  // 1 GiB, all items together
constexpr std::uint64_t max_zip_entries = 100000;
constexpr mode_t dir_mode = 0755;
constexpr mode_t default_file_mode = 0644;

#ifdef _WIN32
// Windows (mingw-w64): zip entries carry Unix mode bits, whose symlink type the CRT does not
// define; files are opened through the wide-character CRT (paths are UTF-16) and never
// inherited; directories get Windows' default ACL (the POSIX mode has no meaning there).
#ifndef S_IFLNK
#define S_IFLNK 0120000
#endif
constexpr int open_flags = O_WRONLY | O_CREAT | O_TRUNC | O_BINARY | O_NOINHERIT;
int open_file(const std::filesystem::path& p, mode_t) {
    return ::_wopen(p.c_str(), open_flags, _S_IREAD | _S_IWRITE);
}
int make_dir(const std::filesystem::path& p, mode_t) {
    return ::_wmkdir(p.c_str());
}
bool is_dir(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_directory(p, ec);
}
#else
int open_file(const std::filesystem::path& p, mode_t mode) {
    return ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
}
int make_dir(const std::filesystem::path& p, mode_t mode) {
    return ::mkdir(p.c_str(), mode);
}
bool is_dir(const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
#endif

/// Thrown inside this file; extract_all adds "error extracting file <path>: ".
struct item_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/// Go's base64.StdEncoding: padded, '\r' and '\n' ignored, anything else refused.
std::string decode_base64(std::string_view in) {
    std::string clean;
    clean.reserve(in.size());
    std::size_t pad = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '\r' || c == '\n') continue;
        // '=' only as the last one or two characters of the final quantum.
        const bool ok = c == '=' ? pad < 2 : (pad == 0 && is_base64_char(c));
        if (!ok) throw item_error("illegal base64 data at input byte " + std::to_string(i));
        if (c == '=') ++pad;
        clean += c;
    }
    if (clean.size() % 4 != 0)
        throw item_error("illegal base64 data at input byte " + std::to_string(in.size()));
    if (clean.size() / 4 * 3 > max_total_size) throw item_error("content is larger than 1 GiB");
    std::string out(clean.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(clean.data()),
                                  static_cast<int>(clean.size()));
    if (n < 0) throw item_error("illegal base64 data");
    out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zeros
    return out;
}

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

/// MkdirAll: creates `dir` and its missing parents with `mode` (umask applies).
void make_dirs(const fs::path& dir, mode_t mode) {
    fs::path p;
    for (const auto& part : dir) {
        p /= part;
        if (part.empty() || part == "/") continue;
        if (make_dir(p, mode) == 0) continue;
        const int err = errno;
        if (err == EEXIST && is_dir(p)) continue;
        throw item_error("mkdir " + p.string() + ": " + errno_text(err == EEXIST ? ENOTDIR : err));
    }
}

/// A file descriptor closed on every path; close() reports the error of the final close.
class output_file {
  public:
    output_file(const fs::path& path, mode_t mode) : path_(path) {
        fd_ = open_file(path, mode);
        if (fd_ < 0) fail(errno);
    }
    ~output_file() {
        if (fd_ >= 0) ::close(fd_);
    }
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;

    void write(const char* p, std::size_t n) {
        while (n > 0) {
            const ssize_t w = ::write(fd_, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) fail(errno);
            p += w;
            n -= static_cast<std::size_t>(w);
        }
    }
    void close() {
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) fail(errno);
    }

  private:
    [[noreturn]] void fail(int err) { throw item_error(path_.string() + ": " + errno_text(err)); }
    fs::path path_;
    int fd_ = -1;
};

// --- zip ---------------------------------------------------------------------------------

struct zip_closer {
    void operator()(zip_t* z) const { zip_discard(z); }
};
struct zip_file_closer {
    void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using zip_ptr = std::unique_ptr<zip_t, zip_closer>;
using zip_file_ptr = std::unique_ptr<zip_file_t, zip_file_closer>;

zip_ptr open_zip(const std::string& data) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(data.data(), data.size(), 0, &err);
    zip_t* z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err) : nullptr;
    if (!z) {
        if (src) zip_source_free(src);
        std::string why = zip_error_strerror(&err);
        zip_error_fini(&err);
        throw item_error("not a valid zip archive: " + why);
    }
    zip_error_fini(&err);
    return zip_ptr(z);
}

struct zip_entry {
    zip_uint64_t index;
    std::string name;
    fs::path target;
    bool dir;
    mode_t mode;
};

/// Whether `p` (lexically normal, absolute) is `base` or below it.
bool inside(const fs::path& p, const fs::path& base) {
    const auto rel = p.lexically_relative(base);
    return !rel.empty() && *rel.begin() != "..";
}

/// Refuses an entry whose path crosses an existing symlink that leads out of `dest` (the zip
/// itself can create no symlinks), or an existing non-directory where a directory must be.
void check_existing_path(const fs::path& dest, const fs::path& rel, const std::string& name) {
    std::error_code ec;
    const fs::path real_dest = fs::weakly_canonical(dest, ec);
    fs::path p = dest;
    for (auto it = rel.begin(); it != rel.end(); ++it) {
        p /= *it;
#ifdef _WIN32
        // Symbolic links and junctions through std::filesystem (no lstat in the CRT).
        const auto link = fs::symlink_status(p, ec);
        if (ec || !fs::exists(link)) return;  // nothing exists below here
        bool directory = fs::is_directory(link);
        if (fs::is_symlink(link)) {
            const fs::path real = fs::weakly_canonical(p, ec);
            if (ec || !inside(real, real_dest))
                throw item_error("illegal file path in zip: " + name);
            if (!fs::exists(p, ec)) return;  // dangling, but pointing inside
            directory = fs::is_directory(p, ec);
        }
#else
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) return;  // nothing exists below here
        if (S_ISLNK(st.st_mode)) {
            const fs::path real = fs::weakly_canonical(p, ec);
            if (ec || !inside(real, real_dest))
                throw item_error("illegal file path in zip: " + name);
            if (::stat(p.c_str(), &st) != 0) return;  // dangling, but pointing inside
        }
        const bool directory = S_ISDIR(st.st_mode);
#endif
        if (std::next(it) != rel.end() && !directory)
            throw item_error("cannot extract " + name + ": " + p.string() + " is not a directory");
    }
}

/// Validates every entry and reads all of its data (which checks sizes and CRCs); writes
/// nothing. Returns what the second pass writes.
std::vector<zip_entry> plan_zip(zip_t* z, const fs::path& dest, std::uint64_t& total) {
    const zip_int64_t count = zip_get_num_entries(z, 0);
    if (count < 0 || static_cast<std::uint64_t>(count) > max_zip_entries)
        throw item_error("zip has more than " + std::to_string(max_zip_entries) + " entries");
    std::vector<zip_entry> entries;
    std::vector<char> buf(64 * 1024);
    for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
        const char* raw = zip_get_name(z, i, ZIP_FL_ENC_RAW);
        if (!raw) throw item_error("unreadable zip entry " + std::to_string(i));
        const std::string name = raw;

        zip_uint8_t opsys = 0;
        zip_uint32_t attr = 0;
        zip_file_get_external_attributes(z, i, 0, &opsys, &attr);
        const mode_t unix_mode = opsys == ZIP_OPSYS_UNIX ? static_cast<mode_t>(attr >> 16) : 0;
        const mode_t type = unix_mode & S_IFMT;
        if (type == S_IFLNK) throw item_error("symbolic link in zip refused: " + name);
        if (type != 0 && type != S_IFREG && type != S_IFDIR)
            throw item_error("unsupported file type in zip: " + name);
        const bool dir = type == S_IFDIR || (!name.empty() && name.back() == '/');

        // Zip-Slip: relative, no ".." after normalisation, inside the destination.
        fs::path rel = fs::path(name).lexically_normal();
        if (!rel.empty() && rel.filename().empty()) rel = rel.parent_path();  // "dir/" -> "dir"
        if (name.empty() || rel.is_absolute() || rel.has_root_name() ||
            (!rel.empty() && *rel.begin() == ".."))
            throw item_error("illegal file path in zip: " + name);
        const fs::path target = (dest / rel).lexically_normal();
        if (!inside(target, dest) || (!dir && target == dest))
            throw item_error("illegal file path in zip: " + name);
        if (rel != ".") check_existing_path(dest, rel, name);

        const mode_t perm = unix_mode & 0777;
        entries.push_back(
            {i, name, target, dir, perm ? perm : (dir ? dir_mode : default_file_mode)});
        if (dir) continue;

        zip_stat_t st;
        if (zip_stat_index(z, i, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
            st.size > max_total_size - total)
            throw item_error("zip contents are larger than 1 GiB");
        zip_file_ptr f(zip_fopen_index(z, i, 0));
        if (!f) throw item_error("cannot read zip entry " + name + ": " + zip_strerror(z));
        for (;;) {
            const zip_int64_t n = zip_fread(f.get(), buf.data(), buf.size());
            if (n < 0)
                throw item_error("cannot read zip entry " + name + ": " +
                                 zip_file_strerror(f.get()));
            if (n == 0) break;
            total += static_cast<std::uint64_t>(n);
            if (total > max_total_size) throw item_error("zip contents are larger than 1 GiB");
        }
    }
    return entries;
}

void write_zip(zip_t* z, const fs::path& dest, const std::vector<zip_entry>& entries) {
    make_dirs(dest, dir_mode);
    std::vector<char> buf(64 * 1024);
    for (const auto& e : entries) {
        if (e.dir) {
            make_dirs(e.target, dir_mode);
            continue;
        }
        make_dirs(e.target.parent_path(), dir_mode);
        zip_file_ptr f(zip_fopen_index(z, e.index, 0));
        if (!f) throw item_error("cannot read zip entry " + e.name + ": " + zip_strerror(z));
        output_file out(e.target, e.mode);
        for (;;) {
            const zip_int64_t n = zip_fread(f.get(), buf.data(), buf.size());
            if (n < 0)
                throw item_error("cannot read zip entry " + e.name + ": " +
                                 zip_file_strerror(f.get()));
            if (n == 0) break;
            out.write(buf.data(), static_cast<std::size_t>(n));
        }
        out.close();
    }
}

// --- both formats ------------------------------------------------------------------------

struct prepared {
    const worker_file* item;
    fs::path dest;  ///< absolute, lexically normal (zip); as given (file)
    std::string data;
    std::vector<zip_entry> entries;
};

prepared prepare(const worker_file& f, std::uint64_t& total) {
    if (f.path.empty()) throw item_error("no path given");
    prepared p{&f, f.path, {}, {}};
    if (f.encoding != "base64")
        throw item_error("Unsupported encoding " + f.encoding + " for worker file");
    p.data = decode_base64(f.content);
    if (f.format == "file") {
        total += p.data.size();
        if (total > max_total_size) throw item_error("worker files are larger than 1 GiB");
    } else if (f.format == "zip") {
        p.dest = fs::absolute(fs::path(f.path)).lexically_normal();
        if (p.dest.filename().empty()) p.dest = p.dest.parent_path();
        const zip_ptr z = open_zip(p.data);
        p.entries = plan_zip(z.get(), p.dest, total);
    } else {
        throw item_error("Unknown file format " + f.format + " in worker files");
    }
    return p;
}

void write(const prepared& p) {
    if (p.item->format == "file") {
        make_dirs(p.dest.parent_path(), dir_mode);
        // 0777 as the Go runner: the umask decides; an existing file keeps its mode.
        output_file out(p.dest, 0777);
        out.write(p.data.data(), p.data.size());
        out.close();
    } else {
        const zip_ptr z = open_zip(p.data);
        write_zip(z.get(), p.dest, p.entries);
    }
}

[[noreturn]] void rethrow_for(const worker_file& f, const std::exception& e) {
    throw std::runtime_error("error extracting file " + f.path + ": " + e.what());
}

}  // namespace

void extract_all(const std::vector<worker_file>& files) {
    std::vector<prepared> ready;
    ready.reserve(files.size());
    std::uint64_t total = 0;
    for (const auto& f : files) {
        try {
            ready.push_back(prepare(f, total));
        } catch (const std::exception& e) {
            rethrow_for(f, e);
        }
    }
    for (const auto& p : ready) {
        try {
            write(p);
        } catch (const std::exception& e) {
            rethrow_for(*p.item, e);
        }
    }
}

}  // namespace sw::files
