// Ports of the Go runner's WR/perms tests (reference 14) plus the atomic-write contract.
#include "platform/fs.hpp"

#include "lib/common/error.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace sw::platform;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

/// The sw::failure that `fn` throws (code and message), or FAIL.
template <class F>
std::pair<std::error_code, std::string> failure_of(F fn) {
    try {
        fn();
    } catch (const sw::failure& f) {
        return {f.code(), f.what()};
    }
    FAIL("no sw::failure thrown");
    return {};
}

constexpr std::size_t max = 1 << 20;

}  // namespace

TEST_CASE("read_config_file: private file read unchanged", "[fs][perms]") {
    sw::test::temp_dir dir;
    for (unsigned mode : {0400u, 0500u, 0600u, 0700u}) {
        INFO(std::oct << mode);
        const auto p = dir.write("c.yml", "hi", mode);
        CHECK(read_config_file(p, max) == "hi");
        CHECK(mode_of(p) == mode);  // DoesNotWidenTighterModes
    }
}

TEST_CASE("read_config_file: loose modes are tightened to 0600", "[fs][perms]") {
    sw::test::temp_dir dir;
    for (unsigned mode : {0644u, 0666u, 0604u, 0640u, 0777u}) {
        INFO(std::oct << mode);
        const auto p = dir.write("c.yml", "hi", mode);
        CHECK(read_config_file(p, max) == "hi");
        CHECK(mode_of(p) == 0600);
    }
}

TEST_CASE("read_config_file: refusals", "[fs][perms]") {
    sw::test::temp_dir dir;
    // Not a file at all is a config problem (exit 78), named, not a permission problem.
    SECTION("a FIFO is not a regular file (and does not block)") {
        const auto p = dir.file("fifo");
        REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
        const auto [code, msg] = failure_of([&] { read_config_file(p, max); });
        CHECK(code == sw::errc::config);
        CHECK(msg == "runner config " + p + " is a FIFO (named pipe), not a regular file");
    }
    SECTION("a directory") {
        const auto p = dir.path().string();
        const auto [code, msg] = failure_of([&] { read_config_file(p, max); });
        CHECK(code == sw::errc::config);
        CHECK(msg == "runner config " + p + " is a directory, not a regular file");
    }
    SECTION("a character device") {
        const auto [code, msg] = failure_of([&] { read_config_file("/dev/null", max); });
        CHECK(code == sw::errc::config);
        CHECK(msg == "runner config /dev/null is a character device, not a regular file");
    }
    SECTION("owner-read bit missing") {
        for (unsigned mode : {0100u, 0200u, 0300u, 0244u}) {
            INFO(std::oct << mode);
            const auto p = dir.write("c.yml", "hi", mode);
            const auto [code, msg] = failure_of([&] { read_config_file(p, max); });
            CHECK(code == sw::errc::refused);
            CHECK_THAT(msg, Contains("owner-read bit must be set"));
            CHECK(mode_of(p) == mode);  // not repaired
        }
    }
    SECTION("a symbolic link") {
        const auto target = dir.write("real.yml", "hi", 0600);
        const auto link = dir.file("link.yml");
        REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
        const auto [code, msg] = failure_of([&] { read_config_file(link, max); });
        CHECK(code == sw::errc::refused);
        CHECK_THAT(msg, Contains("symbolic link"));
    }
    SECTION("missing file") {
        const auto p = dir.file("nope.yml");
        const auto [code, msg] = failure_of([&] { read_config_file(p, max); });
        CHECK(code == sw::errc::config);
        CHECK(msg == p + ": no such file");
    }
    SECTION("too large") {
        const auto p = dir.write("big.yml", std::string(2000, 'x'), 0600);
        const auto [code, msg] = failure_of([&] { read_config_file(p, 1000); });
        CHECK(code == sw::errc::config);
        CHECK_THAT(msg, Contains("larger than 1000 bytes"));
    }
}

