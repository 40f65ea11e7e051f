#include "lib/json/worker_config.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace sw::json {

value merge(const value& a, const value& b) {
    if (a.is_null() && b.is_null()) return object{};
    if (a.is_null()) return b;
    if (b.is_null()) return a;
    if (a.is_object() && b.is_object()) {
        object out = a.get_object();
        for (const auto& kv : b.get_object()) {
            auto it = out.find(kv.key());
            if (it == out.end())
                out.emplace(kv.key(), kv.value());
            else
                it->value() = merge(it->value(), kv.value());
        }
        return out;
    }
    if (a.is_array() && b.is_array()) {
        array out = a.get_array();
        out.reserve(a.get_array().size() + b.get_array().size());
        for (const auto& e : b.get_array()) out.push_back(e);
        return out;
    }
    return b;
}

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
    if (path.empty()) throw std::invalid_argument("must specify a nonempty key");
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        auto dot = path.find('.', start);
        auto part = path.substr(start, dot == std::string_view::npos ? path.npos : dot - start);
        if (part.empty()) throw std::invalid_argument("must specify a nonempty key");
        parts.push_back(part);
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return parts;
}
}  // namespace

value set_path(const value& base, std::string_view path, value v) {
    const auto parts = split_path(path);
    value root = base.is_null() ? value(object{}) : base;
    if (!root.is_object()) throw std::invalid_argument("config is not an object");
    value* cur = &root;
    std::string prefix;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        if (!prefix.empty()) prefix += '.';
        prefix += parts[i];
        auto& obj = cur->get_object();
        auto it = obj.find(parts[i]);
        if (it == obj.end()) {
            cur = &obj[parts[i]];
            *cur = object{};
        } else if (it->value().is_object()) {
            cur = &it->value();
        } else {
            throw std::invalid_argument(prefix + " is not an object in existing config");
        }
    }
    cur->get_object()[parts.back()] = std::move(v);
    return root;
}

const value& get_path(const value& base, std::string_view path) {
    const auto parts = split_path(path);
    const value* cur = &base;
    for (auto p : parts) {
        const auto* obj = cur->if_object();
        const value* next = obj ? obj->if_contains(p) : nullptr;
        if (!next) throw std::out_of_range("key " + std::string(path) + " not found");
        cur = next;
    }
    return *cur;
}

std::string format_number(double d) {
    // Go's encoding/json (encode.go, floatEncoder): strconv.AppendFloat with precision -1, so
    // always the shortest digits that read back as the same double; format 'f' for
    // 1e-6 <= |d| < 1e21, else 'e' with "e-07" cleaned up to "e-7".
    if (!std::isfinite(d)) return "null";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));  // "-d.ddde+XX"
    const double a = std::fabs(d);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        std::string out(sci);
        const auto n = out.size();
        if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0')
            out.erase(n - 2, 1);
        return out;
    }
    // strconv's 'f' with the shortest digits: the digits placed around the decimal point and
    // padded with zeros. std::to_chars' fixed form would instead print a large double's exact
    // value (111111111111111104 where Go writes 111111111111111100).
    std::string out;
    if (sci.front() == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    const auto e = sci.find('e');
    std::string digits;
    for (const char c : sci.substr(0, e))
        if (c != '.') digits += c;
    const bool negative_exponent = sci[e + 1] == '-';
    int exponent = 0;
    for (const char c : sci.substr(e + 2)) exponent = exponent * 10 + (c - '0');
    if (negative_exponent) exponent = -exponent;
    const int point = exponent + 1;  // digits before the decimal point
    const int count = static_cast<int>(digits.size());
    if (point <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-point), '0');
        out += digits;
    } else if (point >= count) {
        out += digits;
        out.append(static_cast<std::size_t>(point - count), '0');
    } else {
        out.append(digits, 0, static_cast<std::size_t>(point));
        out += '.';
        out.append(digits, static_cast<std::size_t>(point));
    }
    return out;
}

