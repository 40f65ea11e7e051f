// libFuzzer target: worker file extraction ("file" and "zip", base64), into a private
// temporary directory that is emptied after every input. The first byte picks the format and
// the destination's shape; the rest is the (encoded) content.
#include "lib/common/base64.hpp"
#include "lib/files/extract.hpp"
#include "lib/tc/hawk.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {
const std::filesystem::path& root() {
    static const std::filesystem::path dir = [] {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sw-extract-fuzz-XXXXXX");
        if (!::mkdtemp(tmpl.data())) std::abort();
        return std::filesystem::path(tmpl);
    }();
    return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto dest = root() / "out";
    sw::worker_file f;
    f.description = "fuzz";
    f.format = (data[0] & 1) ? "zip" : "file";
    f.encoding = (data[0] & 2) ? "base64" : "";
    f.path = (data[0] & 4) ? (dest / "sub" / "f").string() : dest.string();
    f.content = (data[0] & 8) ? content : sw::base64_encode(content);
    try {
        sw::files::extract_all({f});
    } catch (const std::runtime_error&) {
    }
    // Nothing may be written outside the destination.
    for (const auto& e : std::filesystem::directory_iterator(root()))
        if (e.path().filename() != "out") std::abort();
    std::error_code ec;
    std::filesystem::remove_all(dest, ec);
    return 0;
}
