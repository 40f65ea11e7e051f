#include "lib/log/formats.hpp"

#include "lib/json/worker_config.hpp"

#include <boost/json/serializer.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <spdlog/details/os.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <vector>

namespace sw::log {

namespace {

using spdlog::memory_buf_t;
using spdlog::details::log_msg;

void append(memory_buf_t& dest, std::string_view s) {
    dest.append(s.data(), s.data() + s.size());
}

/// How many bytes at the front of `s` a terminal acts on rather than shows: 1 for a C0 control
/// other than tab and newline, or DEL; 2 for a C1 control in UTF-8 (U+0080..U+009F: C2 80..9F,
/// such as CSI U+009B); 0 for anything else.
std::size_t terminal_control_at(std::string_view s) {
    const auto u = static_cast<unsigned char>(s[0]);
    if ((u < 0x20 && u != '\t' && u != '\n') || u == 0x7f) return 1;
    if (u == 0xc2 && s.size() > 1) {
        const auto v = static_cast<unsigned char>(s[1]);
        if (v >= 0x80 && v <= 0x9f) return 2;
    }
    return 0;
}

/// Bytes that may start a terminal control (see terminal_control_at): one table lookup per
/// byte on the log's hot path, where almost no line has any.
constexpr std::array<bool, 256> control_start = [] {
    std::array<bool, 256> t{};
    for (int b = 0; b < 0x20; ++b) t[static_cast<std::size_t>(b)] = b != '\t' && b != '\n';
    t[0x7f] = true;
    t[0xc2] = true;
    return t;
}();

/// Appends `s` for a text destination (stdio, syslog) to `dest` (a std::string or spdlog's
/// buffer), each byte of a terminal control written as "\xNN": a worker's text cannot move
/// the cursor, clear the screen or overwrite a line (issue 14, item 10). Newlines and tabs
/// stay, as the Go runner writes them.
template <class Buffer>
void append_text(Buffer& dest, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t plain = 0;  // bytes at the front of `s` already judged plain
    while (plain < s.size()) {
        if (!control_start[static_cast<unsigned char>(s[plain])]) {
            ++plain;
            continue;
        }
        const std::size_t n = terminal_control_at(s.substr(plain));
        if (n == 0) {
            ++plain;
            continue;
        }
        dest.append(s.data(), s.data() + plain);
        for (std::size_t i = 0; i < n; ++i) {
            const auto u = static_cast<unsigned char>(s[plain + i]);
            const char esc[4] = {'\\', 'x', hex[u >> 4], hex[u & 15]};
            dest.append(esc, esc + 4);
        }
        s.remove_prefix(plain + n);
        plain = 0;
    }
    dest.append(s.data(), s.data() + s.size());
}

void append_json(memory_buf_t& dest, const boost::json::value& v) {
    boost::json::serializer sr;
    sr.reset(&v);
    char buf[4096];
    while (!sr.done()) append(dest, sr.read(buf));
}

std::string_view json_level(spdlog::level::level_enum l) {
    switch (l) {
        case spdlog::level::trace:
        case spdlog::level::debug:
            return "debug";
        case spdlog::level::info:
            return "info";
        case spdlog::level::warn:
            return "warning";
        default:
            return "error";
    }
}

// syslog severities (RFC 5424 6.2.1), as journald's PRIORITY too.
int severity(spdlog::level::level_enum l) {
    switch (l) {
        case spdlog::level::trace:
        case spdlog::level::debug:
            return 7;
        case spdlog::level::info:
            return 6;
        case spdlog::level::warn:
            return 4;
        case spdlog::level::err:
            return 3;
        default:
            return 2;
    }
}

std::time_t seconds_of(const log_msg& m) {
    return spdlog::log_clock::to_time_t(m.time);
}

// "YYYY/MM/DD HH:MM:SS <message>\n": the prefix rendered once per second (spdlog's
// pattern_formatter renders each field per record; this is the log's hot path).
class stdio_formatter final : public spdlog::formatter {
  public:
    void format(const log_msg& msg, memory_buf_t& dest) override {
        const auto secs = seconds_of(msg);
        if (secs != cached_secs_) {
            const std::tm tm = spdlog::details::os::localtime(secs);
            cached_size_ = std::strftime(cached_, sizeof cached_, "%Y/%m/%d %H:%M:%S ", &tm);
            cached_secs_ = secs;
        }
        dest.append(cached_, cached_ + cached_size_);
        if (const auto* fields = current_fields()) {
            to_unstructured_into(*fields, scratch_);
            append_text(dest, scratch_);
            if (scratch_.capacity() > (1u << 20)) scratch_ = std::string{};
        } else
            append_text(dest, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<stdio_formatter>();
    }

  private:
    std::time_t cached_secs_ = -1;
    char cached_[40] = {};
    std::size_t cached_size_ = 0;
    std::string scratch_;  // a structured record's text, reused
};

class json_formatter final : public spdlog::formatter {
  public:
    explicit json_formatter(const identity_source* who) : who_(who) {}

