// StatsdAggregator: what each type becomes at a flush, series by name and tags, the bounds.
#include "statsd/statsd_aggregator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <string>

using namespace day2::statsd;

namespace {

void feed(StatsdAggregator& a, const std::string& datagram) {
    forEachStatsdLine(datagram, [&](std::string_view line) {
        auto r = parseStatsdLine(line);
        ASSERT_TRUE(r.ok()) << line << ": " << r.error;
        a.add(r.line);
    });
}

// name -> value of a flush (the tags, when given, must match the point's).
std::map<std::string, double> byName(const std::vector<StatsdPoint>& points, const Tags& tags = {}) {
    std::map<std::string, double> out;
    for (const auto& p : points)
        if (*p.tags == tags)
            out[p.name] = p.value;
    return out;
}

std::string_view unitOf(const std::vector<StatsdPoint>& points, const std::string& name) {
    for (const auto& p : points)
        if (p.name == name)
            return p.unit;
    return "(none)";
}

} // namespace

TEST(StatsdAggregator, ACounterIsTheSumAndARateAndZeroWhenQuiet) {
    StatsdAggregator a;
    for (int i = 0; i < 1000; ++i)
        feed(a, "hits:1|c");
    feed(a, "hits:2:3|c\nsampled:1|c|@0.1");
    auto p = a.flush(2.0);
    auto v = byName(p);
    EXPECT_EQ(v["hits"], 1005);
    EXPECT_EQ(v["hits.rate"], 502.5);
    EXPECT_DOUBLE_EQ(v["sampled"], 10);
    EXPECT_EQ(unitOf(p, "hits"), "count");
    EXPECT_EQ(unitOf(p, "hits.rate"), "per_second");
    // A quiet interval: 0, not nothing; the total goes on.
    v = byName(a.flush(1.0));
    EXPECT_EQ(v.count("hits"), 1u);
    EXPECT_EQ(v["hits"], 0);
    feed(a, "hits:5|c");
    a.flush(1.0);
    double total = -1;
    for (const auto& c : a.cumulative())
        if (c.name == "hits")
            total = c.total;
    EXPECT_EQ(total, 1010);
}

TEST(StatsdAggregator, AGaugeKeepsItsLastValueAndTakesDeltas) {
    StatsdAggregator a;
    feed(a, "temp:+5|g"); // a delta before any value: from 0
    EXPECT_EQ(byName(a.flush(1))["temp"], 5);
    feed(a, "temp:20|g\ntemp:30|g");
    EXPECT_EQ(byName(a.flush(1))["temp"], 30);
    EXPECT_EQ(byName(a.flush(1))["temp"], 30); // kept across a quiet interval
    feed(a, "temp:-4|g\ntemp:+1.5|g");
    EXPECT_EQ(byName(a.flush(1))["temp"], 27.5);
}

TEST(StatsdAggregator, ATimerGivesCountMinMaxMeanAndPercentiles) {
    StatsdAggregator a;
    std::vector<int> order(100);
    std::iota(order.begin(), order.end(), 1);
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    for (int i : order)
        feed(a, "lat:" + std::to_string(i) + "|ms");
    auto p = a.flush(1);
    auto v = byName(p);
    EXPECT_EQ(v["lat.count"], 100);
    EXPECT_EQ(v["lat.min"], 1);
    EXPECT_EQ(v["lat.max"], 100);
    EXPECT_EQ(v["lat.mean"], 50.5);
    EXPECT_EQ(v["lat.p50"], 50);
    EXPECT_EQ(v["lat.p90"], 90);
    EXPECT_EQ(v["lat.p95"], 95);
    EXPECT_EQ(v["lat.p99"], 99);
    EXPECT_EQ(unitOf(p, "lat.p99"), "ms");
    EXPECT_EQ(unitOf(p, "lat.count"), "count");
    // Sampled at 0.5: twice the count, the same values; several values on a line.
    feed(a, "lat:10:20|ms|@0.5\nsize:7|h");
    p = a.flush(1);
    v = byName(p);
    EXPECT_EQ(v["lat.count"], 4);
    EXPECT_EQ(v["lat.mean"], 15);
    EXPECT_EQ(v["size.max"], 7);
    EXPECT_EQ(unitOf(p, "size.max"), ""); // a histogram has no unit of its own
    // A quiet timer says nothing.
    EXPECT_EQ(byName(a.flush(1)).count("lat.count"), 0u);
}

