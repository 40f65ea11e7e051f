// libFuzzer target: the state-file reader. Whatever it accepts must serialize, and what the
// writer writes the reader must accept again unchanged (issue 14, item 4).
#include "lib/common/error.hpp"
#include "state/store.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    sw::state::persisted p;
    try {
        p = sw::state::deserialize(text);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    std::string written;
    try {
        written = sw::state::serialize(p);
    } catch (const sw::failure&) {
        return 0;  // refused to write (too deep): never half-written
    }
    try {
        const auto again = sw::state::deserialize(written);
        if (sw::state::serialize(again) != written) std::abort();
    } catch (const std::invalid_argument&) {
        std::abort();  // the writer wrote what the reader refuses
    }
    return 0;
}
