#include "log_pane.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QNetworkReply>
#include <QPainter>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTimeZone>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace day2::ui {

using client::LogEntry;
using client::LogFilter;
using client::LogStore;

LogPane::LogPane(client::ApiClient* api, QWidget* parent, size_t maxLines)
    : QWidget(parent), m_api(api), m_model(new LogListModel(maxLines, this)) {
    auto* top = new QVBoxLayout(this);
    top->setContentsMargins(0, 0, 0, 0);
    top->setSpacing(2);
    auto* head = new QHBoxLayout;
    m_title = new QLabel(tr("Select a container, an application, a framework or an agent"));
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    m_status = new QLabel;
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    head->addWidget(m_title);
    head->addStretch();
    head->addWidget(m_status);
    top->addLayout(head);

    auto* bar = new QHBoxLayout;
    m_followButton = new QToolButton;
    m_followButton->setText(tr("Follow"));
    m_followButton->setCheckable(true);
    m_followButton->setChecked(true);
    m_followButton->setToolTip(tr("Keep the newest line in view (scrolling up pauses)"));
    m_filterEdit = new QLineEdit;
    m_filterEdit->setPlaceholderText(tr("Filter lines"));
    m_filterEdit->setClearButtonEnabled(true);
    m_regex = new QCheckBox(tr("Regex"));
    m_invert = new QCheckBox(tr("Invert"));
    m_priority = new QComboBox;
    m_priority->addItem(tr("All priorities"), 7);
    m_priority->addItem(tr("≤ info"), 6);
    m_priority->addItem(tr("≤ notice"), 5);
    m_priority->addItem(tr("≤ warning"), 4);
    m_priority->addItem(tr("≤ error"), 3);
    m_stdout = new QCheckBox(tr("stdout"));
    m_stdout->setChecked(true);
    m_stderr = new QCheckBox(tr("stderr"));
    m_stderr->setChecked(true);
    m_context = new QSpinBox;
    m_context->setRange(0, 100);
    m_context->setPrefix(tr("±"));
    m_context->setSuffix(tr(" lines"));
    m_context->setToolTip(tr("Context: also show this many lines before and after each line the "
                             "filter keeps (dimmed; a dashed rule where lines are left out)"));
    auto* timeBox = new QCheckBox(tr("Time"));
    timeBox->setChecked(true);
    m_unit = new QComboBox;
    m_unit->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_unit->hide();
    m_wrapBox = new QCheckBox(tr("Wrap"));
    m_wrapBox->setToolTip(tr("Wrap long lines at the pane's width (off: they scroll sideways)"));
    m_searchEdit = new QLineEdit;
    m_searchEdit->setPlaceholderText(tr("Search"));
    m_searchEdit->setClearButtonEnabled(true);
    auto* prev = new QToolButton;
    prev->setText(QStringLiteral("▲"));
    prev->setToolTip(tr("Previous match (Shift+F3)"));
    prev->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F3));
    auto* next = new QToolButton;
    next->setText(QStringLiteral("▼"));
    next->setToolTip(tr("Next match (F3)"));
    next->setShortcut(QKeySequence(Qt::Key_F3));
    m_searchCount = new QLabel;
    auto* save = new QToolButton;
    save->setText(tr("Save…"));
    m_earlierButton = new QToolButton;
    m_earlierButton->setText(tr("Earlier"));
    m_earlierButton->setToolTip(tr("Load the lines before the first one shown (scrolling to the "
                                   "top does it too)"));
    for (QWidget* w : std::initializer_list<QWidget*>{
             m_followButton, m_earlierButton, m_unit, m_filterEdit, m_regex, m_invert, m_context,
             m_priority, m_stdout, m_stderr, timeBox, m_wrapBox, m_searchEdit, prev, next,
             m_searchCount, save})
        bar->addWidget(w);
    bar->setStretchFactor(m_filterEdit, 2);
    bar->setStretchFactor(m_searchEdit, 1);
    top->addLayout(bar);

    m_view = new LogView;
    m_view->setModel(m_model);
    m_delegate = new LogLineDelegate(m_model, m_view);
    m_view->setItemDelegate(m_delegate);
    m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setToolTip(tr("Double-click a line for all its journald fields"));
    top->addWidget(m_view, 1);

    connect(m_filterEdit, &QLineEdit::textChanged, this, &LogPane::applyFilter);
    for (QCheckBox* c : {m_regex, m_invert, m_stdout, m_stderr})
        connect(c, &QCheckBox::toggled, this, [this] {
            applyFilter();
            applySearch();
        });
    connect(m_priority, &QComboBox::currentIndexChanged, this, &LogPane::applyFilter);
    connect(m_context, &QSpinBox::valueChanged, this, &LogPane::applyFilter);
    connect(m_unit, &QComboBox::currentIndexChanged, this, &LogPane::onUnitChosen);
    connect(m_wrapBox, &QCheckBox::toggled, this, [this](bool on) {
        m_view->setWrap(on);
        if (m_followButton->isChecked())
            m_view->scrollToBottom();
    });
    connect(timeBox, &QCheckBox::toggled, this, [this](bool on) {
        m_delegate->setShowTime(on);
        m_view->viewport()->update();
    });
    connect(m_searchEdit, &QLineEdit::textChanged, this, &LogPane::applySearch);
    connect(m_searchEdit, &QLineEdit::returnPressed, this, [this] { jump(true); });
    connect(next, &QToolButton::clicked, this, [this] { jump(true); });
    connect(prev, &QToolButton::clicked, this, [this] { jump(false); });
    connect(save, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getSaveFileName(this, tr("Save the lines shown"),
                                                       QStringLiteral("day2.log"));
        if (!f.isEmpty())
            saveTo(f);
    });
    connect(m_earlierButton, &QToolButton::clicked, this, [this] { loadEarlier(); });
    connect(m_followButton, &QToolButton::toggled, m_view, &LogView::setFollowing);
    connect(m_followButton, &QToolButton::toggled, this, [this](bool on) {
        if (on && m_detached)
            loadLatest(); // the newest lines are not in memory: back to the present
        else if (on)
            m_view->scrollToBottom();
    });
    // Scrolling up pauses; scrolling back to the end follows again. Reading history, the top
    // loads the page before, the end the page after (up to the present, then it follows).
    const auto scrolled = [this] {
        const auto* sb = m_view->verticalScrollBar();
        if (m_model->rowCount() == 0)
            return;
        if (sb->value() <= sb->minimum() && !m_followButton->isChecked())
            loadEarlier();
        else if (sb->value() >= sb->maximum() && m_detached)
            loadNewer();
    };
    connect(m_view->verticalScrollBar(), &QScrollBar::valueChanged, this, [this, scrolled](int v) {
        const bool atEnd = v >= m_view->verticalScrollBar()->maximum();
        if (QApplication::mouseButtons() != Qt::NoButton) {
            if (m_followButton->isChecked() != atEnd && !(atEnd && m_detached))
                m_followButton->setChecked(atEnd);
            scrolled();
        }
    });
    connect(m_view->verticalScrollBar(), &QScrollBar::actionTriggered, this, [this, scrolled] {
        QTimer::singleShot(0, this, [this, scrolled] {
            const auto* sb = m_view->verticalScrollBar();
            if (!m_detached)
                m_followButton->setChecked(sb->value() >= sb->maximum());
            scrolled();
        });
    });
    connect(m_view, &QTableView::doubleClicked, this, &LogPane::showFields);
    // A line's menu: its moment on the charts, its fields.
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        const QModelIndex index = m_view->indexAt(pos);
        if (!index.isValid())
            return;
        QMenu menu(this);
        const qint64 ms = index.data(LogListModel::RealtimeRole).toLongLong() / 1000;
        menu.addAction(tr("Show in metrics"), this, [this, ms] { emit showInMetrics(ms); });
        menu.addAction(tr("Fields…"), this, [this, index] { showFields(index); });
        menu.exec(m_view->viewport()->mapToGlobal(pos));
    });
    m_flushTimer.setInterval(kFlushMs);
    connect(&m_flushTimer, &QTimer::timeout, this, &LogPane::flush);
}

