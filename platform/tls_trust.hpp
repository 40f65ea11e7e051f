#pragma once
// The operating system's trust store for TLS server certificates, loaded into the OpenSSL
// X509_STORE of lib/http's client context. SSL_CERT_FILE and SSL_CERT_DIR stay the override, as
// OpenSSL's own default paths are on POSIX: lib/http loads what they name and asks this seam only
// for the defaults they leave in place.
#include <openssl/types.h>
#include <openssl/x509.h>

#include <cstddef>
#include <string>

namespace sw::platform {

/// Which of OpenSSL's default trust locations the environment left in place: `file` while
/// SSL_CERT_FILE is unset, `dir` while SSL_CERT_DIR is unset (X509_get_default_cert_file_env(),
/// X509_get_default_cert_dir_env(); set to "" they still replace the default, with nothing).
struct default_trust {
    bool file = true;
    bool dir = true;
};

/// Adds the system's trusted certificates to `store` for the defaults in `use`; returns how many
/// objects the store gained (certificates parsed now; a hashed directory adds none until a chain
/// looks one up). A location that does not exist adds nothing, as in OpenSSL; errors are not
/// reported (no trust from that source) and leave nothing on OpenSSL's error queue.
/// POSIX: OpenSSL's default paths, as SSL_CTX_set_default_verify_paths, without parsing the
/// bundle when it need not: `dir` adds the hashed directory X509_get_default_cert_dir(); `file`
/// loads the bundle X509_get_default_cert_file(), unless that directory has OpenSSL hash links
/// (c_rehash, update-ca-certificates), in which case the directory stands in for it (a lookup
/// reads one certificate when a chain needs it; the bundle is about 140, parsed whole).
/// Windows: when either default is in place, the certificates of the system store ROOT (trust
/// anchors) and those of the store CA whose subject is not their issuer (intermediates, for
/// servers that omit them; OpenSSL still requires a chain to end at a self-signed certificate of
/// the store, so a self-signed certificate of CA, which Windows never trusts as a root, is left
/// out) as CertOpenSystemStoreW shows them (the current user's view, which includes the local
/// machine's and group policy's), each DER-decoded with d2i_X509. Skipped: a certificate whose
/// enhanced key usage (CertGetEnhancedKeyUsage) excludes server authentication, and one whose
/// SHA-1 thumbprint the Disallowed store holds. Windows' root auto-update (roots fetched on
/// demand while a chain is built) is not seen here: a root not yet on the machine is left to
/// system_verifies_server_chain. OpenSSL's compiled-in paths are not used on Windows: they name a
/// directory under the build's prefix, which on Windows any user may create.
std::size_t add_system_trust(X509_STORE* store, default_trust use);

/// The operating system's own verdict on a TLS server's certificate chain, asked when OpenSSL
/// found no trusted issuer in the store add_system_trust filled. `leaf` is the server's
/// certificate, `sent` the certificates the server sent (the leaf may be among them; may be
/// null), `dns_name` the host name (UTF-8) the certificate must name, or empty to leave the name
/// to the caller (an IP literal: the caller checks it with X509_check_ip_asc). True only when the
/// system builds a chain from `leaf` to a root it trusts, valid now for server authentication,
/// whose name check passes. Blocks the calling thread while the system fetches what it needs
/// (Windows: at most about 10 s per URL). Errors are a refusal; OpenSSL's error queue is left
/// empty.
/// POSIX: always false (OpenSSL's store is the system's trust; there is nothing else to ask).
/// Windows: as Go's crypto/x509 systemVerify (root_windows.go) does: the leaf and the sent
/// certificates in a memory store, CertGetCertificateChain (requested usage server
/// authentication or either Server Gated Crypto OID, flags 0: no revocation check), a chain
/// TrustStatus without errors, CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL,
/// AUTHTYPE_SERVER, the name); then, as Go, each signature of the chain checked again with OpenSSL
/// (CVE-2020-0601), and no certificate of the chain in the Disallowed store (SHA-1 thumbprint; Wine
/// does not check that store). Through this, roots Windows fetches on demand (root auto-update)
/// are trusted as they are for Windows' own clients.
bool system_verifies_server_chain(X509* leaf, STACK_OF(X509) * sent, const std::string& dns_name);

/// Whether the system distrusts any certificate of `chain` (a chain OpenSSL verified, leaf
/// first; may be null) although it ends at a trusted root: the store add_system_trust filled
/// leaves out only the distrusted roots and intermediates it copies, not those a server sends.
/// POSIX: always false (no such list). Windows: one of them has its SHA-1 thumbprint in the
/// Disallowed store (where Microsoft lists compromised intermediates and leaves). OpenSSL's
/// error queue is left empty.
bool system_distrusts(STACK_OF(X509) * chain);

}  // namespace sw::platform
