#pragma once
// The operating system's trust store for TLS server certificates, loaded into the OpenSSL
// X509_STORE of lib/http's client context. SSL_CERT_FILE and SSL_CERT_DIR stay the override, as
// OpenSSL's own default paths are on POSIX: lib/http loads what they name and asks this seam only
// for the defaults they leave in place.
#include <openssl/types.h>

#include <cstddef>

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
/// demand while a chain is built) is not seen here: a root not yet on the machine is not
/// trusted. OpenSSL's compiled-in paths are not used on Windows: they name a
/// directory under the build's prefix, which on Windows any user may create.
std::size_t add_system_trust(X509_STORE* store, default_trust use);

}  // namespace sw::platform