LogPane::~LogPane() = default;

void LogPane::setApi(client::ApiClient* api) {
    stopFeed();
    m_pager.reset();
    m_loading = Loading::None;
    m_flushTimer.stop();
    m_sources.clear();
    m_sourceStatus.clear();
    m_model->setSources({});
    m_api = api;
    updateStatus();
}

void LogPane::stopFeed() {
    m_feed.reset();
    ++m_feedGeneration; // what it had queued is not delivered
    m_pending.clear();
    m_pendingFromFeed = 0;
}

namespace {

bool namesItsStart(const QUrlQuery& q) {
    for (const char* k : {"skip_prev", "skip_next", "cursor", "since"})
        if (q.hasQueryItem(QString::fromLatin1(k)))
            return true;
    return false;
}

} // namespace

void LogPane::follow(const QString& title, const QList<client::FeedSource>& sources) {
    stopFeed();
    m_droppedPending = 0;
    m_sources = sources;
    m_sourceStatus = QStringList();
    QStringList labels;
    for (const auto& s : sources) {
        labels << s.label;
        m_sourceStatus << tr("connecting");
    }
    m_model->setSources(labels);
    m_title->setText(title);
    m_flushTimer.start();
    updateUnits();
    if (std::any_of(sources.begin(), sources.end(),
                    [](const client::FeedSource& s) { return namesItsStart(s.query); })) {
        newPager();
        m_detached = m_reachedStart = false;
        m_completeFrom = kUnknown;
        startFeed({}, -1);
        return;
    }
    loadLatest();
}

