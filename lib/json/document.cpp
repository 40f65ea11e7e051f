// The shared document limits (lib/json/document.hpp).
#include "lib/json/document.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace sw::json {

boost::json::parse_options parse_options(int depth) {
    boost::json::parse_options opts;
    opts.max_depth = static_cast<std::size_t>(depth);
    return opts;
}

boost::json::value parse(std::string_view text, boost::system::error_code& ec, int depth) {
    return boost::json::parse(text, ec, {}, parse_options(depth));
}

int depth_of(const boost::json::value& v) {
    int deepest = 0;
    std::vector<std::pair<const boost::json::value*, int>> todo{{&v, 0}};
    while (!todo.empty()) {
        const auto [cur, level] = todo.back();
        todo.pop_back();
        if (const auto* o = cur->if_object()) {
            deepest = std::max(deepest, level + 1);
            for (const auto& kv : *o) todo.emplace_back(&kv.value(), level + 1);
        } else if (const auto* a = cur->if_array()) {
            deepest = std::max(deepest, level + 1);
            for (const auto& e : *a) todo.emplace_back(&e, level + 1);
        }
    }
    return deepest;
}

}  // namespace sw::json
