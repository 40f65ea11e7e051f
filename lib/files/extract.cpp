// Worker files (reference section 8). Two passes: the first decodes every item and reads every
// zip entry (names, types, sizes, CRCs) without touching the disk; only when all items are good
// does the second pass write anything.
#include "lib/files/extract.hpp"

#include "lib/common/base64.hpp"
#include "platform/fs.hpp"
#include "platform/utf8_path.hpp"

#include <zip.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

namespace sw::files {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t max_total_size = std::uint64_t{1} << 30;  // 1 GiB, all items together
constexpr std::uint64_t max_zip_entries = 100000;
/// POSIX permission bits, as zip's "external attributes" carry them (the umask applies).
using mode_bits = unsigned;
constexpr mode_bits dir_mode = 0755;
constexpr mode_bits default_file_mode = 0644;
/// The file-type field of a Unix mode in a zip entry's external attributes (zip APPNOTE 4.4.15;
/// the values of POSIX S_IFMT, S_IFREG, S_IFDIR, S_IFLNK).
constexpr mode_bits zip_type_mask = 0170000;
constexpr mode_bits zip_type_file = 0100000;
constexpr mode_bits zip_type_dir = 0040000;
constexpr mode_bits zip_type_symlink = 0120000;

/// Thrown inside this file; extract_all adds "error extracting file <path>: ".
struct item_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Go's base64.StdEncoding, as item errors; the decoded size counts against the 1 GiB.
std::string decode_base64(std::string_view in) {
    try {
        return base64_decode(in, max_total_size);
    } catch (const std::length_error&) {
        throw item_error("content is larger than 1 GiB");
    } catch (const std::invalid_argument& e) {
        throw item_error(e.what());
    }
}

/// MkdirAll: creates `dir` and its missing parents with `mode` (umask applies).
void make_dirs(const fs::path& dir, mode_bits mode) {
    try {
        platform::make_directories(platform::utf8_string(dir), mode);
    } catch (const std::system_error& e) {
        throw item_error(e.what());
    }
}

/// A file written through the platform, its errors as this file's item errors.
class output_file {
  public:
    output_file(const fs::path& path, mode_bits mode) : file_(open(path, mode)) {}
    void write(const char* p, std::size_t n) {
        try {
            file_->write(std::string_view(p, n));
        } catch (const std::system_error& e) {
            throw item_error(e.what());
        }
    }
    void close() {
        try {
            file_->close();
        } catch (const std::system_error& e) {
            throw item_error(e.what());
        }
    }

  private:
    static std::unique_ptr<platform::output_file> open(const fs::path& path, mode_bits mode) {
        try {
            return std::make_unique<platform::output_file>(platform::utf8_string(path), mode);
        } catch (const std::system_error& e) {
            throw item_error(e.what());
        }
    }
    std::unique_ptr<platform::output_file> file_;
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
    mode_bits mode;
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
        auto st = fs::symlink_status(p, ec);
        if (ec || !fs::exists(st)) return;  // nothing exists below here
        if (fs::is_symlink(st)) {
            const fs::path real = fs::weakly_canonical(p, ec);
            if (ec || !inside(real, real_dest))
                throw item_error("illegal file path in zip: " + name);
            st = fs::status(p, ec);
            if (ec || !fs::exists(st)) return;  // dangling, but pointing inside
        }
        if (std::next(it) != rel.end() && !fs::is_directory(st))
            throw item_error("cannot extract " + name + ": " + platform::utf8_string(p) +
                             " is not a directory");
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
        const mode_bits unix_mode = opsys == ZIP_OPSYS_UNIX ? mode_bits{attr >> 16} : 0;
        const mode_bits type = unix_mode & zip_type_mask;
        if (type == zip_type_symlink) throw item_error("symbolic link in zip refused: " + name);
        if (type != 0 && type != zip_type_file && type != zip_type_dir)
            throw item_error("unsupported file type in zip: " + name);
        const bool dir = type == zip_type_dir || (!name.empty() && name.back() == '/');

        // Zip-Slip: relative, no ".." after normalisation, inside the destination.
        fs::path rel = platform::utf8_path(name).lexically_normal();
        if (!rel.empty() && rel.filename().empty()) rel = rel.parent_path();  // "dir/" -> "dir"
        if (name.empty() || rel.is_absolute() || rel.has_root_name() ||
            (!rel.empty() && *rel.begin() == ".."))
            throw item_error("illegal file path in zip: " + name);
        const fs::path target = (dest / rel).lexically_normal();
        if (!inside(target, dest) || (!dir && target == dest))
            throw item_error("illegal file path in zip: " + name);
        if (rel != ".") check_existing_path(dest, rel, name);

        const mode_bits perm = unix_mode & 0777;
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
    prepared p{&f, platform::utf8_path(f.path), {}, {}};
    if (f.encoding != "base64")
        throw item_error("Unsupported encoding " + f.encoding + " for worker file");
    p.data = decode_base64(f.content);
    if (f.format == "file") {
        total += p.data.size();
        if (total > max_total_size) throw item_error("worker files are larger than 1 GiB");
    } else if (f.format == "zip") {
        p.dest = fs::absolute(platform::utf8_path(f.path)).lexically_normal();
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
