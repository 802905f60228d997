// One metric's chart in the metrics pane (Qt Charts): its lines, each a QLineSeries per
// gap-free segment with one legend entry, set with QXYSeries::replace(); the time axis and a
// value axis in the chart's unit; hover shows every line's value at that time in human units, a
// legend click hides or shows a line, a click or a drag on the plot chooses a time (onChosen).
// Only the metrics pane and its benchmark include this (Qt Charts headers stay in few files).
#pragma once

#include "drawn_chart.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QGraphicsLayout>
#include <QHash>
#include <QLegendMarker>
#include <QLineSeries>
#include <QMouseEvent>
#include <QToolTip>
#include <QValueAxis>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>

#include <algorithm>
#include <cmath>
#include <functional>

namespace day2::ui {

// One metric's chart: its lines (a QLineSeries per gap-free segment, one legend entry per
// line), the time axis, a value axis in human units; hover shows every line's value at that
// time, a click or a drag chooses a time for the log pane.
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
        m_cursor = new QLineSeries;
        m_cursor->setPen(QPen(QColor(200, 0, 0), 1, Qt::DashLine));
        chart()->addSeries(m_cursor);
        m_cursor->attachAxis(m_x);
        m_cursor->attachAxis(m_y);
    }

    std::function<void(qint64, qint64)> onChosen;

    const DrawnChart& data() const { return m_data; }

    void set(const DrawnChart& d, double x0, double x1, qint64 cursorMs) {
        m_data = d;
        chart()->setTitle(d.metric + QStringLiteral("  (") + d.axisUnit + QLatin1Char(')'));
        m_x->setRange(QDateTime::fromMSecsSinceEpoch(qint64(x0)),
                      QDateTime::fromMSecsSinceEpoch(qint64(x1)));
        m_x->setFormat(x1 - x0 <= 3600e3 ? QStringLiteral("HH:mm:ss") : QStringLiteral("HH:mm"));
        m_y->setRange(d.yMin, d.yMax);
        // Lines by label: their segments reuse series; what is no longer there goes.
        QHash<QString, Line> old;
        std::swap(old, m_lines);
        int colour = 0;
        for (const auto& line : d.lines) {
            Line l = old.take(line.label);
            if (l.segments.isEmpty())
                l.colour = nextColour(colour);
            while (l.segments.size() < line.segments.size()) {
                auto* s = new QLineSeries;
                s->setUseOpenGL(qEnvironmentVariableIsSet("DAY2_CHARTS_OPENGL"));
                s->setName(line.label);
                s->setPen(QPen(l.colour, 1.5));
                chart()->addSeries(s);
                s->attachAxis(m_x);
                s->attachAxis(m_y);
                l.segments.append(s);
            }
            while (l.segments.size() > line.segments.size()) {
                QLineSeries* s = l.segments.takeLast();
                chart()->removeSeries(s);
                delete s;
            }
            for (qsizetype i = 0; i < line.segments.size(); ++i) {
                l.segments[i]->replace(line.segments[i]);
                // A point or two alone (a new container, a line after a gap) is still seen.
                l.segments[i]->setPointsVisible(line.segments[i].size() <= 3);
                l.segments[i]->setVisible(!l.hidden);
            }
            m_lines.insert(line.label, l);
            ++colour;
        }
        for (auto& gone : old)
            for (QLineSeries* s : gone.segments) {
                chart()->removeSeries(s);
                delete s;
            }
        // One legend entry per line: the first segment's, which toggles them all.
        for (QLegendMarker* m : chart()->legend()->markers()) {
            auto* s = qobject_cast<QLineSeries*>(m->series());
            const auto it = std::find_if(m_lines.begin(), m_lines.end(), [s](const Line& l) {
                return !l.segments.isEmpty() && l.segments.first() == s;
            });
            m->setVisible(it != m_lines.end());
            if (it == m_lines.end())
                continue;
            const QString label = it.key();
            QObject::disconnect(m, &QLegendMarker::clicked, nullptr, nullptr);
            QObject::connect(m, &QLegendMarker::clicked, chart(), [this, label] { toggle(label); });
            m->setLabelBrush(it->hidden ? QBrush(Qt::gray) : chart()->legend()->labelBrush());
        }
        setCursorTime(cursorMs, d);
    }

    void setCursorTime(qint64 ms, const DrawnChart& d) {
        if (ms <= 0)
            m_cursor->clear();
        else
            m_cursor->replace({QPointF(double(ms), d.yMin), QPointF(double(ms), d.yMax)});
    }

protected:
    void mouseMoveEvent(QMouseEvent* e) override {
        QChartView::mouseMoveEvent(e);
        const QPointF v = chart()->mapToValue(e->position());
        if (!chart()->plotArea().contains(e->position()) || m_data.lines.isEmpty()) {
            QToolTip::hideText();
            return;
        }
        QString text = QDateTime::fromMSecsSinceEpoch(qint64(v.x()))
                           .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        const double slack = spanMs() / std::max(1.0, chart()->plotArea().width()) * 6;
        for (const auto& line : m_data.lines) {
            if (m_lines.value(line.label).hidden)
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
            m_pressX = chart()->mapToValue(e->position()).x();
        QChartView::mousePressEvent(e);
    }
    void mouseReleaseEvent(QMouseEvent* e) override {
        QChartView::mouseReleaseEvent(e);
        if (e->button() != Qt::LeftButton || m_pressX < 0 || !onChosen)
            return;
        const double x = chart()->mapToValue(e->position()).x();
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
    struct Line {
        QList<QLineSeries*> segments;
        QColor colour;
        bool hidden = false;
    };
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
        auto it = m_lines.find(label);
        if (it == m_lines.end())
            return;
        it->hidden = !it->hidden;
        for (QLineSeries* s : it->segments)
            s->setVisible(!it->hidden);
        for (QLegendMarker* m : chart()->legend()->markers())
            if (!it->segments.isEmpty() && m->series() == it->segments.first()) {
                m->setVisible(true);
                m->setLabelBrush(it->hidden ? QBrush(Qt::gray) : chart()->legend()->labelBrush());
            } else if (std::any_of(it->segments.begin() + 1, it->segments.end(),
                                   [m](QLineSeries* s) { return m->series() == s; })) {
                m->setVisible(false);
            }
    }

    QDateTimeAxis* m_x;
    QValueAxis* m_y;
    QLineSeries* m_cursor;
    QHash<QString, Line> m_lines;
    DrawnChart m_data;
    double m_pressX = -1;
};

} // namespace day2::ui
