#include "lib/common/clock.hpp"

#include <cctype>
#include <cstdio>

namespace sw {

const clock& real_clock() {
    static const system_clock_source c;
    return c;
}

const monotonic_clock& real_monotonic_clock() {
    static const steady_clock_source c;
    return c;
}

std::string format_rfc3339_ms(time_point t) {
    using namespace std::chrono;
    // The civil calendar of <chrono> (no gmtime_r); floor, so that times before 1970 keep a
    // positive millisecond field.
    const auto ms = floor<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    char buf[64];
    // At most 27 characters (a chrono::year has at most 5 digits and a sign): never truncated,
    // and the format has no conversion that can fail.
    (void)std::snprintf(
        buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
        static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    return buf;
}

namespace {
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}
}  // namespace

bool parse_rfc3339(std::string_view s, time_point& out) {
    using namespace std::chrono;
    int Y, M, D, h, m, sec;
    if (!digits(s, 0, 4, Y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, M) || s[7] != '-' ||
        !digits(s, 8, 2, D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, m) || s[16] != ':' ||
        !digits(s, 17, 2, sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return false;
    std::size_t pos = 19;
    long long frac_ns = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        long long scale = 100000000;
        std::size_t start = pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
            frac_ns += (s[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return false;
    }
    int offset_min = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !digits(s, pos + 4, 2, om))
            return false;
        offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return false;
    }
    if (pos != s.size()) return false;
    const year_month_day ymd{year{Y}, month{static_cast<unsigned>(M)},
                             day{static_cast<unsigned>(D)}};
    if (!ymd.ok()) return false;
    // In seconds (64 bits hold any year 0000-9999), clamped before the conversion to the
    // clock's nanoseconds, which would overflow past 2262.
    const sys_seconds tp =
        sys_days{ymd} + hours{h} + minutes{m} + seconds{sec} - minutes{offset_min};
    if (tp < time_point_cast<seconds>(earliest_instant())) {
        out = earliest_instant();
    } else if (tp >= time_point_cast<seconds>(latest_instant())) {
        out = latest_instant();
    } else {
        out = time_point{
            duration_cast<wall_clock::duration>(tp.time_since_epoch() + nanoseconds{frac_ns})};
    }
    return true;
}

time_point earliest_instant() {
    using namespace std::chrono;
    return time_point_cast<wall_clock::duration>(sys_days{year{1900} / January / 1});
}

time_point latest_instant() {
    using namespace std::chrono;
    return time_point_cast<wall_clock::duration>(sys_days{year{2200} / January / 1});
}

}  // namespace sw
