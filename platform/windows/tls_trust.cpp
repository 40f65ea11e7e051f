// The Windows certificate stores as OpenSSL's trust (platform/tls_trust.hpp): the ROOT store's
// certificates as trust anchors, the CA store's certificates that are not self-issued as
// intermediates, none that the Disallowed store names; and Windows' own chain engine for a chain
// OpenSSL cannot complete from them.
#include "platform/tls_trust.hpp"

#include "platform/windows/win.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>
#include <vector>
#include <windows.h>

// After windows.h, which WIN32_LEAN_AND_MEAN keeps from including it. The extra fields of
// CERT_CHAIN_PARA hold dwUrlRetrievalTimeout.
#define CERT_CHAIN_PARA_HAS_EXTRA_FIELDS
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

/// The certificate of `c` as OpenSSL's (null when it does not decode).
X509* to_x509(PCCERT_CONTEXT c) {
    const unsigned char* der = c->pbCertEncoded;
    return d2i_X509(nullptr, &der, static_cast<long>(c->cbCertEncoded));
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
        X509* x = to_x509(c);
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

/// Adds the DER of `x` to memory store `mem`; `added` (may be null) receives the new context.
bool add_encoded(HCERTSTORE mem, X509* x, PCCERT_CONTEXT* added) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(x, &der);
    if (len <= 0) return false;
    const BOOL ok =
        ::CertAddEncodedCertificateToStore(mem, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, der,
                                           static_cast<DWORD>(len), CERT_STORE_ADD_ALWAYS, added);
    OPENSSL_free(der);
    return ok != FALSE;
}

/// Whether every certificate of simple chain `chain` (leaf first) is signed by the next one's
/// key, as OpenSSL computes it (Go does the same for ECDSA after CVE-2020-0601, where Windows
/// accepted a root's key with spoofed curve parameters), and none is in `disallowed`.
bool chain_rechecks(const CERT_SIMPLE_CHAIN& chain, HCERTSTORE disallowed) {
    std::vector<std::unique_ptr<X509, decltype(&X509_free)>> certs;
    for (DWORD i = 0; i < chain.cElement; ++i) {
        const PCCERT_CONTEXT c = chain.rgpElement[i]->pCertContext;
        if (is_disallowed(disallowed, c)) return false;
        certs.emplace_back(to_x509(c), &X509_free);
        if (!certs.back()) return false;
    }
    for (std::size_t i = 0; i + 1 < certs.size(); ++i) {
        EVP_PKEY* issuer_key = X509_get0_pubkey(certs[i + 1].get());
        if (!issuer_key || X509_verify(certs[i].get(), issuer_key) != 1) return false;
    }
    return !certs.empty();
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

bool system_verifies_server_chain(X509* leaf, STACK_OF(X509) * sent, const std::string& dns_name) {
    if (!leaf) return false;
    const HCERTSTORE mem = ::CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0,
                                           CERT_STORE_DEFER_CLOSE_UNTIL_LAST_FREE_FLAG, nullptr);
    if (!mem) return false;
    PCCERT_CONTEXT leaf_ctx = nullptr;
    bool trusted = add_encoded(mem, leaf, &leaf_ctx);
    for (int i = 0; trusted && sent && i < sk_X509_num(sent); ++i) {
        X509* x = sk_X509_value(sent, i);
        if (X509_cmp(x, leaf) != 0) add_encoded(mem, x, nullptr);  // one that fails: not sent
    }
    PCCERT_CHAIN_CONTEXT chain = nullptr;
    if (trusted) {
        // Go's requested usage for a TLS server (IE and Chrome accept the SGC OIDs too).
        LPSTR usages[] = {const_cast<LPSTR>(szOID_PKIX_KP_SERVER_AUTH),
                          const_cast<LPSTR>(szOID_SERVER_GATED_CRYPTO),
                          const_cast<LPSTR>(szOID_SGC_NETSCAPE)};
        CERT_CHAIN_PARA para{};
        para.cbSize = sizeof para;
        para.RequestedUsage.dwType = USAGE_MATCH_TYPE_OR;
        para.RequestedUsage.Usage.cUsageIdentifier = 3;
        para.RequestedUsage.Usage.rgpszUsageIdentifier = usages;
        para.dwUrlRetrievalTimeout = 10'000;  // ms per URL (AIA issuers, root auto-update)
        trusted =
            ::CertGetCertificateChain(nullptr, leaf_ctx, nullptr, mem, &para, 0, nullptr, &chain) &&
            chain && chain->TrustStatus.dwErrorStatus == CERT_TRUST_NO_ERROR && chain->cChain > 0;
    }
    if (trusted) {
        const HCERTSTORE disallowed = ::CertOpenSystemStoreW(0, L"Disallowed");
        for (DWORD i = 0; trusted && i < chain->cChain; ++i)
            trusted = chain_rechecks(*chain->rgpChain[i], disallowed);
        if (disallowed) ::CertCloseStore(disallowed, 0);
    }
    if (trusted) {
        std::wstring name = win::widen(dns_name);
        HTTPSPolicyCallbackData ssl{};
        ssl.cbStruct = sizeof ssl;
        ssl.dwAuthType = AUTHTYPE_SERVER;
        ssl.pwszServerName = dns_name.empty() ? nullptr : name.data();
        CERT_CHAIN_POLICY_PARA policy{};
        policy.cbSize = sizeof policy;
        policy.pvExtraPolicyPara = &ssl;
        CERT_CHAIN_POLICY_STATUS status{};
        status.cbSize = sizeof status;
        trusted =
            ::CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &policy, &status) &&
            status.dwError == 0;
    }
    if (chain) ::CertFreeCertificateChain(chain);
    if (leaf_ctx) ::CertFreeCertificateContext(leaf_ctx);
    ::CertCloseStore(mem, 0);
    ERR_clear_error();
    return trusted;
}

bool system_distrusts(STACK_OF(X509) * chain) {
    const HCERTSTORE disallowed = ::CertOpenSystemStoreW(0, L"Disallowed");
    if (!disallowed) return false;  // no store: nothing distrusted
    bool distrusted = false;
    for (int i = 0; !distrusted && chain && i < sk_X509_num(chain); ++i) {
        unsigned char* der = nullptr;
        const int len = i2d_X509(sk_X509_value(chain, i), &der);
        const PCCERT_CONTEXT c =
            len > 0 ? ::CertCreateCertificateContext(X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, der,
                                                     static_cast<DWORD>(len))
                    : nullptr;
        OPENSSL_free(der);
        distrusted = c == nullptr || is_disallowed(disallowed, c);  // undecodable: refused
        if (c) ::CertFreeCertificateContext(c);
    }
    ::CertCloseStore(disallowed, 0);
    ERR_clear_error();
    return distrusted;
}

}  // namespace sw::platform
