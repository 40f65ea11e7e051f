#include "lib/files/extract.hpp"

#include "lib/common/base64.hpp"
#include "lib/tc/hawk.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <zip.h>

#include <deque>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using sw::worker_file;

namespace {

std::string base64(const std::string& data) {
    return sw::base64_encode(data);
}

/// Builds a zip archive with libzip (in a temporary file) and returns its bytes.
class zip_builder {
  public:
    zip_builder() {
        int err = 0;
        z_ = zip_open(dir_.file("build.zip").c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
        REQUIRE(z_);
    }
    ~zip_builder() {
        if (z_) zip_discard(z_);
    }
    zip_builder& file(const std::string& name, const std::string& data, mode_t mode = 0) {
        const auto i = add(name, data);
        if (mode) set_mode(i, S_IFREG | mode);
        return *this;
    }
    zip_builder& dir(const std::string& name) {
        REQUIRE(zip_dir_add(z_, name.c_str(), ZIP_FL_ENC_UTF_8) >= 0);
        return *this;
    }
    zip_builder& symlink(const std::string& name, const std::string& target) {
        set_mode(add(name, target), S_IFLNK | 0777);
        return *this;
    }
    std::string bytes() {
        REQUIRE(zip_close(z_) == 0);
        z_ = nullptr;
        return dir_.read("build.zip");
    }

  private:
    zip_int64_t add(const std::string& name, const std::string& data) {
        const auto& kept = data_.emplace_back(data);
        zip_source_t* src = zip_source_buffer(z_, kept.data(), kept.size(), 0);
        REQUIRE(src);
        const auto i = zip_file_add(z_, name.c_str(), src, ZIP_FL_ENC_UTF_8);
        REQUIRE(i >= 0);
        return i;
    }
    void set_mode(zip_int64_t i, mode_t mode) {
        REQUIRE(zip_file_set_external_attributes(z_, static_cast<zip_uint64_t>(i), 0,
                                                 ZIP_OPSYS_UNIX,
                                                 static_cast<zip_uint32_t>(mode) << 16) == 0);
    }
    sw::test::temp_dir dir_;
    zip_t* z_ = nullptr;
    std::deque<std::string> data_;
};

worker_file item(const std::string& path, const std::string& content,
                 const std::string& format = "file", const std::string& encoding = "base64") {
    return worker_file{"a test file", path, content, encoding, format};
}

std::string error_of(const std::vector<worker_file>& files) {
    try {
        sw::files::extract_all(files);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::size_t entries_in(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::recursive_directory_iterator(dir), fs::recursive_directory_iterator()));
}

mode_t current_umask() {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a base64 file is written, parents created", "[extract]") {
    sw::test::temp_dir dir;
    sw::files::extract_all({item(dir.file("greeting"), "SGVsbG8sIFdvcmxk"),
                            item(dir.file("path/to/greeting"), "SGVsbG8s\r\nIFdvcmxk\n")});
    CHECK(dir.read("greeting") == "Hello, World");
    CHECK(dir.read("path/to/greeting") == "Hello, World");
    CHECK(mode_of(dir.file("greeting")) == (0777 & ~current_umask()));
    CHECK(mode_of(dir.file("path/to")) == (0755 & ~current_umask()));

    // An existing file is truncated and keeps its mode.
    dir.write("existing", "a much longer old content", 0600);
    sw::files::extract_all({item(dir.file("existing"), base64("new"))});
    CHECK(dir.read("existing") == "new");
    CHECK(mode_of(dir.file("existing")) == 0600);
}

TEST_CASE("padding and binary data decode exactly", "[extract]") {
    sw::test::temp_dir dir;
    const std::string binary("\0\x01\xff\xfe\x80 z", 7);
    for (const std::string& data :
         {std::string("a"), std::string("ab"), std::string("abc"), std::string(), binary}) {
        sw::files::extract_all({item(dir.file("out"), base64(data))});
        CHECK(dir.read("out") == data);
    }
}

TEST_CASE("a zip is unpacked under its path", "[extract]") {
    sw::test::temp_dir dir;
    const auto zip = zip_builder()
                         .file("hi", "hi\n")
                         .dir("dir/")
                         .file("dir/sub", "sub\n")
                         .file("bye", "bye\n", 0750)
                         .file("deep/er/x", "x")
                         .bytes();
    sw::files::extract_all({item(dir.file("unzipped"), base64(zip), "zip")});
    CHECK(dir.read("unzipped/hi") == "hi\n");
    CHECK(dir.read("unzipped/dir/sub") == "sub\n");
    CHECK(dir.read("unzipped/bye") == "bye\n");
    CHECK(dir.read("unzipped/deep/er/x") == "x");
    CHECK(mode_of(dir.file("unzipped/bye")) == (0750 & ~current_umask()));
    CHECK(mode_of(dir.file("unzipped/deep/er")) == (0755 & ~current_umask()));
    CHECK(entries_in(dir.file("unzipped")) == 7);
}

TEST_CASE("zip entries that escape the destination are refused", "[extract]") {
    sw::test::temp_dir dir;
    const auto dest = dir.file("dest");
    const auto check = [&](zip_builder&& b, const std::string& why) {
        CHECK(error_of({item(dest, base64(b.bytes()), "zip")}) ==
              "error extracting file " + dest + ": " + why);
        CHECK(entries_in(dir.path()) == 0);
    };
    check(std::move(zip_builder().file("ok", "x").file("../evil", "x")),
          "illegal file path in zip: ../evil");
    check(std::move(zip_builder().file("a/../../evil", "x")),
          "illegal file path in zip: a/../../evil");
    check(std::move(zip_builder().file("/tmp/x", "x")), "illegal file path in zip: /tmp/x");
    check(std::move(zip_builder().symlink("link", "/etc")), "symbolic link in zip refused: link");
    check(std::move(zip_builder().symlink("inside", "ok")), "symbolic link in zip refused: inside");

    // "a/../b" stays inside: allowed.
    sw::files::extract_all({item(dest, base64(zip_builder().file("a/../b", "b").bytes()), "zip")});
    CHECK(dir.read("dest/b") == "b");
}

TEST_CASE("a zip entry below an existing symlink out of the destination is refused", "[extract]") {
    sw::test::temp_dir dir;
    sw::test::temp_dir outside;
    fs::create_directories(dir.path() / "dest");
    fs::create_directory_symlink(outside.path(), dir.path() / "dest" / "out");
    fs::create_directory_symlink(dir.path() / "dest", dir.path() / "dest" / "self");
    const auto dest = dir.file("dest");
    CHECK(error_of({item(dest, base64(zip_builder().file("out/x", "x").bytes()), "zip")}) ==
          "error extracting file " + dest + ": illegal file path in zip: out/x");
    CHECK(entries_in(outside.path()) == 0);
    // A symlink that stays inside is fine.
    sw::files::extract_all({item(dest, base64(zip_builder().file("self/y", "y").bytes()), "zip")});
    CHECK(dir.read("dest/y") == "y");
}

TEST_CASE("bad encodings, formats and data are named", "[extract]") {
    sw::test::temp_dir dir;
    const auto p = dir.file("x");
    CHECK(error_of({item(p, "SGVsbG8", "file")}) ==
          "error extracting file " + p + ": illegal base64 data at input byte 7");
    CHECK(error_of({item(p, "SGV*bG8s", "file")}) ==
          "error extracting file " + p + ": illegal base64 data at input byte 3");
    CHECK(error_of({item(p, "SG=sbG8s", "file")}) ==
          "error extracting file " + p + ": illegal base64 data at input byte 3");
    CHECK(error_of({item(p, "SGVsbG8s", "file", "hex")}) ==
          "error extracting file " + p + ": Unsupported encoding hex for worker file");
    CHECK(error_of({item(p, "SGVsbG8s", "tar")}) ==
          "error extracting file " + p + ": Unknown file format tar in worker files");
    CHECK(error_of({item(p, base64("not a zip at all"), "zip")})
              .rfind("error extracting file " + p + ": not a valid zip archive: ", 0) == 0);
    CHECK(error_of({item("", "SGVsbG8s")}) == "error extracting file : no path given");
    CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("nothing is written when item 2 of 2 is bad", "[extract]") {
    sw::test::temp_dir dir;
    const auto zip = base64(zip_builder().file("hi", "hi\n").bytes());
    const auto evil = base64(zip_builder().file("../evil", "x").bytes());
    CHECK(error_of({item(dir.file("a/first"), "SGVsbG8sIFdvcmxk"),
                    item(dir.file("second"), "SGVsbG8*")}) ==
          "error extracting file " + dir.file("second") + ": illegal base64 data at input byte 7");
    CHECK(error_of({item(dir.file("z"), zip, "zip"), item(dir.file("z2"), evil, "zip")}) ==
          "error extracting file " + dir.file("z2") + ": illegal file path in zip: ../evil");
    CHECK(error_of({item(dir.file("f"), "SGVsbG8sIFdvcmxk"), item(dir.file("g"), "eA==", "7z")})
              .find("Unknown file format 7z") != std::string::npos);
    CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("a corrupt zip entry is found before anything is written", "[extract]") {
    sw::test::temp_dir dir;
    // Incompressible data, so that the middle of the archive is the middle of the entry's data.
    std::mt19937 gen(42);
    std::string data(4000, '\0');
    for (auto& c : data) c = static_cast<char>(gen());
    std::string zip = zip_builder().file("a", data).bytes();
    REQUIRE(zip.size() > 4000);
    zip[2000] ^= 0x55;
    const auto err = error_of({item(dir.file("z"), base64(zip), "zip")});
    CHECK(err.rfind("error extracting file " + dir.file("z") + ": cannot read zip entry a: ", 0) ==
          0);
    CHECK(entries_in(dir.path()) == 0);
}
