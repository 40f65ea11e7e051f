// The Windows certificate stores as OpenSSL's trust (platform/tls_trust.hpp): the ROOT and CA
// system stores, each certificate DER-decoded into the X509_STORE.
#include "platform/tls_trust.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <vector>
#include <windows.h>

// After windows.h, which WIN32_LEAN_AND_MEAN keeps from including it.
#include <wincrypt.h>

namespace sw::platform {
namespace {

/// Whether the certificate may vouch for a TLS server: CertGetEnhancedKeyUsage (the extension
/// and the store's own "purposes" property) names server authentication, or names no limit.
bool valid_for_server_auth(PCCERT_CONTEXT cert) {
    DWORD size = 0;
    if (!::CertGetEnhancedKeyUsage(cert, 0, nullptr, &size) || size == 0) return false;
    std::vector<unsigned char> buf(size);
    auto* usage = reinterpret_cast<CERT_ENHKEY_USAGE*>(buf.data());
    if (!::CertGetEnhancedKeyUsage(cert, 0, usage, &size)) return false;
    // No identifiers: valid for every usage when GetLastError() is CRYPT_E_NOT_FOUND, for none
    // otherwise (the documented convention).
    if (usage->cUsageIdentifier == 0)
        return ::GetLastError() == static_cast<DWORD>(CRYPT_E_NOT_FOUND);
    for (DWORD i = 0; i < usage->cUsageIdentifier; ++i)
        if (std::strcmp(usage->rgpszUsageIdentifier[i], szOID_PKIX_KP_SERVER_AUTH) == 0)
            return true;
    return false;
}

/// Adds the certificates of system store `name` ("ROOT", "CA") to `store`.
void add_system_store(X509_STORE* store, const wchar_t* name) {
    const HCERTSTORE sys = ::CertOpenSystemStoreW(0, name);
    if (!sys) return;  // no such store: no trust from it
    for (PCCERT_CONTEXT c = ::CertEnumCertificatesInStore(sys, nullptr); c != nullptr;
         c = ::CertEnumCertificatesInStore(sys, c)) {
        if ((c->dwCertEncodingType & X509_ASN_ENCODING) == 0 || !valid_for_server_auth(c)) continue;
        const unsigned char* der = c->pbCertEncoded;
        X509* x = d2i_X509(nullptr, &der, static_cast<long>(c->cbCertEncoded));
        if (!x) continue;               // not a certificate OpenSSL can use
        X509_STORE_add_cert(store, x);  // one already there (ROOT and CA overlap) stays one
        X509_free(x);
    }
    ::CertCloseStore(sys, 0);
}

std::size_t object_count(X509_STORE* store) {
    const int n = sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

}  // namespace

std::size_t add_system_trust(X509_STORE* store, default_trust use) {
    if (!use.file && !use.dir) return 0;
    const std::size_t before = object_count(store);
    add_system_store(store, L"ROOT");
    add_system_store(store, L"CA");
    ERR_clear_error();  // undecodable certificates are skipped, not errors of the caller
    return object_count(store) - before;
}

}  // namespace sw::platform
