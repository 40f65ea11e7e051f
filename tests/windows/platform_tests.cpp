// platform-tests-win: the Windows platform layer through its seam, run under Wine by
// tests/windows/run-wine-tests (and runnable on Windows). Every check prints PASS, FAIL, or
// WINE-LIMIT (the API is not implemented by Wine: the call was made through the seam and the
// documented Wine error asserted instead). Exit 0 when nothing failed.
#include "lib/common/error.hpp"
#include "platform/autologin.hpp"
#include "platform/fs.hpp"
#include "platform/process.hpp"
#include "platform/system.hpp"
#include "platform/tls_trust.hpp"
#include "platform/windows/host.hpp"
#include "platform/windows/security.hpp"
#include "platform/windows/win.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <aclapi.h>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sddl.h>
#include <string>
#include <utility>
#include <vector>
#include <wincrypt.h>

namespace win = sw::platform::win;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::printf("%s: %s\n", ok ? "PASS" : "FAIL", what.c_str());
    if (!ok) ++failures;
}

void wine_limit(const std::string& what) {
    std::printf("WINE-LIMIT: %s\n", what.c_str());
}

bool under_wine() {
    HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
    return ntdll && ::GetProcAddress(ntdll, "wine_get_version");
}

std::string problem_of(const std::string& sddl, const std::string& user) {
    auto sd = win::security_descriptor_from_sddl(sddl, "test");
    return win::private_descriptor_problem(sd.get(), user, "f");
}

void dacl_checks(const std::string& dir) {
    const std::string user = win::current_user_sid();
    check(problem_of(win::private_file_sddl(user), user).empty(),
          "the private-file descriptor (" + win::private_file_sddl(user) + ") is owner-only");
    check(problem_of("O:" + user + "D:P(A;;FA;;;" + user + ")", user).empty(),
          "an allow ACE for the owner's SID is owner-only");
    check(problem_of("O:" + user + "D:(A;;FA;;;OW)", user).find("protected") != std::string::npos,
          "an inheriting (unprotected) DACL is refused");
    check(problem_of("O:" + user + "D:P(A;;FA;;;OW)(A;;FR;;;WD)", user).find("S-1-1-0") !=
              std::string::npos,
          "a DACL that grants Everyone read is refused, naming S-1-1-0");
    check(problem_of("O:SYD:P(A;;FA;;;OW)", user).find("owned by S-1-5-18") != std::string::npos,
          "a file owned by SYSTEM is refused");
    {
        auto sd = win::security_descriptor_from_sddl(win::pipe_sddl(user), "pipe");
        BOOL present = FALSE, defaulted = FALSE;
        PACL dacl = nullptr;
        ACL_SIZE_INFORMATION info{};
        SECURITY_DESCRIPTOR_CONTROL control = 0;
        DWORD rev = 0;
        ::GetSecurityDescriptorDacl(sd.get(), &present, &dacl, &defaulted);
        ::GetSecurityDescriptorControl(sd.get(), &control, &rev);
        if (dacl) ::GetAclInformation(dacl, &info, sizeof info, AclSizeInformation);
        check(present && dacl && (control & SE_DACL_PROTECTED) && info.AceCount == 2,
              "the pipe descriptor is a protected DACL with two ACEs (the user, SYSTEM)");
    }

    // The real file: written through the seam, then read back through it.
    const std::string path = dir + "\\private.json";
    sw::platform::write_private_file_atomic(path, "{\"secret\":1}");
    PSECURITY_DESCRIPTOR sd = nullptr;
    std::string sddl = "(unreadable)";
    if (::GetNamedSecurityInfoW(win::widen(path).c_str(), SE_FILE_OBJECT,
                                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, nullptr,
                                nullptr, nullptr, nullptr, &sd) == ERROR_SUCCESS) {
        LPWSTR text = nullptr;
        if (::ConvertSecurityDescriptorToStringSecurityDescriptorW(
                sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text,
                nullptr)) {
            sddl = win::narrow(text);
            ::LocalFree(text);
        }
        ::LocalFree(sd);
    }
    std::string out;
    try {
        const bool found = sw::platform::read_private_file(path, 1 << 20, out);
        check(found && out == "{\"secret\":1}",
              "a private file round-trips through the seam (descriptor " + sddl + ")");
    } catch (const sw::failure& f) {
        if (under_wine()) {
            check(f.code() == sw::make_error_code(sw::errc::refused),
                  "reading it back is refused as not owner-only (exit 77)");
            wine_limit("file DACLs do not round-trip: Wine derived " + sddl +
                       " from the Unix mode; read_private_file said: " + f.what());
        } else {
            check(false, std::string("reading the private file back: ") + f.what());
        }
    }
    std::string none;
    check(!sw::platform::read_private_file(dir + "\\absent.json", 1 << 20, none),
          "a missing private file is 'not there', not an error");
}

