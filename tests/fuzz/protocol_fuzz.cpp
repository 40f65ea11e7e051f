// libFuzzer target: the worker-runner protocol (what a hostile worker writes on stdout): the
// line splitter with a small line limit, message decoding, capability negotiation, and the
// encoder (a decoded message re-encodes to a line that decodes to the same message).
#include "lib/protocol/codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

/// Equal JSON, numbers by value (within a relative 1e-12). Two things change a number's form
/// without changing what it means, both found by this target: the encoder writes Go's plain
/// decimal for 1e-6 <= |d| < 1e21, so the double 1.111111111111111E17 comes back as the integer
/// 111111111111111104 (Go's decoder reads every number as float64); and Boost.JSON 1.81 parses
/// with its fast, imprecise conversion, so 1111111111111111111111 written back in its shortest
/// form may read back a few ulps off. Everything else must survive the round trip exactly.
bool same(const boost::json::value& a, const boost::json::value& b) {
    // A number beyond a double's range (11111111111111e1111111) parses as infinity, which JSON
    // cannot carry: the encoder writes null (lib/json/worker_config.cpp format_number).
    if (a.is_double() && !std::isfinite(a.get_double())) return b.is_null();
    if (b.is_double() && !std::isfinite(b.get_double())) return a.is_null();
    if (a.is_number() && b.is_number()) {
        const double x = a.to_number<double>(), y = b.to_number<double>();
        const double scale = std::max(std::fabs(x), std::fabs(y));
        return x == y || std::fabs(x - y) <= scale * 1e-12;
    }
    if (a.kind() != b.kind()) return false;
    if (a.is_object()) {
        const auto &oa = a.get_object(), &ob = b.get_object();
        if (oa.size() != ob.size()) return false;
        for (const auto& kv : oa) {
            const auto* other = ob.if_contains(kv.key());
            if (!other || !same(kv.value(), *other)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        const auto &xa = a.get_array(), &xb = b.get_array();
        if (xa.size() != xb.size()) return false;
        for (std::size_t i = 0; i < xa.size(); ++i)
            if (!same(xa[i], xb[i])) return false;
        return true;
    }
    return a == b;
}

}  // namespace

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
            !same(again.properties, m.properties))
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
