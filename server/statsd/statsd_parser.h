// The StatsD and DogStatsD line format, as tasks send it to their listener (docs/api.md, Metrics):
//
//   name:value[:value...]|type[|@sample_rate][|#tag:value,flag,...][|c:container][|T<unix s>]
//
// several lines to a datagram, separated by '\n'. Types: c (counter), g (gauge; a value with a
// leading + or - is a delta, as Etsy statsd has it), ms (timer), h (histogram), d
// (distribution), s (set: the value is a member, any text). Several values on one line are
// DogStatsD 1.1 (not for sets and gauges). A sample rate in (0, 1] scales counters and the
// counts of timers. Sections the agent does not use (DogStatsD's container id and timestamp,
// and sections it does not know) are skipped, as the Datadog agent does.
//
// Pure functions without allocation: the ingest path parses millions of lines a second, and a
// flood of garbage costs no more than good lines.
#pragma once

#include <cstdint>
#include <string_view>

namespace day2::statsd {

enum class StatsdType : uint8_t { Counter, Gauge, Timer, Histogram, Distribution, Set };

std::string_view toString(StatsdType type);

struct StatsdLine {
    std::string_view name;
    StatsdType type = StatsdType::Counter;
    double value = 0;         // the first value (every type but Set)
    std::string_view more;    // the further values ("2:3.5"), checked; empty: just one
    std::string_view member;  // a set's member: its value as sent
    bool delta = false;       // a gauge's "+n" or "-n": added to the last value
    double sampleRate = 1;    // in (0, 1]
    std::string_view tags;    // "k:v,flag" after "|#", checked; empty: none
};

// What parseStatsdLine answers: the line, or why it is not one (a fixed text, no allocation).
struct StatsdParse {
    StatsdLine line;
    const char* error = nullptr;
    bool ok() const { return error == nullptr; }
};

inline constexpr size_t kMaxStatsdName = 250;

// One line, without its '\n' (a trailing '\r' is allowed).
StatsdParse parseStatsdLine(std::string_view line);

// Takes the next of StatsdLine::more into `value`; false when there is none left.
bool nextStatsdValue(std::string_view& more, double& value);

// Calls f(line) for each line of a datagram (empty lines are skipped); returns how many.
template <class F> size_t forEachStatsdLine(std::string_view datagram, F&& f) {
    size_t n = 0;
    while (!datagram.empty()) {
        const size_t end = datagram.find('\n');
        std::string_view line = datagram.substr(0, end);
        datagram = end == std::string_view::npos ? std::string_view{} : datagram.substr(end + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty())
            continue;
        f(line);
        ++n;
    }
    return n;
}

// Calls f(key, value) for each tag of StatsdLine::tags; a flag ("canary") has an empty value.
template <class F> void forEachStatsdTag(std::string_view tags, F&& f) {
    while (!tags.empty()) {
        const size_t comma = tags.find(',');
        const std::string_view tag = tags.substr(0, comma);
        tags = comma == std::string_view::npos ? std::string_view{} : tags.substr(comma + 1);
        const size_t colon = tag.find(':');
        if (colon == std::string_view::npos)
            f(tag, std::string_view{});
        else
            f(tag.substr(0, colon), tag.substr(colon + 1));
    }
}

} // namespace day2::statsd
