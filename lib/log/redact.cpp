#include "lib/log/redact.hpp"

#include "lib/json/worker_config.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace sw::log {

namespace {

constexpr std::size_t min_secret_size = 4;

using range = std::pair<std::size_t, std::size_t>;  // [begin, end) of text to replace

// The registered secrets: sorted and unique, replaced as a whole (copy on write) so that
// readers take no lock longer than a shared_ptr copy.
struct secret_set {
    std::mutex mu;
    std::shared_ptr<const std::vector<std::string>> values =
        std::make_shared<const std::vector<std::string>>();
    std::atomic<bool> any{false};
    std::atomic<std::uint64_t> generation{0};  // bumped (under mu) by every change of values
};

// The calling thread's copy of the registered secrets, taken again (under the lock) only when
// they changed: a log line costs no lock and no reference count here.
const std::vector<std::string>& current_secrets(secret_set& s) {
    thread_local std::shared_ptr<const std::vector<std::string>> cached;
    thread_local std::uint64_t cached_generation = ~std::uint64_t{0};
    if (const auto g = s.generation.load(std::memory_order_acquire); g != cached_generation) {
        std::lock_guard lock(s.mu);
        cached = s.values;
        cached_generation = s.generation.load(std::memory_order_relaxed);
    }
    return *cached;
}

secret_set& secrets() {
    static secret_set* s = new secret_set;  // never destroyed: the log thread may outlive main
    return *s;
}

void insert_sorted(std::vector<std::string>& v, std::string secret) {
    if (secret.size() < min_secret_size) return;
    auto it = std::lower_bound(v.begin(), v.end(), secret);
    if (it != v.end() && *it == secret) return;
    v.insert(it, std::move(secret));
}

// `text` as it appears inside a JSON string: without the surrounding quotes.
std::string json_escaped(std::string quoted) {
    if (quoted.size() >= 2) quoted = quoted.substr(1, quoted.size() - 2);
    return quoted;
}

bool ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Every secret-shaped key ends in 'd' (password, passwd), 'y' (key), 'n' (token) or 't'
// (secret), in either case: most separators are passed over on this test alone.
bool may_end_secret_key(char c) {
    switch (lower(c)) {
        case 'd':
        case 'y':
        case 'n':
        case 't':
            return true;
        default:
            return false;
    }
}

bool iends_with(std::string_view s, std::string_view suffix) {
    if (s.size() < suffix.size()) return false;
    s = s.substr(s.size() - suffix.size());
    for (std::size_t i = 0; i < s.size(); ++i)
        if (lower(s[i]) != suffix[i]) return false;
    return true;
}

void find_registered(std::string_view text, const std::vector<std::string>& values,
                     std::vector<range>& hits) {
    for (const auto& secret : values) {
        bool had_hit = false;  // hits.back() is this secret's previous occurrence
        for (auto pos = text.find(secret); pos != std::string_view::npos;
             pos = text.find(secret, pos + 1)) {
            const std::size_t end = pos + secret.size();
            if (had_hit && pos <= hits.back().second)
                hits.back().second = end;  // overlaps it ("aaaa" in "aaaaaa")
            else
                hits.emplace_back(pos, end);
            had_hit = true;
        }
    }
}

// A message cut to a length by its producer ends with a marker; a secret cut there leaves
// only its beginning, which find_registered cannot see. The bytes before the marker that are
// the beginning (at least min_secret_size bytes) of a registered secret are redacted too.
void find_cut_secrets(std::string_view text, const std::vector<std::string>& values,
                      std::vector<range>& hits) {
    std::size_t end = text.size();
    for (std::string_view marker : {std::string_view("... (truncated)"), std::string_view("...")}) {
        if (text.size() >= marker.size() && text.substr(text.size() - marker.size()) == marker) {
            end = text.size() - marker.size();
            break;
        }
    }
    if (end == text.size()) return;
    const std::string_view body = text.substr(0, end);
    for (const auto& secret : values) {
        for (std::size_t k = std::min(secret.size() - 1, body.size()); k >= min_secret_size; --k) {
            if (body.substr(body.size() - k) == std::string_view(secret).substr(0, k)) {
                hits.emplace_back(body.size() - k, body.size());
                break;
            }
        }
    }
}

// User-info of URLs: "scheme://userinfo@host". The scan only locates the authority's bounds in
// free text (RFC 3986 3.2: the authority ends at '/', '?', '#'; the user-info is what precedes
// its last '@'); nothing is parsed beyond that.
void find_userinfo(std::string_view text, std::vector<range>& hits) {
    for (auto pos = text.find("://"); pos != std::string_view::npos;
         pos = text.find("://", pos + 3)) {
        if (pos == 0 || !std::isalpha(static_cast<unsigned char>(text[pos - 1]))) continue;
        const std::size_t start = pos + 3;
        std::size_t end = start;
        std::size_t at = std::string_view::npos;
        for (; end < text.size(); ++end) {
            const char c = text[end];
            if (c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' ||
                c == '\\' || static_cast<unsigned char>(c) <= ' ')
                break;
            if (c == '@') at = end;
        }
        if (at != std::string_view::npos && at > start) hits.emplace_back(start, at);
    }
}

// True if `before` ends with a '/' inside a URL: the whitespace-delimited word it ends has
// "://" in it.
bool ends_url_path(std::string_view before) {
    if (before.empty() || before.back() != '/') return false;
    const auto space = before.find_last_of(" \t\n\"'");
    const auto word = space == std::string_view::npos ? before : before.substr(space + 1);
    return word.find("://") != std::string_view::npos;
}

// Values after secret-shaped keys: `key=value`, `key: value`, `"key": "value"`.
void find_keyed(std::string_view text, std::vector<range>& hits) {
    // The separators, found with memchr (most of a line has none): the next ':' and the next
    // '=' at or after `from`, each searched again only once passed.
    const auto next = [&](char c, std::size_t from) {
        if (from >= text.size()) return text.size();
        const void* hit = std::memchr(text.data() + from, c, text.size() - from);
        return hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - text.data())
                   : text.size();
    };
    std::size_t colon = next(':', 0), equals = next('=', 0);
    for (std::size_t p = 0; p < text.size(); ++p) {
        if (colon < p) colon = next(':', p);
        if (equals < p) equals = next('=', p);
        p = std::min(colon, equals);
        if (p >= text.size()) break;
        const char sep = text[p];
        // The key, left of the separator: optional spaces (JSON), an optional closing quote.
        std::size_t k_end = p;
        while (k_end > 0 && text[k_end - 1] == ' ') --k_end;
        bool quoted = false;
        if (k_end > 0 && text[k_end - 1] == '"') {
            quoted = true;
            --k_end;
            if (k_end > 0 && text[k_end - 1] == '\\') --k_end;  // \"key\" (JSON inside JSON)
        }
        if (k_end == 0 || !may_end_secret_key(text[k_end - 1])) continue;
        std::size_t k_begin = k_end;
        while (k_begin > 0 && ident_char(text[k_begin - 1])) --k_begin;
        if (k_begin == k_end) continue;
        // "x.token: ..." (a dotted config path) and "http://h/api/token: HTTP 429" (a URL's
        // last path segment before an error) name no secret; "conf/token: x" may.
        if (!quoted && sep == ':' && k_begin > 0 &&
            (text[k_begin - 1] == '.' || ends_url_path(text.substr(0, k_begin))))
            continue;
        if (!secret_shaped_key(text.substr(k_begin, k_end - k_begin))) continue;
        // The value.
        std::size_t v = p + 1;
        while (v < text.size() && text[v] == ' ') ++v;
        if (v >= text.size()) continue;
        bool escaped_open = false;  // \"value\": ends at the next \"
        if (text[v] == '\\' && v + 1 < text.size() && text[v + 1] == '"') {
            escaped_open = true;
            ++v;
        }
        std::size_t v_end = v;
        if (text[v] == '"') {
            ++v;
            for (v_end = v; v_end < text.size(); ++v_end) {
                if (text[v_end] == '\\') {
                    if (escaped_open && v_end + 1 < text.size() && text[v_end + 1] == '"') break;
                    ++v_end;  // an escaped character
                    continue;
                }
                if (text[v_end] == '"') break;
            }
            v_end = std::min(v_end, text.size());
        } else {
            while (v_end < text.size()) {
                const char c = text[v_end];
                if (c == ',' || c == ';' || c == '&' || c == '"' || c == '\'' || c == '}' ||
                    c == ']' || c == ')' || static_cast<unsigned char>(c) <= ' ')
                    break;
                ++v_end;
            }
        }
        if (v_end > v) hits.emplace_back(v, v_end);
        p = std::max(p, v_end > 0 ? v_end - 1 : p);
    }
}

