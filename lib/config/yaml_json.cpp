// YAML (and therefore JSON) to Boost.JSON, built from yaml-cpp's event stream so that the limits
// hold while parsing: duplicate keys, non-scalar keys, nesting depth and alias expansion (the
// "billion laughs") are refused before anything large is built.
#include "lib/config/yaml_json.hpp"

#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/json/document.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace sw::config {

namespace detail {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

/// Anchored nodes are copied when their anchor closes; this bounds the copies in total.
constexpr std::size_t max_anchored_nodes = 10 * max_yaml_alias_expansions;
constexpr std::size_t max_anchored_bytes = 4 * max_yaml_alias_bytes;
/// What one node costs beyond its text (a boost::json::value and its container slot).
constexpr std::size_t node_cost = 32;

[[noreturn]] void fail_at(const std::string& source, int line, std::string_view what) {
    std::string msg = source + ": ";
    if (line > 0) msg += "line " + std::to_string(line) + ": ";
    msg += what;
    throw failure(errc::config, msg);
}

int line_of(const YAML::Mark& m) {
    return m.is_null() ? 0 : m.line + 1;
}

struct cost {
    std::size_t nodes = 0;
    std::size_t bytes = 0;  ///< string and key bytes plus node_cost per node
};

/// What a copy of `v` costs (iterative: values are at most max_config_depth deep anyway).
cost cost_of(const value& v) {
    cost c;
    std::vector<const value*> todo{&v};
    while (!todo.empty()) {
        const value* cur = todo.back();
        todo.pop_back();
        ++c.nodes;
        c.bytes += node_cost;
        if (const auto* o = cur->if_object()) {
            for (const auto& kv : *o) {
                c.bytes += kv.key().size();
                todo.push_back(&kv.value());
            }
        } else if (const auto* a = cur->if_array()) {
            for (const auto& e : *a) todo.push_back(&e);
        } else if (const auto* s = cur->if_string()) {
            c.bytes += s->size();
        }
    }
    return c;
}

bool all_digits(std::string_view s, int base) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                                   : (c >= '0' && c < static_cast<char>('0' + base));
        if (!ok) return false;
    }
    return true;
}

std::optional<value> parse_integer(std::string_view s) {
    bool neg = false;
    std::string_view digits = s;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
        neg = digits[0] == '-';
        digits.remove_prefix(1);
    }
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
        if (s.size() != digits.size()) return std::nullopt;  // YAML 1.2: no sign on 0x / 0o
        base = digits[1] == 'x' ? 16 : 8;
        digits.remove_prefix(2);
    }
    if (!all_digits(digits, base)) return std::nullopt;
    std::uint64_t u = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
    if (ec == std::errc() && p == digits.data() + digits.size()) {
        if (!neg && u <= static_cast<std::uint64_t>(INT64_MAX))
            return value(static_cast<std::int64_t>(u));
        if (neg && u <= static_cast<std::uint64_t>(INT64_MAX) + 1)
            return value(static_cast<std::int64_t>(0 - u));
    }
    // Too large for int64: a double, as the brief for YAML integers says.
    if (base != 10) return value(static_cast<double>(u));  // overflow of uint64 too: approximate
    return value(std::strtod(std::string(s).c_str(), nullptr));
}

bool looks_like_float(std::string_view s) {
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t exp_digits = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    }
    return i == s.size();
}

/// The YAML 1.2 core schema for plain scalars. Infinity and NaN stay strings (JSON has none).
value resolve_plain(const std::string& s) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (auto i = parse_integer(s)) return *i;
    if (looks_like_float(s)) {
        const double d = std::strtod(s.c_str(), nullptr);
        if (std::isfinite(d)) return d;
    }
    return value(s);
}

value resolve_scalar(const std::string& tag, const std::string& text) {
    static const std::string core = "tag:yaml.org,2002:";
    if (tag == "?") return resolve_plain(text);
    if (tag == core + "int" || tag == core + "float" || tag == core + "bool" ||
        tag == core + "null")
        return resolve_plain(text);
    return value(text);  // quoted ("!"), !!str or an application tag: the literal text
}

class json_builder final : public YAML::EventHandler {
  public:
    json_builder(const std::string& source, key_lines* lines) : source_(source), lines_(lines) {}

