#include "platform/autologin.hpp"

#include "tests/support/scoped_env.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace fs = std::filesystem;
using sw::platform::apply_autologin;
using sw::platform::ini_get;
using sw::platform::ini_set;
using sw::platform::plan_autologin;

namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(SW_TEST_DATA_DIR) + "/autologin/" + name, std::ios::binary);
    REQUIRE(in);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

/// Plans and applies, checking that a second plan finds nothing left to do.
void plan_apply(const std::string& root, std::size_t expected_edits) {
    const auto edits = plan_autologin(root, "worker");
    CHECK(edits.size() == expected_edits);
    apply_autologin(edits);
    CHECK(plan_autologin(root, "worker").empty());
}

}  // namespace

TEST_CASE("ini_set replaces, un-comments, adds", "[autologin][ini]") {
    // Replaces an active key, keeping its spacing; other sections' keys are not touched.
    CHECK(ini_set("[a]\nk=1\n[b]\nk = 2\nx=y\n", "b", "k", "3") == "[a]\nk=1\n[b]\nk = 3\nx=y\n");
    // Every active occurrence in the section (GKeyFile would take the last one).
    CHECK(ini_set("[s]\nk=1\nk=2\n", "s", "k", "v") == "[s]\nk=v\nk=v\n");
    // Un-comments the first commented line of the key in that section only.
    CHECK(ini_set("[a]\n#k=1\n[s]\n# k = old\n#k=2\n", "s", "k", "v") ==
          "[a]\n#k=1\n[s]\nk=v\n#k=2\n");
    // Adds after the section's last non-blank line.
    CHECK(ini_set("[s]\na=1\n\n[t]\nb=2\n", "s", "k", "v") == "[s]\na=1\nk=v\n\n[t]\nb=2\n");
    CHECK(ini_set("[s]\n", "s", "k", "v") == "[s]\nk=v\n");
    // Adds the section at the end.
    CHECK(ini_set("[t]\nb=2\n", "s", "k", "v") == "[t]\nb=2\n\n[s]\nk=v\n");
    CHECK(ini_set("[t]\nb=2", "s", "k", "v") == "[t]\nb=2\n\n[s]\nk=v\n");
    CHECK(ini_set("", "s", "k", "v") == "[s]\nk=v\n");
    // Keys before any section, longer keys and prose comments are not the key.
    CHECK(ini_set("k=0\n[s]\nkk=1\n# k is explained here\n", "s", "k", "v") ==
          "k=0\n[s]\nkk=1\n# k is explained here\nk=v\n");
    // CRLF files keep their CRs; '#'-only lines are comments like any other.
    CHECK(ini_set("[s]\r\nk=1\r\n#\r\n", "s", "k", "2") == "[s]\r\nk=2\r\n#\r\n");
    // Idempotent.
    const auto once = ini_set(fixture("gdm3-custom.conf"), "daemon", "AutomaticLogin", "w");
    CHECK(ini_set(once, "daemon", "AutomaticLogin", "w") == once);
}

TEST_CASE("ini_get finds active keys only", "[autologin][ini]") {
    CHECK(ini_get("[s]\n#k=1\nk = 2 \n", "s", "k") == "2");
    CHECK(ini_get("[s]\nk=\n", "s", "k") == "");
    CHECK_FALSE(ini_get("[s]\n#k=1\n[t]\nk=3\n", "s", "k"));
    CHECK_FALSE(ini_get("", "s", "k"));
}

TEST_CASE("GDM on Debian: the commented example lines are switched on", "[autologin]") {
    sw::test::temp_dir root;
    const auto file = root.write("etc/gdm3/custom.conf", fixture("gdm3-custom.conf"), 0644);
    const auto edits = plan_autologin(root.path().string(), "worker");
    REQUIRE(edits.size() == 1);
    CHECK(edits[0].file == file);
    CHECK(edits[0].description == "GDM: AutomaticLogin=worker");
    CHECK(edits[0].new_contents == fixture("gdm3-custom.conf.expected"));
    // Planning writes nothing.
    CHECK(root.read("etc/gdm3/custom.conf") == fixture("gdm3-custom.conf"));

    apply_autologin(edits);
    CHECK(root.read("etc/gdm3/custom.conf") == fixture("gdm3-custom.conf.expected"));
    CHECK(root.read("etc/gdm3/custom.conf.start-worker.bak") == fixture("gdm3-custom.conf"));
    CHECK(mode_of(file) == 0644);
    CHECK(plan_autologin(root.path().string(), "worker").empty());

    // A second apply (another user) keeps the first backup: the administrator's original.
    apply_autologin(plan_autologin(root.path().string(), "other"));
    CHECK(root.read("etc/gdm3/custom.conf.start-worker.bak") == fixture("gdm3-custom.conf"));
    CHECK(ini_get(root.read("etc/gdm3/custom.conf"), "daemon", "AutomaticLogin") == "other");
    // Nothing else was left in the directory (no temp files).
    CHECK(std::distance(fs::directory_iterator(root.path() / "etc/gdm3"),
                        fs::directory_iterator()) == 2);
}

TEST_CASE("GDM on Fedora: active keys are changed in place", "[autologin]") {
    sw::test::temp_dir root;
    const auto file = root.write("etc/gdm/custom.conf", fixture("gdm-custom.conf"), 0640);
    plan_apply(root.path().string(), 1);
    CHECK(root.read("etc/gdm/custom.conf") == fixture("gdm-custom.conf.expected"));
    CHECK(mode_of(file) == 0640);
    CHECK(mode_of(file + ".start-worker.bak") == 0640);
}

