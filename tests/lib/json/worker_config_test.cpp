#include "lib/json/worker_config.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <limits>

using sw::json::value;

namespace {
value j(const char* text) {
    return text ? boost::json::parse(text) : value(nullptr);
}
std::string merged(const char* a, const char* b) {
    return sw::json::to_sorted_json(sw::json::merge(j(a), j(b)));
}
}  // namespace

// Every row of the table in worker-runner.md 6.3 (YAML ints arrive as numbers; 10.0 prints as 10).
TEST_CASE("merge follows the Go runner's table", "[worker_config]") {
    CHECK(merged(R"({"x":10.0})", R"({"y":20.0})") == R"({"x":10,"y":20})");
    CHECK(merged(R"({"x":10.0})", R"({"x":20.0})") == R"({"x":20})");
    CHECK(merged(R"({"x":{}})", R"({"x":13.0})") == R"({"x":13})");
    CHECK(merged(R"({"x":["a"]})", R"({"x":["b"]})") == R"({"x":["a","b"]})");
    CHECK(merged(R"({"x":{"a":10.0}})", R"({"x":{"b":10.0}})") == R"({"x":{"a":10,"b":10}})");
    CHECK(merged(nullptr, R"({"x":10.0})") == R"({"x":10})");
    CHECK(merged(R"({"x":10.0})", nullptr) == R"({"x":10})");
    CHECK(merged(nullptr, nullptr) == R"({})");
}

TEST_CASE("merge is pure", "[worker_config]") {
    const value a = j(R"({"x":{"a":[1]}})");
    const value b = j(R"({"x":{"a":[2],"b":true}})");
    const value m = sw::json::merge(a, b);
    CHECK(sw::json::to_sorted_json(a) == R"({"x":{"a":[1]}})");
    CHECK(sw::json::to_sorted_json(m) == R"({"x":{"a":[1,2],"b":true}})");
}

TEST_CASE("set_path creates, replaces and refuses", "[worker_config]") {
    using sw::json::set_path;
    CHECK(sw::json::to_sorted_json(set_path(value(nullptr), "x", "a")) == R"({"x":"a"})");
    CHECK(sw::json::to_sorted_json(set_path(j("{}"), "x.y", "a")) == R"({"x":{"y":"a"}})");
    CHECK(sw::json::to_sorted_json(set_path(j(R"({"x":{"y":"xxx"}})"), "x.y", "a")) ==
          R"({"x":{"y":"a"}})");
    const value orig = j(R"({"p":true,"x":{"q":true,"y":"xxx"}})");
    CHECK(sw::json::to_sorted_json(set_path(orig, "x.y", "a")) ==
          R"({"p":true,"x":{"q":true,"y":"a"}})");
    CHECK(sw::json::to_sorted_json(orig) == R"({"p":true,"x":{"q":true,"y":"xxx"}})");
    REQUIRE_THROWS_WITH(set_path(j(R"({"x":"xxx"})"), "x.y", "a"),
                        "x is not an object in existing config");
    REQUIRE_THROWS_WITH(set_path(j("{}"), "", "a"), "must specify a nonempty key");
}

TEST_CASE("get_path finds or names the key", "[worker_config]") {
    CHECK(sw::json::get_path(j(R"({"x":{"y":"z"}})"), "x.y") == "z");
    REQUIRE_THROWS_WITH(sw::json::get_path(j(R"({"x":{}})"), "x.y"), "key x.y not found");
}

