#pragma once
// UTF-8 paths as std::filesystem::path and back. Every path in the runner is UTF-8 (argv is made
// UTF-8 at start-up: platform/process.hpp utf8_arguments). A std::filesystem::path built from a
// narrow std::string is decoded with Windows' ANSI code page, not UTF-8, and names a different
// file whenever the path has a non-ASCII character; from char8_t it is UTF-8 everywhere (POSIX:
// the same bytes).
#include <filesystem>
#include <string>
#include <string_view>

namespace sw::platform {

/// `utf8` as a std::filesystem::path (C++20 char8_t constructor: UTF-8 -> UTF-16 on Windows).
inline std::filesystem::path utf8_path(std::string_view utf8) {
    return std::filesystem::path(
        std::u8string_view(reinterpret_cast<const char8_t*>(utf8.data()), utf8.size()));
}

/// `p` as UTF-8 (path::u8string), the inverse of utf8_path; path::string() would give the ANSI
/// code page on Windows (and throw for a character outside it).
inline std::string utf8_string(const std::filesystem::path& p) {
    const std::u8string s = p.u8string();
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

}  // namespace sw::platform