TEST_CASE("GDM installed without custom.conf gets a new one", "[autologin]") {
    sw::test::temp_dir root;
    fs::create_directories(root.path() / "etc/gdm3");
    plan_apply(root.path().string(), 1);
    CHECK(root.read("etc/gdm3/custom.conf") ==
          "[daemon]\nAutomaticLoginEnable=true\nAutomaticLogin=worker\n");
    CHECK(mode_of(root.file("etc/gdm3/custom.conf")) == 0644);
    CHECK_FALSE(fs::exists(root.path() / "etc/gdm3/custom.conf.start-worker.bak"));
}

TEST_CASE("LightDM: [Seat:*] only, the stock comments stay", "[autologin]") {
    sw::test::temp_dir root;
    root.write("etc/lightdm/lightdm.conf", fixture("lightdm.conf"), 0644);
    const auto edits = plan_autologin(root.path().string(), "worker");
    REQUIRE(edits.size() == 1);
    CHECK(edits[0].description == "LightDM: autologin-user=worker");
    apply_autologin(edits);
    CHECK(root.read("etc/lightdm/lightdm.conf") == fixture("lightdm.conf.expected"));
    CHECK(root.read("etc/lightdm/lightdm.conf.start-worker.bak") == fixture("lightdm.conf"));
    CHECK(plan_autologin(root.path().string(), "worker").empty());
}

TEST_CASE("SDDM: a drop-in, and sddm.conf too when it sets User", "[autologin]") {
    sw::test::temp_dir root;
    root.write("etc/sddm.conf", fixture("sddm.conf"), 0644);
    const auto edits = plan_autologin(root.path().string(), "worker");
    REQUIRE(edits.size() == 2);
    CHECK(edits[0].file == root.file("etc/sddm.conf.d/start-worker-autologin.conf"));
    apply_autologin(edits);
    CHECK(root.read("etc/sddm.conf.d/start-worker-autologin.conf") == "[Autologin]\nUser=worker\n");
    CHECK(root.read("etc/sddm.conf") == fixture("sddm.conf.expected"));
    CHECK(plan_autologin(root.path().string(), "worker").empty());

    sw::test::temp_dir only_dropins;
    fs::create_directories(only_dropins.path() / "etc/sddm.conf.d");
    plan_apply(only_dropins.path().string(), 1);
    CHECK(only_dropins.read("etc/sddm.conf.d/start-worker-autologin.conf") ==
          "[Autologin]\nUser=worker\n");
    CHECK_FALSE(fs::exists(only_dropins.path() / "etc/sddm.conf"));
}

TEST_CASE("several display managers are all configured; none means no edits", "[autologin]") {
    sw::test::temp_dir root;
    CHECK(plan_autologin(root.path().string(), "worker").empty());
    root.write("etc/gdm3/custom.conf", fixture("gdm3-custom.conf"), 0644);
    root.write("etc/lightdm/lightdm.conf", fixture("lightdm.conf"), 0644);
    plan_apply(root.path().string(), 2);
    CHECK(root.read("etc/gdm3/custom.conf") == fixture("gdm3-custom.conf.expected"));
    CHECK(root.read("etc/lightdm/lightdm.conf") == fixture("lightdm.conf.expected"));
}

TEST_CASE("usernames that would break the file are refused", "[autologin]") {
    sw::test::temp_dir root;
    fs::create_directories(root.path() / "etc/gdm3");
    for (const char* bad : {"", "a b", "a\nAutomaticLoginEnable=false", "[x]", "a=b", "#a"})
        CHECK_THROWS_AS(plan_autologin(root.path().string(), bad), std::invalid_argument);
    CHECK(plan_autologin(root.path().string(), "ci.worker-1").size() == 1);
}

TEST_CASE("user_session_present asks loginctl for a graphical session", "[autologin]") {
    sw::test::temp_dir bin;
    bin.write("loginctl", R"(#!/bin/sh
case "$1" in
list-sessions)
  printf '      3 1000 worker seat0 tty2\n'
  printf '      5 1001 other  seat0 tty3\n'
  printf '     c1 1002 console\n'
  printf '      7 1003 closing seat0 tty4\n' ;;
show-session)
  case "$2" in
  3) printf 'Type=wayland\nState=active\n' ;;
  5) printf 'Type=x11\nState=online\n' ;;
  c1) printf 'Type=tty\nState=active\n' ;;
  7) printf 'Type=x11\nState=closing\n' ;;
  *) exit 1 ;;
  esac ;;
*) exit 1 ;;
esac
)",
              0755);
    const char* old_path = std::getenv("PATH");
    sw::test::scoped_env path("PATH", bin.path().string() + ":" + (old_path ? old_path : ""));
    CHECK(sw::platform::user_session_present("worker"));
    CHECK(sw::platform::user_session_present("other"));
    CHECK_FALSE(sw::platform::user_session_present("console"));
    CHECK_FALSE(sw::platform::user_session_present("closing"));
    CHECK_FALSE(sw::platform::user_session_present("nobody-sw-test"));

    // A failing loginctl: the utmp fallback, which knows no such user either.
    bin.write("loginctl", "#!/bin/sh\nexit 1\n", 0755);
    CHECK_FALSE(sw::platform::user_session_present("worker-sw-test-none"));
}