void replace_ranges(std::string_view text, std::vector<range>& hits, std::string& out) {
    std::sort(hits.begin(), hits.end());
    out.clear();
    out.reserve(text.size());
    std::size_t done = 0;  // bytes of text already handled
    std::size_t i = 0;
    while (i < hits.size()) {
        const std::size_t begin = std::max(hits[i].first, done);
        std::size_t end = hits[i].second;
        for (++i; i < hits.size() && hits[i].first <= end; ++i) end = std::max(end, hits[i].second);
        if (end <= begin) continue;
        out.append(text.substr(done, begin - done));
        out.append(redacted_marker);
        done = end;
    }
    out.append(text.substr(done));
}

}  // namespace

void add_secret(std::string_view secret) {
    if (secret.size() < min_secret_size) return;
    auto& s = secrets();
    std::lock_guard lock(s.mu);
    auto next = std::make_shared<std::vector<std::string>>(*s.values);
    insert_sorted(*next, std::string(secret));
    // A secret also appears escaped when it is part of JSON text (a certificate inside a
    // config dump, a token with a quote or a '<' in it): redact those spellings too.
    insert_sorted(*next, json_escaped(boost::json::serialize(boost::json::string(secret))));
    insert_sorted(*next, json_escaped(sw::json::to_sorted_json(boost::json::string(secret))));
    s.values = std::move(next);
    s.generation.fetch_add(1, std::memory_order_release);
    s.any.store(!s.values->empty(), std::memory_order_release);
}

