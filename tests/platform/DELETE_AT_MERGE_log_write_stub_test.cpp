// TEST-ONLY STUB, branch `config`: the unit-tests binary needs sw::log::write
// (platform/posix/fs.cpp logs the permission-tightening WARNING) and lib/log is implemented on
// another branch. It lives here, not in tests/support/, because sw_test_support is linked before
// the core library and so could not satisfy the core's reference. DELETE THIS FILE when merging the
// logging implementation (it would clash with lib/log/log.cpp).
#include "lib/log/log.hpp"

#include <cstdio>
#include <string>

namespace sw::log {
void write(level, std::string_view msg) {
    std::fprintf(stderr, "%.*s\n", int(msg.size()), msg.data());
}
}  // namespace sw::log