    std::optional<value> root;

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (expecting_key()) fail_at(source_, line_of(mark), where() + "a null map key");
        add(value(nullptr), mark, anchor, std::string());
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto it = anchors_.find(anchor);
        if (it == anchors_.end()) fail_at(source_, line_of(mark), "unknown alias");
        if (it->second.too_big) fail_at(source_, line_of(mark), where() + expansion_limits());
        // Every expansion is paid for, keys too: a large scalar anchor used as the key of many
        // maps costs as much as the same anchor used as their values.
        expanded_.nodes += it->second.c.nodes;
        expanded_.bytes += it->second.c.bytes;
        if (expanded_.nodes > max_yaml_alias_expansions || expanded_.bytes > max_yaml_alias_bytes)
            fail_at(source_, line_of(mark), where() + expansion_limits() + " in total");
        if (expecting_key()) {
            if (!it->second.scalar_text)
                fail_at(source_, line_of(mark), where() + "map keys must be scalars");
            take_key(*it->second.scalar_text, "?", mark);
            return;
        }
        if (static_cast<int>(stack_.size()) + it->second.depth > max_config_depth)
            fail_at(source_, line_of(mark), where() + too_deep());
        add(it->second.v, mark, 0, it->second.scalar_text);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& text) override {
        if (expecting_key()) {
            take_key(text, tag, mark);
            if (anchor) remember(anchor, value(text), text);
            return;
        }
        add(resolve_scalar(tag, text), mark, anchor, text);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor, false);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor, true);
    }
    void OnMapEnd() override { close(); }

  private:
    struct frame {
        value v;
        bool is_map = false;
        YAML::anchor_t anchor = 0;
        YAML::Mark mark;
        std::string path;
        std::optional<std::string> key;  // pending key of a map
        bool key_is_merge = false;       // the pending key is "<<"
        bool had_merge = false;
        std::vector<object> merges;
    };
    struct anchored {
        value v;
        cost c;
        int depth = 0;
        std::optional<std::string> scalar_text;
        bool too_big = false;
    };

    bool expecting_key() const {
        return !stack_.empty() && stack_.back().is_map && !stack_.back().key;
    }

    std::string child_path() const {
        if (stack_.empty()) return {};
        const frame& f = stack_.back();
        if (f.is_map) return f.path.empty() ? *f.key : f.path + "." + *f.key;
        return f.path + "[" + std::to_string(f.v.get_array().size()) + "]";
    }

    std::string where() const {
        if (stack_.empty()) return {};
        const frame& f = stack_.back();
        if (f.is_map && f.key) return child_path() + ": ";
        return f.path.empty() ? std::string() : f.path + ": ";
    }

    static std::string expansion_limits() {
        return "alias expansion exceeds " + std::to_string(max_yaml_alias_expansions) +
               " nodes or " + std::to_string(max_yaml_alias_bytes) + " bytes";
    }

    static std::string too_deep() {
        return "nested deeper than " + std::to_string(max_config_depth) + " levels";
    }

    void take_key(const std::string& text, const std::string& tag, const YAML::Mark& mark) {
        frame& f = stack_.back();
        if (tag == "?" && text == "<<") {
            if (f.had_merge) fail_at(source_, line_of(mark), where() + "duplicate merge key <<");
            f.had_merge = true;
            f.key_is_merge = true;
            f.key = text;
            return;
        }
        if (f.v.get_object().contains(text)) {
            const std::string path = f.path.empty() ? text : f.path + "." + text;
            fail_at(source_, line_of(mark), path + ": duplicate key");
        }
        f.key = text;
        if (lines_) (*lines_)[child_path()] = line_of(mark);
    }

    void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
        if (expecting_key()) fail_at(source_, line_of(mark), where() + "map keys must be scalars");
        if (static_cast<int>(stack_.size()) >= max_config_depth)
            fail_at(source_, line_of(mark), where() + too_deep());
        frame f;
        f.is_map = is_map;
        f.anchor = anchor;
        f.mark = mark;
        f.path = child_path();
        if (is_map)
            f.v = object();
        else
            f.v = array();
        stack_.push_back(std::move(f));
    }

    void close() {
        frame f = std::move(stack_.back());
        stack_.pop_back();
        if (f.is_map) {
            // Merge keys (<<): explicit keys win, then earlier merge sources.
            auto& o = f.v.get_object();
            for (const auto& src : f.merges)
                for (const auto& kv : src)
                    if (!o.contains(kv.key())) o[kv.key()] = kv.value();
        }
        add(std::move(f.v), f.mark, f.anchor, std::nullopt);
    }

    void remember(YAML::anchor_t anchor, const value& v, std::optional<std::string> text) {
        anchored a;
        a.c = cost_of(v);
        a.depth = sw::json::depth_of(v);
        a.scalar_text = std::move(text);
        if (a.c.nodes > max_yaml_alias_expansions || a.c.bytes > max_yaml_alias_bytes) {
            a.too_big = true;  // any alias to it would exceed the budget anyway
        } else {
            anchored_.nodes += a.c.nodes;
            anchored_.bytes += a.c.bytes;
            if (anchored_.nodes > max_anchored_nodes || anchored_.bytes > max_anchored_bytes)
                fail_at(source_, 0,
                        "anchors copy too much (more than " + std::to_string(max_anchored_nodes) +
                            " nodes or " + std::to_string(max_anchored_bytes) + " bytes)");
            a.v = v;
        }
        anchors_[anchor] = std::move(a);
    }

    void add(value v, const YAML::Mark& mark, YAML::anchor_t anchor,
             std::optional<std::string> scalar_text) {
        if (anchor) remember(anchor, v, std::move(scalar_text));
        if (stack_.empty()) {
            if (!root) root = std::move(v);
            return;
        }
        frame& f = stack_.back();
        if (!f.is_map) {
            f.v.get_array().push_back(std::move(v));
            return;
        }
        if (f.key_is_merge) {
            if (auto* o = v.if_object()) {
                f.merges.push_back(std::move(*o));
            } else if (auto* a = v.if_array()) {
                for (auto& e : *a) {
                    if (!e.is_object())
                        fail_at(source_, line_of(mark), where() + "merge (<<) needs maps");
                    f.merges.push_back(std::move(e.get_object()));
                }
            } else {
                fail_at(source_, line_of(mark), where() + "merge (<<) needs a map");
            }
            f.key_is_merge = false;
        } else {
            f.v.get_object()[*f.key] = std::move(v);
        }
        f.key.reset();
    }

    const std::string& source_;
    key_lines* lines_;
    std::vector<frame> stack_;
    std::unordered_map<YAML::anchor_t, anchored> anchors_;
    cost expanded_;
    cost anchored_;
};