void LogPane::newPager() {
    // A page for the old position still on its way goes with the old pager.
    m_pager = std::make_unique<client::LogPager>(m_api, m_sources);
    m_loading = Loading::None;
    m_pageError.clear();
    connect(m_pager.get(), &client::LogPager::page, this, &LogPane::onPage);
    connect(m_pager.get(), &client::LogPager::failed, this, [this](const QString& why) {
        const bool first = m_loading == Loading::Latest;
        m_loading = Loading::None;
        m_pageError = why;
        if (first) // the newest lines could not be read: follow from now all the same
            startFeed({}, -1);
        updateStatus();
    });
}

namespace {

const QString kJournalStream = QStringLiteral("/logs/v1/stream/");

} // namespace

QStringList LogPane::units() const {
    QStringList list;
    for (int i = 1; i < m_unit->count(); ++i)
        list << m_unit->itemText(i);
    return list;
}

bool LogPane::setUnit(const QString& unit) {
    const int i = unit.isEmpty() ? 0 : m_unit->findText(unit);
    if (i < 0)
        return false;
    m_unit->setCurrentIndex(i);
    return true;
}

void LogPane::updateUnits() {
    // An agent's journal (one source, the node's stream): its host services by unit.
    const bool journal = m_sources.size() == 1 && m_sources[0].path.endsWith(kJournalStream);
    m_unit->setVisible(journal);
    if (!journal)
        return;
    const QString selected = QUrlQuery(m_sources[0].query).queryItemValue(QStringLiteral("unit"));
    {
        const QSignalBlocker block(m_unit);
        m_unit->clear();
        m_unit->addItem(tr("All units"));
        if (!selected.isEmpty()) {
            m_unit->addItem(selected);
            m_unit->setCurrentIndex(1);
        }
    }
    QString path = m_sources[0].path;
    path.chop(kJournalStream.size());
    QNetworkReply* r = m_api->send("GET", path + QStringLiteral("/logs/v1/fields/_SYSTEMD_UNIT"));
    const QString forPath = m_sources[0].path;
    connect(r, &QNetworkReply::finished, this, [this, r, forPath] {
        r->deleteLater();
        if (m_sources.size() != 1 || m_sources[0].path != forPath)
            return; // another selection meanwhile
        const QString error = client::describeFailure(r);
        if (!error.isEmpty()) {
            m_unit->setToolTip(tr("The units could not be read: %1").arg(error));
            return;
        }
        QStringList units;
        for (const auto& v : QJsonDocument::fromJson(r->readAll()).array())
            units << v.toString();
        units.sort();
        const QString current = m_unit->currentIndex() > 0 ? m_unit->currentText() : QString();
        const QSignalBlocker block(m_unit);
        m_unit->clear();
        m_unit->addItem(tr("All units"));
        m_unit->addItems(units);
        if (!current.isEmpty()) {
            if (m_unit->findText(current) < 0)
                m_unit->addItem(current);
            m_unit->setCurrentIndex(m_unit->findText(current));
        }
        m_unit->setToolTip(tr("Show one host service (journalctl -u); %n unit(s) in this journal",
                              nullptr, int(units.size())));
        emit unitsLoaded();
    });
}

