// The console's metrics charts, offscreen (QT_QPA_PLATFORM=offscreen):
//   redraw  100 series × 3,600 points (an hour at 1 s) in one 1,200 × 600 chart, new values
//           each frame. day2: the drawing thread's work (drawCharts: gaps, min/max per pixel
//           column, the lines painted into an image for the chart's plot), then on the GUI
//           thread MetricChartView::set and the paint. Also the GUI thread's frame when the lines
//           are painted there (no image: the pane's first drawing, before a plot size is known).
//           Anchor, same run: the same points appended one by one to 100 QLineSeries, then the
//           paint.
//   live    a pane charting 50 series (50 containers' mem.total, 15 minutes held) gets one point
//           of each, as a stream's second would bring, 600 times (ten minutes on the pane's
//           clock, ten steps of the time axis): the GUI thread's cost of taking them in,
//           setting the chart and painting, and the drawing thread's apart.
//   live4   the same with four charts of 50 lines (a pane of several metrics): each chart's time
//           axis steps at the same update.
// Prints a line per measurement: name, then key=value pairs (times in ms).
#include "bench_common.h"
#include "drawn_chart.h"
#include "metric_chart_view.h"
#include "metrics_pane.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPixmap>
#include <QRandomGenerator>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace day2;

namespace {

double ms(qint64 ns) {
    return double(ns) / 1e6;
}

struct Stats {
    double median, p99, max;
};
Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {bench::percentile(v, 50), bench::percentile(v, 99), v.back()};
}

// `n` series of `points` points at 1 s ending now: a random walk each (memory-like bytes).
QList<client::MetricSeries> makeSeries(int n, int points, qint64 nowMs) {
    QRandomGenerator rng(42);
    QList<client::MetricSeries> all;
    for (int i = 0; i < n; ++i) {
        client::MetricSeries s;
        s.origin =
            client::MetricOrigin{"agent", "node-1", QStringLiteral("c%1").arg(i, 3, 10, QChar('0')),
                                 "marathon", QStringLiteral("/app%1").arg(i)};
        s.source = "containers/" + s.origin.containerId;
        s.name = "mem.total";
        s.unit = "bytes";
        double v = 100e6 + i * 1e6;
        for (int k = 0; k < points; ++k) {
            v = std::max(1e6, v + (rng.generateDouble() - 0.5) * 2e6);
            s.points.append(QPointF(double(nowMs - qint64(points - 1 - k) * 1000), v));
        }
        all.append(std::move(s));
    }
    return all;
}

void redraw() {
    const qint64 now = QDateTime::currentMSecsSinceEpoch() / 1000 * 1000;
    const auto series = makeSeries(100, 3600, now);
    const double x1 = double(now + 1), x0 = x1 - 3600e3;
    const int columns = 1200 - 70;

    // day2
    ui::MetricChartView view;
    view.resize(1200, 600);
    QPixmap canvas(view.size());
    // The first frame lays the chart out (the plot's size is known after it).
    view.set(ui::drawCharts(series, {"mem.total"}, client::GroupBy::Container, false, 1000, x0, x1,
                            columns)
                 .first(),
             x0, x1, 0);
    static_cast<QWidget&>(view).render(&canvas);
    std::vector<double> worker, gui, setOnly, direct;
    for (int frame = 1; frame <= 60; ++frame) {
        // New values each frame (the same window and axes): the lines are all drawn again (the
        // same data would be a frame from the lines' image, not a redraw). Odd frames without
        // the plot's size: the GUI thread paints the lines.
        auto next = series;
        for (auto& s : next)
            for (QPointF& p : s.points)
                p.setY(p.y() * (1 + 1e-6 * frame));
        const bool image = frame % 2 == 0;
        QElapsedTimer t;
        t.start();
        const auto drawn =
            ui::drawCharts(next, {"mem.total"}, client::GroupBy::Container, false, 1000, x0, x1,
                           columns, image ? view.plotSize() : ui::PlotSize{});
        if (image)
            worker.push_back(ms(t.nsecsElapsed()));
        t.restart();
        view.set(drawn.first(), x0, x1, 0);
        if (image)
            setOnly.push_back(ms(t.nsecsElapsed()));
        // (QWidget's render: QGraphicsView::render would paint the scene only.)
        static_cast<QWidget&>(view).render(&canvas);
        (image ? gui : direct).push_back(ms(t.nsecsElapsed()));
    }
    const Stats w = stats(worker), g = stats(gui), so = stats(setOnly), d = stats(direct);

    // Anchor: appended point by point.
    QChartView plain(new QChart);
    plain.resize(1200, 600);
    plain.setRenderHint(QPainter::Antialiasing, false);
    auto* xAxis = new QDateTimeAxis;
    auto* yAxis = new QValueAxis;
    plain.chart()->addAxis(xAxis, Qt::AlignBottom);
    plain.chart()->addAxis(yAxis, Qt::AlignLeft);
    xAxis->setRange(QDateTime::fromMSecsSinceEpoch(qint64(x0)),
                    QDateTime::fromMSecsSinceEpoch(qint64(x1)));
    yAxis->setRange(0, 300e6);
    QList<QLineSeries*> lines;
    for (qsizetype i = 0; i < series.size(); ++i) {
        auto* l = new QLineSeries;
        plain.chart()->addSeries(l);
        l->attachAxis(xAxis);
        l->attachAxis(yAxis);
        lines.append(l);
    }
    // One frame, or as much of it as fits in the budget: each append re-strokes the line so
    // far (QXYSeries::pointAdded → LineChartItem::updateGeometry), so a frame costs O(n²).
    const double budgetMs = 30000;
    QElapsedTimer t;
    t.start();
    qint64 appended = 0;
    bool finished = true;
    for (qsizetype i = 0; i < series.size() && finished; ++i)
        for (const QPointF& p : series[i].points) {
            lines[i]->append(p);
            if (++appended % 256 == 0 && ms(t.nsecsElapsed()) > budgetMs) {
                finished = false;
                break;
            }
        }
    if (finished)
        static_cast<QWidget&>(plain).render(&canvas);
    const double anchorMs = ms(t.nsecsElapsed());
    std::printf("redraw series=100 points=3600 day2_gui_median=%.2f (set %.2f, paint the rest) "
                "day2_gui_p99=%.2f day2_worker_median=%.2f gui_painting_lines_median=%.2f "
                "anchor_frame_ms=%s%.0f anchor_points_appended=%lld ratio=%s%.5f\n",
                g.median, so.median, g.p99, w.median, d.median, finished ? "" : ">", anchorMs,
                static_cast<long long>(appended), finished ? "" : "<", g.median / anchorMs);
}

