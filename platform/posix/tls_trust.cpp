// OpenSSL's default trust locations on POSIX (platform/tls_trust.hpp).
#include "platform/tls_trust.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <system_error>

namespace sw::platform {
namespace {

/// True if `dir` holds at least one OpenSSL hash link ("<8 hex digits>.<digit>", as c_rehash
/// and update-ca-certificates write them), so a lookup in it finds the certificates it names.
bool hashed_directory_serves(const std::string& dir) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() >= 10 && name[8] == '.' &&
            std::all_of(name.begin(), name.begin() + 8,
                        [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }) &&
            std::all_of(name.begin() + 9, name.end(),
                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            return true;
    }
    return false;
}

std::size_t object_count(X509_STORE* store) {
    const int n = sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace

std::size_t add_system_trust(X509_STORE* store, default_trust use) {
    const std::size_t before = object_count(store);
    const std::string system_dir = X509_get_default_cert_dir();
    bool dir_added = false;
    if (use.dir) dir_added = X509_STORE_load_path(store, system_dir.c_str()) == 1;
    if (use.file) {
        if (hashed_directory_serves(system_dir)) {
            if (!dir_added) X509_STORE_load_path(store, system_dir.c_str());  // stands in
        } else {
            X509_STORE_load_file(store, X509_get_default_cert_file());  // absent: no trust
        }
    }
    ERR_clear_error();  // an absent location is no error here, as in OpenSSL
    return object_count(store) - before;
}

bool system_verifies_server_chain(X509*, STACK_OF(X509) *, const std::string&) {
    return false;
}

bool system_distrusts(STACK_OF(X509) *) {
    return false;
}

}  // namespace sw::platform
