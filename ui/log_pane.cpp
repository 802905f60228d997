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
#include <QMessageBox>
#include <QNetworkReply>
#include <QPainter>
#include <QPlainTextEdit>
#include <QScrollBar>
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

// --- the model -------------------------------------------------------------------------------

LogListModel::LogListModel(size_t maxLines, QObject* parent)
    : QAbstractListModel(parent), m_store(maxLines) {}

void LogListModel::setSources(const QStringList& labels) {
    beginResetModel();
    m_store.clear();
    m_sources = labels;
    m_rows.clear();
    m_matches.clear();
    m_count = 0;
    endResetModel();
}

void LogListModel::clear() {
    setSources(m_sources);
}

QColor LogListModel::sourceColor(int source) const {
    if (source == kMarkerSource)
        return QColor(200, 150, 0);
    return QColor::fromHsv((source * 137) % 360, 170, 190);
}

int LogListModel::firstRowAtOrAfter(size_t storeIndex) const {
    return m_filtered ? static_cast<int>(
                            std::lower_bound(m_rows.begin(), m_rows.end(), uint32_t(storeIndex)) -
                            m_rows.begin())
                      : static_cast<int>(storeIndex - m_offset);
}

size_t LogListModel::rebuildWith(const QList<LogEntry>& batch, client::Evict evict) {
    beginResetModel();
    const size_t evicted = m_store.insert(batch, evict);
    m_offset = 0;
    if (m_filtered)
        refilter();
    m_matches = m_searchText.isEmpty()
                    ? std::vector<uint32_t>()
                    : m_store.search(m_searchText, m_searchRegex, m_filtered ? &m_rows : nullptr);
    m_count = static_cast<int>(m_filtered ? m_rows.size() : m_store.size());
    endResetModel();
    return evicted;
}

int LogListModel::add(const QList<LogEntry>& batch) {
    if (batch.isEmpty())
        return 0;
    const size_t old = m_store.size();
    const size_t n = static_cast<size_t>(batch.size());
    const size_t max = m_store.maxLines();
    const size_t evict = old + n > max ? old + n - max : 0;
    // Where the store merges the batch: lines before `k` stay, lines from `k` on are the batch
    // merged with the old tail (k == old: an append, the common case when following).
    const size_t k = m_store.mergePoint(batch);
    if (evict > k || n > max) {
        // The batch reaches into what is evicted (reading far back while full): rebuild.
        const int before = m_count;
        rebuildWith(batch, client::Evict::Oldest);
        return before;
    }
    // 1. The rows that leave, while the store still holds their lines: the evicted oldest, and
    //    the tail from `k` (it comes back merged with the batch).
    int gone = 0;
    if (evict > 0) {
        gone = firstRowAtOrAfter(evict);
        if (gone > 0) {
            beginRemoveRows({}, 0, gone - 1);
            if (m_filtered)
                m_rows.erase(m_rows.begin(), m_rows.begin() + gone);
            else
                m_offset = evict; // row r is now the store's line r + evict
            m_count -= gone;
            endRemoveRows();
        }
    }
    if (k < old) {
        const int tail = firstRowAtOrAfter(k);
        if (tail < m_count) {
            beginRemoveRows({}, tail, m_count - 1);
            if (m_filtered)
                m_rows.erase(m_rows.begin() + tail, m_rows.end());
            m_count = tail;
            endRemoveRows();
        }
    }
    // 2. The store takes the batch (and drops exactly `evict` lines from the front).
    m_store.insert(batch, client::Evict::Oldest);
    m_offset = 0;
    const size_t from = k - evict; // the first changed line's store index now
    if (m_filtered)
        for (auto& i : m_rows)
            i -= uint32_t(evict);
    auto keep = std::lower_bound(m_matches.begin(), m_matches.end(), uint32_t(evict));
    m_matches.erase(m_matches.begin(), keep);
    m_matches.erase(std::lower_bound(m_matches.begin(), m_matches.end(), uint32_t(k)),
                    m_matches.end());
    for (auto& i : m_matches)
        i -= uint32_t(evict);
    // 3. The rows from there on come (back).
    std::vector<uint32_t> fresh;
    if (m_filtered) {
        fresh = m_store.filter(m_filter, nullptr, from).value_or(std::vector<uint32_t>());
    } else {
        fresh.resize(m_store.size() - from);
        for (size_t i = 0; i < fresh.size(); ++i)
            fresh[i] = uint32_t(from + i);
    }
    if (!m_searchText.isEmpty()) {
        auto hits = m_store.search(m_searchText, m_searchRegex, &fresh);
        m_matches.insert(m_matches.end(), hits.begin(), hits.end());
    }
    if (!fresh.empty()) {
        beginInsertRows({}, m_count, m_count + static_cast<int>(fresh.size()) - 1);
        if (m_filtered)
            m_rows.insert(m_rows.end(), fresh.begin(), fresh.end());
        m_count += static_cast<int>(fresh.size());
        endInsertRows();
    }
    return gone;
}