void live(int charts) {
    // Ten minutes of a live pane, a second an update, on a clock of the benchmark's: the time
    // axis steps once a minute (the window ends at the next minute) as it does on the wall
    // clock, so that the one update in sixty that lays the axis out and repaints the whole
    // chart is counted at its real rate (the p99 of 600 updates is the 7th slowest).
    const int updates = 600;
    qint64 clock = QDateTime::currentMSecsSinceEpoch() / 60000 * 60000 + 30000;
    ui::MetricsPane pane;
    pane.setClock([&clock] { return clock; });
    pane.resize(1400, 900);
    pane.setGroupBy(client::GroupBy::Container); // a line per container: 50 lines
    pane.show();
    // 15 minutes held, the pane's range; with several charts, the same lines under other names.
    QList<client::MetricSeries> held;
    QStringList names;
    for (int c = 0; c < charts; ++c) {
        names << (c == 0 ? QStringLiteral("mem.total") : QStringLiteral("mem.total.%1").arg(c));
        for (client::MetricSeries s : makeSeries(50, 900, clock)) {
            s.name = names.last();
            held.append(std::move(s));
        }
    }
    pane.ingest(held);
    pane.setChosenMetrics(names);
    QEventLoop loop;
    QObject::connect(&pane, &ui::MetricsPane::drawnCharts, &loop, &QEventLoop::quit);
    pane.redraw();
    loop.exec();
    // The first frame (the charts' layout) is painted before the updates start.
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    std::vector<double> gui, steps, worker, take, paint;
    QRandomGenerator rng(1);
    const bool each = qEnvironmentVariableIsSet("DAY2_BENCH_EACH");
    for (int update = 1; update <= updates; ++update) {
        const qint64 minuteBefore = (clock + 59999) / 60000;
        clock += 1000;
        const bool step = (clock + 59999) / 60000 != minuteBefore; // the window moves
        QList<client::MetricSeries> points;
        for (const auto& s : pane.series()) {
            client::MetricSeries p = s;
            p.points = {QPointF(double(clock), s.points.last().y() + rng.bounded(1000))};
            points.append(std::move(p));
        }
        QElapsedTimer t;
        t.start();
        pane.ingest(points);
        const qint64 ingestNs = t.nsecsElapsed();
        QElapsedTimer w;
        w.start();
        pane.redraw();
        loop.exec(); // the drawing thread, then the apply on this thread
        const qint64 roundNs = w.nsecsElapsed();
        // The paint an update causes, as the window does it: the pane is shown, and what the
        // update made dirty (the lines, the time axis) is painted by the pending update request.
        t.restart();
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        const qint64 paintNs = t.nsecsElapsed();
        const double total = ms(ingestNs + pane.lastApplyNs() + paintNs);
        gui.push_back(total);
        if (step)
            steps.push_back(total);
        take.push_back(ms(ingestNs + pane.lastApplyNs()));
        paint.push_back(ms(paintNs));
        worker.push_back(ms(roundNs - pane.lastApplyNs()));
        if (each)
            std::printf("update %d%s take=%.2f paint=%.2f\n", update, step ? " (axis step)" : "",
                        take.back(), paint.back());
    }
    const Stats g = stats(gui), st = stats(steps), wk = stats(worker), tk = stats(take),
                pt = stats(paint);
    std::printf("live%s series=%d held=900 charts=%d lines=%d updates=%d gui_median=%.2f "
                "gui_p99=%.2f gui_max=%.2f axis_steps=%zu axis_step_median=%.2f "
                "take_and_set_median=%.2f paint_median=%.2f drawing_thread_median=%.2f\n",
                charts > 1 ? qPrintable(QString::number(charts)) : "", 50 * charts,
                pane.chartCount(), pane.lineCount(), updates, g.median, g.p99, g.max, steps.size(),
                st.median, tk.median, pt.median, wk.median);
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QString what = argc > 1 ? QString::fromUtf8(argv[1]) : QStringLiteral("all");
    if (what == "redraw" || what == "all")
        redraw();
    if (what == "live" || what == "all")
        live(1);
    if (what == "live4" || what == "all")
        live(4);
    return 0;
}