    void format(const log_msg& msg, memory_buf_t& dest) override {
        boost::json::object o;
        o.reserve(8);
        o["time"] = time_text(msg);
        o["level"] = json_level(msg.level);
        o["msg"] = std::string_view(msg.payload.data(), msg.payload.size());
        if (who_) {
            const auto who = who_->get();
            if (!who->worker_pool_id.empty()) o["workerPoolId"] = who->worker_pool_id;
            if (!who->worker_group.empty()) o["workerGroup"] = who->worker_group;
            if (!who->worker_id.empty()) o["workerId"] = who->worker_id;
        }
        if (const auto* fields = current_fields()) {
            for (const auto& kv : *fields) {
                if (kv.key() == "textPayload" && kv.value().is_string()) continue;  // it is msg
                if (o.contains(kv.key()))
                    o[std::string("worker.") + std::string(kv.key())] = kv.value();
                else
                    o[kv.key()] = kv.value();
            }
        }
        append_json(dest, o);
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_formatter>(who_);
    }

  private:
    // "2026-11-30T01:02:03.456Z": the seconds cached, the milliseconds per record.
    std::string_view time_text(const log_msg& msg) {
        const auto secs = seconds_of(msg);
        if (secs != cached_secs_) {
            const std::tm tm = spdlog::details::os::gmtime(secs);
            cached_size_ = std::strftime(cached_, sizeof cached_, "%Y-%m-%dT%H:%M:%S", &tm);
            cached_secs_ = secs;
        }
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch())
                .count() %
            1000;
        const auto m = static_cast<int>(ms < 0 ? ms + 1000 : ms);
        char* p = cached_ + cached_size_;
        p[0] = '.';
        p[1] = static_cast<char>('0' + m / 100);
        p[2] = static_cast<char>('0' + m / 10 % 10);
        p[3] = static_cast<char>('0' + m % 10);
        p[4] = 'Z';
        return {cached_, cached_size_ + 5};
    }

    const identity_source* who_;
    std::time_t cached_secs_ = -1;
    char cached_[40] = {};
    std::size_t cached_size_ = 0;
};

// One field of the native protocol: "NAME=value\n", or for a value with a newline
// "NAME\n" + 64-bit little-endian length + value + "\n".
void journal_field(memory_buf_t& dest, std::string_view name, std::string_view value) {
    append(dest, name);
    if (value.find('\n') == std::string_view::npos) {
        dest.push_back('=');
        append(dest, value);
    } else {
        dest.push_back('\n');
        std::uint64_t n = value.size();
        for (int i = 0; i < 8; ++i) {
            dest.push_back(static_cast<char>(n & 0xff));
            n >>= 8;
        }
        append(dest, value);
    }
    dest.push_back('\n');
}

// "WORKER_" + the key upper-cased, characters outside [A-Z0-9_] as '_', at most 64 bytes.
std::string journal_name(std::string_view key) {
    std::string name = "WORKER_";
    for (char c : key) {
        if (name.size() >= 64) break;
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        name.push_back(ok ? c : '_');
    }
    return name;
}

class journald_formatter final : public spdlog::formatter {
  public:
    explicit journald_formatter(const identity_source* who) : who_(who) {}

    void format(const log_msg& msg, memory_buf_t& dest) override {
        journal_field(dest, "MESSAGE", std::string_view(msg.payload.data(), msg.payload.size()));
        char prio[2] = {static_cast<char>('0' + severity(msg.level)), 0};
        journal_field(dest, "PRIORITY", std::string_view(prio, 1));
        journal_field(dest, "SYSLOG_IDENTIFIER", "start-worker");
        if (who_) {
            const auto who = who_->get();
            if (!who->worker_pool_id.empty())
                journal_field(dest, "WORKER_POOL_ID", who->worker_pool_id);
            if (!who->worker_group.empty()) journal_field(dest, "WORKER_GROUP", who->worker_group);
            if (!who->worker_id.empty()) journal_field(dest, "WORKER_ID", who->worker_id);
        }
        if (const auto* fields = current_fields()) {
            for (const auto& kv : *fields) {
                if (kv.key() == "textPayload" && kv.value().is_string()) continue;  // MESSAGE
                const auto name = journal_name(kv.key());
                if (kv.value().is_string())
                    journal_field(dest, name, kv.value().get_string());
                else
                    journal_field(dest, name, sw::json::to_sorted_json(kv.value()));
            }
        }
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<journald_formatter>(who_);
    }

  private:
    const identity_source* who_;
};

class syslog_formatter final : public spdlog::formatter {
  public:
    explicit syslog_formatter(int pid) : pid_(pid) {}

