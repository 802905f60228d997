#include "drawn_chart.h"

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

QList<DrawnChart> drawCharts(const QList<MetricSeries>& series, const QStringList& wanted,
                             GroupBy g, bool sum, qint64 stepMs, double x0, double x1,
                             int columns) {
    QList<DrawnChart> out;
    for (const client::ChartData& c : client::buildCharts(series, wanted, g, sum, stepMs)) {
        DrawnChart d;
        d.metric = c.metric;
        d.unit = c.unit;
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
        out.append(std::move(d));
    }
    return out;
}

} // namespace day2::ui
