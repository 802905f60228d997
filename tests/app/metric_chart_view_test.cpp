// A chart's lines drawn by a live update (only the new pieces, into the lines' image) look the
// same as the same lines drawn whole: the two renderings are compared pixel by pixel. The
// drawing thread's image of the lines, when it fits the plot, is what the chart shows (only where
// it has lines), and looks the same as the lines painted on the GUI thread. The drawing thread
// tells when lines only grew.
#include "metric_chart_view.h"

#include <QImage>
#include <QTest>

using namespace day2;

namespace {

ui::DrawnChart chart(int points) {
    ui::DrawnChart d;
    d.metric = "mem.total";
    d.unit = d.axisUnit = "bytes";
    d.yMin = 0;
    d.yMax = 100;
    for (int l = 0; l < 5; ++l) {
        ui::DrawnChart::Line line;
        line.label = QStringLiteral("line %1").arg(l);
        QList<QPointF> first, second;
        for (int i = 0; i < points; ++i) {
            const QPointF p(1000.0 * i, 10 + 15 * l + 10 * std::sin(i * 0.3 + l));
            // A gap after point 40: a second segment.
            (i < 40 ? first : second).append(p);
        }
        line.segments.append(first);
        if (!second.isEmpty())
            line.segments.append(second);
        line.points = points;
        d.lines.append(line);
    }
    return d;
}

// The drawing thread's image of `d`'s lines for `v`'s plot (as drawCharts paints it), and where
// in it the lines are.
QImage imageFor(const ui::MetricChartView& v, const ui::DrawnChart& d, double x0, double x1,
                QRectF* painted = nullptr) {
    QList<QColor> colours;
    QList<const QList<QList<QPointF>>*> lines;
    for (qsizetype i = 0; i < d.lines.size(); ++i) {
        colours.append(ui::lineColour(i));
        lines.append(&d.lines[i].segments);
    }
    return ui::paintLines(ui::PlotMap{v.plotSize().size, x0, x1, d.yMin, d.yMax}, v.plotSize().dpr,
                          colours, lines, painted);
}

QImage render(ui::MetricChartView& v) {
    QImage image(v.size(), QImage::Format_ARGB32);
    image.fill(Qt::white);
    static_cast<QWidget&>(v).render(&image);
    return image;
}

} // namespace

