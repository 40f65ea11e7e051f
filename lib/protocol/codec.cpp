#include "lib/protocol/codec.hpp"

#include "lib/json/document.hpp"
#include "lib/json/worker_config.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstring>

namespace sw::protocol {

namespace {

// Go's strings.TrimSpace for the ASCII white space a line can carry (CRLF, tabs, blanks).
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// The frame of a protocol message, `~{...}` (after trim): anything else is plain text.
bool framed(std::string_view line) {
    return line.size() >= 3 && line[0] == '~' && line[1] == '{' && line.back() == '}';
}

/// How much of an over-long line is shown (the rest is only counted).
constexpr std::size_t oversize_preview = 200;

}  // namespace

std::string encode(const message& m) {
    boost::json::object o = m.properties;
    o["type"] = m.type;
    std::string out = "~";
    out += sw::json::to_sorted_json(o);
    out += '\n';
    return out;
}

namespace {

// The parsed JSON of a framed line (an error `ec` from the parse) as a message.
bool decode_parsed(boost::json::value&& v, boost::system::error_code ec, message& out,
                   std::string& why) {
    if (ec) {
        why = "invalid JSON: " + ec.message();
        return false;
    }
    auto* obj = v.if_object();
    if (!obj) {  // cannot happen for text in braces, but never trust it
        why = "invalid JSON: not an object";
        return false;
    }
    auto it = obj->find("type");
    if (it == obj->end()) {
        why = "Message has no 'type' property";
        return false;
    }
    if (!it->value().is_string()) {
        why = "Message 'type' property is not a string";
        return false;
    }
    out.type = std::string(it->value().get_string());
    obj->erase(it);
    out.properties = std::move(*obj);  // a move when both share the storage, else a copy
    return true;
}

}  // namespace

bool decode_line(std::string_view line, message& out, std::string& why) {
    line = trim(line);
    if (!framed(line)) {
        why = "not a protocol message";
        return false;
    }
    boost::system::error_code ec;
    boost::json::value v = sw::json::parse(line.substr(1), ec);
    return decode_parsed(std::move(v), ec, out, why);
}

line_decoder::line_decoder(handlers h, std::size_t max_line)
    : h_(std::move(h)),
      max_line_(std::max<std::size_t>(max_line, 1)),
      parser_(boost::json::storage_ptr(), sw::json::parse_options()) {}

void line_decoder::feed(std::string_view bytes) {
    // Only a line that straddles two reads is copied (into buf_); every line that lies whole in
    // `bytes` is handed on as a view of it. memchr finds the line ends.
    while (!bytes.empty()) {
        const char* nlp = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
        const std::size_t len = nlp ? static_cast<std::size_t>(nlp - bytes.data()) : bytes.size();
        const std::string_view piece = bytes.substr(0, len);
        if (skipping_) {
            skipped_ += piece.size();
        } else if (buf_.size() + piece.size() > max_line_) {
            // Too long: show its beginning now, count the rest, keep nothing.
            const std::size_t total = buf_.size() + piece.size();
            const std::size_t shown = std::min({oversize_preview, max_line_, total});
            std::string preview = buf_.substr(0, shown);
            if (preview.size() < shown) preview.append(piece.substr(0, shown - preview.size()));
            preview += "... (truncated)";
            skipped_ = total - shown;
            skipping_ = true;
            std::string().swap(buf_);  // release the memory of the partial line
            if (h_.on_text) h_.on_text(preview);
        } else if (!nlp) {
            buf_.append(piece);  // a partial line: wait for its end
        } else if (buf_.empty()) {
            emit_line(piece);  // the common case: a whole line, no copy
        } else {
            buf_.append(piece);
            std::string line;
            line.swap(buf_);
            emit_line(line);
            // Reuse the allocation for the next partial line unless it was a big one.
            if (line.capacity() <= 64 * 1024) {
                line.clear();
                buf_.swap(line);
            }
        }
        if (!nlp) break;
        if (skipping_) {
            skipping_ = false;
            const auto n = skipped_;
            skipped_ = 0;
            if (h_.on_oversize) h_.on_oversize(n);
        }
        bytes.remove_prefix(len + 1);
    }
}

void line_decoder::finish() {
    if (skipping_) {
        skipping_ = false;
        const auto n = skipped_;
        skipped_ = 0;
        if (h_.on_oversize) h_.on_oversize(n);
        return;
    }
    std::string rest;
    rest.swap(buf_);
    const auto text = trim(rest);
    // A partial line is never treated as a message: the worker did not finish writing it.
    if (!text.empty() && h_.on_text) h_.on_text(text);
}

void line_decoder::emit_line(std::string_view line) {
    line = trim(line);
    if (!framed(line)) {  // most worker output: no message to build, no reason to word
        if (h_.on_text) h_.on_text(line);
        return;
    }
    boost::json::storage_ptr sp;
    if (h_.transient_messages) {
        // The previous line's message is gone (its handler has returned): reuse the arena.
        parser_.reset();  // nothing of the previous line (even a failed one) left in the arena
        arena_.emplace(arena_buf_, sizeof arena_buf_);
        sp = boost::json::storage_ptr(&*arena_);
    }
    message m{std::string(), boost::json::object(sp)};  // its properties: in the arena or not
    std::string why;
    bool ok = false;
    if (h_.transient_messages) {
        // Parsed as decode_line does (the same options), without its allocations.
        parser_.reset(sp);
        boost::system::error_code ec;
        parser_.write(line.data() + 1, line.size() - 1, ec);
        ok = decode_parsed(ec ? boost::json::value() : parser_.release(), ec, m, why);
    } else {
        ok = decode_line(line, m, why);
    }
    if (ok) {
        if (h_.on_message) h_.on_message(std::move(m));
    } else if (h_.on_text) {
        h_.on_text(line);
    }
}

capabilities::capabilities(std::initializer_list<std::string_view> caps) {
    for (auto c : caps) add(c);
}

capabilities capabilities::from_list(std::vector<std::string> caps) {
    std::sort(caps.begin(), caps.end());
    caps.erase(std::unique(caps.begin(), caps.end()), caps.end());
    capabilities out;
    out.caps_ = std::move(caps);
    return out;
}

void capabilities::add(std::string_view c) {
    auto it = std::lower_bound(caps_.begin(), caps_.end(), c);
    if (it == caps_.end() || *it != c) caps_.insert(it, std::string(c));
}

void capabilities::remove(std::string_view c) {
    auto it = std::lower_bound(caps_.begin(), caps_.end(), c);
    if (it != caps_.end() && *it == c) caps_.erase(it);
}

bool capabilities::has(std::string_view c) const {
    return std::binary_search(caps_.begin(), caps_.end(), c);
}

capabilities capabilities::intersect(const capabilities& other) const {
    capabilities out;
    std::set_intersection(caps_.begin(), caps_.end(), other.caps_.begin(), other.caps_.end(),
                          std::back_inserter(out.caps_));
    return out;
}

message negotiation::welcome() const {
    boost::json::array caps;
    for (const auto& c : local_.list()) caps.emplace_back(c);
    message m;
    m.type = "welcome";
    m.properties["capabilities"] = std::move(caps);
    return m;
}

bool negotiation::on_hello(const message& hello) {
    initialized_ = true;
    remote_ = capabilities{};
    const auto* v = hello.properties.if_contains("capabilities");
    if (!v || !v->is_array()) return false;
    // A hello line may hold ~140,000 short capabilities: one sort, not a sorted insertion each.
    std::vector<std::string> got;
    got.reserve(v->get_array().size());
    for (const auto& e : v->get_array()) {
        if (!e.is_string()) return false;
        got.emplace_back(e.get_string());
    }
    remote_ = capabilities::from_list(std::move(got));
    return true;
}

void negotiation::on_timeout() {
    initialized_ = true;
}

bool negotiation::capable(std::string_view c) const {
    return initialized_ && local_.has(c) && remote_.has(c);
}

}  // namespace sw::protocol
