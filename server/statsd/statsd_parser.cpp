#include "statsd/statsd_parser.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace day2::statsd {

namespace {

bool isControl(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// Whether any byte of `text` is a control character, eight bytes at a time: a byte below 0x20
// sets its high bit in (w - 0x20...) where w's own high bit is clear, and a byte 0x7f is a zero
// byte of w ^ 0x7f... (exact as a yes or no; bytes of 0x80 and above are not control).
bool hasControl(std::string_view text) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, text.data() + i, 8);
        const uint64_t del = w ^ (0x7f * kOnes);
        if ((((w - 0x20 * kOnes) & ~w) | ((del - kOnes) & ~del)) & kHigh)
            return true;
    }
    for (; i < text.size(); ++i)
        if (isControl(text[i]))
            return true;
    return false;
}

// A finite number, the whole of `text` ("1", "-2.5", "1e3"; a leading '+' only if allowed).
bool parseNumber(std::string_view text, double& out, bool plusAllowed = false) {
    if (plusAllowed && !text.empty() && text.front() == '+')
        text.remove_prefix(1);
    if (text.empty() || text.front() == '+')
        return false;
    // The common case, a whole number of up to 15 digits ("1", "250"): exact in a double, the
    // same value from_chars gives, without its general path.
    if (text.size() <= 15) {
        uint64_t whole = 0;
        bool digits = true;
        for (char c : text) {
            if (c < '0' || c > '9') {
                digits = false;
                break;
            }
            whole = whole * 10 + static_cast<uint64_t>(c - '0');
        }
        if (digits) {
            out = static_cast<double>(whole);
            return true;
        }
    }
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && std::isfinite(out);
}

bool parseType(std::string_view text, StatsdType& type) {
    if (text == "c")
        type = StatsdType::Counter;
    else if (text == "g")
        type = StatsdType::Gauge;
    else if (text == "ms")
        type = StatsdType::Timer;
    else if (text == "h")
        type = StatsdType::Histogram;
    else if (text == "d")
        type = StatsdType::Distribution;
    else if (text == "s")
        type = StatsdType::Set;
    else
        return false;
    return true;
}

// Tags: "k:v,flag,...": no empty tag, no empty key, nothing a line may not hold.
const char* checkTags(std::string_view tags) {
    if (tags.empty())
        return "'|#' without tags";
    const char* error = nullptr;
    forEachStatsdTag(tags, [&](std::string_view key, std::string_view) {
        if (!error && key.empty())
            error = "a tag without a name (',,' or ':value')";
    });
    return error;
}

} // namespace

std::string_view toString(StatsdType type) {
    switch (type) {
    case StatsdType::Counter:
        return "counter";
    case StatsdType::Gauge:
        return "gauge";
    case StatsdType::Timer:
        return "timer";
    case StatsdType::Histogram:
        return "histogram";
    case StatsdType::Distribution:
        return "distribution";
    case StatsdType::Set:
        return "set";
    }
    return "?";
}

bool nextStatsdValue(std::string_view& more, double& value) {
    if (more.empty())
        return false;
    const size_t colon = more.find(':');
    const std::string_view v = more.substr(0, colon);
    more = colon == std::string_view::npos ? std::string_view{} : more.substr(colon + 1);
    return parseNumber(v, value);
}

StatsdParse parseStatsdLine(std::string_view line) {
    StatsdParse r;
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    if (hasControl(line)) {
        r.error = "a control character in the line";
        return r;
    }
    const size_t colon = line.find(':');
    const size_t bar = line.find('|');
    if (colon == std::string_view::npos || bar == std::string_view::npos || bar < colon) {
        r.error = "not name:value|type";
        return r;
    }
    StatsdLine& out = r.line;
    out.name = line.substr(0, colon);
    if (out.name.empty()) {
        r.error = "an empty name";
        return r;
    }
    if (out.name.size() > kMaxStatsdName) {
        r.error = "a name longer than 250 bytes";
        return r;
    }
    const std::string_view values = line.substr(colon + 1, bar - colon - 1);
    // The sections after the value: the type first, then @rate, #tags and others.
    std::string_view rest = line.substr(bar + 1);
    const size_t typeEnd = rest.find('|');
    if (!parseType(rest.substr(0, typeEnd), out.type)) {
        r.error = "an unknown type (c, g, ms, h, d, s)";
        return r;
    }
    bool sections = typeEnd != std::string_view::npos; // a '|' after the type: one at least
    rest = sections ? rest.substr(typeEnd + 1) : std::string_view{};
    bool rated = false, tagged = false;
    while (sections) {
        const size_t end = rest.find('|');
        const std::string_view section = rest.substr(0, end);
        if (section.empty()) {
            r.error = "an empty section ('||' or a trailing '|')";
            return r;
        }
        if (section.front() == '@') {
            if (rated || !parseNumber(section.substr(1), out.sampleRate) ||
                !(out.sampleRate > 0 && out.sampleRate <= 1)) {
                r.error = "a sample rate that is not one number in (0, 1]";
                return r;
            }
            rated = true;
        } else if (section.front() == '#') {
            if (tagged) {
                r.error = "two tag sections";
                return r;
            }
            out.tags = section.substr(1);
            if ((r.error = checkTags(out.tags)))
                return r;
            tagged = true;
        }
        // Others (DogStatsD's c:<container> and T<timestamp>, later ones) are not used here.
        sections = end != std::string_view::npos;
        if (sections)
            rest = rest.substr(end + 1);
    }
    if (values.empty()) {
        r.error = "an empty value";
        return r;
    }
    if (out.type == StatsdType::Set) {
        out.member = values;
        return r;
    }
    const size_t more = values.find(':');
    const std::string_view first = values.substr(0, more);
    if (out.type == StatsdType::Gauge) {
        if (more != std::string_view::npos) {
            r.error = "several values for a gauge";
            return r;
        }
        out.delta = first.front() == '+' || first.front() == '-';
    }
    if (!parseNumber(first, out.value, out.type == StatsdType::Gauge)) {
        r.error = "a value that is not a finite number";
        return r;
    }
    if (more != std::string_view::npos) {
        out.more = values.substr(more + 1);
        std::string_view check = out.more;
        double v;
        if (check.empty()) {
            r.error = "a value that is not a finite number";
            return r;
        }
        while (!check.empty())
            if (!nextStatsdValue(check, v)) {
                r.error = "a value that is not a finite number";
                return r;
            }
    }
    return r;
}

} // namespace day2::statsd
