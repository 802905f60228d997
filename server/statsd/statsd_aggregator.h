// What a task's StatsD lines become at each flush (docs/api.md, Metrics): one aggregator per task,
// fed parsed lines during an interval and flushed once an interval.
//
// Per interval:
// - counter n: `n` (the sum, each value divided by its sample rate; unit "count") and `n.rate`
//   (per second); `cumulative()` keeps the sum since the start for Prometheus' `n_total`;
// - gauge n: its last value, kept from one interval to the next (a delta adds to it);
// - timer, histogram, distribution n: `n.count` (scaled by the sample rate), `n.min`, `n.max`,
//   `n.mean`, `n.p50`, `n.p90`, `n.p95`, `n.p99`. Count, min, max and mean are exact; the
//   percentiles are exact up to kExactValues values an interval, then taken from a uniform
//   sample of that many (reservoir sampling; the rank of p50 is then within about ±1 % of the
//   true rank, 2 standard deviations);
// - set n: `n` = distinct members in the interval (up to kMaxSetMembers, then a lower bound,
//   counted in `truncatedSets()`).
// A series is a name, a type and a set of tags. At most `maxSeries` exist; lines of further
// series are dropped and counted (`droppedSeries()`). A task's tag that names one of the
// identity tags (wire::kIdentityTags) is dropped and counted (`reservedTags()`): the agent sets
// those. Single-threaded: the agent's event loop both feeds and flushes.
#pragma once

#include "statsd/statsd_parser.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace day2::statsd {

using Tags = std::vector<std::pair<std::string, std::string>>; // sorted by key, then value

struct StatsdPoint {
    std::string name;
    double value = 0;
    std::string_view unit; // "count", "per_second", or "" (as sent)
    const Tags* tags = nullptr; // the series' own, valid until the aggregator changes
};

class StatsdAggregator {
public:
    static constexpr size_t kExactValues = 10000;
    static constexpr size_t kMaxSetMembers = 100000;

    explicit StatsdAggregator(size_t maxSeries = 1000);

    // One parsed line.
    void add(const StatsdLine& line);
    // The interval's datapoints, then a new interval begins. `seconds` is the interval's length
    // (for rates).
    std::vector<StatsdPoint> flush(double seconds);

    // Sum of a counter series since the start (Prometheus' n_total), by series.
    struct Cumulative {
        std::string name;
        const Tags* tags;
        double total;
    };
    std::vector<Cumulative> cumulative() const;

    size_t seriesCount() const { return m_series.size(); }
    uint64_t droppedSeries() const { return m_droppedSeries; }
    uint64_t reservedTags() const { return m_reservedTags; }
    uint64_t truncatedSets() const { return m_truncatedSets; }

private:
    struct Series {
        std::string name;
        StatsdType type;
        Tags tags;
        // This interval.
        bool touched = false;
        double sum = 0;          // counter; timer: sum of values
        double count = 0;        // timer: scaled count
        uint64_t seen = 0;       // timer: values seen (unscaled)
        double min = 0, max = 0; // timer
        std::vector<double> values; // timer: all, or a reservoir of kExactValues
        std::unordered_set<std::string> members; // set
        // Across intervals.
        bool hasGauge = false;
        double gauge = 0;
        double total = 0; // counter since the start
    };
    // A line's name, type and tags as sent, to its series: a task sends the same lines again and
    // again, and this way most lines skip splitting, checking and sorting their tags. Bounded:
    // at most kRawKeysPerSeries a series (tags sent in ever new orders take the slower path once
    // it is full).
    struct RawEntry {
        Series* series;
        uint32_t reservedTags; // identity tags in those tags, counted again at each line
    };
    static constexpr size_t kRawKeysPerSeries = 4;

    Series* find(const StatsdLine& line);
    Series* findSorted(const StatsdLine& line);
    void addValue(Series& s, double value, double rate);

    size_t m_maxSeries;
    std::unordered_map<std::string, std::unique_ptr<Series>> m_series; // by key; never erased
    std::unordered_map<std::string, RawEntry> m_rawKeys;               // by name, type, tags sent
    std::string m_key;                                                 // scratch
    std::string m_rawKey;                                              // scratch
    Tags m_tags;                                                       // scratch
    std::mt19937_64 m_random{20261205};
    uint64_t m_droppedSeries = 0;
    uint64_t m_reservedTags = 0;
    uint64_t m_truncatedSets = 0;
};

} // namespace day2::statsd
