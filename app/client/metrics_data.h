// The console's metrics, without widgets: the agents' history and stream answers parsed into
// series, series grouped by agent, framework or container (a series per member, or the members
// summed), cumulative counters turned into rates, lines split where the data has a real gap, and
// a series reduced to a chart's pixel width keeping each column's minimum and maximum (so a
// spike survives). Pure functions on values: the console runs them off the GUI thread.
#pragma once

#include <QList>
#include <QMap>
#include <QPointF>
#include <QString>
#include <QStringList>

#include <optional>

class QByteArray;

namespace day2::client {

// Who a series belongs to, from the cluster tree (the agents' answers carry only ids).
struct MetricOrigin {
    QString agentId, agentName;                          // every series
    QString containerId, frameworkName, applicationName; // containers' and apps' series
};

// One series: a metric of one source on one agent, with its own tags.
struct MetricSeries {
    QString source; // "node", "containers/<cid>" or "containers/<cid>/app"
    MetricOrigin origin;
    QString name, unit;
    QMap<QString, QString> tags;
    QList<QPointF> points; // (unix ms, value), oldest first
};

// A history answer ({"series": [{"name","unit","tags","points": [[ms, v], ...]}]}). Nothing,
// with the reason in `error`, when the body is not one.
std::optional<QList<MetricSeries>> parseHistory(const QByteArray& body, const QString& source,
                                                const MetricOrigin& origin, QString* error);

// One `metrics` event of the stream ({"source", "message": MetricsMessage}): a series of one
// point per datapoint (the origin's container fields from the message's dimensions when the
// caller does not know them). Nothing when `data` is not such an event.
struct MetricsEvent {
    QString source;
    QList<MetricSeries> series;
};
std::optional<MetricsEvent> parseMetricsEvent(const QByteArray& data, const MetricOrigin& agent);

// Counters that only grow (bytes received, CPU seconds): charted as a rate per second.
bool isCumulative(const QString& name);
// The unit a chart shows for it: a rate's is "<unit>/s" ("seconds/s" is "cores").
QString chartUnit(const QString& name, const QString& unit);
// A cumulative series as its rate per second between consecutive points; a fall (a restart of
// the counter) starts anew, with no point for it.
QList<QPointF> toRate(const QList<QPointF>& points);

// A value in its unit, for a person: 1.5 GiB, 12.3 %, 0.25 cores, 3.2 MiB/s, 1.2k.
QString humanValue(double value, const QString& unit);

// Where a series' line must break: consecutive points further apart than `gapMs`. The parts are
// drawn as lines of their own, so an agent that was down is a gap, not a line across it.
QList<QList<QPointF>> splitAtGaps(const QList<QPointF>& points, double gapMs);
// The gap for points collected every `spacingMs` (the median spacing of the series when 0).
double gapFor(const QList<QPointF>& points, double spacingMs = 0);

// At most two points for each of `columns` equal columns of [x0, x1): the minimum and the
// maximum of the points in it, in time order (one when they are the same point). Points outside
// the range are dropped. A series with no more points than 2 × columns is returned unchanged
// (but for the range).
QList<QPointF> downsampleMinMax(const QList<QPointF>& points, double x0, double x1, int columns);

enum class GroupBy { Agent, Framework, Container };
QString groupByName(GroupBy g); // "agent", "framework", "container"
std::optional<GroupBy> parseGroupBy(const QString& s);

// A line of a chart: its label and its points (before downsampling).
struct ChartLine {
    QString label;
    QList<QPointF> points;
};
// A chart: one metric (its chart unit) and its lines.
struct ChartData {
    QString metric, unit;
    QList<ChartLine> lines;
};

// Charts for `wanted` metrics (in that order; a metric with no series gives no chart): each
// series made a rate when cumulative, then a line per member of the grouping (the member's
// series summed point by point on the collection's time grid, `stepMs`), or, with `sum`, the
// members summed into one line. A series' own tags (a network interface, a filesystem path, a
// StatsD tag) keep lines apart unless summed.
QList<ChartData> buildCharts(const QList<MetricSeries>& series, const QStringList& wanted,
                             GroupBy groupBy, bool sum, qint64 stepMs);

// Points summed at equal times after rounding each time down to `stepMs`; a time where only
// some of the inputs have a point sums those.
QList<QPointF> sumOnGrid(const QList<QList<QPointF>>& inputs, qint64 stepMs);

} // namespace day2::client
