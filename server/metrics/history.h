// The agent's metrics history (docs/api.md, Metrics: `history/{node | containers/{cid} |
// containers/{cid}/app}`): per source ("node", "containers/<cid>", "containers/<cid>/app") and
// per series (name, unit, tags), the values of every collection, in two tiers of Gorilla chunks
// (gorilla.h):
// - raw: every sample, at the collection interval (1 s, 2 s, 10 s..., free to change), kept for
//   at least `rawSeconds` (default 3600);
// - rollups: per series and minute (aligned to the minute) the min, the max and the mean of its
//   samples, each its own stream stamped with the minute's start, kept for at least
//   `rollupSeconds` (default 86400). A minute closes when its source's first batch of a later
//   minute arrives; until then a query sees it as it stands.
//
// Chunks are aligned blocks of time: a raw chunk holds one series' samples of one block of
// rawSeconds / 15 (4 min at the default, 240 samples at 1 s), a rollup chunk its minutes of a
// block of rollupSeconds / 12 (2 h at the default, Gorilla's block). Old data goes in whole
// chunks: a chunk is dropped once its last sample is older than the tier's span before the
// source's newest batch (looked at when the source's batches enter a new minute), or before
// `nowMs` in expire(); so a tier holds its span and at most a block and a minute more. A series
// with nothing left in either tier is forgotten and no longer counts for maxSeries.
//
// Time: a batch's µs timestamp is stored in ms (rounded down). A source's batches must come in
// increasing time: one at or before the source's last batch (the clock stepped back) is refused
// and counted (refusedBatches()) until the clock passes it again. A point whose series already
// has a sample at that time (the same series twice in a batch) is refused and counted
// (refusedSamples()). A series missing from some batches has a gap, which costs nothing but the
// larger delta when it comes back (at most 9 bytes).
//
// Bounds, at the default options and a 1 s interval (measured by history_bench, whole-second
// timestamps as the agent makes them; with 0-4 ms of jitter add ~0.9). A raw sample costs,
// chunk headers included: a constant gauge 0.7 bytes, memory bytes with page-sized noise 1.6,
// cumulative cpu seconds in ticks 1.9, a random percentage in 0.01 steps 2.7, an arbitrary
// double (no decimal form) 7.3; at most 18.5 (a gap and a value of all new bits); the bench's
// mix of the first four 1.6. One series with both tiers full (an hour and a block of samples, a
// day and a block of minutes in 3 streams): a constant gauge ~12 KB (raw 6, rollups 6, mostly
// chunk headers), memory bytes ~25 KB, a cpu-seconds counter ~33 KB, a random percentage
// ~35 KB, arbitrary doubles ~70 KB; at most ~160 KB (70 raw, 85 rollups, and the names). With a
// longer interval the raw tier shrinks in proportion, the rollups do not. Per node: at most
// `maxSeries` series (default 20,000; the points of further series are dropped and counted in
// droppedSeries()), which would be ~1.4 GB were they all arbitrary doubles and ~3 GB in theory;
// 1,000 series of the bench's mix hold 7 MB after an hour. bytes() reports what is held: exact
// for the streams (their capacity), close for the containers around them.
//
// Single-threaded: the agent's event loop appends, queries and expires.
#pragma once

#include "metrics/datapoint.h"
#include "metrics/gorilla.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace day2::metrics {

struct HistoryOptions {
    int64_t rawSeconds = 3600;     // at least 60
    int64_t rollupSeconds = 86400; // at least 60 and at least rawSeconds
    size_t maxSeries = 20000;      // per node, over all sources
};

// What a query returns at each time: with rollups, which of the minute's streams; with a step
// larger than the stored resolution, how a step's points combine (average, minimum, maximum).
enum class HistoryAgg { Mean, Min, Max };
// "mean", "min", "max"; nullopt otherwise.
std::optional<HistoryAgg> parseHistoryAgg(std::string_view text);

// What the store holds (bytes() is totalBytes): the raw tier's and the rollups' chunks
// (their objects and streams) and samples; the total adds names, tags and containers.
struct HistoryFootprint {
    size_t rawBytes = 0;
    size_t rollupBytes = 0;
    size_t totalBytes = 0;
    uint64_t rawSamples = 0;
    uint64_t rollupMinutes = 0; // closed minutes (each in three streams)
};

struct SeriesPoints {
    std::string name;
    std::string unit;
    Tags tags;
    std::vector<std::pair<int64_t, double>> points; // (unix ms, value), oldest first
};

class History {
public:
    // Throws std::invalid_argument for options out of range (a start-up failure).
    explicit History(HistoryOptions options = {});