void LogPane::onUnitChosen() {
    if (m_sources.size() != 1)
        return;
    QUrlQuery& q = m_sources[0].query;
    q.removeAllQueryItems(QStringLiteral("unit"));
    const QString unit = m_unit->currentIndex() > 0 ? m_unit->currentText() : QString();
    if (!unit.isEmpty())
        q.addQueryItem(QStringLiteral("unit"), unit);
    QString title = m_title->text();
    title = title.section(QStringLiteral(" · unit "), 0, 0);
    m_title->setText(unit.isEmpty() ? title : title + QStringLiteral(" · unit ") + unit);
    loadLatest();
}

int LogPane::pageLinesPerSource() const {
    if (m_pageLines > 0)
        return m_pageLines;
    return std::clamp(20000 / std::max<int>(1, int(m_sources.size())), 200, 5000);
}

void LogPane::loadLatest() {
    if (m_sources.isEmpty() || !m_api)
        return;
    stopFeed();
    m_model->clear();
    m_detached = m_reachedStart = false;
    m_completeFrom = client::LogPage::kNoBound;
    m_autoPages = 0;
    newPager();
    m_loading = Loading::Latest;
    m_pager->fetch(client::LogPage::Direction::Older, client::LogPage::kNoBound,
                   pageLinesPerSource());
    if (!m_followButton->isChecked())
        m_followButton->setChecked(true);
    updateStatus();
}

std::vector<std::optional<size_t>> LogPane::edgeLines(bool oldest) const {
    std::vector<std::optional<size_t>> lines(size_t(m_sources.size()));
    const LogStore& st = m_model->store();
    const size_t n = st.size();
    size_t found = 0;
    for (size_t k = 0; k < n && found < lines.size(); ++k) {
        const size_t i = oldest ? k : n - 1 - k;
        const auto s = st.line(i).source;
        if (s < lines.size() && !lines[s]) {
            lines[s] = i;
            ++found;
        }
    }
    return lines;
}

QList<QByteArray> LogPane::edgeCursors(bool oldest) const {
    QList<QByteArray> cursors;
    for (const auto& i : edgeLines(oldest))
        cursors.append(i ? m_model->store().cursor(*i) : QByteArray());
    return cursors;
}

int64_t LogPane::edgeTime(bool oldest, int64_t none) const {
    const LogStore& st = m_model->store();
    const size_t n = st.size();
    for (size_t k = 0; k < n; ++k) {
        const size_t i = oldest ? k : n - 1 - k;
        if (st.line(i).source != LogListModel::kMarkerSource)
            return st.line(i).realtimeUsec;
    }
    return none;
}

bool LogPane::loadEarlier() {
    if (!m_pager || m_pager->busy() || m_reachedStart || m_sources.isEmpty())
        return false;
    int64_t bound = m_completeFrom;
    if (bound == kUnknown) {
        // The streams started where their queries said. Each source pages back from its own
        // oldest line; one without any has none before the latest of the others' oldest.
        bound = client::LogPage::kNoBound;
        int64_t latestOldest = std::numeric_limits<int64_t>::min();
        for (const auto& i : edgeLines(true))
            if (i)
                latestOldest = std::max(latestOldest, m_model->store().line(*i).realtimeUsec);
        if (latestOldest != std::numeric_limits<int64_t>::min())
            bound = latestOldest;
    }
    fetchPage(true, bound);
    return true;
}

bool LogPane::loadNewer() {
    if (!m_pager || m_pager->busy() || !m_detached)
        return false;
    fetchPage(false, m_completeTo);
    return true;
}

void LogPane::fetchPage(bool older, int64_t bound) {
    m_pageError.clear();
    m_loading = older ? Loading::Older : Loading::Newer;
    m_pager->fetch(older ? client::LogPage::Direction::Older : client::LogPage::Direction::Newer,
                   bound, pageLinesPerSource(), edgeCursors(older));
    updateStatus();
}

void LogPane::detach() {
    stopFeed();
    m_detached = true;
    m_completeTo = edgeTime(false, 0);
    for (auto& state : m_sourceStatus)
        state = tr("reading history");
    m_followButton->setChecked(false);
}