// What Go's encoding/json writes for a float64 (encode.go floatEncoder: strconv.AppendFloat
// with the shortest digits, 'f' below 1e21 and from 1e-6, else 'e' with e-07 -> e-7).
TEST_CASE("numbers are written as Go's encoding/json writes a float64", "[worker_config]") {
    using sw::json::format_number;
    CHECK(format_number(10.0) == "10");
    CHECK(format_number(0.1) == "0.1");
    CHECK(format_number(-0.0) == "-0");
    CHECK(format_number(0.0) == "0");
    CHECK(format_number(123456789.125) == "123456789.125");
    CHECK(format_number(0.000001) == "0.000001");
    CHECK(format_number(0.00012345) == "0.00012345");
    // Past 2^53 the shortest digits are padded with zeros, not the exact binary value.
    CHECK(format_number(111111111111111111.0) == "111111111111111100");
    CHECK(format_number(1.2345678901234568e20) == "123456789012345680000");
    CHECK(format_number(-2.5e20) == "-250000000000000000000");
    CHECK(format_number(9007199254740993.0) == "9007199254740992");
    // The exponent form, and Go's clean-up of a one-digit negative exponent.
    CHECK(format_number(1e21) == "1e+21");
    CHECK(format_number(1.5e-7) == "1.5e-7");
    CHECK(format_number(-1e-7) == "-1e-7");
    CHECK(format_number(1.5e-10) == "1.5e-10");
    CHECK(format_number(5e-324) == "5e-324");
    CHECK(format_number(1.7976931348623157e308) == "1.7976931348623157e+308");
    CHECK(format_number(std::numeric_limits<double>::infinity()) == "null");
}

TEST_CASE("serialisation matches Go's encoding/json", "[worker_config]") {
    CHECK(sw::json::to_sorted_json(j(R"({"b":1.5,"a":10.0,"c":1e21,"d":"<&>"})")) ==
          R"({"a":10,"b":1.5,"c":1e+21,"d":"\u003c\u0026\u003e"})");
    CHECK(sw::json::to_sorted_json_indented(j(R"({"b":[1,{}],"a":{}})")) ==
          "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {}\n  ]\n}");
}

// reference 6.3, providerworkerconfig_test.go (implementation "test-worker")
TEST_CASE("worker-manager workerConfig: both formats", "[worker_config]") {
    using sw::json::parse_provider_worker_config;
    auto r = parse_provider_worker_config(
        j(R"({"testWorker":{"config":{"someValue":true},"files":[{"description":"my file"}]}})"),
        "test-worker");
    CHECK(sw::json::to_sorted_json(r.config) == R"({"someValue":true})");
    REQUIRE(r.files.size() == 1);
    CHECK(r.files[0].at("description") == "my file");

    r = parse_provider_worker_config(j(R"({"someValue":true})"), "test-worker");
    CHECK(sw::json::to_sorted_json(r.config) == R"({"someValue":true})");
    CHECK(r.files.empty());

    // two keys: flat, even though one is the implementation's name
    r = parse_provider_worker_config(j(R"({"testWorker":{"config":{}},"x":1})"), "test-worker");
    CHECK(sw::json::to_sorted_json(r.config) == R"({"testWorker":{"config":{}},"x":1})");

    r = parse_provider_worker_config(value(nullptr), "test-worker");
    CHECK(r.config.is_null());
    CHECK(r.files.empty());

    CHECK_THROWS_WITH(parse_provider_worker_config(j(R"("I am a string")"), "test-worker"),
                      Catch::Contains("while parsing workerConfig from worker-manager"));
    CHECK(sw::json::camel_case("generic-worker") == "genericWorker");
    CHECK(sw::json::camel_case("docker-worker") == "dockerWorker");
}

// reference 7 and secrets_test.go
TEST_CASE("secret values: strict and legacy formats", "[worker_config]") {
    bool legacy = false;
    auto r = sw::json::parse_secret_value(j(R"({"config":{"from-secret":true}})"), legacy);
    CHECK_FALSE(legacy);
    CHECK(sw::json::to_sorted_json(r.config) == R"({"from-secret":true})");

    r = sw::json::parse_secret_value(
        j(R"({"Config":{"a":1},"FILES":[{"path":"/x","content":"eA=="}]})"), legacy);
    CHECK_FALSE(legacy);
    CHECK(r.files.size() == 1);

    r = sw::json::parse_secret_value(j(R"({"from-secret":true})"), legacy);
    CHECK(legacy);
    CHECK(sw::json::to_sorted_json(r.config) == R"({"from-secret":true})");

    r = sw::json::parse_secret_value(j(R"({"config":{"a":1},"other":2})"), legacy);
    CHECK(legacy);
    CHECK(sw::json::to_sorted_json(r.config) == R"({"config":{"a":1},"other":2})");

    CHECK_THROWS_WITH(sw::json::parse_secret_value(j("[1]"), legacy),
                      "secret value is not a JSON object");
}
