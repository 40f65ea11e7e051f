// libFuzzer target: the worker-runner protocol (what a hostile worker writes on stdout): the
// line splitter with a small line limit, message decoding, capability negotiation, and the
// encoder (a decoded message re-encodes to a line that decodes to the same message).
#include "lib/protocol/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    sw::protocol::negotiation nego({"error-report", "graceful-termination", "log",
                                    "new-credentials", "shutdown", "autologin"});
    sw::protocol::line_decoder::handlers h;
    h.on_message = [&](sw::protocol::message&& m) {
        if (m.type == "hello") (void)nego.on_hello(m);
        const std::string line = sw::protocol::encode(m);
        sw::protocol::message again;
        std::string why;
        std::string_view body(line);
        body.remove_suffix(1);  // the '\n'
        if (!sw::protocol::decode_line(body, again, why) || again.type != m.type ||
            again.properties != m.properties)
            std::abort();  // the encoder wrote what the decoder refuses or changes
    };
    h.on_text = [](std::string_view) {};
    h.on_oversize = [](std::size_t) {};
    sw::protocol::line_decoder dec(std::move(h), 4096);
    // Fed in uneven pieces, as a pipe delivers them.
    std::size_t pos = 0, step = 1;
    while (pos < bytes.size()) {
        const auto n = std::min(step, bytes.size() - pos);
        dec.feed(bytes.substr(pos, n));
        pos += n;
        step = step * 3 % 17 + 1;
    }
    dec.finish();
    (void)nego.capable("log");
    return 0;
}