/// Text checks yaml-cpp does not do: valid UTF-8, and no control characters but tab/LF/CR.
void check_text(std::string_view text, const std::string& source) {
    int line = 1;
    std::size_t i = 0;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    while (i < text.size()) {
        const unsigned char c = s[i];
        if (c == '\n') ++line;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                fail_at(source, line,
                        c == 0 ? "contains NUL bytes: not a text file"
                               : "contains control characters: not a text file");
            if (c == 0x7f) fail_at(source, line, "contains control characters: not a text file");
            ++i;
            continue;
        }
        int len = 0;
        unsigned cp = 0;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07;
        else
            fail_at(source, line, "is not valid UTF-8 text");
        if (i + len > text.size()) fail_at(source, line, "is not valid UTF-8 text");
        for (int k = 1; k < len; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) fail_at(source, line, "is not valid UTF-8 text");
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        const unsigned min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            fail_at(source, line, "is not valid UTF-8 text");
        i += len;
    }
}

}  // namespace

value yaml_to_json(std::string_view text, const std::string& source, key_lines* lines) {
    if (text.size() > max_config_bytes)
        fail_at(source, 0, "larger than " + std::to_string(max_config_bytes) + " bytes");
    check_text(text, source);
    json_builder builder(source, lines);
    try {
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        // Only the first document counts (as with the Go runner's yaml.Unmarshal).
        if (!parser.HandleNextDocument(builder) || !builder.root)
            fail_at(source, 0,
                    "is empty; a runner config needs at least `provider` (with its "
                    "providerType) and `worker` (with its implementation)");
    } catch (const YAML::Exception& e) {
        fail_at(source, line_of(e.mark), e.msg);
    }
    if (!builder.root->is_object()) fail_at(source, 0, "the top level must be a map");
    return std::move(*builder.root);
}

}  // namespace detail

boost::json::value yaml_to_json(std::string_view text, const std::string& source) {
    return detail::yaml_to_json(text, source, nullptr);
}

}  // namespace sw::config
