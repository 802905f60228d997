// One metric's chart in the metrics pane: Qt Charts draws the title, the time axis, a value
// axis in the chart's unit and the legend (an empty QLineSeries per line gives its entry); the
// lines themselves are painted by one item over the plot area, each segment a polyline of the
// drawing thread's points (already at most two a pixel column), a 1-pixel pen without
// antialiasing. Qt Charts' own line series build and stroke a QPainterPath of every point on
// every change, 90 ms for 100 lines of 2,000 points here (tests/bench/metrics_chart_bench.cpp);
// this is a few. Hover shows every line's value at that time in human units, a legend click hides
// or shows a line, a click or a drag on the plot chooses a time (onChosen), a dashed line marks
// a cursor time. Only the metrics pane and its benchmark include this (Qt Charts headers stay in
// few files).
#pragma once

#include "drawn_chart.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QGraphicsItem>
#include <QGraphicsLayout>
#include <QHash>
#include <QImage>
#include <QLegendMarker>
#include <QLineSeries>
#include <QMouseEvent>
#include <QPainter>
#include <QPolygonF>
#include <QStyleOptionGraphicsItem>
#include <QToolTip>
#include <QValueAxis>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

namespace day2::ui {

// The lines of a chart, painted over its plot area.
// The lines of a chart, painted over its plot area. A full redraw paints them straight onto the
// view; a live update that only adds points at the ends of lines (the same window and scale)
// draws just the new pieces into an image of the lines (made the first time it is needed) and
// repaints their rectangle from it.
class ChartLinesItem : public QGraphicsItem {
public:
    struct Line {
        QString label;
        QColor colour;
        bool hidden = false;
        QList<QList<QPointF>> segments; // in axis units
    };
    explicit ChartLinesItem(QGraphicsItem* parent) : QGraphicsItem(parent) {
        setZValue(100);
        setFlag(QGraphicsItem::ItemUsesExtendedStyleOption); // the exposed rectangle
    }

