// metadata-fake --cloud aws|google|azure --port N --state-dir DIR
// Serves a cloud metadata service on 127.0.0.1 (see tests/support/metadata_fake.hpp for the
// state directory format) until SIGINT/SIGTERM. Prints "listening on http://127.0.0.1:<port>"
// once ready.
#include "tests/support/http_server.hpp"
#include "tests/support/metadata_fake.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

namespace {
int usage(const char* msg) {
    std::cerr << "metadata-fake: " << msg
              << "\nusage: metadata-fake --cloud aws|google|azure [--port N] --state-dir DIR\n";
    return 64;
}
}  // namespace

int main(int argc, char** argv) {
    std::string cloud_name, state_dir;
    long port = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc) return usage("missing value after an option");
        if (arg == "--cloud")
            cloud_name = argv[++i];
        else if (arg == "--state-dir")
            state_dir = argv[++i];
        else if (arg == "--port") {
            char* end = nullptr;
            port = std::strtol(argv[++i], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535) return usage("bad --port");
        } else
            return usage("unknown option");
    }
    const auto which = sw::test::cloud_from_string(cloud_name);
    if (!which) return usage("--cloud must be aws, google or azure");
    if (state_dir.empty()) return usage("--state-dir is required");
    try {
        sw::test::metadata_fake fake(*which, state_dir);
        sw::test::http_server server(fake.handler(), static_cast<std::uint16_t>(port));
        std::cout << "listening on " << server.base_url() << std::endl;
        server.run_until_signal();
    } catch (const std::exception& e) {
        std::cerr << "metadata-fake: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