size_t LogListModel::prepend(const QList<LogEntry>& batch, int* rowsAdded) {
    *rowsAdded = 0;
    if (batch.isEmpty())
        return 0;
    const size_t old = m_store.size();
    const size_t max = m_store.maxLines();
    const size_t n = std::min(static_cast<size_t>(batch.size()), max);
    // A page of history is older than every line held; anything else (a marker's time, a
    // clock stepped back) is merged by a rebuild.
    int64_t newest = std::numeric_limits<int64_t>::min();
    for (const auto& e : batch)
        newest = std::max(newest, LogStore::sortTime(e));
    if (size_t(batch.size()) > max || (old > 0 && newest > m_store.line(0).realtimeUsec)) {
        *rowsAdded = -1;
        return rebuildWith(batch, client::Evict::Newest);
    }
    const size_t evict = old + n > max ? old + n - max : 0;
    // 1. The newest rows leave, while the store still holds their lines.
    if (evict > 0) {
        const int first = firstRowAtOrAfter(old - evict);
        if (first < m_count) {
            beginRemoveRows({}, first, m_count - 1);
            if (m_filtered)
                m_rows.erase(m_rows.begin() + first, m_rows.end());
            m_count = first;
            endRemoveRows();
        }
        m_matches.erase(std::lower_bound(m_matches.begin(), m_matches.end(), uint32_t(old - evict)),
                        m_matches.end());
    }
    // 2. The store takes the page at its front (and drops `evict` lines from its back); the
    //    rows shown so far now name lines n further on.
    m_store.insert(batch, client::Evict::Newest);
    for (auto& i : m_rows)
        i += uint32_t(n);
    for (auto& i : m_matches)
        i += uint32_t(n);
    if (!m_filtered)
        m_offset = n;
    // 3. The page's rows come at the top.
    std::vector<uint32_t> fresh;
    if (m_filtered) {
        fresh = m_store.filter(m_filter, nullptr, 0, n).value_or(std::vector<uint32_t>());
    } else {
        fresh.resize(n);
        for (size_t i = 0; i < n; ++i)
            fresh[i] = uint32_t(i);
    }
    if (!m_searchText.isEmpty()) {
        auto hits = m_store.search(m_searchText, m_searchRegex, &fresh);
        m_matches.insert(m_matches.begin(), hits.begin(), hits.end());
    }
    if (!fresh.empty()) {
        beginInsertRows({}, 0, static_cast<int>(fresh.size()) - 1);
        if (m_filtered)
            m_rows.insert(m_rows.begin(), fresh.begin(), fresh.end());
        m_offset = 0;
        m_count += static_cast<int>(fresh.size());
        endInsertRows();
    }
    m_offset = 0;
    *rowsAdded = static_cast<int>(fresh.size());
    return evict;
}

void LogListModel::refilter() {
    m_rows = m_store.filter(m_filter).value_or(std::vector<uint32_t>());
}

bool LogListModel::setFilter(const LogFilter& f, QString* error) {
    if (!f.isEmpty() && !m_store.filter(f, error, m_store.size()))
        return false; // an invalid pattern: the view keeps its rows
    beginResetModel();
    m_filter = f;
    m_filtered = !f.isEmpty();
    if (m_filtered)
        refilter();
    else
        m_rows.clear();
    m_count = static_cast<int>(m_filtered ? m_rows.size() : m_store.size());
    if (!m_searchText.isEmpty()) // matches among the rows shown, as F3 walks them
        m_matches = m_store.search(m_searchText, m_searchRegex, m_filtered ? &m_rows : nullptr);
    endResetModel();
    return true;
}

