// The Windows certificate stores as OpenSSL's trust (platform/tls_trust.hpp): the ROOT store's
// certificates as trust anchors, the CA store's certificates that are not self-issued as
// intermediates, none that the Disallowed store names.
#include "platform/tls_trust.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

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

/// Whether `disallowed` (the Disallowed system store, or null when it cannot be opened) holds a
/// certificate with the SHA-1 thumbprint of `cert` (CERT_SHA1_HASH_PROP_ID, CERT_FIND_SHA1_HASH:
/// how Windows itself names and matches the store's entries). A thumbprint that cannot be
/// computed counts as disallowed: no trust rather than trust Windows may refuse.
bool is_disallowed(HCERTSTORE disallowed, PCCERT_CONTEXT cert) {
    if (!disallowed) return false;
    BYTE sha1[20];
    DWORD size = sizeof sha1;
    if (!::CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, sha1, &size))
        return true;
    CRYPT_HASH_BLOB blob{size, sha1};
    PCCERT_CONTEXT found =
        ::CertFindCertificateInStore(disallowed, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0,
                                     CERT_FIND_SHA1_HASH, &blob, nullptr);
    if (!found) return false;
    ::CertFreeCertificateContext(found);
    return true;
}

/// Which certificates of a store OpenSSL receives.
enum class role {
    anchor,        ///< ROOT: every certificate (a self-signed one ends a chain as trusted)
    intermediate,  ///< CA: only those whose subject differs from the issuer
};

/// Adds the certificates of system store `name` ("ROOT", "CA") to `store`, as `as` says, except
/// those `disallowed` names. OpenSSL's X509_STORE has no "intermediate only" entry: a
/// certificate there is trusted when it is self-signed (X509_TRUST_SSL_SERVER's compatibility
/// rule, EXFLAG_SS; X509_V_FLAG_PARTIAL_CHAIN is not set) and otherwise only serves as an issuer
/// on the way to one. So a self-issued CA certificate is left out: Windows never takes the CA
/// store's certificates as roots.
void add_system_store(X509_STORE* store, const wchar_t* name, role as, HCERTSTORE disallowed) {
    const HCERTSTORE sys = ::CertOpenSystemStoreW(0, name);
    if (!sys) return;  // no such store: no trust from it
    for (PCCERT_CONTEXT c = ::CertEnumCertificatesInStore(sys, nullptr); c != nullptr;
         c = ::CertEnumCertificatesInStore(sys, c)) {
        if ((c->dwCertEncodingType & X509_ASN_ENCODING) == 0 || !valid_for_server_auth(c) ||
            is_disallowed(disallowed, c))
            continue;
        const unsigned char* der = c->pbCertEncoded;
        X509* x = d2i_X509(nullptr, &der, static_cast<long>(c->cbCertEncoded));
        if (!x) continue;  // not a certificate OpenSSL can use
        // Self-issued (subject = issuer) covers every self-signed certificate (EXFLAG_SS needs
        // it) and the rare key-rollover link, which is dropped with them.
        const bool self_issued =
            X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 ||
            (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
        if (as == role::anchor || !self_issued)
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
    // Absent (CertOpenSystemStoreW creates an empty one where it can): nothing is disallowed.
    const HCERTSTORE disallowed = ::CertOpenSystemStoreW(0, L"Disallowed");
    add_system_store(store, L"ROOT", role::anchor, disallowed);
    add_system_store(store, L"CA", role::intermediate, disallowed);
    if (disallowed) ::CertCloseStore(disallowed, 0);
    ERR_clear_error();  // undecodable certificates are skipped, not errors of the caller
    return object_count(store) - before;
}

}  // namespace sw::platform
