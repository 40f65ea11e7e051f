// The process-wide jitter source (lib/common/random.hpp).
#include "lib/common/random.hpp"

namespace sw {

random_source& os_random() {
    static seeded_random r{std::random_device{}()};
    return r;
}

}  // namespace sw
