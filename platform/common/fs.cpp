// The parts of platform/fs.hpp that the C++ library already makes portable.
#include "platform/fs.hpp"

#include <chrono>
#include <filesystem>

namespace sw::platform {

void remove_file(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove(path, ec);  // false without an error when there is nothing
    if (ec) throw std::system_error(ec, "removing " + path);
}

std::optional<time_point> file_mtime(const std::string& path) {
    std::error_code ec;
    const auto t = std::filesystem::last_write_time(path, ec);
    if (ec) return std::nullopt;
    return std::chrono::time_point_cast<wall_clock::duration>(std::chrono::file_clock::to_sys(t));
}

}  // namespace sw::platform