bool secret_shaped_key(std::string_view key) {
    using namespace std::string_view_literals;
    if (key.empty()) return false;
    // The last letter tells which word the key can end with (and most keys end in none).
    std::string_view word;
    switch (lower(key.back())) {
        case 'd':
            return iends_with(key, "password"sv) || iends_with(key, "passwd"sv);
        case 'y':
            word = "key"sv;
            break;
        case 'n':
            word = "token"sv;
            break;
        case 't':
            word = "secret"sv;
            break;
        default:
            return false;
    }
    if (!iends_with(key, word)) return false;
    if (key.size() == word.size()) return true;  // key, TOKEN
    const char before = key[key.size() - word.size() - 1];
    const char first = key[key.size() - word.size()];
    if (before == '_' || before == '-') return true;  // access_token, ACCESS_TOKEN
    // camel case: accessToken, apiKey (not "monkey", not "hotkey")
    return first >= 'A' && first <= 'Z' && !(before >= 'A' && before <= 'Z');
}

bool redact_into(std::string_view text, std::string& out) {
    thread_local std::vector<range> hits;
    hits.clear();
    auto& s = secrets();
    if (s.any.load(std::memory_order_acquire)) {
        const auto& values = current_secrets(s);
        find_registered(text, values, hits);
        find_cut_secrets(text, values, hits);
    }
    // memchr must not see a null pointer, which an empty view may carry.
    if (!text.empty() && (std::memchr(text.data(), ':', text.size()) ||
                          std::memchr(text.data(), '=', text.size()))) {
        find_userinfo(text, hits);
        find_keyed(text, hits);
    }
    if (hits.empty()) return false;
    replace_ranges(text, hits, out);
    return true;
}

std::string redact(std::string_view text) {
    std::string out;
    if (!redact_into(text, out)) out.assign(text);
    return out;
}

std::string redact_then_cut(std::string_view text, std::size_t max_bytes, std::string_view marker) {
    std::string out = redact(text);
    if (out.size() <= max_bytes) return out;
    std::size_t cut = max_bytes;
    // Never inside a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out.append(marker);
    return out;
}

namespace {

void redact_value(boost::json::value& v) {
    if (v.is_string()) {
        std::string out;
        if (redact_into(v.get_string(), out)) v = out;
    } else if (v.is_object()) {
        redact_fields(v.get_object());
    } else if (v.is_array()) {
        for (auto& e : v.get_array()) redact_value(e);
    }
}

bool value_needs_redaction(const boost::json::value& v) {
    thread_local std::string scratch;
    if (v.is_string()) return redact_into(v.get_string(), scratch);
    if (v.is_object()) return fields_need_redaction(v.get_object());
    if (v.is_array())
        for (const auto& e : v.get_array())
            if (value_needs_redaction(e)) return true;
    return false;
}

}  // namespace

bool fields_need_redaction(const boost::json::object& fields) {
    for (const auto& kv : fields)
        if (secret_shaped_key(kv.key()) || value_needs_redaction(kv.value())) return true;
    return false;
}

void redact_fields(boost::json::object& fields) {
    for (auto& kv : fields) {
        if (secret_shaped_key(kv.key()))
            kv.value() = redacted_marker;
        else
            redact_value(kv.value());
    }
}

}  // namespace sw::log
