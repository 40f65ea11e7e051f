// sw-gen-docs: writes the documents generated from start-worker's tables (lib/docs/render.hpp).
//   sw-gen-docs man <out>                    the man page start-worker.1
//   sw-gen-docs unit <template> <out>        the systemd unit (@BINDIR@ left for install time)
//   sw-gen-docs restart-prevent-exit-status  the unit's RestartPreventExitStatus= list
//   sw-gen-docs readme <README.md>           rewrites the README's generated sections in place
//   sw-gen-docs check-readme <README.md>     exit 1, naming the stale sections, when it differs
// A build tool, not installed. Exit 0 on success, 1 when stale or on an I/O error, 64 on usage.
#include "lib/docs/render.hpp"

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Writes only when the content changed, so that build steps depending on `path` stay quiet.
void write(const std::string& path, const std::string& text) {
    {
        std::ifstream in(path, std::ios::binary);
        if (in) {
            std::ostringstream s;
            s << in.rdbuf();
            if (s.str() == text) return;
        }
    }
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

int usage() {
    std::cerr << "usage: sw-gen-docs man <out> | unit <template> <out> | "
                 "restart-prevent-exit-status | readme <README.md> | check-readme <README.md>\n";
    return 64;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view what = argc > 1 ? argv[1] : "";
    try {
        if (what == "man" && argc == 3) {
            write(argv[2], sw::docs::man_page());
        } else if (what == "unit" && argc == 4) {
            write(argv[3], sw::docs::unit_file(read(argv[2])));
        } else if (what == "restart-prevent-exit-status" && argc == 2) {
            std::cout << sw::docs::restart_prevent_exit_status() << "\n";
        } else if (what == "readme" && argc == 3) {
            write(argv[2], sw::docs::regenerate_readme(read(argv[2])));
        } else if (what == "check-readme" && argc == 3) {
            const std::string readme = read(argv[2]);
            const std::string fresh = sw::docs::regenerate_readme(readme);
            if (fresh == readme) {
                std::cout << argv[2] << ": generated sections are current\n";
                return 0;
            }
            for (const auto& b : sw::docs::readme_blocks()) {
                const std::string start = "<!-- start-" + b.name + " -->\n";
                const auto s = readme.find(start) + start.size();
                if (readme.compare(s, b.content.size(), b.content) != 0 ||
                    readme.compare(s + b.content.size(), 9, "<!-- end-") != 0)
                    std::cerr << argv[2] << ": section \"" << b.name << "\" is stale\n";
            }
            std::cerr << "run scripts/gen-docs to regenerate it\n";
            return 1;
        } else {
            return usage();
        }
    } catch (const std::exception& e) {
        std::cerr << "sw-gen-docs: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
