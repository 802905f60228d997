#include "metrics_pane.h"

#include "client/metrics_feed.h"
#include "metric_chart_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QElapsedTimer>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QNetworkReply>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace day2::ui {

using client::GroupBy;
using client::MetricSeries;

namespace {

// What is charted when the operator has not chosen: the metrics an operator looks at first.
const QStringList kDefaultHost = {"cpu.total",  "memory.free", "load.1min",
                                  "network.in", "network.out", "filesystem.capacity.used"};
const QStringList kDefaultContainer = {"cpus.usage", "mem.working_set", "mem.total", "processes",
                                       "cpus.throttled.time"};
constexpr int kMaxDefaultApp = 6; // a container's own StatsD metrics, the first of them

} // namespace

// --- the pane ---------------------------------------------------------------------------------

struct MetricsPane::AgentStream {
    std::unique_ptr<client::MetricsFeed> feed;
};

MetricsPane::MetricsPane(QWidget* parent) : QWidget(parent) {
    qRegisterMetaType<QList<day2::client::MetricSeries>>();
    qRegisterMetaType<QList<day2::client::MetricOrigin>>();
    m_titleLabel = new QLabel(tr("The cluster's hosts"));
    QFont f = m_titleLabel->font();
    f.setBold(true);
    m_titleLabel->setFont(f);
    m_groupBox = new QComboBox;
    m_groupBox->addItem(tr("by agent"), int(GroupBy::Agent));
    m_groupBox->addItem(tr("by framework"), int(GroupBy::Framework));
    m_groupBox->addItem(tr("by container"), int(GroupBy::Container));
    m_groupBox->setToolTip(tr("A line per agent, framework or container"));
    m_sumBox = new QCheckBox(tr("Sum"));
    m_sumBox->setToolTip(tr("The members summed into one line"));
    m_rangeBox = new QComboBox;
    for (qint64 r : kRanges)
        m_rangeBox->addItem(r < 3600 ? tr("%1 min").arg(r / 60) : tr("%1 h").arg(r / 3600), r);
    m_rangeBox->setCurrentIndex(1);
    m_liveBox = new QCheckBox(tr("Live"));
    m_liveBox->setChecked(true);
    m_liveBox->setToolTip(tr("Follow the present (the agents' metrics streams)"));
    m_state = new QLabel;
    m_state->setStyleSheet(QStringLiteral("color: palette(placeholder-text)"));

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_titleLabel, 1);
    bar->addWidget(m_state);
    bar->addWidget(m_groupBox);
    bar->addWidget(m_sumBox);
    bar->addWidget(m_rangeBox);
    bar->addWidget(m_liveBox);

    m_filter = new QLineEdit;
    m_filter->setPlaceholderText(tr("Find a metric…"));
    m_filter->setClearButtonEnabled(true);
    m_metricList = new QListWidget;
    m_metricList->setToolTip(tr("Check the metrics to chart"));
    auto* side = new QWidget;
    auto* sideLay = new QVBoxLayout(side);
    sideLay->setContentsMargins(0, 0, 0, 0);
    sideLay->addWidget(m_filter);
    sideLay->addWidget(m_metricList, 1);

    m_grid = new QWidget;
    m_gridLayout = new QGridLayout(m_grid);
    m_gridLayout->setContentsMargins(0, 0, 0, 0);
    m_scroll = new QScrollArea;
    m_scroll->setWidgetResizable(true);
    m_scroll->setWidget(m_grid);
    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(side);
    split->addWidget(m_scroll);
    split->setStretchFactor(1, 1);
    split->setSizes({170, 800});

    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(2, 2, 2, 2);
    lay->addLayout(bar);
    lay->addWidget(split, 1);

    connect(m_groupBox, &QComboBox::currentIndexChanged, this,
            [this] { setGroupBy(GroupBy(m_groupBox->currentData().toInt())); });
    connect(m_sumBox, &QCheckBox::toggled, this, &MetricsPane::setSummed);
    connect(m_rangeBox, &QComboBox::currentIndexChanged, this,
            [this] { setRangeSeconds(m_rangeBox->currentData().toLongLong()); });
    connect(m_liveBox, &QCheckBox::toggled, this, &MetricsPane::setLive);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        for (int i = 0; i < m_metricList->count(); ++i)
            m_metricList->item(i)->setHidden(
                !m_metricList->item(i)->text().contains(text, Qt::CaseInsensitive));
    });
    connect(m_metricList, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        const QString name = item->data(Qt::UserRole).toString();
        m_choiceTouched = true;
        if (item->checkState() == Qt::Checked)
            m_userChoice.insert(name);
        else
            m_userChoice.remove(name);
        scheduleDraw();
    });
    connect(&m_drawing, &QFutureWatcher<QList<DrawnChart>>::finished, this,
            [this] { applyDrawn(m_drawing.result()); });
    m_tick.setInterval(1000);
    connect(&m_tick, &QTimer::timeout, this, [this] {
        if (m_dirty && m_live)
            scheduleDraw();
    });
}

