// libFuzzer target: worker-config merge/set/get and the parsers of worker config delivered by
// worker-manager and the secrets service. Input: "<json A>\n<json B>\n<dotted path>".
#include "lib/json/document.hpp"
#include "lib/json/worker_config.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto cut = [&in]() {
        const auto nl = in.find('\n');
        const auto part = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
        return part;
    };
    const auto text_a = cut();
    const auto text_b = cut();
    const auto path = in;
    boost::system::error_code ec_a, ec_b;
    const auto a = sw::json::parse(text_a, ec_a);
    const auto b = sw::json::parse(text_b, ec_b);
    if (ec_a || ec_b) return 0;
    const auto merged = sw::json::merge(a, b);
    (void)sw::json::to_sorted_json(merged);
    (void)sw::json::to_sorted_json_indented(merged);
    try {
        const auto set = sw::json::set_path(merged, path, b);
        (void)sw::json::get_path(set, path);
    } catch (const std::invalid_argument&) {
    } catch (const std::out_of_range&) {
    }
    try {
        (void)sw::json::parse_provider_worker_config(a, "generic-worker");
        (void)sw::json::parse_provider_worker_config(a, "docker-worker");
    } catch (const std::invalid_argument&) {
    }
    try {
        bool legacy = false;
        (void)sw::json::parse_secret_value(a, legacy);
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