/// The whole contents of `path`, or "(unreadable)".
std::string read_back(const std::string& path) {
    win::handle h(::CreateFileW(win::widen(path).c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!h) return "(unreadable)";
    std::string out;
    char buf[4096];
    DWORD n = 0;
    while (::ReadFile(h.get(), buf, sizeof buf, &n, nullptr) && n > 0) out.append(buf, n);
    return out;
}

bool exists(const std::string& path) {
    return ::GetFileAttributesW(win::widen(path).c_str()) != INVALID_FILE_ATTRIBUTES;
}

bool is_dir(const std::string& path) {
    const DWORD a = ::GetFileAttributesW(win::widen(path).c_str());
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

void file_checks(const std::string& dir) {
    namespace fs = sw::platform;
    const std::string nested = dir + "\\mk\\a/b\\c";
    fs::make_directories(nested, 0755);
    check(is_dir(dir + "\\mk\\a\\b\\c"), "make_directories creates missing parents ('\\' and '/')");
    fs::make_directories(nested, 0755);
    check(true, "make_directories of an existing directory is fine");

    const std::string out = dir + "\\mk\\a\\out.txt";
    {
        fs::output_file f(out, 0644);
        f.write("one ");
        f.write("two");
        f.close();
    }
    check(read_back(out) == "one two", "output_file writes, close() reports success");
    {
        fs::output_file f(out, 0644);
        f.write("3");
    }  // the destructor closes
    check(read_back(out) == "3", "output_file truncates an existing file");

    try {
        fs::make_directories(out + "\\sub", 0755);
        check(false, "make_directories through a file must fail");
    } catch (const sw::failure& f) {
        check(f.code() == sw::make_error_code(sw::errc::config) &&
                  std::string(f.what()).find("mkdir " + out) == 0,
              std::string("a file in the way: errc::config naming it (") + f.what() + ")");
    }
    try {
        fs::output_file f(dir + "\\absent-dir\\x.txt", 0644);
        check(false, "output_file in a missing directory must fail");
    } catch (const sw::failure& f) {
        check(f.code() == sw::make_error_code(sw::errc::config),
              std::string("output_file in a missing directory: errc::config (") + f.what() + ")");
    }

    // Fault injection: a failed rename keeps the old file and removes the temp file; a failed
    // directory sync leaves the new file in place.
    const std::string target = dir + "\\mk\\state.json";
    fs::write_private_file_atomic(target, "old");
    const auto fail_at = [](fs::write_step at) {
        return [at](fs::write_step s) {
            return s == at ? std::make_error_code(std::errc::io_error) : std::error_code();
        };
    };
    const std::string tmp = target + ".tmp";
    try {
        fs::write_private_file_atomic(target, "new", fail_at(fs::write_step::rename));
        check(false, "an injected rename fault must throw");
    } catch (const std::system_error&) {
        const std::string now = read_back(target);
        const DWORD tmp_attrs = ::GetFileAttributesW(win::widen(tmp).c_str());
        if (under_wine() && now == "old" && tmp_attrs != INVALID_FILE_ATTRIBUTES &&
            (tmp_attrs & FILE_ATTRIBUTE_READONLY)) {
            // Wine maps the owner-only DACL to Unix mode 0000, which it shows as read-only,
            // and DeleteFileW refuses read-only files: the temp file stays.
            wine_limit(
                "the owner-only temp file is read-only under Wine (mode 0000), so "
                "DeleteFileW cannot remove it after the failed rename");
            ::SetFileAttributesW(win::widen(tmp).c_str(), FILE_ATTRIBUTE_NORMAL);
            ::DeleteFileW(win::widen(tmp).c_str());
        } else {
            check(now == "old" && tmp_attrs == INVALID_FILE_ATTRIBUTES,
                  "a failed rename keeps the old file and removes the temp file (" + now +
                      (tmp_attrs != INVALID_FILE_ATTRIBUTES ? ", temp file left)" : ")"));
        }
    }
    try {
        fs::write_private_file_atomic(target, "new", fail_at(fs::write_step::sync_dir));
        check(false, "an injected directory-sync fault must throw");
    } catch (const std::system_error&) {
        const std::string now = read_back(target);
        check(now == "new", "a failed directory sync leaves the new file in place (" + now + ")");
    }
}

/// The host's errors on files are sw::failure with a documented exit code (platform/os_error.hpp,
/// exit 77 or 78), never std::system_error (exit 70), as on POSIX.
void file_error_checks(const std::string& dir) {
    namespace fs = sw::platform;
    const std::string path = dir + "\\aside.json";
    fs::write_private_file_atomic(path, "bad state");
    const std::string moved = fs::move_aside(path);
    check(moved.rfind(path + ".bad-", 0) == 0 && !exists(path) && exists(moved),
          "move_aside renames the file to <path>.bad-<timestamp> (" + moved + ")");
    try {
        fs::move_aside(path);
        check(false, "move_aside of a missing file must fail");
    } catch (const sw::failure& f) {
        check(f.code() == sw::make_error_code(sw::errc::config),
              std::string("move_aside of a missing file: errc::config (") + f.what() + ")");
    }

    // Another process holds the file: a byte-range lock makes ReadFile fail (read_all), an
    // open without sharing makes CreateFileW fail. Both are the host's doing: refused (77).
    const std::string locked = dir + "\\locked.yml";
    {
        fs::output_file f(locked, 0644);
        f.write("provider: {providerType: standalone}\n");
        f.close();
    }
    {
        win::handle holder(::CreateFileW(win::widen(locked).c_str(), GENERIC_READ | GENERIC_WRITE,
                                         FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING,
                                         FILE_ATTRIBUTE_NORMAL, nullptr));
        OVERLAPPED at{};
        const bool locked_ok =
            holder &&
            ::LockFileEx(holder.get(), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 4096,
                         0, &at);
        check(locked_ok, "an exclusive byte-range lock on the config file");
        try {
            const std::string text = fs::read_config_file(locked, 1 << 20);
            if (under_wine())
                wine_limit("ReadFile ignores another handle's byte-range lock (read " +
                           std::to_string(text.size()) +
                           " bytes); the Win32 error mapping is checked on the open below");
            else
                check(false, "reading a locked file must fail");
        } catch (const sw::failure& f) {
            check(
                f.code() == sw::make_error_code(sw::errc::refused),
                std::string("reading a locked file (ReadFile): errc::refused (") + f.what() + ")");
        } catch (const std::system_error& e) {
            check(false,
                  std::string("reading a locked file: std::system_error (exit 70): ") + e.what());
        }
    }
    {
        win::handle holder(::CreateFileW(win::widen(locked).c_str(), GENERIC_READ, 0, nullptr,
                                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
        check(static_cast<bool>(holder), "the file held open without sharing");
        std::string out;
        try {
            fs::read_private_file(locked, 1 << 20, out);
            check(false, "reading a file held without sharing must fail");
        } catch (const sw::failure& f) {
            check(f.code() == sw::make_error_code(sw::errc::refused),
                  std::string("a sharing violation on open: errc::refused (") + f.what() + ")");
        } catch (const std::system_error& e) {
            check(false,
                  std::string("a sharing violation: std::system_error (exit 70): ") + e.what());
        }
    }
}

/// Paths are UTF-8 throughout the runner: every file operation must reach the same file,
/// whatever the ANSI code page (a narrow std::filesystem::path would decode them with it).
void unicode_path_checks(const std::string& dir) {
    namespace fs = sw::platform;
    const std::string sub =
        dir + "\\r\xc3\xa9pertoire-\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87";  // répertoire-ключ
    const std::string path = sub + "\\\xc3\xa9tat.json";               // état.json
    fs::make_parent_dirs(path);
    check(is_dir(sub), "make_parent_dirs creates a directory with a non-ASCII name");
    fs::write_private_file_atomic(path, "{}");
    check(read_back(path) == "{}", "write_private_file_atomic writes a non-ASCII name");
    // remove_file and file_mtime on an ordinary file: Wine shows an owner-only file as
    // read-only (mode 0000), which DeleteFileW refuses (see the rename fault above).
    const std::string plain = sub + "\\\xc3\xa9tat-2.json";  // état-2.json
    {
        fs::output_file f(plain, 0644);
        f.write("{}");
        f.close();
    }
    const auto mtime = fs::file_mtime(plain);
    const auto age = mtime ? sw::wall_clock::now() - *mtime : std::chrono::hours(24);
    check(mtime && age < std::chrono::minutes(5) && age > -std::chrono::minutes(5),
          "file_mtime of a non-ASCII name is the time it was written");
    fs::remove_file(plain);
    check(!exists(plain), "remove_file removes a non-ASCII name");
    check(!fs::file_mtime(plain), "file_mtime of a removed file is nullopt");
    fs::remove_file(plain);
    check(true, "remove_file of a missing file is fine");
}

std::string reg_get(const std::string& key, const std::string& name, bool& present) {
    wchar_t buf[512];
    DWORD size = sizeof buf;
    present = ::RegGetValueW(HKEY_CURRENT_USER, win::widen(key).c_str(), win::widen(name).c_str(),
                             RRF_RT_REG_SZ, nullptr, buf, &size) == ERROR_SUCCESS;
    return present ? win::narrow(buf) : std::string();
}

void autologon_checks() {
    const std::string root = "Software\\start-worker-test";
    const std::string key = root + "\\Winlogon";
    ::RegDeleteTreeW(HKEY_CURRENT_USER, win::widen(root).c_str());
    // A clear-text password left by an earlier tool must go.
    HKEY k = nullptr;
    ::RegCreateKeyExW(HKEY_CURRENT_USER, win::widen(key).c_str(), 0, nullptr, 0, KEY_SET_VALUE,
                      nullptr, &k, nullptr);
    const wchar_t old[] = L"old-clear-text";
    ::RegSetValueExW(k, L"DefaultPassword", 0, REG_SZ, reinterpret_cast<const BYTE*>(old),
                     sizeof old);
    ::RegCloseKey(k);

    auto edits = sw::platform::plan_autologin(root, "WORKER\\task_1", std::string("s3cret-pw"));
    bool leaked = false;
    for (const auto& e : edits) leaked |= e.description.find("s3cret") != std::string::npos;
    check(!leaked, "no planned change describes the password");
    check(edits.size() == 5, "5 changes planned (3 values, delete DefaultPassword, LSA secret): " +
                                 std::to_string(edits.size()));
    std::vector<sw::platform::autologin_edit> registry, lsa;
    for (auto& e : edits) (e.file.rfind("lsa-secret:", 0) == 0 ? lsa : registry).push_back(e);
    sw::platform::apply_autologin(registry);
    bool p = false;
    check(reg_get(key, "AutoAdminLogon", p) == "1" && p, "AutoAdminLogon reads back as 1");
    check(reg_get(key, "DefaultUserName", p) == "task_1", "DefaultUserName reads back as task_1");
    check(reg_get(key, "DefaultDomainName", p) == "WORKER",
          "DefaultDomainName reads back as WORKER");
    reg_get(key, "DefaultPassword", p);
    check(!p, "the clear-text DefaultPassword value is gone");
    check(sw::platform::plan_autologin(root, "WORKER\\task_1").empty(),
          "planning again changes nothing");
    check(lsa.size() == 1, "the password goes to the LSA secret DefaultPassword");
    try {
        sw::platform::apply_autologin(lsa);
        check(true, "LsaStorePrivateData(DefaultPassword) succeeded");
    } catch (const std::system_error& e) {
        if (under_wine() && std::string(e.what()).find("C0000034") != std::string::npos)
            wine_limit(std::string("LsaStorePrivateData is not implemented: ") + e.what());
        else
            check(false, std::string("LsaStorePrivateData: ") + e.what());
    }
    ::RegDeleteTreeW(HKEY_CURRENT_USER, win::widen(root).c_str());
}

void host_checks() {
    bool reboot = false;
    check(win::is_default_host_command({"shutdown", "-r", "now"}, reboot) && reboot,
          "[shutdown, -r, now] means InitiateShutdownW(restart)");
    check(win::is_default_host_command({"shutdown", "-h", "now"}, reboot) && !reboot,
          "[shutdown, -h, now] means InitiateShutdownW(power off)");
    check(!win::is_default_host_command({"shutdown.exe", "/r", "/t", "0"}, reboot),
          "any other command runs as given");
    if (!under_wine()) {
        std::printf("SKIP: InitiateShutdownW not called outside Wine (it would reboot the host)\n");
        return;
    }
    const auto ec = win::initiate_host_shutdown(true);
    if (ec.value() == ERROR_CALL_NOT_IMPLEMENTED)
        wine_limit("InitiateShutdownW returns 120 (not implemented); called through the seam");
    else
        check(false, "InitiateShutdownW under Wine returned " + std::to_string(ec.value()));
}

void process_checks(const std::string& fake) {
    boost::asio::io_context io;
    int exit_code = -1;
    std::string error;
    // Vectors built outside the coroutines (GCC 12 rejects a braced list inside co_await).
    const std::vector<std::string> bad_usage{fake, "bad"};
    const std::vector<std::string> absent{"C:\\no\\such\\program.exe"};
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            // Bad command line: the fake exits 64, and run_command reports it.
            exit_code = co_await sw::platform::run_command(io.get_executor(), bad_usage, error);
        },
        boost::asio::detached);
    io.run();
    check(exit_code == 64, "run_command returns the child's exit code (64): " +
                               std::to_string(exit_code) + " " + error);
    auto missing = sw::platform::find_on_path("no-such-program-start-worker");
    check(missing.empty(), "find_on_path of a missing program is empty");
    io.restart();
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            exit_code = co_await sw::platform::run_command(io.get_executor(), absent, error);
        },
        boost::asio::detached);
    io.run();
    check(exit_code == -1 && !error.empty(), "a program that does not exist: -1 and " + error);
}

