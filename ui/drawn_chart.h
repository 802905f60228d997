// What the metrics pane's drawing thread makes of the data for one chart: its lines built
// (grouped, summed, rates), split at real gaps, reduced to min/max per pixel column and scaled
// into the axis's unit. No widgets: it runs off the GUI thread.
#pragma once

#include "client/metrics_data.h"

#include <QList>
#include <QPointF>
#include <QString>
#include <QStringList>

namespace day2::ui {

// What the drawing thread made of the data: a chart's lines, downsampled, in the axis's unit.
struct DrawnChart {
    QString metric, unit, axisUnit;
    double scale = 1; // values were divided by it
    struct Line {
        QString label;
        QList<QList<QPointF>> segments; // split at gaps
        qsizetype points = 0;
    };
    QList<Line> lines;
    double yMin = 0, yMax = 1;
};

// Charts of `wanted` over [x0, x1) for a plot `columns` pixels wide (client::buildCharts, then
// the gaps, the downsampling and the unit).
QList<DrawnChart> drawCharts(const QList<client::MetricSeries>& series, const QStringList& wanted,
                             client::GroupBy g, bool sum, qint64 stepMs, double x0, double x1,
                             int columns);

} // namespace day2::ui
