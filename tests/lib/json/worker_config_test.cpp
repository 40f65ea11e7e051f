#include "lib/json/worker_config.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using sw::json::value;

namespace {
value j(const char* text) { return text ? boost::json::parse(text) : value(nullptr); }
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

TEST_CASE("serialisation matches Go's encoding/json", "[worker_config]") {
    CHECK(sw::json::to_sorted_json(j(R"({"b":1.5,"a":10.0,"c":1e21,"d":"<&>"})")) ==
          R"({"a":10,"b":1.5,"c":1e+21,"d":"\u003c\u0026\u003e"})");
    CHECK(sw::json::to_sorted_json_indented(j(R"({"b":[1,{}],"a":{}})")) ==
          "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {}\n  ]\n}");
}