/// Environment variables as UTF-8 (SSL_CERT_FILE and friends): unset, set to nothing, and a
/// value outside every ANSI code page.
void environment_checks() {
    ::SetEnvironmentVariableW(L"SW_TEST_UNSET", nullptr);
    check(!sw::platform::environment_variable("SW_TEST_UNSET"), "an unset variable is nullopt");
    ::SetEnvironmentVariableW(L"SW_TEST_EMPTY", L"");
    const auto empty = sw::platform::environment_variable("SW_TEST_EMPTY");
    check(empty && empty->empty(), "a variable set to nothing is \"\", not unset");
    const std::string value =
        "C:\\\xd0\xba\xd0\xbe\xd0\xbd\xd1\x84\xd0\xb8\xd0\xb3-\xc3\xa9\\ca.pem";
    ::SetEnvironmentVariableW(L"SW_TEST_UTF8", win::widen(value).c_str());
    check(sw::platform::environment_variable("SW_TEST_UTF8") == value,
          "a non-ASCII value reads back as UTF-8: " + value);
    ::SetEnvironmentVariableW(L"SW_TEST_LONG", std::wstring(5000, L'x').c_str());
    check(sw::platform::environment_variable("SW_TEST_LONG") == std::string(5000, 'x'),
          "a value longer than the first buffer reads back whole");
}