void LogPane::onPage(const client::LogPage& page) {
    const Loading what = m_loading;
    m_loading = Loading::None;
    flush(); // what the feed delivered goes in first
    QScrollBar* sb = m_view->verticalScrollBar();
    switch (what) {
    case Loading::None:
        return;
    case Loading::Latest:
        m_model->add(page.entries);
        m_completeFrom = page.entries.isEmpty() ? client::LogPage::kNoBound : page.bound;
        m_reachedStart = page.reachedEnd;
        startFeed(page.newestCursors);
        if (m_followButton->isChecked())
            m_view->scrollToBottom();
        break;
    case Loading::Older: {
        int rowsAdded = 0;
        const size_t evicted = m_model->prepend(page.entries, &rowsAdded);
        m_completeFrom = page.bound;
        m_reachedStart = page.reachedEnd;
        if (evicted > 0 && !m_detached)
            detach();
        else if (evicted > 0)
            m_completeTo = edgeTime(false, m_completeTo);
        if (rowsAdded > 0 && !m_followButton->isChecked())
            sb->setValue(sb->value() + rowsAdded); // the same lines stay in view
        // Nothing shown came (a filter hides it all): look further back, a few pages at most.
        if (rowsAdded == 0 && !m_reachedStart && sb->value() <= sb->minimum() && ++m_autoPages <= 3)
            QTimer::singleShot(0, this, [this] { loadEarlier(); });
        else
            m_autoPages = 0;
        break;
    }
    case Loading::Newer: {
        const uint64_t evictedBefore = m_model->store().evictedTotal();
        const int gone = m_model->add(page.entries);
        if (m_model->store().evictedTotal() != evictedBefore) {
            m_reachedStart = false;
            m_completeFrom = edgeTime(true, m_completeFrom);
        }
        if (gone > 0)
            sb->setValue(sb->value() - gone);
        m_completeTo = page.bound;
        if (page.reachedEnd) { // the present: follow it again
            m_detached = false;
            startFeed(edgeCursors(false), m_completeTo);
        }
        break;
    }
    }
    updateStatus();
    emit linesArrived(m_model->rowCount());
}

void LogPane::startFeed(const QList<QByteArray>& cursors, int64_t since) {
    stopFeed();
    QList<client::FeedSource> sources = m_sources;
    for (qsizetype i = 0; i < sources.size(); ++i) {
        QUrlQuery& q = sources[i].query;
        if (i < cursors.size() && !cursors[i].isEmpty()) {
            q.addQueryItem(QStringLiteral("cursor"), QString::fromLatin1(cursors[i]));
            q.addQueryItem(QStringLiteral("skip_next"), QStringLiteral("1"));
        } else if (since >= 0 || i < cursors.size()) {
            // Nothing of it held: from `since`, or from its start (it had no line at all).
            q.addQueryItem(QStringLiteral("since"), QString::number(std::max<int64_t>(0, since)));
        }
        m_sourceStatus[i] = tr("connecting");
    }
    m_feed = std::make_unique<client::LogFeed>(m_api->endpoint(), sources);
    // Batches the old feed had already queued for this thread are not delivered after its end;
    // the generation tells them apart from the new feed's.
    const uint64_t generation = ++m_feedGeneration;
    connect(m_feed.get(), &client::LogFeed::entries, this,
            [this, generation](const QList<LogEntry>& batch) {
                if (generation != m_feedGeneration)
                    return;
                m_pending.append(batch);
                m_pendingFromFeed += batch.size();
            });
    connect(m_feed.get(), &client::LogFeed::dropped, this,
            [this, generation](int source, qint64 n) {
                if (generation != m_feedGeneration)
                    return;
                m_droppedPending += uint64_t(n);
                addMarker(tr("── %1: %2 lines dropped: the view could not keep up ──")
                              .arg(sourceLabel(source))
                              .arg(n),
                          4);
            });
    connect(m_feed.get(), &client::LogFeed::status, this,
            [this, generation](int source, const QString& text, bool) {
                if (generation != m_feedGeneration)
                    return;
                if (source < m_sourceStatus.size())
                    m_sourceStatus[source] = text;
                updateStatus();
            });
    connect(m_feed.get(), &client::LogFeed::reconnected, this,
            [this, generation](int source, bool gap, qint64 missing) {
                if (generation != m_feedGeneration)
                    return;
                const QString who = sourceLabel(source);
                addMarker(gap ? (missing >= 0
                                     ? tr("── %1 reconnected: up to %2 entries may be missing ──")
                                           .arg(who)
                                           .arg(missing)
                                     : tr("── %1 reconnected: entries may be missing ──").arg(who))
                              : tr("── %1 reconnected: nothing missed ──").arg(who),
                          gap ? 4 : 5);
            });
    m_feed->start();
    updateStatus();
}

QString LogPane::sourceLabel(int source) const {
    return source >= 0 && source < m_sources.size() ? m_sources[source].label : QString();
}