    void setLines(QList<Line> lines) {
        if (!appendsTo(lines)) {
            m_lines = std::move(lines);
            invalidate();
            return;
        }
        // Only points added at the ends: into the image (made now if the last paint was a full
        // one), and only their rectangle repainted.
        const QList<Line> before = std::move(m_lines);
        m_lines = std::move(lines);
        QRectF dirty;
        if (!m_cacheValid) {
            rebuild(m_dpr);
            dirty = newParts(before, nullptr);
        } else {
            dirty = newParts(before, &m_cache);
        }
        if (!dirty.isEmpty())
            update(dirty.adjusted(-2, -2, 2, 2) & m_plot);
    }
    QList<Line>& lines() { return m_lines; }
    void setRanges(double x0, double x1, double y0, double y1) {
        if (x0 == m_x0 && x1 == m_x1 && y0 == m_y0 && y1 == m_y1)
            return;
        m_x0 = x0;
        m_x1 = x1;
        m_y0 = y0;
        m_y1 = y1;
        invalidate();
    }
    void setPlot(const QRectF& plot) {
        if (plot == m_plot)
            return;
        prepareGeometryChange();
        m_plot = plot;
        invalidate();
    }
    void setCursor(double x) {
        if (x == m_cursor)
            return;
        m_cursor = x;
        update();
    }
    // Hidden lines changed, say: drawn anew.
    void invalidate() {
        m_cacheValid = false;
        update();
    }
    QRectF boundingRect() const override { return m_plot; }
    void paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget*) override {
        if (m_plot.isEmpty() || m_x1 <= m_x0 || m_y1 <= m_y0)
            return;
        m_dpr = p->device() ? p->device()->devicePixelRatioF() : 1.0;
        // Both ways draw from the same whole-pixel origin, so that they give the same pixels.
        const QPoint origin = m_plot.topLeft().toPoint();
        if (m_cacheValid) {
            p->save();
            p->setClipRect(option->exposedRect.isEmpty() ? m_plot : option->exposedRect & m_plot);
            p->drawImage(origin, m_cache);
            p->restore();
        } else {
            // A full redraw: straight onto the view (quicker than through the image, which is
            // made when a live update first needs it).
            p->save();
            p->setClipRect(m_plot);
            p->translate(origin);
            drawAll(*p);
            p->restore();
        }
        if (m_cursor > 0) {
            p->setPen(QPen(QColor(200, 0, 0), 0, Qt::DashLine));
            const double x = toPixel(QPointF(m_cursor, m_y0)).x() + m_plot.left();
            p->drawLine(QPointF(x, m_plot.top()), QPointF(x, m_plot.bottom()));
        }
    }

private:
    // A point in the image's pixels (the plot's top left is 0, 0).
    QPointF toPixel(const QPointF& v) const {
        return QPointF((v.x() - m_x0) * m_plot.width() / (m_x1 - m_x0),
                       m_plot.height() - (v.y() - m_y0) * m_plot.height() / (m_y1 - m_y0));
    }
    // The points of `seg` from `start` on, in the image's pixels.
    void mapPart(const QList<QPointF>& seg, qsizetype start, QPolygonF& poly) const {
        poly.resize(seg.size() - start);
        for (qsizetype i = start; i < seg.size(); ++i)
            poly[i - start] = toPixel(seg[i]);
    }
    // A polyline; a point alone as a small square, so that it is seen.
    static void drawPoly(QPainter& p, const QPolygonF& poly) {
        if (poly.size() == 1)
            p.drawRect(QRectF(poly[0].x() - 1.5, poly[0].y() - 1.5, 3, 3));
        else
            p.drawPolyline(poly);
    }
    void drawAll(QPainter& p) const {
        p.setRenderHint(QPainter::Antialiasing, false);
        QPolygonF poly;
        for (const Line& line : m_lines) {
            if (line.hidden)
                continue;
            p.setPen(QPen(line.colour, 0));
            p.setBrush(line.colour);
            for (const auto& seg : line.segments)
                if (!seg.isEmpty()) {
                    mapPart(seg, 0, poly);
                    drawPoly(p, poly);
                }
        }
    }
    void rebuild(qreal dpr) {
        m_cache = QImage((m_plot.size() * dpr).toSize(), QImage::Format_ARGB32_Premultiplied);
        m_cache.setDevicePixelRatio(dpr);
        m_cache.fill(Qt::transparent);
        QPainter p(&m_cache);
        drawAll(p);
        m_cacheValid = true;
    }
    // Whether `next` only adds points at the ends of the lines held.
    bool appendsTo(const QList<Line>& next) const {
        if (next.size() != m_lines.size() || m_plot.isEmpty())
            return false;
        for (qsizetype i = 0; i < next.size(); ++i) {
            const Line& a = m_lines[i];
            const Line& b = next[i];
            if (a.label != b.label || a.colour != b.colour || a.hidden != b.hidden ||
                b.segments.size() < a.segments.size())
                return false;
            for (qsizetype k = 0; k < a.segments.size(); ++k) {
                const auto& sa = a.segments[k];
                const auto& sb = b.segments[k];
                // Earlier segments unchanged; the last one may have grown.
                if (sb.size() < sa.size() || (k + 1 < a.segments.size() && sb.size() != sa.size()))
                    return false;
                if (!std::equal(sa.begin(), sa.end(), sb.begin()))
                    return false;
                // A point alone is drawn as a square, which a line from it must not keep.
                if (sa.size() == 1 && sb.size() > 1)
                    return false;
            }
        }
        return true;
    }
    // The parts of m_lines that `before` did not have: drawn into `into` (when given), and
    // where they are, in item coordinates.
    QRectF newParts(const QList<Line>& before, QImage* into) const {
        std::optional<QPainter> p;
        if (into) {
            p.emplace(into);
            p->setRenderHint(QPainter::Antialiasing, false);
        }
        QPolygonF poly;
        QRectF drawn;
        for (qsizetype i = 0; i < m_lines.size(); ++i) {
            const Line& b = m_lines[i];
            if (b.hidden)
                continue;
            const Line* a = i < before.size() ? &before[i] : nullptr;
            if (p) {
                p->setPen(QPen(b.colour, 0));
                p->setBrush(b.colour);
            }
            for (qsizetype k = 0; k < b.segments.size(); ++k) {
                const qsizetype had = a && k < a->segments.size() ? a->segments[k].size() : 0;
                if (b.segments[k].size() == had)
                    continue;
                // From two points back: the joint at the last point held is then inside the
                // polyline, drawn as the whole line draws it.
                const qsizetype start = std::max<qsizetype>(0, had - 2);
                mapPart(b.segments[k], start, poly);
                if (p)
                    drawPoly(*p, poly);
                drawn |= poly.boundingRect().adjusted(-2, -2, 2, 2);
            }
        }
        return drawn.isEmpty() ? QRectF() : drawn.translated(m_plot.topLeft());
    }

