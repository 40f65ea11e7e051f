// The parts of platform/fs.hpp that the C++ library already makes portable.
#include "platform/fs.hpp"

#include "platform/utf8_path.hpp"

#include <chrono>
#include <exception>
#include <filesystem>

namespace sw::platform {

void remove_file(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove(utf8_path(path), ec);  // false without an error when there is nothing
    if (ec) throw std::system_error(ec, "removing " + path);
}

bool write_private_file_if_changed(const std::string& path, std::string_view contents) {
    std::string old;
    try {
        // A longer file throws (larger than the limit) and is replaced.
        if (read_private_file(path, contents.size() + 1, old) && old == contents) return false;
    } catch (const std::exception&) {
        // Not readable as a private file of that size: replaced below.
    }
    write_private_file_atomic(path, contents);
    return true;
}

std::optional<time_point> file_mtime(const std::string& path) {
    std::error_code ec;
    const auto t = std::filesystem::last_write_time(utf8_path(path), ec);
    if (ec) return std::nullopt;
    return std::chrono::time_point_cast<wall_clock::duration>(std::chrono::file_clock::to_sys(t));
}

std::optional<file_stamp> stamp_of(const std::string& path) {
    const auto when = file_mtime(path);
    if (!when) return std::nullopt;
    std::error_code ec;
    const auto size = std::filesystem::file_size(utf8_path(path), ec);
    if (ec) return std::nullopt;
    return file_stamp{*when, static_cast<std::uint64_t>(size)};
}

}  // namespace sw::platform
