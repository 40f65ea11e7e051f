#include "lib/log/log.hpp"

#include "lib/json/worker_config.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace sw::log {

namespace {

constexpr std::string_view redacted = "<redacted>";
constexpr std::size_t min_secret_size = 4;

using capture_fn = std::function<void(level, std::string_view)>;

// Process-wide logging state. One mutex guards it; the common paths (no secrets, no capture)
// only read two atomics before taking it.
struct state {
    std::mutex mu;
    std::shared_ptr<spdlog::logger> logger;
    std::vector<std::string> secrets;  // sorted, unique
    std::shared_ptr<const capture_fn> capture;
    std::atomic<bool> have_secrets{false};
    std::atomic<bool> debug_enabled{false};
};

state& st() {
    static state s;
    return s;
}

// Requires st().mu held.
void init_locked(state& s) {
    s.debug_enabled = std::getenv("START_WORKER_DEBUG") != nullptr;
    if (s.logger) return;
    // The Go runner: log.New(os.Stderr, "", LstdFlags), local time, no level prefix.
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s.logger = std::make_shared<spdlog::logger>("start-worker", std::move(sink));
    s.logger->set_pattern("%Y/%m/%d %H:%M:%S %v", spdlog::pattern_time_type::local);
    s.logger->set_level(spdlog::level::trace);
    s.logger->flush_on(spdlog::level::trace);
}

spdlog::level::level_enum to_spdlog(level l) {
    switch (l) {
        case level::debug:
            return spdlog::level::debug;
        case level::info:
            return spdlog::level::info;
        case level::warn:
            return spdlog::level::warn;
        case level::error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

void add_one_secret(state& s, std::string secret) {
    if (secret.size() < min_secret_size) return;
    auto it = std::lower_bound(s.secrets.begin(), s.secrets.end(), secret);
    if (it != s.secrets.end() && *it == secret) return;
    s.secrets.insert(it, std::move(secret));
}

// `text` as it appears inside a JSON string: without the surrounding quotes.
std::string json_escaped(std::string quoted) {
    if (quoted.size() >= 2) quoted = quoted.substr(1, quoted.size() - 2);
    return quoted;
}

}  // namespace

void init() {
    auto& s = st();
    std::lock_guard lock(s.mu);
    init_locked(s);
}

void add_secret(std::string_view secret) {
    if (secret.size() < min_secret_size) return;
    auto& s = st();
    std::lock_guard lock(s.mu);
    add_one_secret(s, std::string(secret));
    // A secret also appears escaped when it is part of JSON text (a certificate inside a
    // config dump, a token with a quote or a '<' in it): redact those spellings too.
    add_one_secret(s, json_escaped(boost::json::serialize(boost::json::string(secret))));
    add_one_secret(s, json_escaped(sw::json::to_sorted_json(boost::json::string(secret))));
    s.have_secrets = !s.secrets.empty();
}

std::string redact(std::string_view msg) {
    auto& s = st();
    if (!s.have_secrets.load(std::memory_order_acquire)) return std::string(msg);

    // Collect the byte ranges covered by any secret, then replace each maximal covered range
    // once. Overlapping or adjacent secrets therefore never leave a fragment behind.
    std::vector<std::pair<std::size_t, std::size_t>> hits;
    {
        std::lock_guard lock(s.mu);
        for (const auto& secret : s.secrets) {
            bool had_hit = false;  // hits.back() is this secret's previous occurrence
            for (auto pos = msg.find(secret); pos != std::string_view::npos;
                 pos = msg.find(secret, pos + 1)) {
                const std::size_t end = pos + secret.size();
                if (had_hit && pos <= hits.back().second)
                    hits.back().second = end;  // overlaps it ("aaaa" in "aaaaaa")
                else
                    hits.emplace_back(pos, end);
                had_hit = true;
            }
        }
    }
    if (hits.empty()) return std::string(msg);
    std::sort(hits.begin(), hits.end());
    std::string out;
    out.reserve(msg.size());
    std::size_t done = 0;  // bytes of msg already handled
    std::size_t i = 0;
    while (i < hits.size()) {
        std::size_t begin = hits[i].first;
        std::size_t end = hits[i].second;
        for (++i; i < hits.size() && hits[i].first <= end; ++i) end = std::max(end, hits[i].second);
        out.append(msg.substr(done, begin - done));
        out.append(redacted);
        done = end;
    }
    out.append(msg.substr(done));
    return out;
}

void write(level lvl, std::string_view msg) {
    // Go's log writes one message per call; its trailing newlines are not part of it.
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.remove_suffix(1);
    const std::string line = redact(msg);

    auto& s = st();
    std::shared_ptr<const capture_fn> capture;
    std::shared_ptr<spdlog::logger> logger;
    {
        std::lock_guard lock(s.mu);
        capture = s.capture;
        if (!capture) {
            init_locked(s);
            logger = s.logger;
        }
    }
    // A capture hook receives every level (tests assert debug lines too) instead of stderr.
    if (capture) {
        (*capture)(lvl, line);
        return;
    }
    if (lvl == level::debug && !s.debug_enabled.load(std::memory_order_relaxed)) return;
    logger->log(to_spdlog(lvl), spdlog::string_view_t(line.data(), line.size()));
}

void structured(const boost::json::object& body) {
    write(level::info, to_unstructured(body));
}

std::string to_unstructured(const boost::json::object& body) {
    std::string text_payload;
    std::vector<const boost::json::key_value_pair*> others;
    others.reserve(body.size());
    for (const auto& kv : body) {
        if (kv.key() == "textPayload" && kv.value().is_string()) {
            text_payload = std::string(kv.value().get_string());
            continue;
        }
        others.push_back(&kv);
    }
    std::sort(others.begin(), others.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });

    std::string out = text_payload;
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
    if (out.empty()) return "{}";
    return out;
}

void set_capture(std::function<void(level, std::string_view)> fn) {
    auto& s = st();
    std::lock_guard lock(s.mu);
    if (fn)
        s.capture = std::make_shared<const capture_fn>(std::move(fn));
    else
        s.capture.reset();
}

}  // namespace sw::log
