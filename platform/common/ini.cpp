// INI editing that keeps a display manager's config file as the administrator wrote it.
#include "platform/autologin.hpp"

#include <cstddef>
#include <string_view>
#include <vector>

namespace sw::platform {
namespace {

constexpr std::string_view blanks = " \t\r";

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(blanks);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(blanks) - b + 1);
}

bool is_comment(std::string_view trimmed) {
    return !trimmed.empty() && (trimmed.front() == '#' || trimmed.front() == ';');
}

/// "[name]" -> name; anything else -> nullopt.
std::optional<std::string_view> section_name(std::string_view trimmed) {
    if (trimmed.size() < 2 || trimmed.front() != '[' || trimmed.back() != ']') return std::nullopt;
    return trim(trimmed.substr(1, trimmed.size() - 2));
}

/// The key of a "key = value" line (trimmed), or "" if there is no '='.
std::string_view key_of(std::string_view trimmed) {
    const auto eq = trimmed.find('=');
    return eq == std::string_view::npos ? std::string_view{} : trim(trimmed.substr(0, eq));
}

/// The lines of a file, without their '\n'; a final line without '\n' is still a line.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

/// Where `key` appears in (every occurrence of) `[section]`.
struct key_scan {
    std::vector<std::size_t> active;       ///< lines "key=..." in the section
    std::optional<std::size_t> commented;  ///< first "#key=..." line in the section
    std::optional<std::size_t> last_line;  ///< last non-blank line of the section's first block
};

key_scan scan(const std::vector<std::string>& lines, std::string_view section,
              std::string_view key) {
    key_scan r;
    bool in_section = false;
    bool first_block_done = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto t = trim(lines[i]);
        if (const auto name = section_name(t)) {
            if (in_section) first_block_done = true;
            in_section = *name == section;
            if (in_section && !first_block_done) r.last_line = i;
            continue;
        }
        if (!in_section) continue;
        if (!t.empty() && !first_block_done) r.last_line = i;
        if (is_comment(t)) {
            const auto body = t.find_first_not_of("#;");
            if (!r.commented && body != std::string_view::npos &&
                key_of(trim(t.substr(body))) == key)
                r.commented = i;
        } else if (key_of(t) == key) {
            r.active.push_back(i);
        }
    }
    return r;
}

}  // namespace

std::string ini_set(const std::string& text, const std::string& section, const std::string& key,
                    const std::string& value) {
    auto lines = split_lines(text);
    const auto found = scan(lines, section, key);
    const std::string fresh = key + "=" + value;
    if (!found.active.empty()) {
        for (const auto i : found.active) {
            // Keep "key = " (the original spacing) and a CR of a CRLF file.
            auto& line = lines[i];
            const bool cr = !line.empty() && line.back() == '\r';
            auto value_at = line.find('=') + 1;
            while (value_at < line.size() && (line[value_at] == ' ' || line[value_at] == '\t'))
                ++value_at;
            line.resize(value_at);
            line += value;
            if (cr) line += '\r';
        }
    } else if (found.commented) {
        auto& line = lines[*found.commented];
        line = fresh + (!line.empty() && line.back() == '\r' ? "\r" : "");
    } else if (found.last_line) {
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(*found.last_line + 1), fresh);
    } else {
        if (!lines.empty() && !trim(lines.back()).empty()) lines.emplace_back();
        lines.push_back("[" + section + "]");
        lines.push_back(fresh);
    }
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

std::optional<std::string> ini_get(const std::string& text, const std::string& section,
                                   const std::string& key) {
    const auto lines = split_lines(text);
    const auto found = scan(lines, section, key);
    if (found.active.empty()) return std::nullopt;
    const auto t = trim(lines[found.active.front()]);
    return std::string(trim(t.substr(t.find('=') + 1)));
}

}  // namespace sw::platform