int LogListModel::setSearch(const QString& text, bool regex) {
    m_searchText = text;
    m_searchRegex = regex;
    m_matches = text.isEmpty() ? std::vector<uint32_t>()
                               : m_store.search(text, regex, m_filtered ? &m_rows : nullptr);
    if (m_count > 0)
        emit dataChanged(index(0), index(m_count - 1), {MatchRole});
    return static_cast<int>(m_matches.size());
}

int LogListModel::nextMatch(int fromRow, bool forward) const {
    if (m_matches.empty() || m_count == 0)
        return -1;
    const int step = forward ? 1 : -1;
    for (int r = fromRow + step; r >= 0 && r < m_count; r += step)
        if (std::binary_search(m_matches.begin(), m_matches.end(), uint32_t(storeIndex(r))))
            return r;
    return -1;
}

int LogListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_count;
}

QVariant LogListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_count)
        return {};
    const size_t i = storeIndex(index.row());
    const LogStore::Line& l = m_store.line(i);
    switch (role) {
    case Qt::DisplayRole:
    case Qt::ToolTipRole:
        return QString::fromUtf8(m_store.message(i).toByteArray());
    case MessageRole:
        return m_store.message(i).toByteArray();
    case PriorityRole:
        return int(l.priority);
    case StderrRole:
        return bool(l.stderrStream);
    case SourceRole:
        return int(l.source);
    case TimeRole:
        return formatTime(l.realtimeUsec);
    case MatchRole:
        return std::binary_search(m_matches.begin(), m_matches.end(), uint32_t(i));
    default:
        return {};
    }
}

LogListModel::RowView LogListModel::row(int r) const {
    if (r < 0 || r >= m_count)
        return {};
    const size_t i = storeIndex(r);
    return {&m_store.line(i), m_store.message(i),
            !m_matches.empty() &&
                std::binary_search(m_matches.begin(), m_matches.end(), uint32_t(i))};
}

QString LogListModel::formatTime(int64_t usec) {
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    const int64_t ms = usec / 1000;
    int64_t days = ms / 86400000, inDay = ms % 86400000;
    if (inDay < 0) {
        inDay += 86400000;
        --days;
    }
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t doe = days - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = yoe + era * 400 + (m <= 2);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", int(y), int(m), int(d),
                  int(inDay / 3600000), int(inDay / 60000 % 60), int(inDay / 1000 % 60),
                  int(inDay % 1000));
    return QString::fromLatin1(buf);
}

// --- painting --------------------------------------------------------------------------------

namespace {

QColor priorityColor(int priority, const QPalette& pal) {
    switch (priority) {
    case 0:
    case 1:
    case 2:
    case 3:
        return QColor(200, 30, 30);
    case 4:
        return QColor(190, 120, 0);
    case 7:
        return pal.color(QPalette::PlaceholderText);
    default:
        return pal.color(QPalette::Text);
    }
}

QColor ansiColor(int code) {
    static const QColor base[8] = {QColor(0, 0, 0),      QColor(205, 49, 49),  QColor(13, 160, 60),
                                   QColor(190, 150, 0),  QColor(36, 114, 200), QColor(188, 63, 188),
                                   QColor(17, 168, 205), QColor(150, 150, 150)};
    static const QColor bright[8] = {
        QColor(102, 102, 102), QColor(241, 76, 76),   QColor(35, 209, 139), QColor(220, 200, 16),
        QColor(59, 142, 234),  QColor(214, 112, 214), QColor(41, 184, 219), QColor(229, 229, 229)};
    if (code >= 30 && code <= 37)
        return base[code - 30];
    if (code >= 90 && code <= 97)
        return bright[code - 90];
    return {};
}

} // namespace

LogLineDelegate::LogLineDelegate(LogListModel* model, QObject* parent)
    : QStyledItemDelegate(parent), m_model(model) {}

QSize LogLineDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const {
    return {2000, option.fontMetrics.height() + 2};
}

