// start-worker: the skeleton entry point (replaced by the real wiring in daemon/).
#include <cstdio>

#include "version.hpp"

int main() {
    std::printf("start-worker %s\n", sw::version);
    return 0;
}