TEST_CASE("read_config_file: files owned by someone else", "[fs][perms]") {
    if (::geteuid() != 0) {
        WARN("SKIPPED: not root, so no file can be given to another user (chown)");
        return;
    }
    sw::test::temp_dir dir;
    SECTION("loose and foreign: refused, not changed") {
        const auto p = dir.write("c.yml", "hi", 0644);
        REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
        const auto [code, msg] = failure_of([&] { read_config_file(p, max); });
        CHECK(code == sw::errc::refused);
        CHECK_THAT(msg, Contains("owned by uid 65534"));
        CHECK(mode_of(p) == 0644);
    }
    SECTION("private but foreign: incorrect owner id") {
        const auto p = dir.write("c.yml", "hi", 0400);
        REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
        const auto [code, msg] = failure_of([&] { read_config_file(p, max); });
        CHECK(code == sw::errc::refused);
        CHECK_THAT(msg, Contains("has incorrect owner id 65534"));
    }
}

TEST_CASE("read_private_file (TestPerms, ReadPrivateFile)", "[fs][perms]") {
    sw::test::temp_dir dir;
    std::string out = "untouched";
    SECTION("good: write then read") {
        const auto p = dir.file("s.json");
        write_private_file_atomic(p, "hi");
        CHECK(mode_of(p) == 0600);
        CHECK(read_private_file(p, max, out));
        CHECK(out == "hi");
    }
    SECTION("nonexistent: false, out untouched") {
        CHECK_FALSE(read_private_file(dir.file("nope"), max, out));
        CHECK(out == "untouched");
    }
    SECTION("bad modes are refused, not repaired") {
        for (unsigned mode : {0666u, 0644u, 0640u, 0604u}) {
            INFO(std::oct << mode);
            const auto p = dir.write("s.json", "hi", mode);
            const auto [code, msg] = failure_of([&] { read_private_file(p, max, out); });
            CHECK(code == sw::errc::refused);
            CHECK_THAT(msg, Contains("must not be group- or other-accessible"));
            CHECK(out == "untouched");
            CHECK(mode_of(p) == mode);
        }
    }
    SECTION("owner-unreadable") {
        for (unsigned mode : {0100u, 0200u, 0300u}) {
            const auto p = dir.write("s.json", "hi", mode);
            const auto [code, msg] = failure_of([&] { read_private_file(p, max, out); });
            CHECK(code == sw::errc::refused);
            CHECK_THAT(msg, Contains("owner-read bit must be set"));
        }
    }
    SECTION("FIFO") {
        const auto p = dir.file("fifo");
        REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
        const auto [code, msg] = failure_of([&] { read_private_file(p, max, out); });
        CHECK(code == sw::errc::refused);
        CHECK_THAT(msg, Contains("not a regular file"));
    }
    SECTION("foreign owner") {
        if (::geteuid() != 0) {
            WARN("SKIPPED: not root, so no file can be given to another user (chown)");
            return;
        }
        const auto p = dir.write("s.json", "hi", 0600);
        REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
        const auto [code, msg] = failure_of([&] { read_private_file(p, max, out); });
        CHECK(code == sw::errc::refused);
        CHECK_THAT(msg, Contains("has incorrect owner id 65534"));
    }
}

TEST_CASE("write_private_file_atomic replaces, stays private, leaves no temp", "[fs]") {
    sw::test::temp_dir dir;
    const auto p = dir.file("state.json");
    const mode_t old_umask = ::umask(0);  // even a permissive umask gives 0600
    write_private_file_atomic(p, "one");
    ::umask(old_umask);
    CHECK(mode_of(p) == 0600);
    // Replacing a loose existing file gives a private one.
    ::chmod(p.c_str(), 0644);
    write_private_file_atomic(p, "two");
    CHECK(dir.read("state.json") == "two");
    CHECK(mode_of(p) == 0600);
    // A stale temp file from a crash is replaced.
    dir.write("state.json.tmp", "stale", 0644);
    write_private_file_atomic(p, "three");
    CHECK(dir.read("state.json") == "three");
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
        ++entries;
    CHECK(entries == 1);
}