    void format(const log_msg& msg, memory_buf_t& dest) override {
        constexpr int facility_daemon = 3;
        const auto secs = seconds_of(msg);
        if (secs != cached_secs_) {
            static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
            const std::tm tm = spdlog::details::os::localtime(secs);
            // "Mmm dd hh:mm:ss": the day space-padded (RFC 3164 4.1.2).
            stamp_ = fmt::format("{} {:2} {:02}:{:02}:{:02}", months[tm.tm_mon % 12], tm.tm_mday,
                                 tm.tm_hour, tm.tm_min, tm.tm_sec);
            cached_secs_ = secs;
        }
        append(dest, fmt::format("<{}>{} start-worker[{}]: ",
                                 facility_daemon * 8 + severity(msg.level), stamp_, pid_));
        std::string_view raw(msg.payload.data(), msg.payload.size());
        std::string rendered;
        if (const auto* fields = current_fields()) raw = rendered = to_unstructured(*fields);
        // Escaped first, then cut: an escape makes a byte four, and the limit is on what is sent.
        std::string text;
        append_text(text, raw);
        if (text.size() > max_syslog_message) {
            std::size_t cut = max_syslog_message;
            while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
            // Not inside a "\xNN" escape either.
            for (std::size_t back = 1; back <= 3 && back <= cut; ++back)
                if (text[cut - back] == '\\' && text[cut - back + 1] == 'x') {
                    cut -= back;
                    break;
                }
            append(dest, std::string_view(text).substr(0, cut));
            append(dest, truncated_marker);
        } else {
            append(dest, text);
        }
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<syslog_formatter>(pid_);
    }

  private:
    int pid_;
    std::time_t cached_secs_ = -1;
    std::string stamp_;
};

// Reads one native-protocol field at the front of `e`; false when malformed.
bool next_journal_field(std::string_view& e, std::string_view& name, std::string_view& value) {
    const auto eol = e.find_first_of("=\n");
    if (eol == std::string_view::npos) return false;
    name = e.substr(0, eol);
    if (e[eol] == '=') {
        const auto end = e.find('\n', eol);
        if (end == std::string_view::npos) return false;
        value = e.substr(eol + 1, end - eol - 1);
        e.remove_prefix(end + 1);
        return true;
    }
    if (e.size() < eol + 1 + 8) return false;
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(e[eol + 1 + i]);
    const std::size_t start = eol + 1 + 8;
    if (n > e.size() - start || e.size() - start - n < 1) return false;
    value = e.substr(start, n);
    e.remove_prefix(start + n + 1);
    return true;
}

}  // namespace

std::shared_ptr<const identity> identity_source::get() const {
    std::lock_guard lock(mu_);
    return current_;
}

void identity_source::set(identity who) {
    auto next = std::make_shared<const identity>(std::move(who));
    std::lock_guard lock(mu_);
    current_ = std::move(next);
}

const boost::json::object*& current_fields() {
    thread_local const boost::json::object* fields = nullptr;
    return fields;
}

void to_unstructured_into(const boost::json::object& body, std::string& out) {
    out.clear();
    // Kept by each thread: no allocation per record once it has grown.
    thread_local std::vector<const boost::json::key_value_pair*> others;
    others.clear();
    std::string_view text_payload;
    for (const auto& kv : body) {
        if (kv.key() == "textPayload" && kv.value().is_string()) {
            text_payload = kv.value().get_string();
            continue;
        }
        others.push_back(&kv);
    }
    std::sort(others.begin(), others.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });

    out.append(text_payload);
    std::string_view sep = text_payload.empty() ? "" : "; ";
    for (const auto* kv : others) {
        out += sep;
        out += kv->key();
        out += ": ";
        if (kv->value().is_string())
            out += kv->value().get_string();
        else
            out += sw::json::to_sorted_json(kv->value());
        sep = "; ";
    }
    if (out.empty()) out = "{}";
    if (others.capacity() > 1024) others = {};  // a huge record does not stay
}

std::string to_unstructured(const boost::json::object& body) {
    std::string out;
    to_unstructured_into(body, out);
    return out;
}

std::unique_ptr<spdlog::formatter> make_stdio_formatter() {
    return std::make_unique<stdio_formatter>();
}
std::unique_ptr<spdlog::formatter> make_json_formatter(const identity_source* who) {
    return std::make_unique<json_formatter>(who);
}
std::unique_ptr<spdlog::formatter> make_journald_formatter(const identity_source* who) {
    return std::make_unique<journald_formatter>(who);
}
std::unique_ptr<spdlog::formatter> make_syslog_formatter(int pid) {
    return std::make_unique<syslog_formatter>(pid);
}

std::string truncate_journald_entry(std::string_view entry) {
    std::string_view message, priority = "6";
    std::string_view name, value;
    while (!entry.empty() && next_journal_field(entry, name, value)) {
        if (name == "MESSAGE") message = value;
        if (name == "PRIORITY") priority = value;
    }
    constexpr std::size_t keep = 4096;
    std::string_view kept = message.substr(0, keep);
    if (message.size() > keep) {
        // Never half a UTF-8 sequence: back off while the first byte cut away continues one.
        std::size_t n = keep;
        while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
        kept = message.substr(0, n);
    }
    std::string cut(kept);
    cut.append(truncated_marker);
    memory_buf_t out;
    journal_field(out, "MESSAGE", cut);
    journal_field(out, "PRIORITY", priority);
    journal_field(out, "SYSLOG_IDENTIFIER", "start-worker");
    return std::string(out.data(), out.size());
}

}  // namespace sw::log
