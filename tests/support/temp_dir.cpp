#include "tests/support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace sw::test {

temp_dir::temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/start-worker-test.XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(const std::string& name, const std::string& contents,
                            unsigned mode) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    // Whole or not at all: the fakes read these files from their own threads while a test
    // rewrites them (a metadata fake that read a half-written terminate.json served a default
    // event instead of the test's), so write a temp file and rename it over the name.
    auto tmp = p;
    tmp += ".tmp-write";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << contents;
    }
    ::chmod(tmp.c_str(), mode);
    std::filesystem::rename(tmp, p);
    return p.string();
}

std::string temp_dir::read(const std::string& name) const {
    std::ifstream in(path_ / name, std::ios::binary);
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace sw::test
