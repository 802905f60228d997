#include "client/metrics_data.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <map>

namespace day2::client {

namespace {

QMap<QString, QString> tagsOf(const QJsonObject& o) {
    QMap<QString, QString> tags;
    for (auto it = o.begin(); it != o.end(); ++it)
        tags.insert(it.key(), it.value().isString() ? it.value().toString()
                                                    : it.value().toVariant().toString());
    return tags;
}

// The tags that say where a series comes from, which the grouping already shows.
bool isIdentityTag(const QString& k) {
    static const QStringList identity = {"agent_id",         "hostname",     "container_id",
                                         "executor_id",      "framework_id", "framework_name",
                                         "application_name", "task_id",      "task_name"};
    return identity.contains(k);
}

QString memberOf(const MetricSeries& s, GroupBy g) {
    switch (g) {
    case GroupBy::Agent:
        return s.origin.agentName.isEmpty() ? s.origin.agentId : s.origin.agentName;
    case GroupBy::Framework:
        if (s.origin.containerId.isEmpty()) // host metrics belong to no framework
            return s.origin.agentName.isEmpty() ? s.origin.agentId : s.origin.agentName;
        return s.origin.frameworkName.isEmpty() ? QStringLiteral("(no framework)")
                                                : s.origin.frameworkName;
    case GroupBy::Container:
        if (s.origin.containerId.isEmpty())
            return s.origin.agentName.isEmpty() ? s.origin.agentId : s.origin.agentName;
        return s.origin.applicationName + QLatin1Char(' ') + s.origin.containerId.left(8);
    }
    return {};
}

QString ownTags(const MetricSeries& s) {
    QStringList parts;
    for (auto it = s.tags.begin(); it != s.tags.end(); ++it)
        if (!isIdentityTag(it.key()))
            parts.append(it.key() + QLatin1Char('=') + it.value());
    return parts.join(QLatin1Char(','));
}

} // namespace

std::optional<QList<MetricSeries>> parseHistory(const QByteArray& body, const QString& source,
                                                const MetricOrigin& origin, QString* error) {
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject() ||
        !doc.object().value("series").isArray()) {
        if (error)
            *error =
                pe.error != QJsonParseError::NoError
                    ? QStringLiteral("the history answer is not JSON: %1").arg(pe.errorString())
                    : QStringLiteral("the history answer has no \"series\" array");
        return std::nullopt;
    }
    QList<MetricSeries> out;
    for (const QJsonValue& v : doc.object().value("series").toArray()) {
        const QJsonObject o = v.toObject();
        MetricSeries s;
        s.source = source;
        s.origin = origin;
        s.name = o.value("name").toString();
        s.unit = o.value("unit").toString();
        s.tags = tagsOf(o.value("tags").toObject());
        const QJsonArray points = o.value("points").toArray();
        s.points.reserve(points.size());
        for (const QJsonValue& p : points) {
            const QJsonArray pair = p.toArray();
            if (pair.size() == 2 && pair[0].isDouble() && pair[1].isDouble())
                s.points.append(QPointF(pair[0].toDouble(), pair[1].toDouble()));
        }
        if (!s.name.isEmpty())
            out.append(std::move(s));
    }
    return out;
}

