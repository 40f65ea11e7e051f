// Issue 14, items 3 and 4: one nesting limit for every document (config, Taskcluster and metadata
// responses, protocol lines, the state file) and alias expansion bounded by what it costs.
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/json/document.hpp"
#include "lib/protocol/codec.hpp"
#include "lib/providers/parse.hpp"
#include "state/store.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;

namespace {

// `levels` levels of nested objects: {"k":{"k":...{"k":1}}}.
std::string nested_json(int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += "{\"k\":";
    s += "1";
    s += std::string(static_cast<std::size_t>(levels), '}');
    return s;
}

std::string config_with_worker_config(const std::string& worker_config_json) {
    return R"({"provider": {"providerType": "standalone", "rootURL": "https://tc.example.com",)"
           R"( "clientID": "c", "accessToken": "t", "workerPoolID": "p/w", "workerGroup": "g",)"
           R"( "workerID": "i"}, "worker": {"implementation": "dummy"}, "workerConfig": )" +
           worker_config_json + "}";
}

}  // namespace

TEST_CASE("one nesting limit: what the config accepts, the state file stores and reads back",
          "[limits][store]") {
    // The config itself is one level; its workerConfig may use every other level.
    const int deepest = sw::json::max_depth - 1;
    for (const int levels : {40, deepest}) {
        CAPTURE(levels);
        const auto cfg = sw::config::parse_runner_config(
            config_with_worker_config(nested_json(levels)), "deep.json");
        CHECK(sw::json::depth_of(cfg.worker_config) == levels);

        sw::state::persisted p;
        p.state.worker_config = cfg.worker_config;
        p.state.remote_config = cfg.worker_config;
        const std::string text = sw::state::serialize(p);
        const auto back = sw::state::deserialize(text);
        CHECK(back.state.worker_config == cfg.worker_config);
    }
    CHECK_THROWS_WITH(sw::config::parse_runner_config(
                          config_with_worker_config(nested_json(deepest + 1)), "deep.json"),
                      Contains("nested deeper than 64 levels"));
}

TEST_CASE("one nesting limit: every JSON reader accepts max_depth and refuses one more",
          "[limits]") {
    const std::string at_limit = nested_json(sw::json::max_depth);
    const std::string over = nested_json(sw::json::max_depth + 1);
    boost::system::error_code ec;
    sw::json::parse(at_limit, ec);
    CHECK_FALSE(ec);
    sw::json::parse(over, ec);
    CHECK(ec);

    // Metadata and user-data documents (providers).
    CHECK_NOTHROW(sw::providers::parse::json_document(at_limit, "user data"));
    CHECK_THROWS_WITH(sw::providers::parse::json_document(over, "user data"), Contains("too deep"));

    // Protocol lines: a worker's message as deep as a worker config can be.
    sw::protocol::message m;
    std::string why;
    const std::string line = "~{\"type\":\"x\",\"v\":" + nested_json(sw::json::max_depth - 1) + "}";
    CHECK(sw::protocol::decode_line(line, m, why));
    const std::string deep_line =
        "~{\"type\":\"x\",\"v\":" + nested_json(sw::json::max_depth) + "}";
    CHECK_FALSE(sw::protocol::decode_line(deep_line, m, why));
}

TEST_CASE("the state file writer never writes what its reader refuses", "[limits][store]") {
    const auto deep = [](int levels) {
        boost::system::error_code ec;
        auto v = sw::json::parse(nested_json(levels), ec, 1000);
        REQUIRE_FALSE(ec);
        return v;
    };
    sw::state::persisted p;
    p.state.worker_config = deep(sw::json::max_state_depth);
    try {
        sw::state::serialize(p);
        FAIL("a state deeper than the reader's limit was serialized");
    } catch (const sw::failure& f) {
        CHECK(f.code() == sw::errc::config);
        CHECK_THAT(f.what(), Contains("not written"));
    }
    // The deepest value the writer accepts, the reader reads.
    p.state.worker_config = deep(sw::json::max_state_depth - sw::json::state_envelope_depth);
    CHECK_NOTHROW(sw::state::deserialize(sw::state::serialize(p)));
}

TEST_CASE("alias expansion is bounded by bytes, not only nodes", "[limits][config][yaml]") {
    auto refusal = [](const std::string& yaml) -> std::string {
        try {
            sw::config::yaml_to_json(yaml, "big.yml");
        } catch (const sw::failure& f) {
            CHECK(f.code() == sw::errc::config);
            return f.what();
        }
        return {};
    };
    const std::string mib(1024 * 1024, 'a');
    SECTION("a 1 MiB anchor referenced 500 times") {
        std::string yaml = "big: &big \"" + mib + "\"\nlist:\n";
        for (int i = 0; i < 500; ++i) yaml += "  - *big\n";
        CHECK_THAT(refusal(yaml), Contains("alias expansion exceeds") && Contains("bytes"));
    }
    SECTION("the same anchor as the key of 500 maps") {
        std::string yaml = "big: &big " + mib + "\nlist:\n";
        for (int i = 0; i < 500; ++i) yaml += "  - {*big : 1}\n";
        CHECK_THAT(refusal(yaml), Contains("alias expansion exceeds"));
    }
    SECTION("a large anchor used a few times is fine") {
        const std::string kib(100 * 1024, 'b');
        std::string yaml = "big: &big \"" + kib + "\"\nlist: [*big, *big, *big]\n";
        const auto v = sw::config::yaml_to_json(yaml, "ok.yml");
        CHECK(v.at("list").as_array().size() == 3);
    }
}
