// history_bench: what the metrics history (server/metrics/history.h) costs for a node of SERIES
// series collected every second for SECONDS of simulated time, shaped as the collectors make
// them: 30 % constant gauges (limits, counts), 30 % memory bytes changing slowly with page-sized
// noise, 20 % cumulative cpu seconds (a cgroup's cpuacct.usage_user: nanoseconds in 4 ms ticks,
// HZ=250, / 1e9; up to 0.2 s a second), 20 % random percentages (0.01 % steps, as the collectors
// round them; a new uniformly random value every second, the worst a percentage can be). Also,
// alone and not in the mix: arbitrary doubles (a random walk of full-precision values, e.g. a
// StatsD timer's mean), the worst case of any series. Against an anchor measured in the same run:
// the same samples in a plain std::vector<std::pair<int64_t, double>> per series (16 bytes a
// sample), found by the same kind of key. Once with timestamps on exact seconds, once with 0-4 ms
// of jitter. Prints, for each: bytes per raw sample (compression, and per kind), bytes per series,
// the node's total, append throughput, and the time of a query of the whole hour (raw, and at a
// step of 60 s). Deterministic (seeded). A query's time includes the page faults of its answer (~57
// MB for an hour): where malloc has given the memory back to the system since, that can be several
// times the decoding (GLIBC_TUNABLES=glibc.malloc.trim_threshold=4000000000 shows the decoding
// alone).
//
// Then a day at the default options, 10 series of each kind: what a series holds when both tiers
// are full (skipped with --no-day).
//
//   history_bench [--series N] [--seconds S] [--no-day]      (defaults 1000, 3600)
#include "metrics/history.h"

#include "bench_common.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

using namespace day2::metrics;