void LogLineDelegate::paint(QPainter* p, const QStyleOptionViewItem& option,
                            const QModelIndex& index) const {
    const LogListModel::RowView row = m_model->row(index.row());
    if (!row.line)
        return;
    p->save();
    const QRect r = option.rect;
    const QPalette& pal = option.palette;
    const int source = row.line->source;
    const int priority = row.line->priority;
    const bool marker = source == LogListModel::kMarkerSource;
    const bool selected = option.state & QStyle::State_Selected;
    if (selected)
        p->fillRect(r, pal.highlight());
    else if (marker)
        p->fillRect(r, QColor(255, 240, 190));
    else if (row.match)
        p->fillRect(r, QColor(200, 225, 255));
    const QFontMetrics& fm = option.fontMetrics;
    const int baseline = r.top() + 1 + fm.ascent();
    int x = r.left() + 6;
    if (row.line->stderrStream)
        p->fillRect(QRect(r.left(), r.top(), 3, r.height()), QColor(210, 40, 40));
    p->setFont(option.font);
    if (m_showTime) {
        p->setPen(pal.color(QPalette::PlaceholderText));
        const QString t = LogListModel::formatTime(row.line->realtimeUsec);
        p->drawText(x, baseline, t);
        x += fm.horizontalAdvance(QLatin1Char('0')) * (static_cast<int>(t.size()) + 2);
    }
    const QStringList& sources = m_model->sources();
    if (sources.size() > 1 || marker) {
        if (m_chipSources != sources || m_chipFont != option.font.key()) {
            m_chipSources = sources;
            m_chipFont = option.font.key();
            m_chips.clear();
            for (const auto& label : sources)
                m_chips << fm.elidedText(label, Qt::ElideMiddle, fm.horizontalAdvance('x') * 18);
        }
        const QString chip = marker ? QStringLiteral("day2")
                                    : (source < m_chips.size() ? m_chips[source] : QString());
        const int w = fm.horizontalAdvance(QLatin1Char('x')) * 18 + 8;
        p->fillRect(QRect(x, r.top() + 1, w - 4, r.height() - 2), m_model->sourceColor(source));
        p->setPen(Qt::white);
        p->drawText(x + 2, baseline, chip);
        x += w + 4;
    }
    // The message, with its ANSI SGR colours (30-37, 90-97, 39 and 0 reset; 1 bold).
    const QByteArrayView msg = row.message;
    const QColor base =
        selected ? pal.color(QPalette::HighlightedText) : priorityColor(priority, pal);
    QFont font = option.font;
    if (priority <= 2 || marker) {
        font.setBold(true);
        p->setFont(font);
    }
    p->setPen(base);
    if (!msg.contains('\x1b')) { // the common case: one run of text
        p->drawText(x, baseline, QString::fromUtf8(msg));
        p->restore();
        return;
    }
    QColor pen = base;
    qsizetype i = 0, textStart = 0;
    auto flushText = [&](qsizetype end) {
        if (end <= textStart)
            return;
        const QString s = QString::fromUtf8(msg.sliced(textStart, end - textStart));
        p->setPen(pen);
        p->drawText(x, baseline, s);
        x += p->fontMetrics().horizontalAdvance(s);
    };
    while (i < msg.size() && x < r.right()) {
        if (msg[i] == '\x1b' && i + 1 < msg.size() && msg[i + 1] == '[') {
            flushText(i);
            qsizetype j = i + 2;
            while (j < msg.size() && ((msg[j] >= '0' && msg[j] <= '9') || msg[j] == ';'))
                ++j;
            if (j < msg.size() && msg[j] == 'm') {
                const auto codes = msg.sliced(i + 2, j - i - 2).toByteArray().split(';');
                for (const auto& c : codes) {
                    const int code = c.isEmpty() ? 0 : c.toInt();
                    if (code == 0 || code == 39) {
                        pen = base;
                        if (code == 0) {
                            font.setBold(false);
                            p->setFont(font);
                        }
                    } else if (code == 1) {
                        font.setBold(true);
                        p->setFont(font);
                    } else if (QColor c2 = ansiColor(code); c2.isValid()) {
                        pen = c2;
                    }
                }
            }
            i = textStart = std::min(j + 1, msg.size());
            continue;
        }
        ++i;
    }
    flushText(msg.size());
    p->restore();
}

// --- the view --------------------------------------------------------------------------------

