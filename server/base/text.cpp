#include "base/text.h"

#include <array>
#include <charconv>

namespace day2::text {

bool isValidUtf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        // ASCII fast path, eight bytes at a time.
        while (end - p >= 8) {
            uint64_t w;
            __builtin_memcpy(&w, p, 8);
            if (w & 0x8080808080808080ULL)
                break;
            p += 8;
        }
        if (p >= end)
            break;
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int n;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (end - p <= n)
            return false;
        for (int i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return true;
}

namespace {

// SWAR: a byte of `w` needs escaping in JSON (< 0x20, '"' or '\\').
inline bool needsEscape8(uint64_t w) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    auto hasZero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    const uint64_t below20 = (w - kOnes * 0x20) & ~w & kHigh;
    return (below20 | hasZero(w ^ (kOnes * '"')) | hasZero(w ^ (kOnes * '\\'))) != 0;
}

inline bool needsEscape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

} // namespace

void appendJsonEscaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    const char* p = s.data();
    const char* const end = p + s.size();
    const char* run = p;
    while (p < end) {
        // Skip eight clean bytes at a time; most log text has nothing to escape.
        while (end - p >= 8) {
            uint64_t w;
            __builtin_memcpy(&w, p, 8);
            if (needsEscape8(w))
                break;
            p += 8;
        }
        while (p < end && !needsEscape(static_cast<unsigned char>(*p)))
            ++p;
        if (p >= end)
            break;
        out.append(run, static_cast<size_t>(p - run));
        const auto c = static_cast<unsigned char>(*p);
        switch (c) {
        case '"':
            out.append("\\\"", 2);
            break;
        case '\\':
            out.append("\\\\", 2);
            break;
        case '\n':
            out.append("\\n", 2);
            break;
        case '\r':
            out.append("\\r", 2);
            break;
        case '\t':
            out.append("\\t", 2);
            break;
        case '\b':
            out.append("\\b", 2);
            break;
        case '\f':
            out.append("\\f", 2);
            break;
        default: {
            const char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
            out.append(buf, 6);
        }
        }
        run = ++p;
    }
    out.append(run, static_cast<size_t>(end - run));
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

void appendBase64(std::string& out, std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    size_t n = bytes.size();
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
        out += kB64[(v >> 18) & 63];
        out += kB64[(v >> 12) & 63];
        out += kB64[(v >> 6) & 63];
        out += kB64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = uint32_t{p[i]} << 16;
        out += kB64[(v >> 18) & 63];
        out += kB64[(v >> 12) & 63];
        out += "==";
    } else if (n - i == 2) {
        uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
        out += kB64[(v >> 18) & 63];
        out += kB64[(v >> 12) & 63];
        out += kB64[(v >> 6) & 63];
        out += '=';
    }
}

std::optional<std::string> decodeBase64(std::string_view text) {
    std::array<int, 256> map{};
    map.fill(-1);
    for (int i = 0; i < 64; ++i)
        map[static_cast<unsigned char>(kB64[i])] = i;
    if (text.size() % 4 != 0)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = text[i + k];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                v[k] = 0;
                ++pad;
            } else {
                if (pad)
                    return std::nullopt;
                v[k] = map[static_cast<unsigned char>(c)];
                if (v[k] < 0)
                    return std::nullopt;
            }
        }
        uint32_t w = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                     uint32_t(v[3]);
        out += static_cast<char>((w >> 16) & 0xFF);
        if (pad < 2)
            out += static_cast<char>((w >> 8) & 0xFF);
        if (pad < 1)
            out += static_cast<char>(w & 0xFF);
    }
    return out;
}

namespace {

// Howard Hinnant's civil calendar algorithms.
struct Civil {
    int64_t y;
    unsigned m, d;
};

Civil civilFromDays(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void appendDigits(std::string& out, uint64_t v, int width) {
    char buf[20];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    out.append(buf, static_cast<size_t>(width));
}

void appendDateTime(std::string& out, uint64_t sec) {
    const int64_t days = static_cast<int64_t>(sec / 86400);
    const uint64_t rem = sec % 86400;
    const Civil c = civilFromDays(days);
    appendDigits(out, static_cast<uint64_t>(c.y), 4);
    out += '-';
    appendDigits(out, c.m, 2);
    out += '-';
    appendDigits(out, c.d, 2);
    out += 'T';
    appendDigits(out, rem / 3600, 2);
    out += ':';
    appendDigits(out, rem / 60 % 60, 2);
    out += ':';
    appendDigits(out, rem % 60, 2);
}

} // namespace

void appendRfc3339Micros(std::string& out, uint64_t usec) {
    appendDateTime(out, usec / 1000000);
    out += '.';
    appendDigits(out, usec % 1000000, 6);
    out += 'Z';
}

std::string rfc3339Seconds(uint64_t sec) {
    std::string out;
    appendDateTime(out, sec);
    out += 'Z';
    return out;
}

std::optional<uint64_t> parseUnsigned(std::string_view text) {
    if (text.empty() || text.size() > 20)
        return std::nullopt;
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size())
        return std::nullopt;
    return v;
}

std::optional<uint64_t> parseTimestampMicros(std::string_view t) {
    if (!t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos)
        return parseUnsigned(t);
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
    auto num = [&](size_t pos, size_t len) -> std::optional<unsigned> {
        if (pos + len > t.size())
            return std::nullopt;
        unsigned v = 0;
        for (size_t i = pos; i < pos + len; ++i) {
            if (t[i] < '0' || t[i] > '9')
                return std::nullopt;
            v = v * 10 + static_cast<unsigned>(t[i] - '0');
        }
        return v;
    };
    if (t.size() < 20 || t[4] != '-' || t[7] != '-' ||
        (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':')
        return std::nullopt;
    auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
         s = num(17, 2);
    if (!y || !mo || !d || !h || !mi || !s || *y < 1970 || *mo < 1 || *mo > 12 || *d < 1 ||
        *d > 31 || *h > 23 || *mi > 59 || *s > 60)
        return std::nullopt;
    static constexpr unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*d > kMonthDays[*mo - 1])
        return std::nullopt;
    size_t pos = 19;
    uint64_t frac = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        size_t digits = 0;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (digits < 6)
                frac = frac * 10 + static_cast<uint64_t>(t[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0)
            return std::nullopt;
        for (size_t i = digits; i < 6; ++i)
            frac *= 10;
    }
    int64_t offsetSec = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        ++pos;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (!oh || !om || pos + 3 >= t.size() || t[pos + 3] != ':' || *oh > 23 || *om > 59)
            return std::nullopt;
        offsetSec = (t[pos] == '+' ? 1 : -1) * static_cast<int64_t>(*oh * 3600 + *om * 60);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != t.size())
        return std::nullopt;
    const int64_t days = daysFromCivil(*y, *mo, *d);
    const int64_t secs = days * 86400 + *h * 3600 + *mi * 60 + *s - offsetSec;
    if (secs < 0)
        return std::nullopt;
    return static_cast<uint64_t>(secs) * 1000000 + frac;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

} // namespace day2::text
