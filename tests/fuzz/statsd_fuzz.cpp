// Fuzzes what a task sends to its StatsD listener: each datagram is split into lines and parsed.
// Nothing may crash, and what parses must keep the parser's promises (a name of 1 to 250 bytes,
// finite values, a sample rate in (0, 1], further values and tags that read back).
#include "statsd/statsd_parser.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace day2::statsd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view datagram(reinterpret_cast<const char*>(data), size);
    forEachStatsdLine(datagram, [](std::string_view line) {
        const auto r = parseStatsdLine(line);
        if (!r.ok())
            return;
        const auto& l = r.line;
        if (l.name.empty() || l.name.size() > kMaxStatsdName || !std::isfinite(l.value) ||
            !(l.sampleRate > 0 && l.sampleRate <= 1))
            std::abort();
        if (l.type == StatsdType::Set && l.member.empty())
            std::abort();
        std::string_view more = l.more;
        double v = 0;
        while (!more.empty())
            if (!nextStatsdValue(more, v) || !std::isfinite(v))
                std::abort();
        forEachStatsdTag(l.tags, [](std::string_view key, std::string_view) {
            if (key.empty())
                std::abort();
        });
    });
    return 0;
}
