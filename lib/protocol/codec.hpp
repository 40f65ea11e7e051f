#pragma once
// The worker-runner protocol's framing (reference 10.1): one message per line, "~" + a JSON
// object with a string "type" + "\n". Sans-io: bytes in, messages and plain lines out.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::protocol {

struct message {
    std::string type;
    boost::json::object properties;  ///< every key but "type"
};

/// "~{...}\n" with keys sorted, "type" included.
std::string encode(const message& m);

/// Parses one line (without its '\n'; surrounding white space trimmed). Returns false for
/// anything that is not a valid message, with `why` set.
bool decode_line(std::string_view line, message& out, std::string& why);

/// Splits a byte stream into lines and classifies them. A line longer than `max_line` is not
/// buffered: its first bytes (at most 200) are passed to on_text marked "... (truncated)", the
/// rest is skipped until the next newline and its size passed to on_oversize, so memory stays
/// bounded whatever the worker writes. Blank lines are passed to on_text as "" (as the Go
/// runner logs them).
class line_decoder {
  public:
    struct handlers {
        std::function<void(message&&)> on_message;
        /// A line that is not a protocol message (logged as unstructured text).
        std::function<void(std::string_view line)> on_text;
        /// A line was too long; `skipped` bytes were dropped.
        std::function<void(std::size_t skipped)> on_oversize;
        /// True: each message is built in the decoder's arena, reused by the next line, so it
        /// costs no allocation but lives only until on_message returns. The handler must copy
        /// what it keeps into storage of its own (copy-assign into an existing object, or
        /// construct with an explicit storage_ptr: a Boost.JSON copy or move constructor shares
        /// the source's storage). False: messages own their memory.
        bool transient_messages = false;
    };

    explicit line_decoder(handlers h, std::size_t max_line = 1024 * 1024);

    void feed(std::string_view bytes);
    /// End of stream: a trailing partial line is passed on as text (not dropped silently).
    void finish();

  private:
    void emit_line(std::string_view line);

    handlers h_;
    std::size_t max_line_;
    std::string buf_;
    bool skipping_ = false;
    std::size_t skipped_ = 0;
    // Reused from line to line: the parser keeps its stack, and each message is built in the
    // arena (this buffer first; more blocks only for a large message, freed at the next line).
    // The arena is made anew for each line, not release()d: Boost.JSON 1.81's release() keeps
    // the grown block size, so after some large messages the next block requested doubled
    // without bound (std::bad_alloc after 17 messages of 200 KB).
    alignas(std::max_align_t) unsigned char arena_buf_[4096];
    std::optional<boost::json::monotonic_resource> arena_;
    boost::json::parser parser_;
};

/// The capability set of one side, sorted and unique.
class capabilities {
  public:
    capabilities() = default;
    capabilities(std::initializer_list<std::string_view> caps);
    /// From any list (duplicates allowed): O(n log n), whatever the order (issue 14, item 6).
    static capabilities from_list(std::vector<std::string> caps);
    /// O(size) per call: for building small sets one by one.
    void add(std::string_view c);
    void remove(std::string_view c);
    bool has(std::string_view c) const;
    capabilities intersect(const capabilities& other) const;
    const std::vector<std::string>& list() const { return caps_; }

  private:
    std::vector<std::string> caps_;
};

/// Negotiation state (reference 10.2), sans-io. The runner sends welcome with its capabilities;
/// the worker's hello sets the remote list. Until hello (or a timeout, after which the worker is
/// assumed to have none) capable() is false, and callers must not block on it.
class negotiation {
  public:
    explicit negotiation(capabilities local) : local_(std::move(local)) {}
    message welcome() const;
    /// Handles a hello; returns false (and logs nothing itself) if `capabilities` is not a list
    /// of strings, in which case the worker is treated as having none.
    bool on_hello(const message& hello);
    void on_timeout();
    bool initialized() const { return initialized_; }
    bool capable(std::string_view c) const;
    const capabilities& local() const { return local_; }
    const capabilities& remote() const { return remote_; }

  private:
    capabilities local_;
    capabilities remote_;
    bool initialized_ = false;
};

}  // namespace sw::protocol