class MetricChartViewTest : public QObject {
    Q_OBJECT
private slots:
    void aLiveUpdateLooksLikeAWholeRedraw() {
        const double x0 = 0, x1 = 100000;
        // Updates one point at a time, across the gap (a new segment) and a lone first point.
        ui::MetricChartView live;
        live.resize(800, 400);
        live.set(chart(30), x0, x1, 0);
        render(live); // the whole redraw
        for (int n = 31; n <= 60; ++n) {
            live.set(chart(n), x0, x1, 0);
            render(live);
        }
        ui::MetricChartView whole;
        whole.resize(800, 400);
        whole.set(chart(60), x0, x1, 0);
        const QImage a = render(live), b = render(whole);
        QCOMPARE(a.size(), b.size());
        // The same pixels, but for where separately drawn pieces of a line meet: there a pixel
        // may be chosen one step aside. So each pixel that differs must have its colour within
        // one pixel in the other image (a missing piece of line would not).
        auto near = [](const QImage& img, int x, int y, QRgb c) {
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    const int xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < img.width() && yy < img.height() &&
                        img.pixel(xx, yy) == c)
                        return true;
                }
            return false;
        };
        int differ = 0, far = 0;
        for (int y = 0; y < a.height(); ++y)
            for (int x = 0; x < a.width(); ++x)
                if (a.pixel(x, y) != b.pixel(x, y)) {
                    ++differ;
                    far += !near(b, x, y, a.pixel(x, y)) || !near(a, x, y, b.pixel(x, y));
                }
        QCOMPARE(far, 0);
        QVERIFY2(differ < 60, qPrintable(QString::number(differ))); // joints only
        // And it drew something: the lines' colours are there.
        int coloured = 0;
        for (int y = 0; y < b.height(); ++y)
            for (int x = 0; x < b.width(); ++x)
                coloured += b.pixelColor(x, y) == QColor(31, 119, 180);
        QVERIFY(coloured > 100);
    }

    void theDrawingThreadsImageIsShownAsTheLinesPaintedHere() {
        const double x0 = 0, x1 = 100000;
        ui::MetricChartView here, copied;
        for (auto* v : {&here, &copied}) {
            v->resize(800, 400);
            v->set(chart(10), x0, x1, 0); // laid out: the plot's size is known
            render(*v);
        }
        here.set(chart(60), x0, x1, 0);
        ui::DrawnChart d = chart(60);
        d.image = imageFor(copied, d, x0, x1, &d.imagePainted);
        d.imagePlot = copied.plotSize();
        // (The lines, between 0 and 80 of 100, leave a fifth of the plot above them empty: that
        // is not copied.)
        QVERIFY(d.imagePainted.top() > copied.plotSize().size.height() / 8);
        copied.set(d, x0, x1, 0);
        QVERIFY(render(here) == render(copied));
        // Where the lines are is where the image is copied: a rectangle said too small cuts them.
        ui::DrawnChart cut = chart(60);
        cut.image = d.image;
        cut.imagePlot = d.imagePlot;
        cut.imagePainted = d.imagePainted.adjusted(0, 0, -d.imagePainted.width() / 2, 0);
        ui::MetricChartView cutView;
        cutView.resize(800, 400);
        cutView.set(chart(10), x0, x1, 0);
        render(cutView);
        cutView.set(cut, x0, x1, 0);
        QVERIFY(render(cutView) != render(here));

        // The image is what is shown: one of other lines shows those.
        ui::DrawnChart other = chart(60);
        for (auto& line : other.lines)
            for (auto& seg : line.segments)
                for (QPointF& p : seg)
                    p.setY(100 - p.y());
        ui::DrawnChart lying = chart(55);
        lying.image = imageFor(copied, other, x0, x1);
        lying.imagePlot = copied.plotSize();
        copied.set(lying, x0, x1, 0);
        here.set(other, x0, x1, 0);
        QVERIFY(render(here) == render(copied));

        // An image for another plot size is not used.
        ui::DrawnChart wrong = chart(50);
        wrong.image = imageFor(copied, other, x0, x1);
        wrong.imagePlot = ui::PlotSize{copied.plotSize().size * 0.5, 1};
        copied.set(wrong, x0, x1, 0);
        here.set(chart(50), x0, x1, 0);
        QVERIFY(render(here) == render(copied));
    }

    // The drawing thread says when a chart's lines only grew at their ends since its last
    // drawing (the GUI thread then does not compare them point by point), and not otherwise.
    void theDrawingThreadTellsWhenLinesOnlyGrew() {
        const double t0 = 1.7e12;
        auto series = [&](int points, double holeAt = -1) {
            QList<client::MetricSeries> all;
            for (int l = 0; l < 3; ++l) {
                client::MetricSeries s;
                s.origin = client::MetricOrigin{"agent", "node-1", QStringLiteral("c%1").arg(l),
                                                "marathon", "/app"};
                s.source = "containers/" + s.origin.containerId;
                s.name = "mem.total";
                s.unit = "bytes";
                for (int i = 0; i < points; ++i)
                    if (i != holeAt)
                        s.points.append(QPointF(t0 + 1000.0 * i, 50e6 + 1e6 * l + 1e5 * (i % 7)));
                all.append(s);
            }
            return all;
        };
        const ui::PlotSize plot{QSizeF(600, 300), 1};
        const double x0 = t0, x1 = t0 + 600e3;
        auto draw = [&](const QList<client::MetricSeries>& s, double a, double b,
                        const QList<ui::DrawnChart>& previous) {
            return ui::drawCharts(s, {"mem.total"}, client::GroupBy::Container, false, 1000, a, b,
                                  600, plot, previous);
        };
        const auto first = draw(series(100, 50), x0, x1, {});
        QCOMPARE(first.size(), 1);
        QVERIFY(!first[0].extendsPrevious); // nothing before it
        QVERIFY(!first[0].image.isNull());
        const auto grown = draw(series(101, 50), x0, x1, first);
        QVERIFY(grown[0].extendsPrevious); // a point more at the end of each line
        QVERIFY(grown[0].image.isNull());  // (the GUI thread draws the new pieces)
        const auto filled = draw(series(101), x0, x1, grown);
        QVERIFY(!filled[0].extendsPrevious); // the hole at 50 filled: not at the end
        QVERIFY(!filled[0].image.isNull());
        const auto moved = draw(series(102), x0 + 60e3, x1 + 60e3, filled);
        QVERIFY(!moved[0].extendsPrevious); // the window stepped
        // And a view given the verdict shows the lines as one that compared them itself.
        ui::MetricChartView trusting, comparing;
        for (auto* v : {&trusting, &comparing}) {
            v->resize(800, 400);
            v->set(first[0], x0, x1, 0);
            render(*v);
        }
        ui::DrawnChart unsaid = grown[0];
        unsaid.extendsPrevious = false;
        trusting.set(grown[0], x0, x1, 0);
        comparing.set(unsaid, x0, x1, 0);
        QVERIFY(render(trusting) == render(comparing));
    }

    void manyLinesHaveNoLegendAndNeverWidenTheWindow() {
        ui::MetricChartView v;
        v.resize(600, 300);
        v.set(chart(10), 0, 100000, 0); // 5 lines
        QVERIFY(v.chart()->legend()->isVisible());
        ui::DrawnChart many = chart(10);
        for (int l = 5; l < 40; ++l) {
            ui::DrawnChart::Line line = many.lines.first();
            line.label = QStringLiteral("node-%1").arg(l);
            many.lines.append(line);
        }
        v.set(many, 0, 100000, 0);
        QVERIFY(!v.chart()->legend()->isVisible());
        QCOMPARE(v.sizePolicy().horizontalPolicy(), QSizePolicy::Ignored);
    }
};

QTEST_MAIN(MetricChartViewTest)
#include "metric_chart_view_test.moc"
