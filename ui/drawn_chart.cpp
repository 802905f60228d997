#include "drawn_chart.h"

#include <QPainter>
#include <QPolygonF>

#include <algorithm>
#include <cmath>

namespace day2::ui {

using client::GroupBy;
using client::MetricSeries;

namespace {

// The axis's unit and the divisor that brings values into it (bytes as KiB … TiB).
std::pair<QString, double> axisUnitFor(const QString& unit, double maxAbs) {
    const bool rate = unit.endsWith(QLatin1String("/s"));
    const QString base = rate ? unit.left(unit.size() - 2) : unit;
    const QString per = rate ? QStringLiteral("/s") : QString();
    if (base == QLatin1String("bytes")) {
        static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        double scale = 1;
        while (maxAbs / scale >= 1024 && i < 4) {
            scale *= 1024;
            ++i;
        }
        return {QLatin1String(names[i]) + per, scale};
    }
    if (base == QLatin1String("percent"))
        return {QStringLiteral("%"), 1};
    return {unit, 1};
}

double niceAbove(double v) {
    if (v <= 0)
        return 1;
    const double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * p >= v)
            return m * p;
    return 10 * p;
}

} // namespace

bool segmentsExtend(const QList<QList<QPointF>>& before, const QList<QList<QPointF>>& after) {
    if (after.size() < before.size())
        return false;
    for (qsizetype k = 0; k < before.size(); ++k) {
        const auto& a = before[k];
        const auto& b = after[k];
        // Earlier segments unchanged; the last one may have grown.
        if (b.size() < a.size() || (k + 1 < before.size() && b.size() != a.size()))
            return false;
        if (!std::equal(a.begin(), a.end(), b.begin()))
            return false;
        if (a.size() == 1 && b.size() > 1)
            return false;
    }
    return true;
}

namespace {

// Whether the GUI thread can draw `d` from the image it holds of `before`.
bool extends(const DrawnChart& before, const DrawnChart& d, const PlotSize& plot) {
    if (before.x0 != d.x0 || before.x1 != d.x1 || before.yMin != d.yMin || before.yMax != d.yMax ||
        before.imagePlot.size != plot.size || before.imagePlot.dpr != plot.dpr ||
        before.lines.size() != d.lines.size())
        return false;
    for (qsizetype i = 0; i < d.lines.size(); ++i)
        if (before.lines[i].label != d.lines[i].label ||
            !segmentsExtend(before.lines[i].segments, d.lines[i].segments))
            return false;
    return true;
}

} // namespace

QColor lineColour(qsizetype i) {
    static const QColor palette[] = {
        QColor(31, 119, 180),  QColor(255, 127, 14), QColor(44, 160, 44),   QColor(214, 39, 40),
        QColor(148, 103, 189), QColor(140, 86, 75),  QColor(227, 119, 194), QColor(127, 127, 127),
        QColor(188, 189, 34),  QColor(23, 190, 207)};
    return palette[i % 10];
}

void mapPart(const PlotMap& map, const QList<QPointF>& seg, qsizetype start, QPolygonF& poly) {
    poly.resize(seg.size() - start);
    for (qsizetype i = start; i < seg.size(); ++i)
        poly[i - start] = map(seg[i]);
}

void drawPoly(QPainter& p, const QPolygonF& poly) {
    if (poly.size() == 1)
        p.drawRect(QRectF(poly[0].x() - 1.5, poly[0].y() - 1.5, 3, 3));
    else
        p.drawPolyline(poly);
}

QImage paintLines(const PlotMap& map, qreal dpr, const QList<QColor>& colours,
                  const QList<const QList<QList<QPointF>>*>& lines, QRectF* painted) {
    QImage image((map.plot * dpr).toSize(), QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(dpr);
    image.fill(Qt::transparent);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing, false);
    QPolygonF poly;
    QRectF drawn;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (!lines[i])
            continue; // hidden
        p.setPen(QPen(colours[i], 0));
        p.setBrush(colours[i]);
        for (const auto& seg : *lines[i])
            if (!seg.isEmpty()) {
                mapPart(map, seg, 0, poly);
                drawPoly(p, poly);
                drawn |= poly.boundingRect().adjusted(-2, -2, 2, 2); // (a point's square, a pen)
            }
    }
    if (painted)
        *painted = drawn;
    return image;
}

QList<DrawnChart> drawCharts(const QList<MetricSeries>& series, const QStringList& wanted,
                             GroupBy g, bool sum, qint64 stepMs, double x0, double x1, int columns,
                             PlotSize plot, const QList<DrawnChart>& previous) {
    QList<DrawnChart> out;
    for (const client::ChartData& c : client::buildCharts(series, wanted, g, sum, stepMs)) {
        DrawnChart d;
        d.metric = c.metric;
        d.unit = c.unit;
        d.x0 = x0;
        d.x1 = x1;
        double lo = 0, hi = 0;
        for (const auto& line : c.lines)
            for (const QPointF& p : line.points)
                if (p.x() >= x0 && p.x() < x1) {
                    lo = std::min(lo, p.y());
                    hi = std::max(hi, p.y());
                }
        const auto [axisUnit, scale] = axisUnitFor(c.unit, std::max(std::fabs(lo), std::fabs(hi)));
        d.axisUnit = axisUnit;
        d.scale = scale;
        d.yMin = lo / scale;
        // A round top (1, 2, 2.5 or 5 times a power of ten) above the highest value: the axis
        // keeps it while the values move below it, instead of being laid out again.
        d.yMax = hi > lo ? niceAbove(hi / scale * 1.05) : lo / scale + 1;
        for (const auto& line : c.lines) {
            DrawnChart::Line l;
            l.label = line.label;
            // The gap is judged on the collection's spacing, not on the history's step.
            const double gap = std::max(client::gapFor(line.points), 2.5 * double(stepMs));
            for (const auto& part : client::splitAtGaps(line.points, gap)) {
                QList<QPointF> pts = client::downsampleMinMax(part, x0, x1, columns);
                if (pts.isEmpty())
                    continue;
                if (scale != 1)
                    for (QPointF& p : pts)
                        p.setY(p.y() / scale);
                l.points += pts.size();
                l.segments.append(std::move(pts));
            }
            d.lines.append(std::move(l));
        }
        const PlotMap map{plot.size, x0, x1, d.yMin, d.yMax};
        const auto before = std::find_if(previous.begin(), previous.end(),
                                         [&](const DrawnChart& p) { return p.metric == d.metric; });
        d.imagePlot = plot; // (what it was drawn for, with or without an image)
        d.extendsPrevious = before != previous.end() && extends(*before, d, plot);
        if (map.valid() && !d.extendsPrevious) {
            QList<QColor> colours;
            QList<const QList<QList<QPointF>>*> lines;
            for (qsizetype i = 0; i < d.lines.size(); ++i) {
                colours.append(lineColour(i));
                lines.append(&d.lines[i].segments);
            }
            d.image = paintLines(map, plot.dpr, colours, lines, &d.imagePainted);
        }
        out.append(std::move(d));
    }
    return out;
}

} // namespace day2::ui