MetricsPane::~MetricsPane() {
    stopStreams();
    m_drawing.waitForFinished();
}

void MetricsPane::setApi(client::ApiClient* api) {
    stopStreams();
    m_api = api;
    m_sources.clear();
    ++m_generation;
}

QWidget* MetricsPane::chartArea() const {
    return m_scroll->viewport();
}

QString MetricsPane::keyOf(const MetricSeries& s) const {
    QString key = s.origin.agentId + QLatin1Char('\n') + s.source + QLatin1Char('\n') + s.name;
    for (auto it = s.tags.begin(); it != s.tags.end(); ++it)
        key += QLatin1Char('\n') + it.key() + QLatin1Char('=') + it.value();
    return key;
}

qint64 MetricsPane::stepMs() const {
    // About 1,500 points a series over the range; the agent keeps raw points for the recent past.
    return m_range <= 900 ? 0 : (m_range / 1500) * 1000;
}

void MetricsPane::setSources(const QString& title, const QList<MetricsSource>& sources) {
    m_title = title;
    m_titleLabel->setText(title);
    m_sources = sources;
    m_choiceTouched = false;
    m_userChoice.clear();
    reload();
}

void MetricsPane::reload() {
    stopStreams();
    ++m_generation;
    m_series.clear();
    m_index.clear();
    m_dirty = false;
    if (!m_api || m_sources.isEmpty()) {
        updateMetricList();
        scheduleDraw();
        return;
    }
    m_state->setText(tr("loading…"));
    const qint64 since = now() - m_range * 1000;
    m_pendingHistory = int(m_sources.size());
    for (const auto& s : m_sources)
        fetchHistory(s, since, m_generation);
    if (m_live)
        startStreams();
}

void MetricsPane::fetchHistory(const MetricsSource& s, qint64 sinceMs, quint64 generation) {
    QUrlQuery q;
    q.addQueryItem(QStringLiteral("since"), QString::number(sinceMs * 1000));
    if (const qint64 step = stepMs(); step > 0)
        q.addQueryItem(QStringLiteral("step"), QString::number(step / 1000));
    QNetworkReply* reply =
        m_api->send("GET", s.basePath + QStringLiteral("history/") + s.source, q);
    connect(reply, &QNetworkReply::finished, this, [this, reply, s, generation] {
        reply->deleteLater();
        if (generation != m_generation)
            return;
        const QString failure = client::describeFailure(reply);
        const QByteArray body = failure.isEmpty() ? reply->readAll() : QByteArray();
        // Parsed off the GUI thread; merged on it.
        auto* watcher = new QFutureWatcher<std::optional<QList<MetricSeries>>>(this);
        connect(
            watcher, &QFutureWatcherBase::finished, this, [this, watcher, s, failure, generation] {
                watcher->deleteLater();
                if (generation != m_generation)
                    return;
                const auto parsed = watcher->result();
                if (!failure.isEmpty())
                    m_state->setText(tr("%1: %2").arg(s.origin.agentName, failure));
                else if (!parsed)
                    m_state->setText(
                        tr("%1: the history answer was not understood").arg(s.origin.agentName));
                else
                    mergeSeries(*parsed);
                if (m_pendingHistory > 0 && --m_pendingHistory == 0) {
                    if (failure.isEmpty() && parsed)
                        m_state->setText(m_live ? tr("live") : QString());
                    updateMetricList();
                    scheduleDraw();
                    emit historyLoaded();
                } else if (m_pendingHistory == 0) { // a hole after a reconnect
                    scheduleDraw();
                }
            });
        watcher->setFuture(QtConcurrent::run([body, s] {
            return body.isEmpty() ? std::optional<QList<MetricSeries>>()
                                  : client::parseHistory(body, s.source, s.origin, nullptr);
        }));
    });
}