TEST(StatsdAggregator, PastTenThousandValuesPercentilesComeFromAUniformSample) {
    StatsdAggregator a;
    constexpr int kN = 100000;
    // In ascending order: keeping the first 10,000 (or the last) would be far off.
    for (int i = 1; i <= kN; ++i) {
        auto r = parseStatsdLine("big:" + std::to_string(i) + "|d");
        a.add(r.line);
    }
    auto v = byName(a.flush(1));
    EXPECT_EQ(v["big.count"], kN); // count, min, max and mean stay exact
    EXPECT_EQ(v["big.min"], 1);
    EXPECT_EQ(v["big.max"], kN);
    EXPECT_DOUBLE_EQ(v["big.mean"], (kN + 1) / 2.0);
    // The stated bound: within about 1 % of the true rank (2 standard deviations at p50).
    EXPECT_NEAR(v["big.p50"], 0.50 * kN, 0.01 * kN);
    EXPECT_NEAR(v["big.p90"], 0.90 * kN, 0.01 * kN);
    EXPECT_NEAR(v["big.p99"], 0.99 * kN, 0.01 * kN);
}

TEST(StatsdAggregator, ASetCountsDistinctMembersPerInterval) {
    StatsdAggregator a;
    feed(a, "users:alice|s\nusers:bob|s\nusers:alice|s");
    auto p = a.flush(1);
    EXPECT_EQ(byName(p)["users"], 2);
    EXPECT_EQ(unitOf(p, "users"), "count");
    feed(a, "users:carol|s");
    EXPECT_EQ(byName(a.flush(1))["users"], 1);
}

TEST(StatsdAggregator, SeriesAreANameATypeAndTagsInAnyOrder) {
    StatsdAggregator a;
    feed(a, "req:1|c|#route:/a,env:prod\nreq:1|c|#env:prod,route:/a\nreq:1|c|#route:/b");
    const auto p = a.flush(1);
    EXPECT_EQ(a.seriesCount(), 2u);
    EXPECT_EQ(byName(p, {{"env", "prod"}, {"route", "/a"}})["req"], 2);
    EXPECT_EQ(byName(p, {{"route", "/b"}})["req"], 1);
}

TEST(StatsdAggregator, IdentityTagsCannotBeSetByATask) {
    StatsdAggregator a;
    feed(a, "req:1|c|#container_id:forged,agent_id:x,route:/a");
    const auto p = a.flush(1);
    EXPECT_EQ(byName(p, {{"route", "/a"}})["req"], 1);
    EXPECT_EQ(a.reservedTags(), 2u);
    // The same line again is counted again (a known line takes a shorter way to its series).
    feed(a, "req:1|c|#container_id:forged,agent_id:x,route:/a\nreq:1|c|#route:/a");
    EXPECT_EQ(byName(a.flush(1), {{"route", "/a"}})["req"], 2);
    EXPECT_EQ(a.reservedTags(), 4u);
}

TEST(StatsdAggregator, TagsInEverNewOrdersStillFindTheirSeries) {
    // Six tags in all their 720 orders: past what the aggregator remembers of lines as sent.
    StatsdAggregator a(2);
    std::vector<std::string> tags{"a:1", "b:2", "c:3", "d:4", "e:5", "f:6"};
    int lines = 0;
    do {
        std::string line = "req:1|c|#";
        for (size_t i = 0; i < tags.size(); ++i)
            line += (i ? "," : "") + tags[i];
        feed(a, line + "\n" + line);
        lines += 2;
    } while (std::next_permutation(tags.begin(), tags.end()));
    const auto p = a.flush(1);
    EXPECT_EQ(a.seriesCount(), 1u);
    EXPECT_EQ(a.droppedSeries(), 0u);
    EXPECT_EQ(
        byName(p, {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}})["req"],
        lines);
}

TEST(StatsdAggregator, SeriesBeyondTheCapAreDroppedAndCounted) {
    StatsdAggregator a(10);
    for (int i = 0; i < 15; ++i)
        feed(a, "m" + std::to_string(i) + ":1|c\nm0:1|c");
    EXPECT_EQ(a.seriesCount(), 10u);
    EXPECT_EQ(a.droppedSeries(), 5u);
    EXPECT_EQ(byName(a.flush(1))["m0"], 16); // a known series goes on (twice in the first)
    // A dropped line is dropped, and counted, each time.
    feed(a, "m14:1|c\nm14:1|c");
    EXPECT_EQ(a.droppedSeries(), 7u);
}