/// The system trust seam: the ROOT and CA stores (Wine fills ROOT from the host's certificates
/// and its own built-in roots) become OpenSSL trust, unless SSL_CERT_FILE and SSL_CERT_DIR both
/// replace the defaults.
void tls_trust_checks() {
    const auto loaded = [](sw::platform::default_trust use) {
        X509_STORE* store = X509_STORE_new();
        const std::size_t n = sw::platform::add_system_trust(store, use);
        const int objects = sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
        int certificates = 0;
        for (int i = 0; i < objects; ++i)
            if (X509_OBJECT_get0_X509(sk_X509_OBJECT_value(X509_STORE_get0_objects(store), i)))
                ++certificates;
        X509_STORE_free(store);
        return std::make_pair(n, certificates);
    };
    const auto [both, both_certs] = loaded({.file = true, .dir = true});
    check(
        both > 0 && static_cast<int>(both) == both_certs,
        "add_system_trust loads the ROOT and CA stores: " + std::to_string(both) + " certificates");
    const auto [file_only, file_only_certs] = loaded({.file = true, .dir = false});
    check(file_only == both && file_only_certs == both_certs,
          "SSL_CERT_DIR alone set: the system stores still stand in for the default bundle (" +
              std::to_string(file_only) + ")");
    const auto [none, none_certs] = loaded({.file = false, .dir = false});
    check(
        none == 0 && none_certs == 0,
        "SSL_CERT_FILE and SSL_CERT_DIR both set: no system trust (" + std::to_string(none) + ")");
}

