// GorillaChunk and History: exact round trips, the tiers, steps, expiry and the bounds.
#include "metrics/gorilla.h"
#include "metrics/history.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace day2::metrics;

namespace {

using Points = std::vector<std::pair<int64_t, double>>;

constexpr int64_t kMinute = 60'000;
// A minute boundary (a multiple of the raw and rollup blocks of the options used here too).
constexpr int64_t kT0 = 1'700'006'400'000;
static_assert(kT0 % 7'200'000 == 0);

uint64_t bitsOf(double v) {
    return std::bit_cast<uint64_t>(v);
}

double fromBits(uint64_t b) {
    return std::bit_cast<double>(b);
}

// Appends all; decodes and compares bit for bit.
void expectRoundTrip(const Points& in) {
    GorillaChunk c;
    for (const auto& [t, v] : in)
        ASSERT_TRUE(c.append(t, v)) << t;
    ASSERT_EQ(c.size(), in.size());
    size_t i = 0;
    for (auto it = c.iterator(); it.next(); ++i) {
        ASSERT_LT(i, in.size());
        ASSERT_EQ(it.timestampMs(), in[i].first) << "sample " << i;
        ASSERT_EQ(bitsOf(it.value()), bitsOf(in[i].second)) << "sample " << i;
        ASSERT_EQ(it.valueBits(), bitsOf(in[i].second));
    }
    EXPECT_EQ(i, in.size());
    if (!in.empty()) {
        EXPECT_EQ(c.firstMs(), in.front().first);
        EXPECT_EQ(c.lastMs(), in.back().first);
    }
}

// Doubles that stress the XOR encoding.
std::vector<double> adversarialValues() {
    const double inf = std::numeric_limits<double>::infinity();
    return {0.0,
            -0.0,
            0.0,
            inf,
            -inf,
            std::numeric_limits<double>::quiet_NaN(),
            -std::numeric_limits<double>::quiet_NaN(),
            fromBits(0x7ff0000000000001),  // signalling NaN, smallest payload
            fromBits(0x7ff8dead'beef1234), // quiet NaN with a payload
            fromBits(0xfff7ffff'ffffffff), // negative signalling NaN, largest payload
            std::numeric_limits<double>::denorm_min(),
            -std::numeric_limits<double>::denorm_min(),
            std::numeric_limits<double>::min(),
            std::numeric_limits<double>::max(),
            std::numeric_limits<double>::lowest(),
            std::numeric_limits<double>::epsilon(),
            1.0,
            1.0,
            1.0,
            -1.0,
            1e308,
            1e-308,
            42.0,
            fromBits(0x0000000000000001),
            fromBits(0x8000000000000000),
            fromBits(0xffffffffffffffff),
            fromBits(0x0000000000000000),
            fromBits(0x00000000ffffffff),
            fromBits(0xffffffff00000000),
            fromBits(0x5555555555555555),
            fromBits(0xaaaaaaaaaaaaaaaa),
            123456789.125,
            123456789.25,
            123456789.125};
}

Datapoint dp(std::string name, double value, std::string unit = "", Tags tags = {}) {
    return Datapoint{std::move(name), value, std::move(unit), std::move(tags)};
}

Batch at(int64_t ms, std::vector<Datapoint> points) {
    return Batch{ms * 1000, std::move(points)};
}

const SeriesPoints* find(const std::vector<SeriesPoints>& all, const std::string& name,
                         const Tags& tags = {}) {
    for (const auto& s : all)
        if (s.name == name && s.tags == tags)
            return &s;
    return nullptr;
}

Points pointsOf(const History& h, const std::string& source, const std::string& name, int64_t since,
                int64_t until, int64_t step, HistoryAgg agg = HistoryAgg::Mean) {
    auto r = h.query(source, since, until, step, agg);
    EXPECT_TRUE(r.has_value());
    if (!r)
        return {};
    const SeriesPoints* s = find(*r, name);
    return s ? s->points : Points{};
}

constexpr int64_t kAll = std::numeric_limits<int64_t>::max();
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

} // namespace

// --- GorillaChunk ---

TEST(GorillaChunk, RandomSequencesRoundTripExactly) {
    std::mt19937_64 rng{20261206};
    for (int round = 0; round < 20; ++round) {
        Points in;
        int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000) - 1'000'000'000'000;
        double v = 0;
        for (int i = 0; i < 5000; ++i) {
            // Steady, jittery, gaps, and the occasional huge jump.
            switch (rng() % 8) {
            case 0:
                t += 1 + static_cast<int64_t>(rng() % 1'000'000'000);
                break;
            case 1:
                t += 1 + static_cast<int64_t>(rng() % 3);
                break;
            default:
                t += 1000 + static_cast<int64_t>(rng() % 7) - 3;
            }
            switch (rng() % 6) {
            case 0:
                v = fromBits(rng()); // any bits: NaNs with payloads, infinities, denormals
                break;
            case 1:
                break; // the same value
            case 2:
                v += 0.01;
                break;
            case 3:
                v = static_cast<double>(rng() % 100);
                break;
            default:
                v = static_cast<double>(rng() % 1'000'000) / 1000.0;
            }
            in.emplace_back(t, v);
        }
        expectRoundTrip(in);
    }
}

// Values that are decimals (m / 10^e) and values next to them that are not.
TEST(GorillaChunk, DecimalsAndTheirNeighboursRoundTripExactly) {
    std::mt19937_64 rng{7};
    Points in;
    int64_t t = 0;
    const double twoTo53 = 9007199254740992.0;
    const std::vector<double> edges = {0.0,
                                       -0.0,
                                       1e-15,
                                       -1e-15,
                                       0.1,
                                       0.3,
                                       1.0 / 3,
                                       twoTo53 / 1e15,
                                       twoTo53,
                                       -twoTo53,
                                       twoTo53 * 2,
                                       1e300,
                                       123456.789,
                                       5e-324,
                                       std::nextafter(0.1, 1.0),
                                       std::nextafter(123.45, 0.0)};
    for (double a : edges)
        for (double b : edges) {
            in.emplace_back(t += 1000, a);
            in.emplace_back(t += 1000, b);
        }
    for (int i = 0; i < 20'000; ++i) {
        const int e = static_cast<int>(rng() % 16);
        const auto m = static_cast<int64_t>(rng() % 2'000'000) - 1'000'000;
        double v = static_cast<double>(m) / std::pow(10.0, e);
        if (rng() % 5 == 0)
            v = std::nextafter(v, 1e300); // one ulp off: not a decimal at that e
        in.emplace_back(t += 1000, v);
    }
    expectRoundTrip(in);
}

// What a series of decimals costs (values only: steady timestamps cost a bit each).
TEST(GorillaChunk, DecimalDeltasCostTheirDigits) {
    std::mt19937_64 rng{11};
    const auto bitsPerSample = [](const std::vector<double>& values) {
        GorillaChunk c;
        int64_t t = 0;
        for (double v : values)
            c.append(t += 1000, v);
        return static_cast<double>(c.bits() - 128) / static_cast<double>(values.size() - 1) - 1;
    };
    // Percentages in 0.01 steps, uniformly random: 10,000 values need 13.3 bits; the zigzag
    // delta 15, plus 2 of prefix.
    std::vector<double> percents;
    for (int i = 0; i < 10'000; ++i)
        percents.push_back(roundTo(static_cast<double>(rng() % 10'001) / 100, 2));
    const double percentBits = bitsPerSample(percents);
    EXPECT_LE(percentBits, 17.1) << "XOR took ~56";
    // CPU seconds in 4 ms ticks, up to 50 a second: deltas below 2^9 at e = 3.
    std::vector<double> cpu;
    uint64_t nanos = 123'456'000'000;
    for (int i = 0; i < 10'000; ++i) {
        nanos += rng() % 51 * 4'000'000;
        cpu.push_back(static_cast<double>(nanos) / 1e9);
    }
    const double cpuBits = bitsPerSample(cpu);
    EXPECT_LE(cpuBits, 11.1) << "XOR took ~40";
    // Memory bytes with page-sized noise stay with the XOR (multiples of 4096, not of 10^k).
    std::vector<double> memory;
    for (int i = 0; i < 10'000; ++i)
        memory.push_back(1e9 + static_cast<double>(rng() % 8 * 4096));
    EXPECT_LE(bitsPerSample(memory), 7.0);
}

TEST(GorillaChunk, AdversarialValuesAndTimestampsRoundTripExactly) {
    const auto values = adversarialValues();
    const int64_t lo = std::numeric_limits<int64_t>::min();
    const int64_t hi = std::numeric_limits<int64_t>::max();
    // The extremes of int64, negative times, a jump across the whole range.
    std::vector<std::vector<int64_t>> timelines = {
        {lo, lo + 1, lo + 2, -5, 0, 1, hi - 1, hi},
        {lo, hi},
        {-3'000'000'000'000, -2'999'999'999'000, -1, 0, 1'000},
    };
    std::vector<int64_t> steady;
    for (size_t i = 0; i < values.size(); ++i)
        steady.push_back(1'700'000'000'000 + static_cast<int64_t>(i) * 1000);
    timelines.push_back(steady);
    for (const auto& times : timelines) {
        Points in;
        for (size_t i = 0; i < times.size(); ++i)
            in.emplace_back(times[i], values[i % values.size()]);
        expectRoundTrip(in);
    }
    // Every pair of adversarial values in both orders.
    Points pairs;
    int64_t t = 0;
    for (double a : values)
        for (double b : values) {
            pairs.emplace_back(t++, a);
            pairs.emplace_back(t++, b);
        }
    expectRoundTrip(pairs);
}

TEST(GorillaChunk, EveryDeltaOfDeltaBucketBoundaryRoundTrips) {
    const int64_t base = int64_t{1} << 40;
    std::vector<int64_t> dods;
    for (int64_t edge :
         {int64_t{64}, int64_t{2048}, int64_t{1} << 19, int64_t{1} << 31, int64_t{1} << 36})
        for (int64_t d : {edge - 1, edge, -edge, -edge - 1, edge + 1})
            dods.push_back(d);
    Points in{{0, 1.0}, {base, 2.0}};
    for (int64_t d : dods) {
        // base + d, then back to base: dods d and -d.
        in.emplace_back(in.back().first + base + d, 3.0);
        in.emplace_back(in.back().first + base, 4.0);
    }
    expectRoundTrip(in);
}

TEST(GorillaChunk, RefusesTimestampsNotAfterTheLast) {
    GorillaChunk c;
    ASSERT_TRUE(c.append(1000, 1.5));
    ASSERT_TRUE(c.append(2000, 2.5));
    const uint64_t bits = c.bits();
    EXPECT_FALSE(c.append(2000, 9.0)); // equal
    EXPECT_FALSE(c.append(1500, 9.0)); // earlier
    EXPECT_FALSE(c.append(-1, 9.0));
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.bits(), bits);
    EXPECT_EQ(c.lastMs(), 2000);
    ASSERT_TRUE(c.append(2001, 3.5));
    Points out;
    for (auto it = c.iterator(); it.next();)
        out.emplace_back(it.timestampMs(), it.value());
    EXPECT_EQ(out, (Points{{1000, 1.5}, {2000, 2.5}, {2001, 3.5}}));
}

TEST(GorillaChunk, ASteadyConstantSeriesCostsTwoBitsASample) {
    GorillaChunk c;
    for (int64_t i = 0; i < 3600; ++i)
        ASSERT_TRUE(c.append(kT0 + i * 1000, 42.0));
    // 128 for the first sample, 15 + 1 for the second (delta 1000 in the 12-bit bucket), then
    // '0' for the timestamp and '0' for the value.
    EXPECT_EQ(c.bits(), 128u + 16u + 3598u * 2u);
    EXPECT_GE(c.bytes(), sizeof(GorillaChunk) + c.words() * sizeof(uint64_t));
    EXPECT_EQ(c.words(), (c.bits() + 63) / 64);
    c.shrinkToFit();
    EXPECT_EQ(c.bytes(), sizeof(GorillaChunk) + c.words() * sizeof(uint64_t));
}

TEST(GorillaChunk, BytesFollowsTheCapacity) {
    GorillaChunk c;
    const size_t empty = c.bytes();
    c.reserveWords(100);
    EXPECT_GE(c.bytes(), empty + 100 * sizeof(uint64_t));
    c.append(0, 1.0);
    c.shrinkToFit();
    EXPECT_EQ(c.bytes(), empty + 2 * sizeof(uint64_t));
}

TEST(GorillaChunk, AnIteratorDecodesWhatWasThereWhenItWasMade) {
    GorillaChunk c;
    c.append(1, 1.0);
    c.append(2, 2.0);
    auto it = c.iterator();
    int n = 0;
    while (it.next())
        ++n;
    EXPECT_EQ(n, 2);
    EXPECT_FALSE(GorillaChunk{}.iterator().next());
}

// --- History ---

TEST(History, RawQueryReturnsExactlyWhatWasAppended) {
    History h;
    std::mt19937_64 rng{7};
    const auto odd = adversarialValues();
    const Tags eth0{{"interface", "eth0"}}, lo{{"interface", "lo"}};
    Points cpu, in0, inLo, weird;
    int64_t t = kT0 + 123;
    for (int i = 0; i < 1800; ++i) {
        t += 1000 + static_cast<int64_t>(rng() % 5) - 2; // a few ms of jitter
        const double c = 0.01 * i + static_cast<double>(rng() % 10) / 1000;
        const double a = static_cast<double>(i * 1500 + static_cast<int>(rng() % 100));
        const double b = static_cast<double>(i) * 7;
        const double w = odd[static_cast<size_t>(i) % odd.size()];
        h.append("node", at(t, {dp("cpu.user", c, "seconds"), dp("network.in", a, "bytes", eth0),
                                dp("network.in", b, "bytes", lo), dp("weird", w)}));
        cpu.emplace_back(t, c);
        in0.emplace_back(t, a);
        inLo.emplace_back(t, b);
        weird.emplace_back(t, w);
    }
    EXPECT_EQ(h.footprint().rawSamples, 4u * 1800);
    EXPECT_EQ(h.footprint().rollupMinutes, 4u * 30); // 0:00.123 to 30:00.1xx: 30 closed, 1 open
    for (int64_t step : {0, 1}) {
        auto r = h.query("node", kNever, kAll, step);
        ASSERT_TRUE(r.has_value());
        ASSERT_EQ(r->size(), 4u);
        // Sorted by name, unit, tags.
        EXPECT_EQ((*r)[0].name, "cpu.user");
        EXPECT_EQ((*r)[0].unit, "seconds");
        EXPECT_EQ((*r)[1].tags, eth0);
        EXPECT_EQ((*r)[2].tags, lo);
        EXPECT_EQ((*r)[3].name, "weird");
        EXPECT_EQ((*r)[0].points, cpu);
        EXPECT_EQ((*r)[1].points, in0);
        EXPECT_EQ((*r)[2].points, inLo);
        const Points& got = (*r)[3].points;
        ASSERT_EQ(got.size(), weird.size());
        for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(got[i].first, weird[i].first);
            ASSERT_EQ(bitsOf(got[i].second), bitsOf(weird[i].second)) << i;
        }
    }
    // A sub-range, both ends included.
    const int64_t since = cpu[100].first, until = cpu[199].first;
    EXPECT_EQ(pointsOf(h, "node", "cpu.user", since, until, 0),
              Points(cpu.begin() + 100, cpu.begin() + 200));
    EXPECT_EQ(pointsOf(h, "node", "cpu.user", since + 1, until - 1, 0),
              Points(cpu.begin() + 101, cpu.begin() + 199));
}

TEST(History, AStepLargerThanTheIntervalAveragesAlignedBuckets) {
    History h;
    for (int64_t i = 0; i < 600; ++i)
        h.append("node", at(kT0 + i * 1000, {dp("g", static_cast<double>(i))}));
    // Buckets of 10 s: i..i+9, mean i + 4.5, min i, max i + 9.
    auto mean = pointsOf(h, "node", "g", kT0, kT0 + 599'000, 10);
    ASSERT_EQ(mean.size(), 60u);
    auto min = pointsOf(h, "node", "g", kT0, kT0 + 599'000, 10, HistoryAgg::Min);
    auto max = pointsOf(h, "node", "g", kT0, kT0 + 599'000, 10, HistoryAgg::Max);
    for (size_t k = 0; k < 60; ++k) {
        const auto first = static_cast<double>(k * 10);
        EXPECT_EQ(mean[k], (std::pair<int64_t, double>{kT0 + int64_t(k) * 10'000, first + 4.5}));
        EXPECT_EQ(min[k].second, first);
        EXPECT_EQ(max[k].second, first + 9);
    }
    // Buckets are aligned to multiples of the step, not to `since`: 5..9 in the first one.
    auto from5 = pointsOf(h, "node", "g", kT0 + 5000, kT0 + 24'000, 10);
    EXPECT_EQ(from5, (Points{{kT0, 7.0}, {kT0 + 10'000, 14.5}, {kT0 + 20'000, 22.0}}));
    // A step of 7 s: buckets of unix time, kT0 being 1 s past a multiple of 7 s.
    static_assert(kT0 % 7000 == 1000);
    auto seven = pointsOf(h, "node", "g", kT0, kT0 + 13'000, 7);
    EXPECT_EQ(seven, (Points{{kT0 - 1000, 2.5}, {kT0 + 6000, 9.0}, {kT0 + 13'000, 13.0}}));
}

TEST(History, TheResolutionFollowsTheCollectionInterval) {
    History h;
    // 10 s collections: a step of 5 s or 10 s returns them as stored; 20 s averages pairs.
    for (int64_t i = 0; i < 30; ++i)
        h.append("node", at(kT0 + i * 10'000 + 3, {dp("g", static_cast<double>(i))}));
    auto stored = pointsOf(h, "node", "g", kNever, kAll, 0);
    ASSERT_EQ(stored.size(), 30u);
    EXPECT_EQ(pointsOf(h, "node", "g", kNever, kAll, 5), stored);
    EXPECT_EQ(pointsOf(h, "node", "g", kNever, kAll, 10), stored);
    auto twenty = pointsOf(h, "node", "g", kNever, kAll, 20);
    ASSERT_EQ(twenty.size(), 15u);
    EXPECT_EQ(twenty[0], (std::pair<int64_t, double>{kT0, 0.5}));
    EXPECT_EQ(twenty[14], (std::pair<int64_t, double>{kT0 + 280'000, 28.5}));
    // Then 2 s collections: the interval changes with them.
    for (int64_t i = 0; i < 30; ++i)
        h.append("node", at(kT0 + 400'000 + i * 2000, {dp("g", 100.0 + static_cast<double>(i))}));
    auto later = pointsOf(h, "node", "g", kT0 + 400'000, kAll, 2);
    ASSERT_EQ(later.size(), 30u);
    EXPECT_EQ(later[1], (std::pair<int64_t, double>{kT0 + 402'000, 101.0}));
    auto four = pointsOf(h, "node", "g", kT0 + 400'000, kAll, 4);
    ASSERT_EQ(four.size(), 15u);
    EXPECT_EQ(four[0].second, 100.5);
}

TEST(History, RollupsAreExactMinMaxAndMeanAcrossTheTierBoundary) {
    History h{HistoryOptions{.rawSeconds = 600, .rollupSeconds = 7200}};
    // One hour at 1 s, known values: per minute m the samples are m*100 + (i % 60) * (i % 7).
    std::vector<double> min(60), max(60), sum(60, 0.0);
    for (int64_t i = 0; i < 3600; ++i) {
        const int64_t m = i / 60;
        const double v = static_cast<double>(m * 100 + (i % 60) * (i % 7));
        h.append("node", at(kT0 + i * 1000, {dp("g", v)}));
        const auto mi = static_cast<size_t>(m);
        min[mi] = i % 60 == 0 ? v : std::min(min[mi], v);
        max[mi] = i % 60 == 0 ? v : std::max(max[mi], v);
        sum[mi] += v;
    }
    const int64_t last = kT0 + 3'599'000;
    // The raw tier holds the last 10 minutes (and at most a block more), not the first ones.
    auto recent = pointsOf(h, "node", "g", last - 600'000, kAll, 0);
    ASSERT_EQ(recent.size(), 601u);
    EXPECT_EQ(recent.front().first, last - 600'000);
    // From the start: the rollups, one point a minute at its start, the last minute still open.
    auto mean = pointsOf(h, "node", "g", kT0, kAll, 0);
    auto mins = pointsOf(h, "node", "g", kT0, kAll, 0, HistoryAgg::Min);
    auto maxs = pointsOf(h, "node", "g", kT0, kAll, 0, HistoryAgg::Max);
    ASSERT_EQ(mean.size(), 60u);
    ASSERT_EQ(mins.size(), 60u);
    ASSERT_EQ(maxs.size(), 60u);
    for (size_t m = 0; m < 60; ++m) {
        const int64_t start = kT0 + static_cast<int64_t>(m) * kMinute;
        EXPECT_EQ(mean[m], (std::pair<int64_t, double>{start, sum[m] / 60})) << m;
        EXPECT_EQ(mins[m], (std::pair<int64_t, double>{start, min[m]})) << m;
        EXPECT_EQ(maxs[m], (std::pair<int64_t, double>{start, max[m]})) << m;
    }
    // A range across the boundary (half before the raw tier, half in it) is all rollups.
    auto across = pointsOf(h, "node", "g", last - 1'200'000, kAll, 0);
    ASSERT_EQ(across.size(), 20u);
    EXPECT_EQ(across.front(), (std::pair<int64_t, double>{kT0 + 40 * kMinute, sum[40] / 60}));
    // A step above 60 s is always the rollups, averaged a minute a point; min of mins, max of
    // maxes.
    auto twoMin = pointsOf(h, "node", "g", last - 300'000, kAll, 120);
    ASSERT_FALSE(twoMin.empty());
    EXPECT_EQ(twoMin.back(),
              (std::pair<int64_t, double>{kT0 + 58 * kMinute, (sum[58] / 60 + sum[59] / 60) / 2}));
    auto twoMinMax = pointsOf(h, "node", "g", kT0, kAll, 120, HistoryAgg::Max);
    ASSERT_EQ(twoMinMax.size(), 30u);
    EXPECT_EQ(twoMinMax[3].second, std::max(max[6], max[7]));
    // Closing the last minute (a batch of the next one) changes nothing of its values.
    h.append("node", at(kT0 + 3'600'000, {dp("g", -1.0)}));
    auto closed = pointsOf(h, "node", "g", kT0, kAll, 0);
    ASSERT_EQ(closed.size(), 61u);
    EXPECT_EQ(closed[59], (std::pair<int64_t, double>{kT0 + 59 * kMinute, sum[59] / 60}));
    EXPECT_EQ(closed[60], (std::pair<int64_t, double>{kT0 + 60 * kMinute, -1.0}));
}

TEST(History, RollupsSkipNaN) {
    History h{HistoryOptions{.rawSeconds = 60, .rollupSeconds = 3600}};
    const double nan = std::nan("");
    h.append("node", at(kT0, {dp("g", 1.0), dp("n", nan)}));
    h.append("node", at(kT0 + 1000, {dp("g", nan), dp("n", nan)}));
    h.append("node", at(kT0 + 2000, {dp("g", 3.0), dp("n", nan)}));
    for (int64_t i = 1; i <= 3; ++i)
        h.append("node", at(kT0 + i * kMinute, {dp("g", 0.0), dp("n", 0.0)}));
    // A query from before the raw tier (which holds only the last minute or so).
    EXPECT_EQ(pointsOf(h, "node", "g", kT0, kT0, 0), (Points{{kT0, 2.0}}));
    EXPECT_EQ(pointsOf(h, "node", "g", kT0, kT0, 0, HistoryAgg::Min), (Points{{kT0, 1.0}}));
    EXPECT_EQ(pointsOf(h, "node", "g", kT0, kT0, 0, HistoryAgg::Max), (Points{{kT0, 3.0}}));
    auto n = pointsOf(h, "node", "n", kT0, kT0, 0);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_TRUE(std::isnan(n[0].second));
    // Raw NaN comes back as stored; a bucket skips it.
    History r;
    r.append("node", at(kT0, {dp("g", 1.0)}));
    r.append("node", at(kT0 + 1000, {dp("g", nan)}));
    r.append("node", at(kT0 + 2000, {dp("g", 3.0)}));
    auto raw = pointsOf(r, "node", "g", kNever, kAll, 0);
    ASSERT_EQ(raw.size(), 3u);
    EXPECT_TRUE(std::isnan(raw[1].second));
    EXPECT_EQ(pointsOf(r, "node", "g", kNever, kAll, 10), (Points{{kT0, 2.0}}));
}

TEST(History, ASeriesThatGoesAndComesBackHasAGap) {
    History h{HistoryOptions{.rawSeconds = 600, .rollupSeconds = 3600}};
    Points expected;
    for (int64_t i = 0; i < 600; ++i) {
        std::vector<Datapoint> points{dp("always", 1.0)};
        if (i < 100 || i >= 500) {
            points.push_back(dp("flaky", static_cast<double>(i)));
            expected.emplace_back(kT0 + i * 1000, static_cast<double>(i));
        }
        h.append("node", at(kT0 + i * 1000, points));
    }
    EXPECT_EQ(pointsOf(h, "node", "flaky", kNever, kAll, 0), expected);
    // Minutes 0 and 1 (its first 100 s), then 8 and 9 (its last 100 s); nothing between.
    auto minutes = pointsOf(h, "node", "flaky", kT0 - 3'600'000, kAll, 120);
    ASSERT_EQ(minutes.size(), 2u);
    EXPECT_EQ(minutes[0].first, kT0);
    EXPECT_EQ(minutes[1].first, kT0 + 8 * kMinute);
}

TEST(History, ExpiryDropsOldChunksAndBytesShrink) {
    History h{HistoryOptions{.rawSeconds = 600, .rollupSeconds = 1800}};
    auto run = [&h](int64_t from, int64_t to) {
        for (int64_t i = from; i < to; ++i) {
            std::vector<Datapoint> points;
            points.reserve(10);
            for (int s = 0; s < 10; ++s)
                points.push_back(dp("s" + std::to_string(s), static_cast<double>(i % 97 + s)));
            h.append("node", at(kT0 + i * 1000, points));
        }
    };
    run(0, 3600);
    const size_t oneHour = h.bytes();
    // Raw: 10 minutes, at most a block (40 s) and a minute more, of 10 series.
    EXPECT_GE(h.footprint().rawSamples, 10u * 601);
    EXPECT_LE(h.footprint().rawSamples, 10u * 701);
    // The oldest raw and rollup chunks are gone: the raw tier starts within a block (40 s) of
    // 10 minutes back, the rollups within a block (150 s) of 30 minutes back.
    const int64_t last = kT0 + 3'599'000;
    auto raw = pointsOf(h, "node", "s0", last - 600'000, kAll, 0);
    ASSERT_FALSE(raw.empty());
    auto rollup = pointsOf(h, "node", "s0", kNever, kAll, 0);
    ASSERT_FALSE(rollup.empty());
    EXPECT_GE(rollup.front().first, last - 1'800'000 - 150'000 - kMinute);
    EXPECT_LE(rollup.front().first, last - 1'800'000);
    // Another hour: the same bytes, give or take the chunks in flight.
    run(3600, 7200);
    const size_t twoHours = h.bytes();
    EXPECT_LT(twoHours, oneHour + oneHour / 10);
    EXPECT_GT(twoHours, oneHour - oneHour / 10);
    // The source stops; an hour later everything of it has aged out, the source stays known.
    const int64_t now = kT0 + 7'200'000 + 3'600'000;
    EXPECT_EQ(h.expire(now, 3'600'000), 0u);
    EXPECT_EQ(h.seriesCount(), 0u);
    EXPECT_EQ(h.footprint().rawSamples, 0u);
    EXPECT_EQ(h.footprint().rawBytes + h.footprint().rollupBytes, 0u);
    EXPECT_LT(h.bytes(), twoHours / 10);
    auto r = h.query("node", kNever, kAll, 0);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->empty());
}

TEST(History, UnknownSourceIsDistinguishedFromAnEmptyRange) {
    History h;
    h.append("containers/c1", at(kT0, {dp("mem.rss", 1.0, "bytes")}));
    EXPECT_FALSE(h.query("containers/c2", kNever, kAll, 0).has_value());
    EXPECT_FALSE(h.query("node", kNever, kAll, 0).has_value());
    auto empty = h.query("containers/c1", kT0 + 1, kAll, 0);
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->empty());
    auto reversed = h.query("containers/c1", kAll, kNever, 0);
    ASSERT_TRUE(reversed.has_value());
    EXPECT_TRUE(reversed->empty());
    EXPECT_TRUE(h.knows("containers/c1"));
    EXPECT_EQ(h.sources(), std::vector<std::string>{"containers/c1"});
}

TEST(History, FinishedSourcesGoAfterKeepAndForgetIsAtOnce) {
    History h;
    for (const char* s : {"containers/a", "containers/a/app", "containers/b"})
        h.append(s, at(kT0, {dp("x", 1.0), dp("y", 2.0)}));
    EXPECT_EQ(h.seriesCount(), 6u);
    EXPECT_FALSE(h.markFinished("containers/zzz", kT0));
    ASSERT_TRUE(h.markFinished("containers/a", kT0 + 1000));
    ASSERT_TRUE(h.markFinished("containers/a/app", kT0 + 1000));
    ASSERT_TRUE(h.markFinished("containers/b", kT0 + 1000));
    // b comes back: no longer finished.
    h.append("containers/b", at(kT0 + 2000, {dp("x", 1.0)}));
    const int64_t keep = 600'000;
    EXPECT_EQ(h.expire(kT0 + 1000 + keep - 1, keep), 0u);
    EXPECT_TRUE(h.knows("containers/a"));
    EXPECT_EQ(h.expire(kT0 + 1000 + keep, keep), 2u);
    EXPECT_FALSE(h.query("containers/a", kNever, kAll, 0).has_value());
    EXPECT_FALSE(h.query("containers/a/app", kNever, kAll, 0).has_value());
    EXPECT_TRUE(h.query("containers/b", kNever, kAll, 0).has_value());
    EXPECT_EQ(h.seriesCount(), 2u);

    const size_t before = h.bytes();
    EXPECT_TRUE(h.forget("containers/b"));
    EXPECT_FALSE(h.forget("containers/b"));
    EXPECT_FALSE(h.knows("containers/b"));
    EXPECT_EQ(h.seriesCount(), 0u);
    EXPECT_LT(h.bytes(), before);
}

TEST(History, SeriesPastMaxSeriesAreDroppedAndCounted) {
    History h{HistoryOptions{.maxSeries = 5}};
    for (int64_t i = 0; i < 10; ++i) {
        h.append("node",
                 at(kT0 + i * 1000, {dp("a", 1.0), dp("b", 1.0), dp("c", 1.0), dp("d", 1.0)}));
        h.append("containers/x", at(kT0 + i * 1000, {dp("a", 1.0), dp("b", 1.0), dp("c", 1.0)}));
    }
    EXPECT_EQ(h.seriesCount(), 5u);
    EXPECT_EQ(h.droppedSeries(), 20u); // b and c of the container, ten times
    auto r = h.query("containers/x", kNever, kAll, 0);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].name, "a");
    EXPECT_EQ((*r)[0].points.size(), 10u);
    // Room again once the node's series are forgotten.
    h.forget("node");
    h.append("containers/x", at(kT0 + 10'000, {dp("a", 1.0), dp("b", 1.0), dp("c", 1.0)}));
    EXPECT_EQ(h.seriesCount(), 3u);
    EXPECT_EQ(h.droppedSeries(), 20u);
}

TEST(History, ASeriesIsItsNameUnitAndTags) {
    History h;
    h.append("node", at(kT0, {dp("m", 1.0, "bytes"), dp("m", 2.0, "percent"),
                              dp("m", 3.0, "bytes", {{"path", "/"}}),
                              dp("m", 4.0, "bytes", {{"path", "/var"}})}));
    auto r = h.query("node", kNever, kAll, 0);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->size(), 4u);
    EXPECT_EQ(h.seriesCount(), 4u);
}

TEST(History, BatchesBackInTimeAndDuplicatesAreRefusedAndCounted) {
    History h;
    h.append("node", at(kT0 + 10'000, {dp("g", 1.0)}));
    h.append("node", at(kT0 + 5'000, {dp("g", 2.0)}));  // the clock stepped back
    h.append("node", at(kT0 + 10'000, {dp("g", 3.0)})); // the same time again
    EXPECT_EQ(h.refusedBatches(), 2u);
    h.append("node", at(kT0 + 11'000, {dp("g", 4.0), dp("g", 5.0)}));
    EXPECT_EQ(h.refusedSamples(), 1u);
    EXPECT_EQ(pointsOf(h, "node", "g", kNever, kAll, 0),
              (Points{{kT0 + 10'000, 1.0}, {kT0 + 11'000, 4.0}}));
    // Microseconds are stored as milliseconds, rounded down (also before 1970).
    History old;
    old.append("node", Batch{-1500, {dp("g", 1.0)}});
    EXPECT_EQ(pointsOf(old, "node", "g", kNever, kAll, 0), (Points{{-2, 1.0}}));
}

TEST(History, OptionsOutOfRangeAreRefused) {
    EXPECT_THROW(History(HistoryOptions{.rawSeconds = 59}), std::invalid_argument);
    EXPECT_THROW(History(HistoryOptions{.rawSeconds = 3600, .rollupSeconds = 600}),
                 std::invalid_argument);
    EXPECT_NO_THROW(History(HistoryOptions{.rawSeconds = 60, .rollupSeconds = 60}));
}

TEST(History, ParseAgg) {
    EXPECT_EQ(parseHistoryAgg("mean"), HistoryAgg::Mean);
    EXPECT_EQ(parseHistoryAgg("min"), HistoryAgg::Min);
    EXPECT_EQ(parseHistoryAgg("max"), HistoryAgg::Max);
    EXPECT_FALSE(parseHistoryAgg("avg").has_value());
    EXPECT_FALSE(parseHistoryAgg("").has_value());
}

// An hour of one series at 1 s, everything the store holds for it counted (both tiers, the
// names, the containers), per sample.
double bytesPerSample(const std::vector<double>& values, bool jitter) {
    History h;
    std::mt19937_64 rng{99};
    for (size_t i = 0; i < values.size(); ++i) {
        const int64_t t =
            kT0 + static_cast<int64_t>(i) * 1000 + (jitter ? static_cast<int64_t>(rng() % 5) : 0);
        h.append("node", at(t, {dp("series", values[i], "bytes")}));
    }
    History empty;
    empty.append("node", at(kT0, {}));
    return static_cast<double>(h.bytes() - empty.bytes()) / static_cast<double>(values.size());
}

TEST(History, AConstantGaugeTakesAtMostTwoBytesASample) {
    std::vector<double> constant(3600, 16'777'216.0);
    const double steady = bytesPerSample(constant, false);
    const double jittery = bytesPerSample(constant, true);
    EXPECT_LE(steady, 2.0);
    EXPECT_LE(jittery, 2.0);

    // Reported, not asserted: realistic values of other kinds.
    std::mt19937_64 rng{1};
    std::vector<double> cpu(3600), memory(3600), percent(3600);
    double seconds = 12345.67;
    for (size_t i = 0; i < 3600; ++i) {
        seconds += static_cast<double>(rng() % 100) / 1000; // cumulative cpu seconds
        cpu[i] = seconds;
        memory[i] = 512.0 * 1024 * 1024 + static_cast<double>(rng() % 64) * 4096;
        percent[i] = static_cast<double>(rng() % 10'000) / 100;
    }
    const double cpuBytes = bytesPerSample(cpu, true);
    const double memoryBytes = bytesPerSample(memory, true);
    const double percentBytes = bytesPerSample(percent, true);
    std::printf("bytes/sample, 1 h at 1 s, both tiers: constant %.2f (jitter %.2f), "
                "cpu seconds %.2f, memory bytes %.2f, percent %.2f\n",
                steady, jittery, cpuBytes, memoryBytes, percentBytes);
    RecordProperty("constant_bytes_per_sample", std::to_string(steady));
    RecordProperty("cpu_seconds_bytes_per_sample", std::to_string(cpuBytes));
    RecordProperty("memory_bytes_per_sample", std::to_string(memoryBytes));
    RecordProperty("percent_bytes_per_sample", std::to_string(percentBytes));
}