void MetricsPane::mergeSeries(const QList<MetricSeries>& incoming) {
    const double oldest = double(now() - m_range * 1000 - 60000);
    bool newNames = false;
    for (const MetricSeries& s : incoming) {
        const QString key = keyOf(s);
        auto it = m_index.find(key);
        if (it == m_index.end()) {
            m_index.insert(key, m_series.size());
            m_series.append(s);
            newNames = true;
            continue;
        }
        QList<QPointF>& held = m_series[*it].points;
        for (const QPointF& p : s.points) {
            if (held.isEmpty() || p.x() > held.last().x()) {
                held.append(p);
            } else {
                // A hole filled from history: in time order, each time once.
                auto pos = std::lower_bound(held.begin(), held.end(), p.x(),
                                            [](const QPointF& a, double x) { return a.x() < x; });
                if (pos == held.end() || pos->x() != p.x())
                    held.insert(pos, p);
            }
        }
        // What has left the range (and a minute more) goes.
        auto keep = std::lower_bound(held.begin(), held.end(), oldest,
                                     [](const QPointF& a, double x) { return a.x() < x; });
        if (keep != held.begin())
            held.erase(held.begin(), keep);
    }
    if (newNames && m_pendingHistory == 0)
        updateMetricList();
    m_dirty = true;
}

void MetricsPane::startStreams() {
    // One stream per agent: with one container on that agent, only its events.
    QMap<QString, QList<const MetricsSource*>> byAgent;
    for (const auto& s : m_sources)
        byAgent[s.agentId].append(&s);
    QList<client::MetricsFeedAgent> agents;
    for (auto it = byAgent.begin(); it != byAgent.end(); ++it) {
        client::MetricsFeedAgent a;
        a.origin.agentId = it.key();
        a.origin.agentName = it->first()->origin.agentName;
        a.path = it->first()->basePath + QStringLiteral("stream");
        QSet<QString> containers;
        bool node = false;
        for (const MetricsSource* s : *it) {
            if (s->source == QLatin1String("node"))
                node = true;
            else
                containers.insert(s->origin.containerId);
        }
        if (!node && containers.size() == 1)
            a.query.addQueryItem(QStringLiteral("container_id"), *containers.begin());
        agents.append(a);
    }
    auto stream = std::make_unique<AgentStream>();
    stream->feed = std::make_unique<client::MetricsFeed>(m_api->endpoint(), agents);
    client::MetricsFeed* feed = stream->feed.get();
    const quint64 generation = m_generation;
    connect(feed, &client::MetricsFeed::points, this,
            [this, generation](int, const QList<MetricSeries>& series) {
                if (generation != m_generation)
                    return;
                // Only the sources charted (a stream without container_id carries them all).
                QList<MetricSeries> wanted;
                for (const MetricSeries& s : series)
                    for (const auto& src : m_sources)
                        if (src.agentId == s.origin.agentId && src.source == s.source) {
                            MetricSeries copy = s;
                            copy.origin = src.origin;
                            wanted.append(std::move(copy));
                            break;
                        }
                if (!wanted.isEmpty())
                    mergeSeries(wanted);
            });
    connect(feed, &client::MetricsFeed::reconnected, this, [this, generation, feed](int agent) {
        if (generation != m_generation)
            return;
        // The hole: from each source's newest point held (or the range's start).
        const QString agentId = feed->agents()[agent].origin.agentId;
        for (const auto& s : m_sources) {
            if (s.agentId != agentId)
                continue;
            qint64 since = now() - m_range * 1000;
            for (const MetricSeries& held : m_series)
                if (held.origin.agentId == agentId && held.source == s.source &&
                    !held.points.isEmpty())
                    since = std::max(since, qint64(held.points.last().x()));
            fetchHistory(s, since, generation);
        }
    });
    connect(feed, &client::MetricsFeed::status, this,
            [this, generation](int, const QString& text, bool problem) {
                if (generation == m_generation && (problem || m_pendingHistory == 0))
                    m_state->setText(problem ? text : tr("live"));
            });
    feed->start();
    m_streams.push_back(std::move(stream));
    m_tick.start();
}

void MetricsPane::stopStreams() {
    m_streams.clear();
    m_tick.stop();
}

void MetricsPane::setGroupBy(GroupBy g) {
    m_groupBy = g;
    const int i = m_groupBox->findData(int(g));
    if (i != m_groupBox->currentIndex())
        m_groupBox->setCurrentIndex(i);
    scheduleDraw();
}