/// The certificate in PEM file `path` (null when unreadable).
X509* read_pem(const std::string& path) {
    BIO* in = BIO_new_file(path.c_str(), "r");
    if (!in) return nullptr;
    X509* x = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    return x;
}

/// Adds (or with `remove`, deletes) the certificate `x` in the local machine's system store
/// `name` ("ROOT", "Disallowed"): no confirmation dialog, as the current user's ROOT would show.
bool local_machine_store(const wchar_t* name, X509* x, bool remove) {
    const HCERTSTORE store =
        ::CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_LOCAL_MACHINE, name);
    if (!store) return false;
    unsigned char* der = nullptr;
    const int len = i2d_X509(x, &der);
    PCCERT_CONTEXT added = nullptr;
    bool ok = len > 0 && ::CertAddEncodedCertificateToStore(
                             store, X509_ASN_ENCODING, der, static_cast<DWORD>(len),
                             CERT_STORE_ADD_REPLACE_EXISTING, &added);
    OPENSSL_free(der);
    if (ok && remove)
        ok = ::CertDeleteCertificateFromStore(added);  // frees `added`
    else if (added)
        ::CertFreeCertificateContext(added);
    ::CertCloseStore(store, 0);
    return ok;
}

/// The system's own chain verification (platform::system_verifies_server_chain, the fallback
/// when OpenSSL finds no trusted issuer) with the private CAs and server certificates of two
/// tc-standin --tls-dir runs (ca.pem; server.pem naming localhost and 127.0.0.1), both CAs in no
/// store yet. The first CA is added to the local machine's ROOT store before any chain is built
/// (Wine's chain engine keeps the ROOT store it saw first, unlike Windows'): its server
/// certificate is trusted for "localhost" and with the name left to the caller, refused for
/// another name, and refused once the CA is in Disallowed too; the second's server certificate
/// (its CA in no store) is refused. Both entries are removed afterwards.
void system_chain_checks(const std::string& tls_dir, const std::string& unknown_tls_dir) {
    X509* ca = read_pem(tls_dir + "/ca.pem");
    X509* leaf = read_pem(tls_dir + "/server.pem");
    X509* unknown_leaf = read_pem(unknown_tls_dir + "/server.pem");
    check(ca && leaf && unknown_leaf,
          "system chain: read ca.pem and server.pem from " + tls_dir + " and " + unknown_tls_dir);
    STACK_OF(X509)* sent = sk_X509_new_null();
    STACK_OF(X509)* unknown_sent = sk_X509_new_null();
    if (ca && leaf && unknown_leaf) {
        sk_X509_push(sent, leaf);
        sk_X509_push(unknown_sent, unknown_leaf);
        using sw::platform::system_verifies_server_chain;
        check(local_machine_store(L"ROOT", ca, false), "system chain: the CA added to ROOT");
        check(!system_verifies_server_chain(unknown_leaf, unknown_sent, "localhost"),
              "system chain: a server certificate from a CA in no store is refused");
        check(system_verifies_server_chain(leaf, sent, "localhost"),
              "system chain: with the CA in ROOT, the chain is trusted for localhost");
        check(system_verifies_server_chain(leaf, sent, ""),
              "system chain: with the CA in ROOT and the name left to the caller, trusted");
        check(!system_verifies_server_chain(leaf, sent, "other.example"),
              "system chain: a name the certificate does not hold is refused (other.example)");
        check(local_machine_store(L"Disallowed", ca, false),
              "system chain: the CA added to Disallowed");
        check(!system_verifies_server_chain(leaf, sent, "localhost"),
              "system chain: with the CA in ROOT and in Disallowed, refused");
        check(
            local_machine_store(L"Disallowed", ca, true) && local_machine_store(L"ROOT", ca, true),
            "system chain: the CA removed from Disallowed and ROOT");
    }
    sk_X509_free(sent);
    sk_X509_free(unknown_sent);
    X509_free(ca);
    X509_free(leaf);
    X509_free(unknown_leaf);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 5) {
        std::fprintf(stderr,
                     "usage: platform-tests-win <scratch dir> <fake-worker-win.exe> "
                     "[<tc-standin tls dir> <another one>]\n");
        return 64;
    }
    std::printf("platform-tests-win (%s)\n", under_wine() ? "under Wine" : "on Windows");
    const std::vector<std::pair<std::string, std::function<void()>>> groups = {
        {"dacl", [&] { dacl_checks(argv[1]); }},
        {"files", [&] { file_checks(argv[1]); }},
        {"file errors", [&] { file_error_checks(argv[1]); }},
        {"unicode paths", [&] { unicode_path_checks(argv[1]); }},
        {"environment", environment_checks},
        {"tls trust", tls_trust_checks},
        {"system chain",
         [&] {
             if (argc == 5)
                 system_chain_checks(argv[3], argv[4]);
             else
                 std::printf("SKIP: system chain: no tc-standin tls dirs given\n");
         }},
        {"autologon", autologon_checks},
        {"host", host_checks},
        {"process", [&] { process_checks(argv[2]); }},
    };
    for (const auto& [name, fn] : groups) {
        try {
            fn();
        } catch (const std::exception& e) {
            check(false, std::string(name) + ": unexpected exception: " + e.what());
        }
    }
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
