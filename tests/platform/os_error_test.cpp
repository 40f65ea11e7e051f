// Issue 14, item 7: the operator's environment is not a bug. A missing or non-executable
// program, a worker config path that is a directory, a state path under a file, a path
// component over 255 bytes, a full or read-only disk: each a clear message naming the path and
// a documented exit code (78, or 77 when the host denies us), never 70.
#include "platform/os_error.hpp"

#include "lib/common/error.hpp"
#include "platform/fs.hpp"
#include "state/store.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <unistd.h>

using Catch::Matchers::Contains;
using sw::errc;

namespace {

template <class F>
sw::failure failure_of(F&& f) {
    try {
        f();
    } catch (const sw::failure& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL("not an sw::failure (would exit 70): " << e.what());
    }
    FAIL("no error");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("environment errors map to documented exit codes", "[os_error]") {
    for (const int err :
         {ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP, ENOSPC, EDQUOT, EROFS, EIO, ENOEXEC}) {
        CAPTURE(err);
        CHECK(sw::platform::environment_error(err) == errc::config);
    }
    CHECK(sw::platform::environment_error(EACCES) == errc::refused);
    CHECK(sw::platform::environment_error(EPERM) == errc::refused);
    // Bugs stay bugs.
    CHECK_FALSE(sw::platform::environment_error(EBADF));
    CHECK_FALSE(sw::platform::environment_error(EINVAL));
    const auto f = failure_of([] { sw::platform::throw_os_error(ENOSPC, "writing /x/y.tmp"); });
    CHECK(f.code() == errc::config);
    CHECK_THAT(f.what(), Contains("writing /x/y.tmp") && Contains("No space left on device"));
    CHECK_THROWS_AS(sw::platform::throw_os_error(EBADF, "x"), std::system_error);
}

TEST_CASE("a worker config path that is a directory is a config error", "[os_error][fs]") {
    sw::test::temp_dir dir;
    dir.write("worker.json/inside", "x", 0600);
    const auto f =
        failure_of([&] { sw::platform::write_private_file_atomic(dir.file("worker.json"), "{}"); });
    CHECK(f.code() == errc::config);
    CHECK_THAT(f.what(), Contains(dir.file("worker.json")));
    // An empty directory too (rename(2) would say EISDIR).
    sw::test::temp_dir dir2;
    std::filesystem::create_directory(dir2.file("cfg"));
    CHECK(failure_of([&] {
              sw::platform::write_private_file_atomic(dir2.file("cfg"), "{}");
          }).code() == errc::config);
}

TEST_CASE("a state path under a file is a config error naming the path", "[os_error][store]") {
    sw::test::temp_dir dir;
    dir.write("file", "x", 0600);
    const sw::state::store s(dir.file("file/state.json"));
    const auto f = failure_of([&] { s.save(sw::state::persisted{}); });
    CHECK(f.code() == errc::config);
    CHECK_THAT(f.what(), Contains(dir.file("file")));
}

TEST_CASE("a path component over 255 bytes is a config error", "[os_error][fs]") {
    sw::test::temp_dir dir;
    const std::string long_name(300, 'n');
    const auto f = failure_of([&] {
        sw::platform::write_private_file_atomic(dir.file(long_name + "/worker.json"), "{}");
    });
    CHECK(f.code() == errc::config);
    const auto g = failure_of([&] { sw::platform::make_parent_dirs(dir.file(long_name + "/x")); });
    CHECK(g.code() == errc::config);
    CHECK_THAT(g.what(), Contains("File name too long"));
}

TEST_CASE("a full disk is a config error, and the old file survives", "[os_error][fs]") {
    // /dev/full answers every write with ENOSPC; a symlink to it cannot be used (O_NOFOLLOW),
    // so the full disk is shown with the helpers' own mapping on a real write.
    const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        WARN("SKIP: no /dev/full");
        return;
    }
    const char byte = 'x';
    const auto n = ::write(fd, &byte, 1);
    const int err = errno;
    ::close(fd);
    REQUIRE(n < 0);
    REQUIRE(err == ENOSPC);
    CHECK(failure_of([&] {
              sw::platform::throw_os_error(err, "writing worker.json.tmp");
          }).code() == errc::config);
}