void MetricsPane::setSummed(bool on) {
    m_summed = on;
    m_sumBox->setChecked(on);
    scheduleDraw();
}

void MetricsPane::setRangeSeconds(qint64 s) {
    if (s == m_range)
        return;
    m_range = s;
    const int i = m_rangeBox->findData(s);
    if (i >= 0 && i != m_rangeBox->currentIndex())
        m_rangeBox->setCurrentIndex(i);
    reload();
}

void MetricsPane::setLive(bool on) {
    if (on == m_live)
        return;
    m_live = on;
    m_liveBox->setChecked(on);
    if (on)
        reload(); // the present, and the hole while paused
    else {
        stopStreams();
        m_state->setText(tr("paused"));
    }
}

QStringList MetricsPane::availableMetrics() const {
    QStringList names;
    for (const MetricSeries& s : m_series)
        if (!names.contains(s.name))
            names.append(s.name);
    return names;
}

QStringList MetricsPane::chosenMetrics() const {
    QStringList chosen;
    for (int i = 0; i < m_metricList->count(); ++i)
        if (m_metricList->item(i)->checkState() == Qt::Checked)
            chosen.append(m_metricList->item(i)->data(Qt::UserRole).toString());
    return chosen;
}

void MetricsPane::setChosenMetrics(const QStringList& names) {
    m_choiceTouched = true;
    m_userChoice = QSet<QString>(names.begin(), names.end());
    updateMetricList();
    scheduleDraw();
}

void MetricsPane::updateMetricList() {
    // Names with their units; the host's first, then the containers', then the tasks' own.
    struct Entry {
        QString name, unit;
        int rank;
    };
    QList<Entry> entries;
    QSet<QString> seen;
    for (const MetricSeries& s : m_series) {
        if (seen.contains(s.name))
            continue;
        seen.insert(s.name);
        const int rank = s.source == QLatin1String("node")          ? 0
                         : s.source.endsWith(QLatin1String("/app")) ? 2
                                                                    : 1;
        entries.append({s.name, client::chartUnit(s.name, s.unit), rank});
    }
    // Within each kind, the ones charted first by default lead, in the order an operator reads
    // them (CPU, memory, ...); then the rest by name.
    auto firstIndex = [](const Entry& e) {
        const QStringList& first = e.rank == 0 ? kDefaultHost : kDefaultContainer;
        const qsizetype i = e.rank == 2 ? -1 : first.indexOf(e.name);
        return i < 0 ? qsizetype(1000) : i;
    };
    std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
        if (a.rank != b.rank)
            return a.rank < b.rank;
        if (firstIndex(a) != firstIndex(b))
            return firstIndex(a) < firstIndex(b);
        return a.name < b.name;
    });
    QSet<QString> chosen = m_userChoice;
    if (!m_choiceTouched) {
        int app = 0;
        for (const Entry& e : entries)
            if ((e.rank == 0 && kDefaultHost.contains(e.name)) ||
                (e.rank == 1 && kDefaultContainer.contains(e.name)) ||
                (e.rank == 2 && app++ < kMaxDefaultApp))
                chosen.insert(e.name);
    }
    const QSignalBlocker block(m_metricList);
    m_metricList->clear();
    for (const Entry& e : entries) {
        auto* item = new QListWidgetItem(
            e.unit.isEmpty() ? e.name : QStringLiteral("%1 (%2)").arg(e.name, e.unit));
        item->setData(Qt::UserRole, e.name);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(chosen.contains(e.name) ? Qt::Checked : Qt::Unchecked);
        item->setHidden(!m_filter->text().isEmpty() &&
                        !item->text().contains(m_filter->text(), Qt::CaseInsensitive));
        m_metricList->addItem(item);
    }
}

void MetricsPane::redraw() {
    scheduleDraw();
}

