#include "statsd/statsd_aggregator.h"

#include "day2/wire/wire.h"

#include <algorithm>
#include <cmath>

namespace day2::statsd {

namespace {

bool isIdentityTag(std::string_view key) {
    for (std::string_view t : wire::kIdentityTags)
        if (key == t)
            return true;
    return false;
}

// Nearest rank: the smallest value with at least p of the values at or below it.
double percentile(const std::vector<double>& sorted, double p) {
    const size_t n = sorted.size();
    size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
    return sorted[std::clamp<size_t>(rank, 1, n) - 1];
}

std::string_view unitOf(StatsdType type) {
    return type == StatsdType::Timer ? "ms" : "";
}

} // namespace

StatsdAggregator::StatsdAggregator(size_t maxSeries) : m_maxSeries(maxSeries) {}

StatsdAggregator::Series* StatsdAggregator::find(const StatsdLine& line) {
    // A name holds no control character (the parser refuses them): '\0' ends it.
    m_rawKey.assign(line.name);
    m_rawKey += '\0';
    m_rawKey += static_cast<char>('0' + static_cast<int>(line.type));
    m_rawKey += line.tags;
    if (auto it = m_rawKeys.find(m_rawKey); it != m_rawKeys.end()) {
        m_reservedTags += it->second.reservedTags;
        return it->second.series;
    }
    uint32_t reserved = 0;
    m_tags.clear();
    forEachStatsdTag(line.tags, [&](std::string_view key, std::string_view value) {
        if (isIdentityTag(key))
            ++reserved;
        else
            m_tags.emplace_back(key, value);
    });
    m_reservedTags += reserved;
    Series* s = findSorted(line);
    if (s && m_rawKeys.size() / kRawKeysPerSeries < m_maxSeries)
        m_rawKeys.emplace(m_rawKey, RawEntry{s, reserved});
    return s;
}

// The series of a line whose tags are in m_tags, without the identity tags.
StatsdAggregator::Series* StatsdAggregator::findSorted(const StatsdLine& line) {
    std::sort(m_tags.begin(), m_tags.end());
    m_key.assign(line.name);
    m_key += '\0';
    m_key += static_cast<char>('0' + static_cast<int>(line.type));
    for (const auto& [k, v] : m_tags) {
        m_key += '\0';
        m_key += k;
        m_key += '=';
        m_key += v;
    }
    if (auto it = m_series.find(m_key); it != m_series.end())
        return it->second.get();
    if (m_series.size() >= m_maxSeries) {
        ++m_droppedSeries;
        return nullptr;
    }
    auto s = std::make_unique<Series>();
    s->name.assign(line.name);
    s->type = line.type;
    s->tags = m_tags;
    return m_series.emplace(m_key, std::move(s)).first->second.get();
}

void StatsdAggregator::addValue(Series& s, double value, double rate) {
    s.count += 1 / rate;
    if (s.seen == 0)
        s.min = s.max = value;
    s.min = std::min(s.min, value);
    s.max = std::max(s.max, value);
    s.sum += value;
    ++s.seen;
    if (s.values.size() < kExactValues) {
        s.values.push_back(value);
    } else { // reservoir sampling (algorithm R): each value is kept with the same chance
        const uint64_t j = std::uniform_int_distribution<uint64_t>(0, s.seen - 1)(m_random);
        if (j < kExactValues)
            s.values[j] = value;
    }
}

void StatsdAggregator::add(const StatsdLine& line) {
    Series* s = find(line);
    if (!s)
        return;
    s->touched = true;
    double v = line.value;
    std::string_view more = line.more;
    switch (line.type) {
    case StatsdType::Counter:
        do
            s->sum += v / line.sampleRate;
        while (nextStatsdValue(more, v));
        break;
    case StatsdType::Gauge:
        s->gauge = line.delta && s->hasGauge ? s->gauge + v : v;
        s->hasGauge = true;
        break;
    case StatsdType::Timer:
    case StatsdType::Histogram:
    case StatsdType::Distribution:
        do
            addValue(*s, v, line.sampleRate);
        while (nextStatsdValue(more, v));
        break;
    case StatsdType::Set:
        if (s->members.size() < kMaxSetMembers)
            s->members.emplace(line.member);
        else if (!s->members.count(std::string(line.member)))
            ++m_truncatedSets;
        break;
    }
}

std::vector<StatsdPoint> StatsdAggregator::flush(double seconds) {
    std::vector<StatsdPoint> out;
    for (auto& [key, ptr] : m_series) {
        Series& s = *ptr;
        auto point = [&](const char* suffix, double value, std::string_view unit) {
            out.push_back({s.name + suffix, value, unit, &s.tags});
        };
        switch (s.type) {
        case StatsdType::Counter:
            // A counter known from an earlier interval says 0, not nothing (as Etsy statsd).
            point("", s.sum, "count");
            point(".rate", seconds > 0 ? s.sum / seconds : 0, "per_second");
            s.total += s.sum;
            break;
        case StatsdType::Gauge:
            if (s.hasGauge)
                point("", s.gauge, "");
            break;
        case StatsdType::Timer:
        case StatsdType::Histogram:
        case StatsdType::Distribution:
            if (s.seen > 0) {
                std::sort(s.values.begin(), s.values.end());
                const std::string_view unit = unitOf(s.type);
                point(".count", s.count, "count");
                point(".min", s.min, unit);
                point(".max", s.max, unit);
                point(".mean", s.sum / static_cast<double>(s.seen), unit);
                point(".p50", percentile(s.values, 0.50), unit);
                point(".p90", percentile(s.values, 0.90), unit);
                point(".p95", percentile(s.values, 0.95), unit);
                point(".p99", percentile(s.values, 0.99), unit);
            }
            break;
        case StatsdType::Set:
            if (s.touched)
                point("", static_cast<double>(s.members.size()), "count");
            break;
        }
        s.touched = false;
        s.sum = s.count = 0;
        s.seen = 0;
        s.values.clear();
        s.members.clear();
    }
    return out;
}

std::vector<StatsdAggregator::Cumulative> StatsdAggregator::cumulative() const {
    std::vector<Cumulative> out;
    for (const auto& [key, s] : m_series)
        if (s->type == StatsdType::Counter)
            out.push_back({s->name, &s->tags, s->total});
    return out;
}

} // namespace day2::statsd
