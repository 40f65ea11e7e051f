// libFuzzer target: the runner config loader (YAML, and JSON as YAML) with validation and the
// normalized, redacted rendering that --validate prints. Anything but sw::failure is a bug.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto cfg = sw::config::parse_runner_config(text, "fuzz.yml");
        (void)sw::config::normalized_redacted(cfg);
        (void)sw::config::secret_values(cfg);
    } catch (const sw::failure&) {
    }
    return 0;
}
