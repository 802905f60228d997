// The console's metrics pane: charts of whatever is selected in the cluster tree (the whole
// cluster's hosts, an agent's host and containers, a framework's or an application's
// containers, one container with its own StatsD metrics), one chart per metric with a line per
// agent, framework or container (or the members summed), over 5 m to 24 h or live.
//
// The past comes from each source's `history`, the present from one metrics `stream` (SSE) per
// agent; after a dropped stream the hole is fetched from `history` again, so a line breaks only
// where the agent itself has nothing (a real gap: the agent or the task was down). Grouping,
// rates, gap splitting and the min/max-per-pixel-column downsampling run off the GUI thread; a
// chart's lines are then set with QXYSeries::replace(), never point by point. Hovering a chart
// shows every line's value at that time; clicking its legend hides or shows a line; a click on a
// chart (or a dragged range) asks the log pane for that moment's lines (timeChosen).
#pragma once

#include "client/api_client.h"
#include "client/metrics_data.h"
#include "client/metrics_feed.h" // the metatypes of its signals
#include "drawn_chart.h"

#include <QDateTime>
#include <QFutureWatcher>
#include <QHash>
#include <QList>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <QWidget>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QScrollArea;
class QThread;

namespace day2::client {
class LogFollower;
}

namespace day2::ui {

class MetricChartView;

// A source of metrics on one agent: "node", "containers/<cid>" or "containers/<cid>/app".
struct MetricsSource {
    QString agentId;
    QString basePath; // the agent's "metrics/v0/" path (through Adminrouter or direct)
    QString source;
    client::MetricOrigin origin;
};

class MetricsPane : public QWidget {
    Q_OBJECT
public:
    static constexpr qint64 kRanges[] = {300, 900, 3600, 6 * 3600, 24 * 3600};

    explicit MetricsPane(QWidget* parent = nullptr);
    ~MetricsPane() override;
    void setApi(client::ApiClient* api);

    // Charts `sources` (replacing what was charted); `title` names the selection.
    void setSources(const QString& title, const QList<MetricsSource>& sources);
    void setGroupBy(client::GroupBy g);
    client::GroupBy groupBy() const { return m_groupBy; }
    void setSummed(bool on);
    // The range shown, in seconds (one of kRanges), ending now.
    void setRangeSeconds(qint64 s);
    qint64 rangeSeconds() const { return m_range; }
    void setLive(bool on);
    // The metrics charted (checked in the list), and all that the sources serve.
    QStringList chosenMetrics() const;
    QStringList availableMetrics() const;
    void setChosenMetrics(const QStringList& names);

    // For --snapshot and tests.
    int chartCount() const;
    int lineCount() const;
    qsizetype pointCount() const;
    const QList<DrawnChart>& drawn() const { return m_drawn; }
    // Every series held (history and stream merged), as the agents gave them.
    const QList<client::MetricSeries>& series() const { return m_series; }
    QWidget* chartArea() const;
    // Draws now (off the GUI thread) instead of at the next tick; `drawn` follows.
    void redraw();
    // A drawing is under way or asked for: `drawn` is not yet of the data held.
    bool drawingPending() const { return m_drawStarted || m_drawAgain; }
    // Points as the streams hand them over (merged into the series held; drawn at the next
    // tick or redraw). Public for the benchmark, which feeds the pane without an agent.
    void ingest(const QList<client::MetricSeries>& points) { mergeSeries(points); }
    // The GUI thread's time setting the last drawing into the charts (ns).
    qint64 lastApplyNs() const { return m_lastApplyNs; }
    // The pane's idea of now (ms since the epoch): the system clock, unless the benchmark
    // replays ten minutes of updates in a few seconds, time axis steps and all.
    void setClock(std::function<qint64()> now) { m_now = std::move(now); }
    // A time cursor on every chart; 0 removes it.
    void setCursorTime(qint64 ms);
    // A log line's "show in metrics": the range widened to the smallest that holds `ms` (if it
    // does not yet), and the cursor there.
    void showTime(qint64 ms);
    qint64 cursorTime() const { return m_cursorMs; }

signals:
    // Charts were drawn with the data held (after each load, and each live update).
    void drawnCharts();
    // Every source's history has been loaded (or has failed) for the current selection.
    void historyLoaded();
    // A moment (fromMs == toMs) or range chosen on a chart whose lines come from `origins`.
    void timeChosen(qint64 fromMs, qint64 toMs, const QList<client::MetricOrigin>& origins);

private:
    struct AgentStream;
    void reload();
    void fetchHistory(const MetricsSource& s, qint64 sinceMs, quint64 generation);
    void mergeSeries(const QList<client::MetricSeries>& incoming);
    void startStreams();
    void stopStreams();
    void onStreamEvents(const QString& agentId, const QList<QByteArray>& events);
    void updateMetricList();
    void scheduleDraw();
    void applyDrawn(QList<DrawnChart> charts);
    QString keyOf(const client::MetricSeries& s) const;
    qint64 stepMs() const;
    qint64 now() const { return m_now ? m_now() : QDateTime::currentMSecsSinceEpoch(); }

    client::ApiClient* m_api = nullptr;
    QList<MetricsSource> m_sources;
    QString m_title;
    QList<client::MetricSeries> m_series;
    QHash<QString, qsizetype> m_index; // keyOf → position in m_series
    client::GroupBy m_groupBy = client::GroupBy::Agent;
    bool m_summed = false;
    bool m_live = true;
    qint64 m_range = 900;
    quint64 m_generation = 0; // a new selection or range: answers of the old one are ignored
    int m_pendingHistory = 0;
    QSet<QString> m_userChoice; // metrics the operator checked or unchecked
    bool m_choiceTouched = false;
    qint64 m_cursorMs = 0;
    qint64 m_lastApplyNs = 0;
    std::function<qint64()> m_now;            // none: the system clock
    std::pair<double, double> m_window{0, 1}; // the time range of the last drawing

    std::vector<std::unique_ptr<AgentStream>> m_streams;
    QFutureWatcher<QList<DrawnChart>> m_drawing;
    bool m_drawAgain = false;
    bool m_drawStarted = false; // until its result is set into the charts
    bool m_dirty = false;
    QTimer m_tick; // live: a redraw a second when something came

    QLabel* m_titleLabel;
    QLabel* m_state;
    QComboBox* m_groupBox;
    QCheckBox* m_sumBox;
    QComboBox* m_rangeBox;
    QCheckBox* m_liveBox;
    QLineEdit* m_filter;
    QListWidget* m_metricList;
    QScrollArea* m_scroll;
    QWidget* m_grid;
    QGridLayout* m_gridLayout;
    QList<MetricChartView*> m_views;
    QList<DrawnChart> m_drawn;
};

} // namespace day2::ui
