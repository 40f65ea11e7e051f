#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/json/worker_config.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;
using sw::config::yaml_to_json;

namespace {
std::string conv(const std::string& yaml) {
    return sw::json::to_sorted_json(yaml_to_json(yaml, "test.yml"));
}

/// The message of the sw::failure(config) that `yaml` causes ("" if none).
std::string refusal(const std::string& yaml) {
    try {
        yaml_to_json(yaml, "test.yml");
    } catch (const sw::failure& f) {
        CHECK(f.code() == sw::errc::config);
        return f.what();
    }
    return {};
}
}  // namespace

TEST_CASE("YAML scalars become typed JSON", "[config][yaml]") {
    CHECK(conv("a: 10\nb: -3\nc: 1.5\nd: true\ne: False\nf: ~\ng: null\nh:\ni: hello\n") ==
          R"({"a":10,"b":-3,"c":1.5,"d":true,"e":false,"f":null,"g":null,"h":null,"i":"hello"})");
    // Quoted scalars and explicit !!str stay strings.
    CHECK(conv("a: '10'\nb: \"true\"\nc: !!str 5\nd: 'null'\n") ==
          R"({"a":"10","b":"true","c":"5","d":"null"})");
    CHECK(conv("hex: 0x1F\noct: 0o17\n") == R"({"hex":31,"oct":15})");
    CHECK(yaml_to_json("exp: 1e3\n", "t").at("exp").as_double() == 1000.0);
    // YAML 1.1 words are strings in YAML 1.2 (as in yaml.v3).
    CHECK(conv("a: yes\nb: off\nc: .inf\n") == R"({"a":"yes","b":"off","c":".inf"})");
    const auto big =
        yaml_to_json("n: 123456789012345678901234567890\nm: 9223372036854775807\n", "t");
    CHECK(big.at("n").is_double());
    CHECK(big.at("m").as_int64() == 9223372036854775807LL);
}

TEST_CASE("JSON input is YAML", "[config][yaml]") {
    CHECK(conv(R"({"provider": {"providerType": "x"}, "list": [1, "two", {"three": 3.5}]})") ==
          R"({"list":[1,"two",{"three":3.5}],"provider":{"providerType":"x"}})");
}

TEST_CASE("anchors, aliases and merge keys", "[config][yaml]") {
    CHECK(conv("base: &b {x: 1, y: 2}\ncopy: *b\nmerged:\n  <<: *b\n  y: 3\n") ==
          R"({"base":{"x":1,"y":2},"copy":{"x":1,"y":2},"merged":{"x":1,"y":3}})");
    CHECK(conv("k: &k name\n*k : v\n") == R"({"k":"name","name":"v"})");
}

TEST_CASE("duplicate keys are refused with path and line", "[config][yaml]") {
    const auto msg = refusal("provider:\n  providerType: aws\n  providerType: google\n");
    CHECK_THAT(msg, Contains("test.yml"));
    CHECK_THAT(msg, Contains("line 3"));
    CHECK_THAT(msg, Contains("provider.providerType: duplicate key"));
    CHECK_THAT(refusal(R"({"a": 1, "a": 2})"), Contains("a: duplicate key"));
}

TEST_CASE("non-scalar map keys are refused", "[config][yaml]") {
    CHECK_THAT(refusal("? [a, b]\n: c\n"), Contains("map keys must be scalars"));
    CHECK_THAT(refusal("x:\n  ? {a: 1}\n  : c\n"), Contains("x: map keys must be scalars"));
    CHECK_THAT(refusal("~: c\n"), Contains("null map key"));
}

TEST_CASE("alias expansion is bounded (billion laughs)", "[config][yaml]") {
    std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
        const char prev = static_cast<char>(c - 1);
        bomb += std::string(1, c) + ": &" + c + " [";
        for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + prev;
        bomb += "]\n";
    }
    CHECK_THAT(refusal(bomb), Contains("alias expansion exceeds"));
    // A modest use of aliases is fine.
    CHECK_NOTHROW(yaml_to_json("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", "t"));
}

TEST_CASE("nesting deeper than the limit is refused", "[config][yaml]") {
    const int limit = sw::config::max_config_depth;
    auto nested = [](int levels) {
        std::string s = "x: ";
        for (int i = 1; i < levels; ++i) s += "[";
        s += "1";
        for (int i = 1; i < levels; ++i) s += "]";
        return s + "\n";
    };
    CHECK_NOTHROW(yaml_to_json(nested(limit), "t"));
    CHECK_THAT(refusal(nested(limit + 1)), Contains("nested deeper than"));
    CHECK_THAT(refusal(nested(5000)), Contains("nested deeper than"));
}

TEST_CASE("oversized, binary, empty and non-map input is refused", "[config][yaml]") {
    CHECK_THAT(refusal("x: " + std::string(5 * 1024 * 1024, 'a') + "\n"), Contains("larger than"));
    CHECK_THAT(refusal(std::string("x: a\0b\n", 7)), Contains("NUL"));
    CHECK_THAT(refusal("x: \xff\xfe\n"), Contains("UTF-8"));
    CHECK_THAT(refusal("x: \x01\n"), Contains("control characters"));
    CHECK_THAT(refusal(""), Contains("is empty"));
    CHECK_THAT(refusal("# only a comment\n"), Contains("is empty"));
    CHECK_THAT(refusal("- a\n- b\n"), Contains("top level must be a map"));
    CHECK_THAT(refusal("just a string\n"), Contains("top level must be a map"));
    CHECK_THAT(refusal("x: [1, 2\n"), Contains("test.yml: line"));
    // UTF-8 text and a BOM are fine.
    CHECK(conv("\xef\xbb\xbfname: gr\xc3\xbc\xc3\x9f"
               "e\n") ==
          "{\"name\":\"gr\xc3\xbc\xc3\x9f"
          "e\"}");
}
