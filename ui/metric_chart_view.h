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

// The lines of a chart, painted over its plot area. A full redraw takes the image of the lines
// the drawing thread painted, when it was painted for this plot, colours and no hidden line, and
// only copies the part of it where lines are; otherwise it paints them straight onto the view. A
// live update that only adds points at the ends of lines (the same window and scale) draws just
// the new pieces into the image (made the first time it is needed) and repaints their rectangle
// from it.
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

    // `ready`: the drawing thread's image of these lines, painted for a plot of `readyFor`, with
    // lines only inside `readyPainted` (none: anywhere). `extendsHeld`: the drawing thread found
    // these lines to be the ones held with points added at the ends
    // (DrawnChart::extendsPrevious), so they are not compared point by point again.
    void setLines(QList<Line> lines, const QImage& ready = {}, const PlotSize& readyFor = {},
                  const QRectF& readyPainted = {}, bool extendsHeld = false) {
        const bool appends = appendsTo(lines, extendsHeld);
        const QList<Line> before = std::move(m_lines);
        m_lines = std::move(lines);
        if (appends && m_cacheValid) {
            // Only points added at the ends: into the image, and only their rectangle repainted.
            repaintNewParts(before, &m_cache);
        } else if (!ready.isNull() && readyFor.size == m_plot.size() && readyFor.dpr == m_dpr &&
                   paintedAsReady()) {
            m_cache = ready;
            m_cachePainted =
                readyPainted.isNull() ? QRectF(QPointF(0, 0), m_plot.size()) : readyPainted;
            m_cacheValid = true;
            update();
        } else if (appends) {
            // (The image is made now, new parts and all: the last paint was a full one.)
            rebuild(m_dpr);
            repaintNewParts(before, nullptr);
        } else {
            invalidate();
        }
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
            // Only where there are lines: the rest of the image is transparent, and copying it
            // was a third of a full repaint's time.
            const QRectF clip = (option->exposedRect.isEmpty() ? m_plot : option->exposedRect) &
                                m_plot & m_cachePainted.translated(origin);
            if (!clip.isEmpty()) {
                p->save();
                p->setClipRect(clip);
                p->drawImage(origin, m_cache);
                p->restore();
            }
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
            const double x = map()(QPointF(m_cursor, m_y0)).x() + m_plot.left();
            p->drawLine(QPointF(x, m_plot.top()), QPointF(x, m_plot.bottom()));
        }
    }

private:
    PlotMap map() const { return PlotMap{m_plot.size(), m_x0, m_x1, m_y0, m_y1}; }
    // Whether the lines are as the drawing thread paints them: the palette's colours in order,
    // none hidden.
    bool paintedAsReady() const {
        for (qsizetype i = 0; i < m_lines.size(); ++i)
            if (m_lines[i].hidden || m_lines[i].colour != lineColour(i))
                return false;
        return true;
    }
    void drawAll(QPainter& p) const {
        p.setRenderHint(QPainter::Antialiasing, false);
        QPolygonF poly;
        const PlotMap m = map();
        for (const Line& line : m_lines) {
            if (line.hidden)
                continue;
            p.setPen(QPen(line.colour, 0));
            p.setBrush(line.colour);
            for (const auto& seg : line.segments)
                if (!seg.isEmpty()) {
                    mapPart(m, seg, 0, poly);
                    drawPoly(p, poly);
                }
        }
    }
    void rebuild(qreal dpr) {
        QList<QColor> colours;
        QList<const QList<QList<QPointF>>*> lines;
        for (const Line& line : m_lines) {
            colours.append(line.colour);
            lines.append(line.hidden ? nullptr : &line.segments);
        }
        m_cache = paintLines(map(), dpr, colours, lines, &m_cachePainted);
        m_cacheValid = true;
    }
    // Whether `next` only adds points at the ends of the lines held (`extends`: their points
    // are known to).
    bool appendsTo(const QList<Line>& next, bool extends) const {
        if (next.size() != m_lines.size() || m_plot.isEmpty())
            return false;
        for (qsizetype i = 0; i < next.size(); ++i) {
            const Line& a = m_lines[i];
            const Line& b = next[i];
            if (a.label != b.label || a.colour != b.colour || a.hidden != b.hidden ||
                (!extends && !segmentsExtend(a.segments, b.segments)))
                return false;
        }
        return true;
    }
    // The parts of m_lines that `before` did not have, drawn into `into` (when given), repainted
    // from the image.
    void repaintNewParts(const QList<Line>& before, QImage* into) {
        const QRectF dirty = newParts(before, into);
        if (dirty.isEmpty())
            return;
        m_cachePainted |= dirty.translated(-m_plot.topLeft());
        update(dirty.adjusted(-2, -2, 2, 2) & m_plot);
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
        const PlotMap m = map();
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
                mapPart(m, b.segments[k], start, poly);
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
    QRectF m_cachePainted; // where in it lines are (the plot's pixels)
    bool m_cacheValid = false;
    qreal m_dpr = 1;
};

class MetricChartView : public QChartView {
public:
    explicit MetricChartView(QWidget* parent = nullptr) : QChartView(new QChart, parent) {
        setObjectName(QStringLiteral("metric-chart"));
        setRenderHint(QPainter::Antialiasing, false);
        setMinimumHeight(210);
        setMinimumWidth(260);
        // The grid decides the width: a long legend must not widen the window past the screen.
        setSizePolicy(QSizePolicy::Ignored, sizePolicy().verticalPolicy());
        setMouseTracking(true);
        // The chart's background is the view's, plain white, and the view paints every pixel (the
        // widgets under it are not painted first). The light theme's own background, a gradient
        // from white to white in a rounded rectangle, took about 1 ms of the 2.4 ms a full
        // repaint cost (the time axis's step, a new scale; tests/bench/metrics_chart_bench.cpp).
        chart()->setBackgroundVisible(false);
        setBackgroundBrush(Qt::white);
        viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
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
    static constexpr qsizetype kLegendMax = 16;

    const DrawnChart& data() const { return m_data; }
    // The plot's size, for the drawing thread's image of the lines.
    PlotSize plotSize() const { return {chart()->plotArea().size(), devicePixelRatioF()}; }

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
                l.colour = lineColour(colour);
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
        // Past a score of lines a legend is a wall of names: hover tells each line's.
        const bool legend = d.lines.size() <= kLegendMax;
        if (chart()->legend()->isVisible() != legend)
            chart()->legend()->setVisible(legend);
        m_item->setLines(std::move(lines), d.image, d.imagePlot, d.imagePainted, d.extendsPrevious);
        m_data.image = QImage(); // (held by the item)
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