std::optional<MetricsEvent> parseMetricsEvent(const QByteArray& data, const MetricOrigin& agent) {
    const QJsonDocument doc = QJsonDocument::fromJson(data);
    if (!doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    MetricsEvent e;
    e.source = o.value("source").toString();
    const QJsonObject message = o.value("message").toObject();
    if (e.source.isEmpty() || !message.value("datapoints").isArray())
        return std::nullopt;
    const QJsonObject dims = message.value("dimensions").toObject();
    MetricOrigin origin = agent;
    if (e.source.startsWith(QLatin1String("containers/"))) {
        origin.containerId = dims.value("container_id").toString();
        origin.frameworkName = dims.value("framework_name").toString();
        origin.applicationName = dims.value("application_name").toString();
    }
    for (const QJsonValue& v : message.value("datapoints").toArray()) {
        const QJsonObject d = v.toObject();
        const QDateTime t =
            QDateTime::fromString(d.value("timestamp").toString(), Qt::ISODateWithMs);
        if (!t.isValid() || !d.value("value").isDouble())
            continue;
        MetricSeries s;
        s.source = e.source;
        s.origin = origin;
        s.name = d.value("name").toString();
        s.unit = d.value("unit").toString();
        s.tags = tagsOf(d.value("tags").toObject());
        s.points.append(QPointF(double(t.toMSecsSinceEpoch()), d.value("value").toDouble()));
        e.series.append(std::move(s));
    }
    return e;
}

bool isCumulative(const QString& name) {
    static const QStringList exact = {"cpus.user.time", "cpus.system.time", "cpus.throttled.time",
                                      "cpus.nr.periods", "cpus.nr.throttled"};
    return exact.contains(name) || name.startsWith(QLatin1String("network.")) ||
           name.startsWith(QLatin1String("blkio.")) || name.startsWith(QLatin1String("net.rx")) ||
           name.startsWith(QLatin1String("net.tx"));
}

QString chartUnit(const QString& name, const QString& unit) {
    if (!isCumulative(name))
        return unit;
    if (unit == QLatin1String("seconds"))
        return QStringLiteral("cores");
    return (unit.isEmpty() ? QStringLiteral("count") : unit) + QStringLiteral("/s");
}

QList<QPointF> toRate(const QList<QPointF>& points) {
    QList<QPointF> out;
    for (qsizetype i = 1; i < points.size(); ++i) {
        const double dt = (points[i].x() - points[i - 1].x()) / 1000.0;
        const double dv = points[i].y() - points[i - 1].y();
        if (dt > 0 && dv >= 0)
            out.append(QPointF(points[i].x(), dv / dt));
    }
    return out;
}

QString humanValue(double v, const QString& unit) {
    auto fixed = [](double x) {
        const double a = std::fabs(x);
        return QString::number(x, 'f', a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
    };
    const bool rate = unit.endsWith(QLatin1String("/s"));
    const QString base = rate ? unit.left(unit.size() - 2) : unit;
    const QString per = rate ? QStringLiteral("/s") : QString();
    if (base == QLatin1String("bytes")) {
        static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int i = 0;
        double x = v;
        while (std::fabs(x) >= 1024 && i < 5) {
            x /= 1024;
            ++i;
        }
        return fixed(x) + QLatin1Char(' ') + QLatin1String(names[i]) + per;
    }
    if (base == QLatin1String("percent"))
        return fixed(v) + QStringLiteral(" %");
    if (base == QLatin1String("cores"))
        return fixed(v) + QStringLiteral(" cores");
    if (base == QLatin1String("seconds"))
        return fixed(v) + QStringLiteral(" s") + per;
    if (base == QLatin1String("ms"))
        return fixed(v) + QStringLiteral(" ms") + per;
    // Counts and units the agent does not know: thousands as k, M, G.
    static const char* big[] = {"", "k", "M", "G", "T"};
    int i = 0;
    double x = v;
    while (std::fabs(x) >= 1000 && i < 4) {
        x /= 1000;
        ++i;
    }
    QString s = fixed(x) + QLatin1String(big[i]);
    if (!base.isEmpty() && base != QLatin1String("count"))
        s += QLatin1Char(' ') + base;
    return s + per;
}

double gapFor(const QList<QPointF>& points, double spacingMs) {
    if (spacingMs <= 0) {
        QList<double> d;
        for (qsizetype i = 1; i < points.size(); ++i)
            d.append(points[i].x() - points[i - 1].x());
        if (d.isEmpty())
            return std::numeric_limits<double>::infinity();
        std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
        spacingMs = d[d.size() / 2];
    }
    // A collection or two may be late or missed without it being a gap.
    return std::max(spacingMs * 2.5, 1000.0);
}

QList<QList<QPointF>> splitAtGaps(const QList<QPointF>& points, double gapMs) {
    QList<QList<QPointF>> parts;
    for (qsizetype i = 0; i < points.size(); ++i) {
        if (i == 0 || points[i].x() - points[i - 1].x() > gapMs)
            parts.append(QList<QPointF>());
        parts.last().append(points[i]);
    }
    return parts;
}

QList<QPointF> downsampleMinMax(const QList<QPointF>& points, double x0, double x1, int columns) {
    QList<QPointF> out;
    if (columns <= 0 || x1 <= x0)
        return out;
    const auto first = std::lower_bound(points.begin(), points.end(), x0,
                                        [](const QPointF& p, double x) { return p.x() < x; });
    const auto last = std::lower_bound(first, points.end(), x1,
                                       [](const QPointF& p, double x) { return p.x() < x; });
    if (last - first <= 2 * columns) {
        out.reserve(last - first);
        for (auto it = first; it != last; ++it)
            out.append(*it);
        return out;
    }
    out.reserve(2 * columns);
    const double width = (x1 - x0) / columns;
    auto it = first;
    while (it != last) {
        const int column = std::min(columns - 1, int((it->x() - x0) / width));
        const double end = x0 + (column + 1) * width;
        auto lo = it, hi = it;
        for (; it != last && (it->x() < end || column == columns - 1); ++it) {
            if (it->y() < lo->y())
                lo = it;
            if (it->y() > hi->y())
                hi = it;
        }
        if (lo == hi) {
            out.append(*lo);
        } else if (lo < hi) {
            out.append(*lo);
            out.append(*hi);
        } else {
            out.append(*hi);
            out.append(*lo);
        }
    }
    return out;
}

QString groupByName(GroupBy g) {
    switch (g) {
    case GroupBy::Agent:
        return QStringLiteral("agent");
    case GroupBy::Framework:
        return QStringLiteral("framework");
    case GroupBy::Container:
        return QStringLiteral("container");
    }
    return {};
}

std::optional<GroupBy> parseGroupBy(const QString& s) {
    for (GroupBy g : {GroupBy::Agent, GroupBy::Framework, GroupBy::Container})
        if (groupByName(g) == s)
            return g;
    return std::nullopt;
}

QList<QPointF> sumOnGrid(const QList<QList<QPointF>>& inputs, qint64 stepMs) {
    std::map<qint64, double> sums;
    const qint64 step = std::max<qint64>(1, stepMs);
    for (const auto& in : inputs) {
        // One value per input and grid time: its last there.
        std::map<qint64, double> own;
        for (const QPointF& p : in) {
            const qint64 t = qint64(p.x());
            own[t - ((t % step) + step) % step] = p.y();
        }
        for (const auto& [t, v] : own)
            sums[t] += v;
    }
    QList<QPointF> out;
    out.reserve(qsizetype(sums.size()));
    for (const auto& [t, v] : sums)
        out.append(QPointF(double(t), v));
    return out;
}

QList<ChartData> buildCharts(const QList<MetricSeries>& series, const QStringList& wanted,
                             GroupBy groupBy, bool sum, qint64 stepMs) {
    QList<ChartData> charts;
    for (const QString& metric : wanted) {
        // Lines by label, in the order their members come.
        QStringList order;
        QMap<QString, QList<QList<QPointF>>> members;
        QString unit;
        for (const MetricSeries& s : series) {
            if (s.name != metric || s.points.isEmpty())
                continue;
            unit = chartUnit(s.name, s.unit);
            QString label = sum ? QStringLiteral("sum") : memberOf(s, groupBy);
            if (const QString t = ownTags(s); !sum && !t.isEmpty())
                label += QStringLiteral(" [") + t + QLatin1Char(']');
            if (!members.contains(label))
                order.append(label);
            members[label].append(isCumulative(s.name) ? toRate(s.points) : s.points);
        }
        if (order.isEmpty())
            continue;
        ChartData c{metric, unit, {}};
        for (const QString& label : order) {
            const auto& inputs = members[label];
            c.lines.append(
                ChartLine{label, inputs.size() == 1 ? inputs.first() : sumOnGrid(inputs, stepMs)});
        }
        charts.append(std::move(c));
    }
    return charts;
}

} // namespace day2::client
