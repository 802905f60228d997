// One measured value, as every part of the metrics pillar passes it on: the collectors (host,
// container), the StatsD listeners, the history, the API, /metrics and the sinks.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace day2::metrics {

// Sorted by key; a key appears once.
using Tags = std::vector<std::pair<std::string, std::string>>;

struct Datapoint {
    std::string name; // docs/api.md's names: "cpu.user", "mem.rss", or a task's own StatsD name
    double value = 0;
    std::string unit; // "bytes", "percent", "seconds", "count", "per_second", "cores", ""
    Tags tags;        // the point's own (path, interface, blkio_device, a task's DogStatsD tags)
};

// Everything one source produced at one collection.
struct Batch {
    int64_t timestampUsec = 0; // wall clock, microseconds since the epoch
    std::vector<Datapoint> points;
};

// A ratio a collector computes (a percentage, cores) to `decimals` places: finer than what its
// source can tell (ticks, a second's nanoseconds), and a decimal the history stores in a few
// bits (gorilla.h) where the full double would take seven bytes.
inline double roundTo(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

} // namespace day2::metrics
