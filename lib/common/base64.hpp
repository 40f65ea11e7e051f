#pragma once
// Base64 (RFC 4648), the one implementation: OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock with the
// strictness of Go's base64.StdEncoding around them (what Taskcluster and the Go runner use).
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace sw {

/// The standard alphabet, padded ("e30=").
std::string base64_encode(std::string_view data);

/// The URL-safe alphabet ('-' and '_'), no padding (Taskcluster's slugids, temporary
/// credential access tokens).
std::string base64url_nopad(std::string_view data);

/// Decodes the standard alphabet as Go's base64.StdEncoding.DecodeString does: padding
/// required, '\r' and '\n' ignored, anything else refused with std::invalid_argument
/// ("illegal base64 data at input byte N", N counted in `text`). A result that would be larger
/// than `max_size` bytes throws std::length_error before anything is decoded.
std::string base64_decode(std::string_view text,
                          std::size_t max_size = std::numeric_limits<std::size_t>::max());

}  // namespace sw