LogView::LogView(QWidget* parent) : QTableView(parent) {
    horizontalHeader()->hide();
    verticalHeader()->hide();
    verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    horizontalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    horizontalHeader()->setDefaultSectionSize(4000); // long lines scroll sideways
    setShowGrid(false);
    setWordWrap(false);
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    setFont(font());
}

void LogView::setFont(const QFont& f) {
    QTableView::setFont(f);
    verticalHeader()->setDefaultSectionSize(QFontMetrics(f).height() + 2);
}

// --- the pane --------------------------------------------------------------------------------

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
    auto* timeBox = new QCheckBox(tr("Time"));
    timeBox->setChecked(true);
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
             m_followButton, m_earlierButton, m_filterEdit, m_regex, m_invert, m_priority, m_stdout,
             m_stderr, timeBox, m_searchEdit, prev, next, m_searchCount, save})
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

QList<QByteArray> LogPane::edgeCursors(bool oldest) const {
    QList<QByteArray> cursors(m_sources.size());
    const LogStore& st = m_model->store();
    const size_t n = st.size();
    qsizetype found = 0;
    for (size_t k = 0; k < n && found < cursors.size(); ++k) {
        const size_t i = oldest ? k : n - 1 - k;
        const auto s = st.line(i).source;
        if (s < cursors.size() && cursors[s].isEmpty()) {
            cursors[s] = st.cursor(i);
            ++found;
        }
    }
    return cursors;
}

bool LogPane::loadEarlier() {
    if (!m_pager || m_pager->busy() || m_reachedStart || m_sources.isEmpty())
        return false;
    int64_t bound = m_completeFrom;
    if (bound == kUnknown) {
        // The streams started where their queries said. Each source pages back from its own
        // oldest line; one without any has none before the latest of the others' oldest.
        bound = client::LogPage::kNoBound;
        std::vector<bool> seen(size_t(m_sources.size()), false);
        int64_t latestOldest = std::numeric_limits<int64_t>::min();
        const LogStore& st = m_model->store();
        for (size_t i = 0; i < st.size(); ++i) {
            const auto s = st.line(i).source;
            if (s < seen.size() && !seen[s]) {
                seen[s] = true;
                latestOldest = std::max(latestOldest, st.line(i).realtimeUsec);
            }
        }
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
    const LogStore& st = m_model->store();
    m_completeTo = 0;
    for (size_t i = st.size(); i-- > 0;)
        if (st.line(i).source != LogListModel::kMarkerSource) {
            m_completeTo = st.line(i).realtimeUsec;
            break;
        }
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
            m_completeTo = m_model->store().size() > 0
                               ? m_model->store().line(m_model->store().size() - 1).realtimeUsec
                               : m_completeTo;
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
            m_completeFrom = m_model->store().line(0).realtimeUsec;
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

void LogPane::flush() {
    if (m_pending.isEmpty())
        return;
    QList<LogEntry> batch;
    batch.swap(m_pending);
    if (m_feed) // the feed may read more now
        m_feed->consumed(m_pendingFromFeed);
    m_pendingFromFeed = 0;
    std::stable_sort(batch.begin(), batch.end(), [](const LogEntry& a, const LogEntry& b) {
        return a.realtimeUsec < b.realtimeUsec;
    });
    const uint64_t evictedBefore = m_model->store().evictedTotal();
    const int gone = m_model->add(batch);
    if (m_model->store().evictedTotal() != evictedBefore && m_completeFrom != kUnknown) {
        // The oldest went: the window is complete from its first line now.
        const LogStore& st = m_model->store();
        for (size_t i = 0; i < st.size(); ++i)
            if (st.line(i).source != LogListModel::kMarkerSource) {
                m_completeFrom = st.line(i).realtimeUsec;
                break;
            }
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

void LogPane::applyFilter() {
    LogFilter f;
    f.text = m_filterEdit->text();
    f.regex = m_regex->isChecked();
    f.invert = m_invert->isChecked();
    f.maxPriority = m_priority->currentData().toInt();
    f.stdoutLines = m_stdout->isChecked();
    f.stderrLines = m_stderr->isChecked();
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
        line += i.data(LogListModel::MessageRole).toByteArray() + '\n';
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
    QString path = m_sources[source].path;
    path.replace(QStringLiteral("logs/v1/stream/"), QStringLiteral("logs/v1/range/"));
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