namespace {
// Go's encoding/json escapes <, > and & (and U+2028/2029) inside strings; do the same so the
// generated worker config is byte-identical.
void append_go_string(std::string& out, std::string_view s) {
    const std::string plain = boost::json::serialize(boost::json::string(s));
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const char c = plain[i];
        if (c == '<')
            out += "\\u003c";
        else if (c == '>')
            out += "\\u003e";
        else if (c == '&')
            out += "\\u0026";
        else if (c == '\xe2' && i + 2 < plain.size() && plain[i + 1] == '\x80' &&
                 (plain[i + 2] == '\xa8' || plain[i + 2] == '\xa9')) {
            out += plain[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else
            out += c;
    }
}

void write_sorted(const value& v, std::string& out, int indent, int depth) {
    auto newline = [&](int d) {
        if (indent < 0) return;
        out += '\n';
        out.append(static_cast<std::size_t>(d) * static_cast<std::size_t>(indent), ' ');
    };
    if (v.is_object()) {
        const auto& obj = v.get_object();
        if (obj.empty()) {
            out += "{}";
            return;
        }
        std::vector<const boost::json::key_value_pair*> kvs;
        for (const auto& kv : obj) kvs.push_back(&kv);
        std::sort(kvs.begin(), kvs.end(), [](auto* x, auto* y) { return x->key() < y->key(); });
        out += '{';
        bool first = true;
        for (auto* kv : kvs) {
            if (!first) out += ',';
            first = false;
            newline(depth + 1);
            append_go_string(out, kv->key());
            out += indent < 0 ? ":" : ": ";
            write_sorted(kv->value(), out, indent, depth + 1);
        }
        newline(depth);
        out += '}';
    } else if (v.is_array()) {
        const auto& arr = v.get_array();
        if (arr.empty()) {
            out += "[]";
            return;
        }
        out += '[';
        bool first = true;
        for (const auto& e : arr) {
            if (!first) out += ',';
            first = false;
            newline(depth + 1);
            write_sorted(e, out, indent, depth + 1);
        }
        newline(depth);
        out += ']';
    } else if (v.is_string()) {
        append_go_string(out, v.get_string());
    } else if (v.is_double()) {
        out += format_number(v.get_double());
    } else {
        out += boost::json::serialize(v);
    }
}
}  // namespace

std::string to_sorted_json(const value& v) {
    std::string out;
    write_sorted(v, out, -1, 0);
    return out;
}

std::string to_sorted_json_indented(const value& v) {
    std::string out;
    write_sorted(v, out, 2, 0);
    return out;
}

}  // namespace sw::json

namespace sw::json {

std::string camel_case(std::string_view impl) {
    std::string out;
    for (std::size_t i = 0; i < impl.size(); ++i) {
        if (impl[i] == '-' && i + 1 < impl.size() && impl[i + 1] >= 'a' && impl[i + 1] <= 'z') {
            out += static_cast<char>(impl[i + 1] - 'a' + 'A');
            ++i;
        } else {
            out += impl[i];
        }
    }
    return out;
}

namespace {
std::vector<value> files_of(const value* f, std::string_view what) {
    std::vector<value> out;
    if (!f || f->is_null()) return out;
    if (!f->is_array()) throw std::invalid_argument(std::string(what) + ": files must be a list");
    for (const auto& item : f->get_array()) out.push_back(item);
    return out;
}
}  // namespace

config_and_files parse_provider_worker_config(const value& v, std::string_view implementation) {
    config_and_files out;
    if (v.is_null()) return out;
    const auto* obj = v.if_object();
    if (!obj)
        throw std::invalid_argument(
            "while parsing workerConfig from worker-manager: not a JSON object");
    const std::string key = camel_case(implementation);
    if (obj->size() == 1 && obj->contains(key)) {
        const auto& inner = obj->at(key);
        const auto* io = inner.if_object();
        if (!io)
            throw std::invalid_argument("while parsing workerConfig from worker-manager: " + key +
                                        " is not a JSON object");
        if (const auto* c = io->if_contains("config"); c && !c->is_null()) {
            if (!c->is_object())
                throw std::invalid_argument(
                    "while parsing workerConfig from worker-manager: config is not an object");
            out.config = *c;
        }
        out.files =
            files_of(io->if_contains("files"), "while parsing workerConfig from worker-manager");
        return out;
    }
    out.config = v;
    return out;
}

config_and_files parse_secret_value(const value& v, bool& legacy) {
    const auto* obj = v.if_object();
    if (!obj) throw std::invalid_argument("secret value is not a JSON object");
    const value* cfg = nullptr;
    const value* files = nullptr;
    bool strict = !obj->empty();
    for (const auto& kv : *obj) {
        std::string k(kv.key());
        for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (k == "config" && (kv.value().is_object() || kv.value().is_null()))
            cfg = &kv.value();
        else if (k == "files" && (kv.value().is_array() || kv.value().is_null()))
            files = &kv.value();
        else
            strict = false;
    }
    config_and_files out;
    legacy = !strict;
    if (legacy) {
        out.config = v;
        return out;
    }
    if (cfg && !cfg->is_null()) out.config = *cfg;
    out.files = files_of(files, "secret");
    return out;
}

}  // namespace sw::json