    // One collection of a source: each point goes to its series (created on first sight).
    void append(const std::string& source, const Batch& batch);

    // The points of [sinceMs, untilMs] (both included) of each series of the source, sorted by
    // name, unit and tags; series without points in the range are left out. std::nullopt for
    // a source never seen or forgotten (the API answers 404); an empty list for a known source
    // with nothing in the range.
    // - Tier: raw when stepSeconds <= 60 and the raw tier still holds every sample from sinceMs
    //   on; else the rollups, the stream `agg` names, at each minute's start.
    // - Step: up to the stored resolution (raw: the source's collection interval in whole
    //   seconds, at least 1; rollups: 60) the points come as stored (0 or less: always); a
    //   larger step combines them in buckets [k * step, (k + 1) * step) of unix time (aligned
    //   across series and sources), stamped with the bucket's start: `agg` says how (mean:
    //   their average, each point counting once; min; max).
    // NaN samples are stored and returned as such, but skipped when combining (rollups,
    // buckets); a minute or bucket of only NaN is NaN.
    std::optional<std::vector<SeriesPoints>> query(const std::string& source, int64_t sinceMs,
                                                   int64_t untilMs, int64_t stepSeconds,
                                                   HistoryAgg agg = HistoryAgg::Mean) const;

    // Drops a source's history now. False when it is not known.
    bool forget(const std::string& source);
    // A finished task's sources: kept until expire() finds them finished keepMs ago. A later
    // append to the source clears the mark. False when the source is not known.
    bool markFinished(const std::string& source, int64_t nowMs);
    // Drops the sources marked finished at or before nowMs - keepMs, and the chunks of every
    // other source that have aged out at nowMs (a source no longer appended to ages out too).
    // Returns the number of sources dropped. Call it every minute or so.
    size_t expire(int64_t nowMs, int64_t keepMs);

    bool knows(const std::string& source) const { return m_sources.contains(source); }
    std::vector<std::string> sources() const; // sorted

    size_t bytes() const { return footprint().totalBytes; }
    HistoryFootprint footprint() const;
    size_t seriesCount() const { return m_seriesCount; }
    // Points not stored because their series would have passed maxSeries (one per point).
    uint64_t droppedSeries() const { return m_droppedSeries; }
    uint64_t refusedBatches() const { return m_refusedBatches; }
    uint64_t refusedSamples() const { return m_refusedSamples; }

private:
    // The samples of one series in one (open) minute.
    struct Minute {
        int64_t startMs = 0;
        double min = 0;
        double max = 0;
        double sum = 0;
        uint32_t values = 0; // not NaN
    };
    struct RollupChunk {
        GorillaChunk min;
        GorillaChunk max;
        GorillaChunk mean;
    };
    struct Series {
        std::string name;
        std::string unit;
        Tags tags;
        std::vector<GorillaChunk> raw;   // oldest first
        std::vector<RollupChunk> rollup; // oldest first
        std::optional<Minute> minute;    // the open one
    };
    struct Source {
        std::unordered_map<std::string, Series> series; // by seriesKey()
        bool hasBatch = false;
        int64_t lastMs = 0;
        int64_t intervalMs = 1000; // between the last two batches, in whole seconds, >= 1 s
        // The raw tier holds every sample of the source from here on.
        int64_t rawFromMs = std::numeric_limits<int64_t>::min();
        std::optional<int64_t> finishedMs;
    };

    Series* seriesFor(Source& source, const Datapoint& point);
    bool appendRaw(Series& series, int64_t ms, double value) const;
    void addToMinute(Series& series, int64_t ms, double value);
    void closeMinute(Series& series);
    // Closes the open minutes that began before closeBeforeMs, drops the chunks aged out at
    // nowMs and the series left empty.
    void trim(Source& source, int64_t nowMs, int64_t closeBeforeMs);
    void collectRaw(const Series& series, int64_t sinceMs, int64_t untilMs,
                    std::vector<std::pair<int64_t, double>>& out) const;
    void collectRollup(const Series& series, int64_t sinceMs, int64_t untilMs, HistoryAgg agg,
                       std::vector<std::pair<int64_t, double>>& out) const;
    static void addFootprint(const Series& series, HistoryFootprint& f);

    HistoryOptions m_options;
    int64_t m_rawBlockMs;
    int64_t m_rollupBlockMs;
    std::unordered_map<std::string, Source> m_sources;
    size_t m_seriesCount = 0;
    uint64_t m_droppedSeries = 0;
    uint64_t m_refusedBatches = 0;
    uint64_t m_refusedSamples = 0;
    std::string m_key; // scratch
};

} // namespace day2::metrics
