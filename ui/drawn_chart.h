// What the metrics pane's drawing thread makes of the data for one chart: its lines built
// (grouped, summed, rates), split at real gaps, reduced to min/max per pixel column and scaled
// into the axis's unit. No widgets: it runs off the GUI thread.
#pragma once

#include "client/metrics_data.h"

#include <QColor>
#include <QImage>
#include <QList>
#include <QPointF>
#include <QSizeF>
#include <QString>
#include <QStringList>

class QPainter;
class QPolygonF;

namespace day2::ui {

// A plot's size and the device's pixel ratio, for the drawing thread's images.
struct PlotSize {
    QSizeF size;
    qreal dpr = 1;
};

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
    double x0 = 0, x1 = 1; // the window drawn
    double yMin = 0, yMax = 1;
    // The lines already painted for a plot of `plot` (in the palette's colours, none hidden), so
    // that the GUI thread only copies it; null when no plot size was given.
    QImage image;
    PlotSize imagePlot;
    QRectF imagePainted; // where in the image the lines are (the plot's pixels)
    // The lines are those of the last drawing of this metric with points added at their ends
    // (same window, scale and plot): the GUI thread, which holds that drawing, need not compare
    // every point again.
    bool extendsPrevious = false;
};

// Whether the segments `after` are those of `before` with points added at the end (the last
// segment grown, new segments after it), so that only the new pieces need drawing. A point alone
// becoming a line is not (it was drawn as a square).
bool segmentsExtend(const QList<QList<QPointF>>& before, const QList<QList<QPointF>>& after);

// The colour of a chart's i-th line (until the operator's choices move it).
QColor lineColour(qsizetype i);

// How a chart's lines are painted, the same on the drawing thread and on the GUI thread: a point
// (x in ms, y in the axis's unit) in the plot's pixels, the plot's top left at 0, 0.
struct PlotMap {
    QSizeF plot;
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    QPointF operator()(const QPointF& v) const {
        return QPointF((v.x() - x0) * plot.width() / (x1 - x0),
                       plot.height() - (v.y() - y0) * plot.height() / (y1 - y0));
    }
    bool valid() const { return !plot.isEmpty() && x1 > x0 && y1 > y0; }
};
// The points of `seg` from `start` on, in the plot's pixels.
void mapPart(const PlotMap& map, const QList<QPointF>& seg, qsizetype start, QPolygonF& poly);
// A polyline; a point alone as a small square, so that it is seen.
void drawPoly(QPainter& p, const QPolygonF& poly);
// An image of `segments` lines (each with its colour) for `map`'s plot: what the GUI thread
// would paint, 1-pixel pens without antialiasing. `painted` (when given) gets the rectangle, in
// the plot's pixels, outside which the image is transparent.
QImage paintLines(const PlotMap& map, qreal dpr, const QList<QColor>& colours,
                  const QList<const QList<QList<QPointF>>*>& lines, QRectF* painted = nullptr);

// Charts of `wanted` over [x0, x1) for a plot `columns` pixels wide (client::buildCharts, then
// the gaps, the downsampling and the unit); with a `plot`, each chart's lines painted too,
// unless `previous` (the last drawing) had the chart in the same window, scale and plot and only
// points were added: then the GUI thread draws those into the image it holds.
QList<DrawnChart> drawCharts(const QList<client::MetricSeries>& series, const QStringList& wanted,
                             client::GroupBy g, bool sum, qint64 stepMs, double x0, double x1,
                             int columns, PlotSize plot = {},
                             const QList<DrawnChart>& previous = {});

} // namespace day2::ui
