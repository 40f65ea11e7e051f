// The one base64 (lib/common/base64.hpp): RFC 4648 vectors and Go's StdEncoding strictness.
#include "lib/common/base64.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using sw::base64_decode;
using sw::base64_encode;

TEST_CASE("base64: RFC 4648 test vectors both ways", "[base64]") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        INFO(plain);
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == plain);
    }
    // Binary, including NUL and high bytes, round-trips.
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(base64_decode(base64_encode(all)) == all);
    CHECK(sw::base64url_nopad("\xfb\xff") == "-_8");
    CHECK(sw::base64url_nopad("foob") == "Zm9vYg");
}

TEST_CASE("base64: line breaks are ignored, anything else is refused where it is", "[base64]") {
    CHECK(base64_decode("Zm9v\r\nYmFy\n") == "foobar");
    const std::pair<const char*, const char*> bad[] = {
        {"SGVsbG8", "illegal base64 data at input byte 7"},    // not a whole quantum
        {"SGV*bG8s", "illegal base64 data at input byte 3"},   // outside the alphabet
        {"SG=sbG8s", "illegal base64 data at input byte 3"},   // '=' before the end
        {"Zm9v YmFy", "illegal base64 data at input byte 4"},  // a space
        {"Zg===", "illegal base64 data at input byte 4"},      // three '='
        {"====", "illegal base64 data at input byte 2"},
        {"Zm9v-_8=", "illegal base64 data at input byte 4"},  // the URL alphabet
    };
    for (const auto& [text, message] : bad) {
        INFO(text);
        CHECK_THROWS_WITH(base64_decode(text), message);
        CHECK_THROWS_AS(base64_decode(text), std::invalid_argument);
    }
}

TEST_CASE("base64: the size limit applies before decoding", "[base64]") {
    CHECK(base64_decode("Zm9vYmFy", 6) == "foobar");
    CHECK_THROWS_AS(base64_decode("Zm9vYmFy", 5), std::length_error);
    CHECK(base64_decode("Zm9vYg==", 4) == "foob");  // padding does not count
}