    QList<Line> m_lines;
    QRectF m_plot;
    double m_x0 = 0, m_x1 = 1, m_y0 = 0, m_y1 = 1;
    double m_cursor = 0;
    QImage m_cache;
    bool m_cacheValid = false;
    qreal m_dpr = 1;
};

class MetricChartView : public QChartView {
public:
    explicit MetricChartView(QWidget* parent = nullptr) : QChartView(new QChart, parent) {
        setObjectName(QStringLiteral("metric-chart"));
        setRenderHint(QPainter::Antialiasing, false);
        setMinimumHeight(210);
        setMouseTracking(true);
        chart()->legend()->setAlignment(Qt::AlignBottom);
        chart()->setMargins(QMargins(4, 4, 4, 4));
        chart()->layout()->setContentsMargins(0, 0, 0, 0);
        m_x = new QDateTimeAxis;
        m_y = new QValueAxis;
        m_y->setLabelFormat(QStringLiteral("%.3g"));
        chart()->addAxis(m_x, Qt::AlignBottom);
        chart()->addAxis(m_y, Qt::AlignLeft);
        m_item = new ChartLinesItem(chart());
        QObject::connect(chart(), &QChart::plotAreaChanged, chart(),
                         [this](const QRectF& plot) { m_item->setPlot(plot); });
    }

    std::function<void(qint64, qint64)> onChosen;

    const DrawnChart& data() const { return m_data; }

    void set(const DrawnChart& d, double x0, double x1, qint64 cursorMs) {
        m_data = d;
        // What is unchanged is not set again (each would lay the chart out again).
        const QString title = d.metric + QStringLiteral("  (") + d.axisUnit + QLatin1Char(')');
        if (chart()->title() != title)
            chart()->setTitle(title);
        if (m_x->min().toMSecsSinceEpoch() != qint64(x0) ||
            m_x->max().toMSecsSinceEpoch() != qint64(x1)) {
            m_x->setRange(QDateTime::fromMSecsSinceEpoch(qint64(x0)),
                          QDateTime::fromMSecsSinceEpoch(qint64(x1)));
            m_x->setFormat(x1 - x0 <= 3600e3 ? QStringLiteral("HH:mm:ss")
                                             : QStringLiteral("HH:mm"));
        }
        if (m_y->min() != d.yMin || m_y->max() != d.yMax)
            m_y->setRange(d.yMin, d.yMax);
        m_item->setRanges(x0, x1, d.yMin, d.yMax);
        m_item->setPlot(chart()->plotArea());
        // Lines by label keep their colour, legend entry and hidden state.
        QHash<QString, Legend> old;
        std::swap(old, m_legend);
        QList<ChartLinesItem::Line> lines;
        int colour = 0;
        for (const auto& line : d.lines) {
            Legend l = old.take(line.label);
            if (!l.series) {
                l.colour = nextColour(colour);
                l.series = new QLineSeries;
                l.series->setName(line.label);
                l.series->setPen(QPen(l.colour, 2));
                chart()->addSeries(l.series);
                for (QLegendMarker* m : chart()->legend()->markers(l.series)) {
                    const QString label = line.label;
                    QObject::connect(m, &QLegendMarker::clicked, chart(),
                                     [this, label] { toggle(label); });
                }
            }
            m_legend.insert(line.label, l);
            lines.append(ChartLinesItem::Line{line.label, l.colour, l.hidden, line.segments});
            ++colour;
        }
        for (auto& gone : old) {
            chart()->removeSeries(gone.series);
            delete gone.series;
        }
        m_item->setLines(std::move(lines));
        setCursorTime(cursorMs, d);
    }

