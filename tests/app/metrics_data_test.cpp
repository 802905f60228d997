// The console's metrics arithmetic: history and stream answers parsed, min/max downsampling
// keeping every column's extremes, gaps, rates, grouping and sums, human units.
#include "client/metrics_data.h"

#include <QRandomGenerator>
#include <QTest>

using namespace day2::client;

class MetricsDataTest : public QObject {
    Q_OBJECT
private slots:
    void parsesAHistoryAnswerAndRefusesWhatIsNotOne() {
        QString error;
        const auto got = parseHistory(
            R"({"series":[{"name":"mem.total","unit":"bytes","tags":{"path":"/"},)"
            R"("points":[[1000,5],[2000,6.5]]},{"name":"x","unit":"","tags":{},"points":[]}]})",
            "containers/c1", MetricOrigin{"a1", "node-1", "c1", "marathon", "/web"}, &error);
        QVERIFY2(got, qPrintable(error));
        QCOMPARE(got->size(), 2);
        QCOMPARE(got->at(0).name, QStringLiteral("mem.total"));
        QCOMPARE(got->at(0).tags.value("path"), QStringLiteral("/"));
        QCOMPARE(got->at(0).points, (QList<QPointF>{{1000, 5}, {2000, 6.5}}));
        QCOMPARE(got->at(0).origin.frameworkName, QStringLiteral("marathon"));
        QVERIFY(!parseHistory("{\"series\":", "node", {}, &error));
        QVERIFY(error.contains("not JSON"));
        QVERIFY(!parseHistory("{\"x\":[]}", "node", {}, &error));
        QVERIFY(error.contains("\"series\""));
    }

    void parsesAStreamEventWithItsDimensions() {
        const auto e = parseMetricsEvent(
            R"({"source":"containers/c9","message":{"datapoints":[{"name":"cpus.usage",)"
            R"("value":0.25,"unit":"cores","timestamp":"2026-12-06T05:00:01.000Z","tags":{}}],)"
            R"("dimensions":{"agent_id":"a1","container_id":"c9","framework_name":"fw",)"
            R"("application_name":"/app"}}})",
            MetricOrigin{"a1", "node-1", {}, {}, {}});
        QVERIFY(e);
        QCOMPARE(e->source, QStringLiteral("containers/c9"));
        QCOMPARE(e->series.size(), 1);
        QCOMPARE(e->series[0].origin.containerId, QStringLiteral("c9"));
        QCOMPARE(e->series[0].origin.applicationName, QStringLiteral("/app"));
        QCOMPARE(e->series[0].points[0],
                 QPointF(double(QDateTime::fromString("2026-12-06T05:00:01Z", Qt::ISODate)
                                    .toMSecsSinceEpoch()),
                         0.25));
        QVERIFY(!parseMetricsEvent("not json", {}));
        QVERIFY(!parseMetricsEvent(R"({"source":"node"})", {}));
    }

    // Every column's minimum and maximum are in the result, in time order, at most two a
    // column; nothing outside the range.
    void downsamplingKeepsEachColumnsExtremes() {
        QRandomGenerator rng(7);
        QList<QPointF> points;
        for (int i = 0; i < 3600; ++i)
            points.append(QPointF(i * 1000.0, rng.bounded(1000) + (i == 1234 ? 1e6 : 0)));
        const double x0 = 100 * 1000.0, x1 = 3500 * 1000.0;
        const int columns = 300;
        const QList<QPointF> out = downsampleMinMax(points, x0, x1, columns);
        QVERIFY(out.size() <= 2 * columns);
        for (qsizetype i = 1; i < out.size(); ++i)
            QVERIFY(out[i - 1].x() < out[i].x());
        const double width = (x1 - x0) / columns;
        for (int c = 0; c < columns; ++c) {
            double lo = 1e300, hi = -1e300, outLo = 1e300, outHi = -1e300;
            for (const QPointF& p : points)
                if (p.x() >= x0 + c * width && p.x() < x0 + (c + 1) * width) {
                    lo = std::min(lo, p.y());
                    hi = std::max(hi, p.y());
                }
            for (const QPointF& p : out)
                if (p.x() >= x0 + c * width && p.x() < x0 + (c + 1) * width) {
                    QVERIFY(points.contains(p));
                    outLo = std::min(outLo, p.y());
                    outHi = std::max(outHi, p.y());
                }
            QCOMPARE(outLo, lo);
            QCOMPARE(outHi, hi);
        }
        QVERIFY(out.contains(QPointF(1234 * 1000.0, points[1234].y()))); // the spike
        for (const QPointF& p : out)
            QVERIFY(p.x() >= x0 && p.x() < x1);
        // Few points: unchanged.
        const QList<QPointF> few = {{1, 1}, {2, 5}, {3, 2}};
        QCOMPARE(downsampleMinMax(few, 0, 10, 5), few);
    }

