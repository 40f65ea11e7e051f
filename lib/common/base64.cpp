// Base64 on OpenSSL (lib/common/base64.hpp).
#include "lib/common/base64.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace sw {

namespace {
bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}
}  // namespace

std::string base64_encode(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64url_nopad(std::string_view data) {
    std::string s = base64_encode(data);
    while (!s.empty() && s.back() == '=') s.pop_back();
    for (auto& c : s) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return s;
}

std::string base64_decode(std::string_view in, std::size_t max_size) {
    std::string clean;
    clean.reserve(in.size());
    std::size_t pad = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '\r' || c == '\n') continue;
        // '=' only as the last one or two characters of the final quantum.
        const bool ok = c == '=' ? pad < 2 : (pad == 0 && is_base64_char(c));
        if (!ok)
            throw std::invalid_argument("illegal base64 data at input byte " + std::to_string(i));
        if (c == '=') ++pad;
        clean += c;
    }
    if (clean.size() % 4 != 0)
        throw std::invalid_argument("illegal base64 data at input byte " +
                                    std::to_string(in.size()));
    // "AB=C" passes the loop only if '=' is followed by nothing but '=': checked above.
    const std::size_t size = clean.size() / 4 * 3 - pad;
    if (size > max_size)
        throw std::length_error("larger than " + std::to_string(max_size) + " bytes");
    std::string out(clean.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(clean.data()),
                                  static_cast<int>(clean.size()));
    if (n < 0) throw std::invalid_argument("illegal base64 data");
    out.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zeros
    return out;
}

}  // namespace sw