void LogPane::addMarker(const QString& text, int priority) {
    LogEntry marker;
    // Where it happened in the stream: after the newest line received (the agents' clocks, not
    // this machine's, order the lines).
    int64_t t = std::numeric_limits<int64_t>::min();
    for (const auto& e : m_pending)
        t = std::max(t, LogStore::sortTime(e));
    const LogStore& st = m_model->store();
    if (st.size() > 0)
        t = std::max(t, st.line(st.size() - 1).realtimeUsec);
    marker.realtimeUsec =
        t != std::numeric_limits<int64_t>::min() ? t : QDateTime::currentMSecsSinceEpoch() * 1000;
    marker.priority = priority;
    marker.source = LogListModel::kMarkerSource;
    marker.message = text.toUtf8();
    m_pending.append(marker);
}

void LogPane::markTime(qint64 ms) {
    LogEntry marker;
    marker.realtimeUsec = ms * 1000;
    marker.priority = 6;
    marker.source = LogListModel::kMarkerSource;
    marker.message = tr("── %1: the time chosen on the chart ──")
                         .arg(QDateTime::fromMSecsSinceEpoch(ms).toString(
                             QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz")))
                         .toUtf8();
    m_pending.append(marker);
}

void LogPane::flush() {
    if (m_pending.isEmpty())
        return;
    QList<LogEntry> batch;
    batch.swap(m_pending);
    if (m_feed) // the feed may read more now
        m_feed->consumed(m_pendingFromFeed);
    m_pendingFromFeed = 0;
    // (In any order: the store puts the batch in time order itself.)
    const uint64_t evictedBefore = m_model->store().evictedTotal();
    const int gone = m_model->add(batch);
    if (m_model->store().evictedTotal() != evictedBefore && m_completeFrom != kUnknown) {
        // The oldest went: the window is complete from its first line now.
        m_completeFrom = edgeTime(true, m_completeFrom);
        m_reachedStart = false;
    }
    if (m_followButton->isChecked()) {
        m_view->scrollToBottom();
    } else if (gone > 0) { // the lines read stay in view
        QScrollBar* sb = m_view->verticalScrollBar();
        sb->setValue(sb->value() - gone);
    }
    if (!m_searchEdit->text().isEmpty()) // the model keeps its matches up to date as lines come
        m_searchCount->setText(tr("%n match(es)", nullptr, m_model->matchCount()));
    updateStatus();
    emit linesArrived(m_model->rowCount());
}

void LogPane::setWrap(bool on) {
    m_wrapBox->setChecked(on);
}

void LogPane::applyFilter() {
    LogFilter f;
    f.text = m_filterEdit->text();
    f.regex = m_regex->isChecked();
    f.invert = m_invert->isChecked();
    f.maxPriority = m_priority->currentData().toInt();
    f.stdoutLines = m_stdout->isChecked();
    f.stderrLines = m_stderr->isChecked();
    f.context = m_context->value();
    QString error;
    if (!m_model->setFilter(f, &error)) {
        m_filterEdit->setStyleSheet(QStringLiteral("background: #fdd"));
        m_filterEdit->setToolTip(error);
        return;
    }
    m_filterEdit->setStyleSheet({});
    m_filterEdit->setToolTip({});
    if (m_followButton->isChecked())
        m_view->scrollToBottom();
    updateStatus();
}

void LogPane::applySearch() {
    const int n = m_model->setSearch(m_searchEdit->text(), m_regex->isChecked());
    m_searchCount->setText(m_searchEdit->text().isEmpty() ? QString()
                                                          : tr("%n match(es)", nullptr, n));
}

void LogPane::jump(bool forward) {
    const int from = m_view->currentIndex().isValid() ? m_view->currentIndex().row()
                                                      : (forward ? -1 : m_model->rowCount());
    const int row = m_model->nextMatch(from, forward);
    if (row < 0)
        return;
    m_followButton->setChecked(false);
    const QModelIndex i = m_model->index(row);
    m_view->setCurrentIndex(i);
    m_view->scrollTo(i, QAbstractItemView::PositionAtCenter);
}

void LogPane::updateStatus() {
    QString s = tr("%n line(s)", nullptr, m_model->rowCount());
    if (m_model->store().evictedTotal() > 0)
        s += tr(" · %1 older ones dropped from memory").arg(m_model->store().evictedTotal());
    if (m_droppedPending > 0)
        s += tr(" · %1 dropped (the view could not keep up)").arg(m_droppedPending);
    switch (m_loading) {
    case Loading::Latest:
        s += tr(" · loading the newest lines…");
        break;
    case Loading::Older:
        s += tr(" · loading earlier lines…");
        break;
    case Loading::Newer:
        s += tr(" · loading later lines…");
        break;
    case Loading::None:
        break;
    }
    if (!m_pageError.isEmpty())
        s += tr(" · could not load lines: %1").arg(m_pageError);
    if (m_reachedStart && m_model->rowCount() > 0)
        s += tr(" · from the first line of the logs");
    if (m_detached)
        s += tr(" · reading history: newer lines are not in memory (scroll down to load them, "
                "Follow for the present)");
    m_earlierButton->setEnabled(!m_reachedStart && m_loading == Loading::None);
    QStringList states;
    for (qsizetype i = 0; i < m_sourceStatus.size(); ++i)
        if (m_sourceStatus[i] != QLatin1String("following"))
            states << (m_sources.size() > 1 ? m_sources[i].label + QStringLiteral(": ")
                                            : QString()) +
                          m_sourceStatus[i];
    if (!states.isEmpty())
        s += QStringLiteral(" · ") + states.join(QStringLiteral("; "));
    m_status->setText(s);
}

void LogPane::saveTo(const QString& file) {
    QFile f(file);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        QMessageBox::warning(this, tr("Save"),
                             tr("Cannot write %1: %2").arg(file, f.errorString()));
        return;
    }
    for (int r = 0; r < m_model->rowCount(); ++r) {
        const QModelIndex i = m_model->index(r);
        const int source = i.data(LogListModel::SourceRole).toInt();
        QByteArray line = i.data(LogListModel::TimeRole).toString().toUtf8() + ' ';
        if (m_sources.size() > 1 && source < m_sources.size())
            line += m_sources[source].label.toUtf8() + ' ';
        line += i.data(LogListModel::MessageRole).toByteArray();
        if (m_model->store().line(m_model->storeIndex(r)).truncated) // never a cut line as whole
            line += " [cut at 64 KiB here; double-click the line in the console for all of it]";
        line += '\n';
        f.write(line);
    }
}

void LogPane::showFields(const QModelIndex& index) {
    const int source = index.data(LogListModel::SourceRole).toInt();
    if (source >= m_sources.size())
        return;
    const QByteArray cursor = m_model->store().cursor(m_model->storeIndex(index.row()));
    if (cursor.isEmpty())
        return;
    const QString path = client::rangePathOf(m_sources[source].path);
    QUrlQuery q;
    q.addQueryItem(QStringLiteral("cursor"), QString::fromLatin1(cursor));
    q.addQueryItem(QStringLiteral("limit"), QStringLiteral("1"));
    QNetworkReply* r = m_api->send("GET", path, q);
    connect(r, &QNetworkReply::finished, this, [this, r] {
        r->deleteLater();
        const QString error = client::describeFailure(r);
        QString text;
        if (!error.isEmpty()) {
            text = error;
        } else {
            const QJsonObject e =
                QJsonDocument::fromJson(r->readAll().split('\n').first()).object();
            const QJsonObject fields = e.value("fields").toObject();
            QStringList keys = fields.keys();
            keys.sort();
            for (const auto& k : keys) {
                const QJsonValue v = fields.value(k);
                text += k + QLatin1Char('=') +
                        (v.isString()
                             ? v.toString()
                             : QString::fromUtf8(
                                   QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact))) +
                        QLatin1Char('\n');
            }
            for (const auto& k : e.value("fields_b64").toObject().keys())
                text += k + QStringLiteral(" (binary, base64)=") +
                        e.value("fields_b64").toObject().value(k).toString() + QLatin1Char('\n');
            text += QStringLiteral("__CURSOR=") + e.value("cursor").toString() + QLatin1Char('\n');
        }
        auto* d = new QDialog(this);
        d->setAttribute(Qt::WA_DeleteOnClose);
        d->setWindowTitle(tr("Journal fields"));
        auto* lay = new QVBoxLayout(d);
        auto* edit = new QPlainTextEdit(text);
        edit->setReadOnly(true);
        edit->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        lay->addWidget(edit);
        auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
        connect(buttons, &QDialogButtonBox::rejected, d, &QDialog::close);
        lay->addWidget(buttons);
        d->resize(720, 480);
        d->show();
    });
}

} // namespace day2::ui