    void setCursorTime(qint64 ms, const DrawnChart&) { m_item->setCursor(double(ms)); }

protected:
    void mouseMoveEvent(QMouseEvent* e) override {
        QChartView::mouseMoveEvent(e);
        const QPointF v = valueAt(e->position());
        if (!chart()->plotArea().contains(e->position()) || m_data.lines.isEmpty()) {
            QToolTip::hideText();
            return;
        }
        QString text = QDateTime::fromMSecsSinceEpoch(qint64(v.x()))
                           .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        const double slack = spanMs() / std::max(1.0, chart()->plotArea().width()) * 6;
        for (const auto& line : m_data.lines) {
            if (hidden(line.label))
                continue;
            // The line's point nearest that time (within a few pixels).
            const QPointF* best = nullptr;
            for (const auto& seg : line.segments)
                for (const QPointF& p : seg)
                    if (!best || std::fabs(p.x() - v.x()) < std::fabs(best->x() - v.x()))
                        best = &p;
            if (best && std::fabs(best->x() - v.x()) <= std::max(slack, 15000.0))
                text +=
                    QStringLiteral("\n%1: %2")
                        .arg(line.label, client::humanValue(best->y() * m_data.scale, m_data.unit));
        }
        QToolTip::showText(e->globalPosition().toPoint(), text, this);
    }
    void mousePressEvent(QMouseEvent* e) override {
        if (e->button() == Qt::LeftButton && chart()->plotArea().contains(e->position()))
            m_pressX = valueAt(e->position()).x();
        QChartView::mousePressEvent(e);
    }
    void mouseReleaseEvent(QMouseEvent* e) override {
        QChartView::mouseReleaseEvent(e);
        if (e->button() != Qt::LeftButton || m_pressX < 0 || !onChosen)
            return;
        const double x = valueAt(e->position()).x();
        const qint64 a = qint64(std::min(m_pressX, x)), b = qint64(std::max(m_pressX, x));
        m_pressX = -1;
        // A drag of a few pixels is a click.
        const double pixel = spanMs() / std::max(1.0, chart()->plotArea().width());
        if (double(b - a) < 4 * pixel)
            onChosen((a + b) / 2, (a + b) / 2);
        else
            onChosen(a, b);
    }

private:
    struct Legend {
        QLineSeries* series = nullptr; // empty: its legend entry
        QColor colour;
        bool hidden = false;
    };
    // The time and value at a point of the view (the axes' ranges over the plot area).
    QPointF valueAt(const QPointF& pos) const {
        const QRectF plot = chart()->plotArea();
        const double x0 = double(m_x->min().toMSecsSinceEpoch());
        const double fx = (pos.x() - plot.left()) / std::max(1.0, plot.width());
        const double fy = (plot.bottom() - pos.y()) / std::max(1.0, plot.height());
        return QPointF(x0 + fx * spanMs(), m_y->min() + fy * (m_y->max() - m_y->min()));
    }
    double spanMs() const {
        return double(m_x->max().toMSecsSinceEpoch() - m_x->min().toMSecsSinceEpoch());
    }
    static QColor nextColour(int i) {
        static const QColor palette[] = {QColor(31, 119, 180),  QColor(255, 127, 14),
                                         QColor(44, 160, 44),   QColor(214, 39, 40),
                                         QColor(148, 103, 189), QColor(140, 86, 75),
                                         QColor(227, 119, 194), QColor(127, 127, 127),
                                         QColor(188, 189, 34),  QColor(23, 190, 207)};
        return palette[i % 10];
    }
    void toggle(const QString& label) {
        auto it = m_legend.find(label);
        if (it == m_legend.end())
            return;
        it->hidden = !it->hidden;
        for (auto& line : m_item->lines())
            if (line.label == label)
                line.hidden = it->hidden;
        m_item->invalidate();
        for (QLegendMarker* m : chart()->legend()->markers(it->series))
            m->setLabelBrush(it->hidden ? QBrush(Qt::gray) : chart()->legend()->labelBrush());
    }
    bool hidden(const QString& label) const { return m_legend.value(label).hidden; }

    QDateTimeAxis* m_x;
    QValueAxis* m_y;
    ChartLinesItem* m_item;
    QHash<QString, Legend> m_legend;
    DrawnChart m_data;
    double m_pressX = -1;
};

} // namespace day2::ui
