#include "metrics/history.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

namespace day2::metrics {

namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kMaxSeconds = int64_t{10} * 366 * 86400; // ten years: no overflow in ms
constexpr int64_t kRawBlocks = 15;
constexpr int64_t kRollupBlocks = 12;

int64_t floorDiv(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t floorTo(int64_t a, int64_t b) {
    return floorDiv(a, b) * b;
}

// A series' identity as one string: each part prefixed by its length, so no two differ only
// in where a part ends.
void seriesKey(const Datapoint& p, std::string& key) {
    key.clear();
    auto add = [&key](const std::string& s) {
        key += std::to_string(s.size());
        key += ':';
        key += s;
    };
    add(p.name);
    add(p.unit);
    for (const auto& [k, v] : p.tags) {
        add(k);
        add(v);
    }
}

size_t stringHeap(const std::string& s) {
    static const size_t kInline = std::string().capacity();
    return s.capacity() > kInline ? s.capacity() + 1 : 0;
}

// Room for a new chunk: about what the previous one took.
size_t wordsHint(const GorillaChunk& previous) {
    return previous.words() + previous.words() / 8 + 1;
}

// Combines NaN-skipping: an empty accumulation is NaN.
class Combiner {
public:
    explicit Combiner(HistoryAgg agg) : m_agg(agg) {}
    void add(double v) {
        if (std::isnan(v))
            return;
        if (m_n == 0)
            m_acc = v;
        else if (m_agg == HistoryAgg::Min)
            m_acc = std::min(m_acc, v);
        else if (m_agg == HistoryAgg::Max)
            m_acc = std::max(m_acc, v);
        else
            m_acc += v;
        ++m_n;
    }
    double result() const {
        if (m_n == 0)
            return std::nan("");
        return m_agg == HistoryAgg::Mean ? m_acc / static_cast<double>(m_n) : m_acc;
    }

private:
    HistoryAgg m_agg;
    double m_acc = 0;
    size_t m_n = 0;
};

void combineIntoSteps(std::vector<std::pair<int64_t, double>>& points, int64_t stepMs,
                      HistoryAgg agg) {
    std::vector<std::pair<int64_t, double>> out;
    size_t i = 0;
    while (i < points.size()) {
        const int64_t start = floorTo(points[i].first, stepMs);
        Combiner c{agg};
        for (; i < points.size() && points[i].first < start + stepMs; ++i)
            c.add(points[i].second);
        out.emplace_back(start, c.result());
    }
    points = std::move(out);
}

} // namespace

std::optional<HistoryAgg> parseHistoryAgg(std::string_view text) {
    if (text == "mean")
        return HistoryAgg::Mean;
    if (text == "min")
        return HistoryAgg::Min;
    if (text == "max")
        return HistoryAgg::Max;
    return std::nullopt;
}

History::History(HistoryOptions options)
    : m_options(options), m_rawBlockMs(options.rawSeconds * 1000 / kRawBlocks),
      m_rollupBlockMs(options.rollupSeconds * 1000 / kRollupBlocks) {
    if (options.rawSeconds < 60 || options.rawSeconds > kMaxSeconds)
        throw std::invalid_argument("metrics history: raw_seconds must be 60 to 10 years");
    if (options.rollupSeconds < options.rawSeconds || options.rollupSeconds > kMaxSeconds)
        throw std::invalid_argument(
            "metrics history: rollup_seconds must be at least raw_seconds, at most 10 years");
}

void History::append(const std::string& source, const Batch& batch) {
    const int64_t ms = floorDiv(batch.timestampUsec, 1000);
    Source& src = m_sources[source];
    if (src.hasBatch) {
        if (ms <= src.lastMs) {
            ++m_refusedBatches;
            return;
        }
        const int64_t seconds = std::max<int64_t>(1, (ms - src.lastMs + 500) / 1000);
        src.intervalMs = std::min(seconds, kMaxSeconds) * 1000;
        if (floorTo(ms, kMinuteMs) != floorTo(src.lastMs, kMinuteMs))
            trim(src, ms, floorTo(ms, kMinuteMs));
    }
    src.hasBatch = true;
    src.lastMs = ms;
    src.finishedMs.reset();

    for (const Datapoint& p : batch.points) {
        Series* s = seriesFor(src, p);
        if (s == nullptr) {
            ++m_droppedSeries;
            continue;
        }
        if (!appendRaw(*s, ms, p.value)) {
            ++m_refusedSamples;
            continue;
        }
        addToMinute(*s, ms, p.value);
    }
}

History::Series* History::seriesFor(Source& source, const Datapoint& point) {
    seriesKey(point, m_key);
    auto it = source.series.find(m_key);
    if (it != source.series.end())
        return &it->second;
    if (m_seriesCount >= m_options.maxSeries)
        return nullptr;
    Series& s = source.series[m_key];
    s.name = point.name;
    s.unit = point.unit;
    s.tags = point.tags;
    ++m_seriesCount;
    return &s;
}

bool History::appendRaw(Series& series, int64_t ms, double value) const {
    const int64_t block = floorDiv(ms, m_rawBlockMs);
    if (series.raw.empty() || floorDiv(series.raw.back().lastMs(), m_rawBlockMs) != block) {
        size_t hint = 0;
        if (!series.raw.empty()) {
            series.raw.back().shrinkToFit();
            hint = wordsHint(series.raw.back());
        }
        series.raw.emplace_back().reserveWords(hint);
    }
    return series.raw.back().append(ms, value);
}

void History::addToMinute(Series& series, int64_t ms, double value) {
    const int64_t start = floorTo(ms, kMinuteMs);
    if (series.minute && series.minute->startMs != start)
        closeMinute(series);
    if (!series.minute)
        series.minute = Minute{.startMs = start};
    Minute& m = *series.minute;
    if (std::isnan(value))
        return;
    if (m.values == 0) {
        m.min = m.max = m.sum = value;
    } else {
        m.min = std::min(m.min, value);
        m.max = std::max(m.max, value);
        m.sum += value;
    }
    ++m.values;
}

void History::closeMinute(Series& series) {
    const Minute m = *series.minute;
    series.minute.reset();
    const double nan = std::nan("");
    const double min = m.values == 0 ? nan : m.min;
    const double max = m.values == 0 ? nan : m.max;
    const double mean = m.values == 0 ? nan : m.sum / m.values;

    const int64_t block = floorDiv(m.startMs, m_rollupBlockMs);
    auto& chunks = series.rollup;
    if (chunks.empty() || floorDiv(chunks.back().mean.lastMs(), m_rollupBlockMs) != block) {
        size_t minHint = 0, maxHint = 0, meanHint = 0;
        if (!chunks.empty()) {
            RollupChunk& last = chunks.back();
            last.min.shrinkToFit();
            last.max.shrinkToFit();
            last.mean.shrinkToFit();
            minHint = wordsHint(last.min);
            maxHint = wordsHint(last.max);
            meanHint = wordsHint(last.mean);
        }
        RollupChunk& c = chunks.emplace_back();
        c.min.reserveWords(minHint);
        c.max.reserveWords(maxHint);
        c.mean.reserveWords(meanHint);
    }
    // Minutes of a series close in increasing order, so these appends are never refused.
    RollupChunk& c = chunks.back();
    c.min.append(m.startMs, min);
    c.max.append(m.startMs, max);
    c.mean.append(m.startMs, mean);
}

void History::trim(Source& source, int64_t nowMs, int64_t closeBeforeMs) {
    const int64_t rawCutoff = nowMs - m_options.rawSeconds * 1000;
    const int64_t rollupCutoff = nowMs - m_options.rollupSeconds * 1000;
    const int64_t rawBlock = floorDiv(nowMs, m_rawBlockMs);
    int64_t droppedRawUntil = std::numeric_limits<int64_t>::min(); // last sample dropped
    for (auto it = source.series.begin(); it != source.series.end();) {
        Series& s = it->second;
        if (s.minute && s.minute->startMs < closeBeforeMs)
            closeMinute(s);
        if (s.minute && s.minute->startMs + kMinuteMs <= rollupCutoff)
            s.minute.reset();

        auto raw = std::find_if(s.raw.begin(), s.raw.end(),
                                [&](const GorillaChunk& c) { return c.lastMs() >= rawCutoff; });
        if (raw != s.raw.begin()) {
            droppedRawUntil = std::max(droppedRawUntil, std::prev(raw)->lastMs());
            s.raw.erase(s.raw.begin(), raw);
        }
        // A series that stopped: its last chunk is closed.
        if (!s.raw.empty() && floorDiv(s.raw.back().lastMs(), m_rawBlockMs) != rawBlock)
            s.raw.back().shrinkToFit();

        auto rollup = std::find_if(s.rollup.begin(), s.rollup.end(), [&](const RollupChunk& c) {
            return c.mean.lastMs() >= rollupCutoff;
        });
        s.rollup.erase(s.rollup.begin(), rollup);

        if (s.raw.empty() && s.rollup.empty() && !s.minute) {
            it = source.series.erase(it);
            --m_seriesCount;
        } else {
            ++it;
        }
    }
    if (droppedRawUntil != std::numeric_limits<int64_t>::min())
        source.rawFromMs = std::max(source.rawFromMs, droppedRawUntil + 1);
}

std::optional<std::vector<SeriesPoints>> History::query(const std::string& source, int64_t sinceMs,
                                                        int64_t untilMs, int64_t stepSeconds,
                                                        HistoryAgg agg) const {
    auto found = m_sources.find(source);
    if (found == m_sources.end())
        return std::nullopt;
    const Source& src = found->second;
    std::vector<SeriesPoints> out;
    if (untilMs < sinceMs)
        return out;

    const int64_t stepMs = std::clamp<int64_t>(stepSeconds, 0, kMaxSeconds) * 1000;
    const bool raw = stepSeconds <= 60 && sinceMs >= src.rawFromMs;
    const int64_t resolutionMs = raw ? src.intervalMs : kMinuteMs;
    std::vector<std::pair<int64_t, double>> points;
    for (const auto& [key, s] : src.series) {
        points.clear();
        if (raw)
            collectRaw(s, sinceMs, untilMs, points);
        else
            collectRollup(s, sinceMs, untilMs, agg, points);
        if (points.empty())
            continue;
        if (stepMs > resolutionMs)
            combineIntoSteps(points, stepMs, agg);
        out.push_back(SeriesPoints{s.name, s.unit, s.tags, points});
    }
    std::sort(out.begin(), out.end(), [](const SeriesPoints& a, const SeriesPoints& b) {
        return std::tie(a.name, a.unit, a.tags) < std::tie(b.name, b.unit, b.tags);
    });
    return out;
}

namespace {

// Appends a chunk's samples within [sinceMs, untilMs]; false once the chunk starts after untilMs
// (the chunks that follow start later still).
bool appendInRange(const GorillaChunk& c, int64_t sinceMs, int64_t untilMs,
                   std::vector<std::pair<int64_t, double>>& out) {
    if (c.lastMs() < sinceMs)
        return true;
    if (c.firstMs() > untilMs)
        return false;
    for (auto it = c.iterator(); it.next();) {
        const int64_t t = it.timestampMs();
        if (t > untilMs)
            break;
        if (t >= sinceMs)
            out.emplace_back(t, it.value());
    }
    return true;
}

} // namespace

void History::collectRaw(const Series& series, int64_t sinceMs, int64_t untilMs,
                         std::vector<std::pair<int64_t, double>>& out) const {
    for (const GorillaChunk& c : series.raw)
        if (!appendInRange(c, sinceMs, untilMs, out))
            break;
}

void History::collectRollup(const Series& series, int64_t sinceMs, int64_t untilMs, HistoryAgg agg,
                            std::vector<std::pair<int64_t, double>>& out) const {
    for (const RollupChunk& rc : series.rollup) {
        const GorillaChunk& c = agg == HistoryAgg::Min   ? rc.min
                                : agg == HistoryAgg::Max ? rc.max
                                                         : rc.mean;
        if (!appendInRange(c, sinceMs, untilMs, out))
            break;
    }
    if (series.minute && series.minute->startMs >= sinceMs && series.minute->startMs <= untilMs) {
        const Minute& m = *series.minute;
        double v = std::nan("");
        if (m.values > 0)
            v = agg == HistoryAgg::Min ? m.min : agg == HistoryAgg::Max ? m.max : m.sum / m.values;
        out.emplace_back(m.startMs, v);
    }
}

bool History::forget(const std::string& source) {
    auto it = m_sources.find(source);
    if (it == m_sources.end())
        return false;
    m_seriesCount -= it->second.series.size();
    m_sources.erase(it);
    return true;
}

bool History::markFinished(const std::string& source, int64_t nowMs) {
    auto it = m_sources.find(source);
    if (it == m_sources.end())
        return false;
    it->second.finishedMs = nowMs;
    return true;
}

size_t History::expire(int64_t nowMs, int64_t keepMs) {
    size_t dropped = 0;
    for (auto it = m_sources.begin(); it != m_sources.end();) {
        Source& src = it->second;
        if (src.finishedMs && *src.finishedMs <= nowMs - keepMs) {
            m_seriesCount -= src.series.size();
            it = m_sources.erase(it);
            ++dropped;
            continue;
        }
        // Minutes close only by the source's own batches: a batch stamped before nowMs may
        // still come for the open one.
        trim(src, nowMs, std::numeric_limits<int64_t>::min());
        ++it;
    }
    return dropped;
}

std::vector<std::string> History::sources() const {
    std::vector<std::string> out;
    out.reserve(m_sources.size());
    for (const auto& [name, src] : m_sources)
        out.push_back(name);
    std::sort(out.begin(), out.end());
    return out;
}

void History::addFootprint(const Series& s, HistoryFootprint& f) {
    size_t names = stringHeap(s.name) + stringHeap(s.unit);
    names += s.tags.capacity() * sizeof(Tags::value_type);
    for (const auto& [k, v] : s.tags)
        names += stringHeap(k) + stringHeap(v);
    size_t raw = s.raw.capacity() * sizeof(GorillaChunk);
    for (const GorillaChunk& c : s.raw) {
        raw += c.heapBytes();
        f.rawSamples += c.size();
    }
    size_t rollup = s.rollup.capacity() * sizeof(RollupChunk);
    for (const RollupChunk& c : s.rollup) {
        rollup += c.min.heapBytes() + c.max.heapBytes() + c.mean.heapBytes();
        f.rollupMinutes += c.mean.size();
    }
    f.rawBytes += raw;
    f.rollupBytes += rollup;
    f.totalBytes += names + raw + rollup;
}

HistoryFootprint History::footprint() const {
    // A hash node: the value, the next pointer and the cached hash; a bucket: one pointer.
    constexpr size_t kNodeExtra = sizeof(void*) + sizeof(size_t);
    HistoryFootprint f;
    f.totalBytes = sizeof(*this) + stringHeap(m_key) + m_sources.bucket_count() * sizeof(void*);
    for (const auto& [name, src] : m_sources) {
        f.totalBytes += sizeof(std::pair<const std::string, Source>) + kNodeExtra +
                        stringHeap(name) + src.series.bucket_count() * sizeof(void*);
        for (const auto& [key, s] : src.series) {
            f.totalBytes +=
                sizeof(std::pair<const std::string, Series>) + kNodeExtra + stringHeap(key);
            addFootprint(s, f);
        }
    }
    return f;
}

} // namespace day2::metrics