    void gapsSplitTheLine() {
        const QList<QPointF> points = {{0, 1}, {10000, 2}, {20000, 3}, {90000, 4}, {100000, 5}};
        const double gap = gapFor(points);
        QCOMPARE(gap, 25000.0);
        const auto parts = splitAtGaps(points, gap);
        QCOMPARE(parts.size(), 2);
        QCOMPARE(parts[0].size(), 3);
        QCOMPARE(parts[1].first(), QPointF(90000, 4));
    }

    void countersBecomeRatesAndARestartIsNoPoint() {
        QVERIFY(isCumulative("network.in"));
        QVERIFY(isCumulative("cpus.user.time"));
        QVERIFY(!isCumulative("mem.total"));
        QCOMPARE(chartUnit("network.in", "bytes"), QStringLiteral("bytes/s"));
        QCOMPARE(chartUnit("cpus.user.time", "seconds"), QStringLiteral("cores"));
        QCOMPARE(toRate({{0, 100}, {2000, 300}, {4000, 50}, {5000, 150}}),
                 (QList<QPointF>{{2000, 100}, {5000, 100}}));
    }

    void groupingSumsMembersExactly() {
        auto series = [](QString cid, QString fw, QString name, QList<QPointF> p) {
            MetricSeries s;
            s.source = "containers/" + cid;
            s.origin = MetricOrigin{"a1", "node-1", cid, fw, "/app-" + cid};
            s.name = name;
            s.unit = "bytes";
            s.points = p;
            return s;
        };
        const QList<MetricSeries> all = {
            series("c1", "fw1", "mem.total", {{10000, 1}, {20000, 2}}),
            series("c2", "fw1", "mem.total", {{10000, 10}, {20000, 20}}),
            series("c3", "fw2", "mem.total", {{10000, 100}, {20000, 200}}),
            series("c3", "fw2", "processes", {{10000, 3}})};
        auto charts = buildCharts(all, {"mem.total", "no.such", "processes"}, GroupBy::Framework,
                                  false, 10000);
        QCOMPARE(charts.size(), 2);
        QCOMPARE(charts[0].metric, QStringLiteral("mem.total"));
        QCOMPARE(charts[0].lines.size(), 2);
        QCOMPARE(charts[0].lines[0].label, QStringLiteral("fw1"));
        QCOMPARE(charts[0].lines[0].points, (QList<QPointF>{{10000, 11}, {20000, 22}}));
        QCOMPARE(charts[0].lines[1].points, (QList<QPointF>{{10000, 100}, {20000, 200}}));
        charts = buildCharts(all, {"mem.total"}, GroupBy::Container, false, 10000);
        QCOMPARE(charts[0].lines.size(), 3);
        charts = buildCharts(all, {"mem.total"}, GroupBy::Container, true, 10000);
        QCOMPARE(charts[0].lines.size(), 1);
        QCOMPARE(charts[0].lines[0].points, (QList<QPointF>{{10000, 111}, {20000, 222}}));
        // Times within one step are one grid time.
        QCOMPARE(sumOnGrid({{{10400, 1}}, {{10900, 2}}, {{21000, 4}}}, 1000),
                 (QList<QPointF>{{10000, 3}, {21000, 4}}));
        QCOMPARE(parseGroupBy("framework"), std::optional<GroupBy>(GroupBy::Framework));
        QVERIFY(!parseGroupBy("pod"));
    }

    void valuesAreForPeople() {
        QCOMPARE(humanValue(1536 * 1024 * 1024.0, "bytes"), QStringLiteral("1.50 GiB"));
        QCOMPARE(humanValue(3.2 * 1024 * 1024, "bytes/s"), QStringLiteral("3.20 MiB/s"));
        QCOMPARE(humanValue(12.34, "percent"), QStringLiteral("12.3 %"));
        QCOMPARE(humanValue(0.25, "cores"), QStringLiteral("0.250 cores"));
        QCOMPARE(humanValue(1200, "count"), QStringLiteral("1.20k"));
        QCOMPARE(humanValue(5, "count/s"), QStringLiteral("5.00/s"));
    }
};

QTEST_GUILESS_MAIN(MetricsDataTest)
#include "metrics_data_test.moc"