namespace {

enum class Kind { Constant, Memory, Counter, Percent, Arbitrary };
constexpr const char* kKindNames[] = {"constant gauge", "memory bytes", "cpu seconds", "percent",
                                      "arbitrary doubles"};
constexpr Kind kMixKinds[] = {Kind::Constant, Kind::Memory, Kind::Counter, Kind::Percent};
constexpr int64_t kT0 = 1'700'006'400'000;

// The series and their values, tick by tick.
class Generator {
public:
    // The mix, or `only` this kind.
    Generator(size_t series, bool jitter, std::optional<Kind> only = std::nullopt)
        : m_jitter(jitter) {
        static const char* kUnits[] = {"count", "bytes", "seconds", "percent", "ms"};
        for (size_t i = 0; i < series; ++i) {
            const size_t percent = i * 100 / series;
            const Kind k = only           ? *only
                           : percent < 30 ? Kind::Constant
                           : percent < 60 ? Kind::Memory
                           : percent < 80 ? Kind::Counter
                                          : Kind::Percent;
            kinds.push_back(k);
            points.push_back(Datapoint{"bench.series." + std::to_string(i),
                                       0,
                                       kUnits[static_cast<int>(k)],
                                       {{"container_id", "c" + std::to_string(i % 40)}}});
            switch (k) {
            case Kind::Constant:
                m_state.push_back(static_cast<double>(m_rng() % 64));
                break;
            case Kind::Memory:
                m_state.push_back(static_cast<double>(256 + m_rng() % 4096) * 1024 * 1024);
                break;
            case Kind::Counter: // nanoseconds
                m_state.push_back(static_cast<double>(m_rng() % 1'000'000 * 4'000'000));
                break;
            case Kind::Percent:
                m_state.push_back(0);
                break;
            case Kind::Arbitrary:
                m_state.push_back(static_cast<double>(m_rng() % 100'000) / 7.0);
                break;
            }
        }
    }

    // The next tick's timestamp (ms); its values into points[i].value.
    int64_t tick() {
        const int64_t ms =
            kT0 + m_tick++ * 1000 + (m_jitter ? static_cast<int64_t>(m_rng() % 5) : 0);
        for (size_t i = 0; i < points.size(); ++i) {
            double& v = m_state[i];
            double out = v;
            switch (kinds[i]) {
            case Kind::Constant:
                break;
            case Kind::Memory:
                // Drifts a page now and then; reads with a few pages of noise.
                if (m_rng() % 10 == 0)
                    v += (static_cast<double>(m_rng() % 3) - 1) * 4096;
                out = v + static_cast<double>(m_rng() % 8) * 4096;
                break;
            case Kind::Counter: // up to 50 ticks of 4 ms a second; seconds as the collector
                v += static_cast<double>(m_rng() % 51 * 4'000'000);
                out = v / 1e9;
                break;
            case Kind::Percent:
                out = static_cast<double>(m_rng() % 10'000) / 100;
                break;
            case Kind::Arbitrary:
                v += (static_cast<double>(m_rng() % 2'000'001) - 1e6) / 7e3;
                out = v;
                break;
            }
            points[i].value = out;
        }
        return ms;
    }

    std::vector<Kind> kinds;
    std::vector<Datapoint> points;

private:
    bool m_jitter;
    std::mt19937_64 m_rng{20261206};
    std::vector<double> m_state;
    int64_t m_tick = 0;
};

struct Workload {
    std::vector<Kind> kinds;         // by series
    std::vector<Datapoint> points;   // the series, values overwritten at each tick
    std::vector<double> values;      // [tick * series + i]
    std::vector<int64_t> timestamps; // ms, by tick
};

// Generated before the clock starts.
Workload makeWorkload(size_t series, size_t seconds, bool jitter) {
    Generator g{series, jitter};
    Workload w;
    w.values.reserve(series * seconds);
    for (size_t t = 0; t < seconds; ++t) {
        w.timestamps.push_back(g.tick());
        for (const Datapoint& p : g.points)
            w.values.push_back(p.value);
    }
    w.kinds = g.kinds;
    w.points = g.points;
    return w;
}

// The anchor: samples as they come, 16 bytes each, per series by the same kind of key.
class PlainStore {
public:
    void append(const Batch& batch) {
        const int64_t ms = batch.timestampUsec / 1000;
        for (const Datapoint& p : batch.points) {
            m_key = p.name;
            for (const auto& [k, v] : p.tags) {
                m_key += '\0';
                m_key += k;
                m_key += '=';
                m_key += v;
            }
            m_series[m_key].emplace_back(ms, p.value);
        }
    }
    size_t query(int64_t since, int64_t until) const {
        size_t n = 0;
        for (const auto& [key, points] : m_series) {
            std::vector<std::pair<int64_t, double>> out;
            for (const auto& p : points)
                if (p.first >= since && p.first <= until)
                    out.push_back(p);
            n += out.size();
        }
        return n;
    }
    size_t bytes() const {
        size_t n = m_series.bucket_count() * sizeof(void*);
        for (const auto& [key, points] : m_series)
            n += sizeof(*m_series.begin()) + 2 * sizeof(void*) + key.capacity() +
                 points.capacity() * sizeof(points[0]);
        return n;
    }

private:
    std::unordered_map<std::string, std::vector<std::pair<int64_t, double>>> m_series;
    std::string m_key;
};

struct Measured {
    double appendSeconds = 0;
    double queryMs = 0;
    double query60Ms = 0;
    size_t queried = 0;
};

template <typename Store, typename Query, typename Query60>
Measured run(Store& store, const Workload& w, Query query, Query60 query60) {
    Measured m;
    Batch batch;
    batch.points = w.points;
    const size_t series = w.points.size();
    const uint64_t start = day2::bench::nowNanos();
    for (size_t t = 0; t < w.timestamps.size(); ++t) {
        batch.timestampUsec = w.timestamps[t] * 1000;
        for (size_t i = 0; i < series; ++i)
            batch.points[i].value = w.values[t * series + i];
        store.append(batch);
    }
    m.appendSeconds = static_cast<double>(day2::bench::nowNanos() - start) / 1e9;
    // The best of three: the first also pays for the pages of its answer.
    m.queryMs = m.query60Ms = 1e300;
    for (int i = 0; i < 3; ++i) {
        uint64_t q = day2::bench::nowNanos();
        m.queried = query();
        m.queryMs = std::min(m.queryMs, static_cast<double>(day2::bench::nowNanos() - q) / 1e6);
        q = day2::bench::nowNanos();
        query60();
        m.query60Ms = std::min(m.query60Ms, static_cast<double>(day2::bench::nowNanos() - q) / 1e6);
    }
    return m;
}

struct HistoryStore {
    History history;
    void append(const Batch& b) { history.append("node", b); }
};

size_t countPoints(const std::optional<std::vector<SeriesPoints>>& r) {
    size_t n = 0;
    if (r)
        for (const auto& s : *r)
            n += s.points.size();
    return n;
}

// Raw bytes per sample of one kind alone: `series` of it in a History of their own.
double rawBytesPerSample(Kind kind, size_t series, size_t seconds, bool jitter) {
    Generator g{series, jitter, kind};
    History h;
    Batch batch;
    batch.points = g.points;
    for (size_t t = 0; t < seconds; ++t) {
        batch.timestampUsec = g.tick() * 1000;
        for (size_t i = 0; i < series; ++i)
            batch.points[i].value = g.points[i].value;
        h.append("node", batch);
    }
    const HistoryFootprint f = h.footprint();
    return static_cast<double>(f.rawBytes) / static_cast<double>(f.rawSamples);
}

void scenario(size_t series, size_t seconds, bool jitter) {
    const Workload w = makeWorkload(series, seconds, jitter);
    const int64_t since = kT0;
    const int64_t until = w.timestamps.back();
    const double samples = static_cast<double>(series * seconds);

    HistoryStore hs;
    const Measured dm = run(
        hs, w, [&] { return countPoints(hs.history.query("node", since, until, 0)); },
        [&] { return countPoints(hs.history.query("node", since, until, 60)); });
    const HistoryFootprint f = hs.history.footprint();

    PlainStore plain;
    const Measured am = run(
        plain, w, [&] { return plain.query(since, until); }, [] { return size_t{0}; });
    const size_t plainBytes = plain.bytes();

    std::printf("\n%zu series, %zu s at 1 s, timestamps %s\n", series, seconds,
                jitter ? "with 0-4 ms of jitter" : "on exact seconds");
    std::printf("%-34s %16s %16s\n", "", "day2 History", "plain vector");
    std::printf("%-34s %16.2f %16.2f\n", "raw bytes / stored sample",
                static_cast<double>(f.rawBytes) / static_cast<double>(f.rawSamples),
                static_cast<double>(plainBytes) / samples);
    std::printf("%-34s %16.0f %16s\n", "rollup bytes / series",
                static_cast<double>(f.rollupBytes) / static_cast<double>(series), "-");
    std::printf("%-34s %16.0f %16.0f\n", "bytes / series (all)",
                static_cast<double>(f.totalBytes) / static_cast<double>(series),
                static_cast<double>(plainBytes) / static_cast<double>(series));
    std::printf("%-34s %16.2f %16.2f\n", "node total (MiB)",
                static_cast<double>(f.totalBytes) / 1048576.0,
                static_cast<double>(plainBytes) / 1048576.0);
    std::printf("%-34s %16.0f %16.0f\n", "append (samples/s)", samples / dm.appendSeconds,
                samples / am.appendSeconds);
    std::printf("%-34s %16.1f %16.1f\n", "query whole range, raw (ms)", dm.queryMs, am.queryMs);
    std::printf("%-34s %16.1f %16s\n", "query whole range, step 60 (ms)", dm.query60Ms, "-");
    std::printf("%-34s %16zu %16zu\n", "points returned", dm.queried, am.queried);
    for (Kind k : kMixKinds)
        std::printf("  raw bytes / sample, %-20s %10.2f\n", kKindNames[static_cast<int>(k)],
                    rawBytesPerSample(k, series / 5 + 1, seconds, jitter));
    std::printf("  not in the mix: %-24s %10.2f\n", kKindNames[static_cast<int>(Kind::Arbitrary)],
                rawBytesPerSample(Kind::Arbitrary, series / 5 + 1, seconds, jitter));
}

// A day and an hour at the default options (both tiers full), SERIES_PER_KIND of each kind,
// jittery timestamps: what one series of each kind holds at steady state.
void steadyState(size_t perKind) {
    std::printf("\n%zu series of each kind, 25 h at 1 s (both tiers full), default options\n",
                perKind);
    std::printf("%-20s %12s %12s %12s\n", "bytes / series", "raw", "rollups", "all");
    for (Kind k : {Kind::Constant, Kind::Memory, Kind::Counter, Kind::Percent, Kind::Arbitrary}) {
        Generator g{perKind, true, k};
        History h;
        Batch batch;
        batch.points = g.points;
        for (int t = 0; t < 25 * 3600; ++t) {
            batch.timestampUsec = g.tick() * 1000;
            for (size_t i = 0; i < perKind; ++i)
                batch.points[i].value = g.points[i].value;
            h.append("node", batch);
        }
        const HistoryFootprint f = h.footprint();
        const auto n = static_cast<double>(perKind);
        std::printf("%-20s %12.0f %12.0f %12.0f\n", kKindNames[static_cast<int>(k)],
                    static_cast<double>(f.rawBytes) / n, static_cast<double>(f.rollupBytes) / n,
                    static_cast<double>(f.totalBytes) / n);
    }
}

} // namespace

int main(int argc, char** argv) {
    day2::bench::Args args{
        argc, argv, "[--series N] [--seconds S] [--no-day]", {"series", "seconds", "no-day"}};
    const size_t series = args.getCount("series", 1000);
    const size_t seconds = args.getCount("seconds", 3600);
    if (series == 0 || seconds < 2)
        day2::bench::die("--series must be at least 1 and --seconds at least 2");
    std::printf("history_bench: seed 20261206\n");
    scenario(series, seconds, false);
    scenario(series, seconds, true);
    if (!args.has("no-day"))
        steadyState(10);
    return 0;
}