TEST_CASE("write_private_file_if_changed leaves an identical private file alone", "[fs]") {
    sw::test::temp_dir dir;
    const auto p = dir.file("worker-config.json");
    auto inode = [&] {
        struct stat st {};
        REQUIRE(::lstat(p.c_str(), &st) == 0);
        return st.st_ino;
    };
    CHECK(write_private_file_if_changed(p, "{\"a\": 1}"));  // missing: written
    CHECK(dir.read("worker-config.json") == "{\"a\": 1}");
    CHECK(mode_of(p) == 0600);
    const auto first = inode();
    CHECK_FALSE(write_private_file_if_changed(p, "{\"a\": 1}"));  // identical: untouched
    CHECK(inode() == first);
    // Different contents, a prefix of them, or more: replaced (a new inode from the rename).
    CHECK(write_private_file_if_changed(p, "{\"a\": 1}\n"));
    CHECK(dir.read("worker-config.json") == "{\"a\": 1}\n");
    CHECK(write_private_file_if_changed(p, "{\"a\": 1}"));
    CHECK(dir.read("worker-config.json") == "{\"a\": 1}");
    CHECK(write_private_file_if_changed(p, ""));
    CHECK(dir.read("worker-config.json").empty());
    // The same contents in a loose file: replaced by a private one.
    dir.write("worker-config.json", "same", 0644);
    CHECK(write_private_file_if_changed(p, "same"));
    CHECK(mode_of(p) == 0600);
    // A symbolic link to a file with the same contents: replaced by a file, the target kept.
    dir.write("elsewhere", "linked", 0600);
    std::filesystem::remove(p);
    std::filesystem::create_symlink(dir.file("elsewhere"), p);
    CHECK(write_private_file_if_changed(p, "linked"));
    CHECK_FALSE(std::filesystem::is_symlink(p));
    CHECK(mode_of(p) == 0600);
    CHECK(dir.read("elsewhere") == "linked");
}

TEST_CASE("write_private_file_atomic: a failed rename keeps the old file and removes the temp",
          "[fs]") {
    sw::test::temp_dir dir;
    // The target is a non-empty directory: rename fails.
    const auto target = dir.file("target");
    dir.write("target/inside", "x", 0600);
    CHECK_THROWS_AS(write_private_file_atomic(target, "new"), sw::failure);
    CHECK_FALSE(std::filesystem::exists(target + ".tmp"));
    CHECK(dir.read("target/inside") == "x");
    // A missing directory: the error names the path.
    try {
        write_private_file_atomic(dir.file("no/such/dir/f"), "x");
        FAIL("no error");
    } catch (const sw::failure& e) {
        CHECK(e.code() == sw::errc::config);
        CHECK_THAT(e.what(), Contains("no/such/dir/f"));
    }
}

TEST_CASE("move_aside and make_parent_dirs", "[fs]") {
    sw::test::temp_dir dir;
    const auto p = dir.write("state.json", "garbage", 0600);
    const auto first = move_aside(p);
    CHECK_THAT(first, StartsWith(p + ".bad-"));
    CHECK_FALSE(std::filesystem::exists(p));
    CHECK(std::filesystem::exists(first));
    dir.write("state.json", "more garbage", 0600);
    const auto second = move_aside(p);
    CHECK(second != first);
    CHECK(std::filesystem::exists(second));

    const auto deep = dir.file("a/b/c/state.json");
    const mode_t old_umask = ::umask(022);
    make_parent_dirs(deep);
    ::umask(old_umask);
    CHECK(std::filesystem::is_directory(dir.file("a/b/c")));
    CHECK((mode_of(dir.file("a/b")) & 0777) == 0755);
    make_parent_dirs(deep);  // idempotent
    dir.write("file", "x", 0600);
    CHECK_THROWS_AS(make_parent_dirs(dir.file("file/sub/x")), sw::failure);
}

TEST_CASE("stamp_of tells a rewritten file from the one first seen", "[fs]") {
    sw::test::temp_dir dir;
    CHECK_FALSE(stamp_of(dir.file("absent.yml")));
    const auto p = dir.write("runner.yml", "provider: {providerType: standalone}\n", 0600);
    const auto first = stamp_of(p);
    REQUIRE(first);
    CHECK(first->size == 37);
    CHECK(stamp_of(p) == first);  // looking changes nothing

    // A rewrite within the file system's time resolution: the size tells them apart.
    const auto mtime = std::filesystem::last_write_time(p);
    dir.write("runner.yml", "provider: {providerType: static}\n", 0600);
    std::filesystem::last_write_time(p, mtime);
    const auto second = stamp_of(p);
    REQUIRE(second);
    CHECK(second->mtime == first->mtime);
    CHECK(second != first);

    // Same size, later time.
    dir.write("runner.yml", "provider: {providerType: standalone}\n", 0600);
    std::filesystem::last_write_time(p, mtime + std::chrono::seconds(5));
    CHECK(stamp_of(p) != first);
}