void MetricsPane::scheduleDraw() {
    if (m_drawStarted) { // (its result is not set yet: the next one starts after it)
        m_drawAgain = true;
        return;
    }
    m_drawStarted = true;
    m_dirty = false;
    // The chosen metrics in the list's order.
    const QStringList wanted = chosenMetrics();
    // The window ends at the next step (a tenth of the range, a minute at most), not at this
    // second: the time axis then moves (and is laid out and painted again) once a step, not at
    // every update.
    const double tenth = std::min(double(m_range) * 100, 60000.0);
    const double x1 = std::ceil(double(now()) / tenth) * tenth;
    const double x0 = x1 - double(m_range) * 1000;
    m_window = {x0, x1};
    const int width =
        m_scroll->viewport()->width() / (m_scroll->viewport()->width() >= 900 ? 2 : 1);
    // The charts shown have the plot size the next ones will have (the same grid): the drawing
    // thread then paints their lines too, and the GUI thread only copies the images.
    PlotSize plot;
    if (!m_views.isEmpty())
        plot = m_views.first()->plotSize();
    const int columns = plot.size.isEmpty() ? std::max(100, width - 70) // the plot area, about
                                            : std::max(1, int(std::ceil(plot.size.width())));
    const qint64 step = std::max<qint64>(stepMs(), 1000);
    m_drawing.setFuture(QtConcurrent::run(drawCharts, m_series, wanted, m_groupBy, m_summed, step,
                                          x0, x1, columns, plot, m_drawn));
}

void MetricsPane::applyDrawn(QList<DrawnChart> charts) {
    QElapsedTimer took;
    took.start();
    m_drawStarted = false;
    m_drawn = std::move(charts);
    const int columns = m_scroll->viewport()->width() >= 900 ? 2 : 1;
    // Views by metric: a chart kept is updated in place.
    QHash<QString, MetricChartView*> old;
    for (MetricChartView* v : m_views)
        old.insert(v->data().metric, v);
    QList<MetricChartView*> views;
    const auto [x0, x1] = m_window; // the drawing's
    for (const DrawnChart& d : m_drawn) {
        MetricChartView* v = old.take(d.metric);
        if (!v) {
            v = new MetricChartView(m_grid);
            v->onChosen = [this, v](qint64 a, qint64 b) {
                // The origins of the chart's lines: the sources holding that metric.
                QList<client::MetricOrigin> origins;
                QSet<QString> seen;
                for (const MetricSeries& s : m_series)
                    if (s.name == v->data().metric &&
                        !seen.contains(s.origin.agentId + s.origin.containerId)) {
                        seen.insert(s.origin.agentId + s.origin.containerId);
                        origins.append(s.origin);
                    }
                setCursorTime(a == b ? a : 0);
                emit timeChosen(a, b, origins);
            };
        }
        v->set(d, x0, x1, m_cursorMs);
        views.append(v);
    }
    for (DrawnChart& d : m_drawn)
        d.image = QImage(); // (the views hold them)
    for (MetricChartView* v : old)
        delete v;
    // (Only a chart that is new or moves is placed: placing one again lays the grid out again.)
    for (int i = 0; i < views.size(); ++i) {
        int row = -1, column = -1, rows = 0, cols = 0;
        const int at = m_gridLayout->indexOf(views[i]);
        if (at >= 0)
            m_gridLayout->getItemPosition(at, &row, &column, &rows, &cols);
        if (row != i / columns || column != i % columns)
            m_gridLayout->addWidget(views[i], i / columns, i % columns);
    }
    m_views = views;
    if (m_drawn.isEmpty() && m_pendingHistory == 0 && !m_sources.isEmpty() &&
        m_state->text() == tr("live"))
        m_state->setText(tr("no metrics yet"));
    m_lastApplyNs = took.nsecsElapsed();
    emit drawnCharts();
    if (m_drawAgain) {
        m_drawAgain = false;
        scheduleDraw();
    }
}

void MetricsPane::showTime(qint64 ms) {
    const qint64 age = (now() - ms) / 1000;
    if (age > m_range)
        for (qint64 r : kRanges)
            if (r > age + age / 10 || r == kRanges[std::size(kRanges) - 1]) {
                setRangeSeconds(r);
                break;
            }
    setCursorTime(ms);
}

void MetricsPane::setCursorTime(qint64 ms) {
    m_cursorMs = ms;
    for (MetricChartView* v : m_views)
        v->setCursorTime(ms, v->data());
}

int MetricsPane::chartCount() const {
    return int(m_views.size());
}

int MetricsPane::lineCount() const {
    int n = 0;
    for (const DrawnChart& d : m_drawn)
        n += int(d.lines.size());
    return n;
}

qsizetype MetricsPane::pointCount() const {
    qsizetype n = 0;
    for (const DrawnChart& d : m_drawn)
        for (const auto& l : d.lines)
            n += l.points;
    return n;
}

} // namespace day2::ui
