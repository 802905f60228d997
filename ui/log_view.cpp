#include "log_view.h"

#include <QHeaderView>
#include <QPainter>
#include <QScrollBar>

#include <algorithm>

namespace day2::ui {

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

// A message as runs of text with their ANSI SGR colours (30-37, 90-97; 39 and 0 reset; 1
// bold), escape sequences removed.
struct Run {
    QString text;
    QColor pen; // invalid: the line's own colour
    bool bold = false;
};

QList<Run> ansiRuns(QByteArrayView msg) {
    QList<Run> runs;
    if (!msg.contains('\x1b')) { // the common case: one run
        runs.append({QString::fromUtf8(msg), {}, false});
        return runs;
    }
    QColor pen;
    bool bold = false;
    qsizetype i = 0, textStart = 0;
    auto flushText = [&](qsizetype end) {
        if (end > textStart)
            runs.append({QString::fromUtf8(msg.sliced(textStart, end - textStart)), pen, bold});
    };
    while (i < msg.size()) {
        if (msg[i] == '\x1b' && i + 1 < msg.size() && msg[i + 1] == '[') {
            flushText(i);
            qsizetype j = i + 2;
            while (j < msg.size() && ((msg[j] >= '0' && msg[j] <= '9') || msg[j] == ';'))
                ++j;
            if (j < msg.size() && msg[j] == 'm') {
                for (const auto& c : msg.sliced(i + 2, j - i - 2).toByteArray().split(';')) {
                    const int code = c.isEmpty() ? 0 : c.toInt();
                    if (code == 0 || code == 39) {
                        pen = QColor();
                        if (code == 0)
                            bold = false;
                    } else if (code == 1) {
                        bold = true;
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
    return runs;
}

} // namespace

LogLineDelegate::LogLineDelegate(LogListModel* model, QObject* parent)
    : QStyledItemDelegate(parent), m_model(model) {}

QSize LogLineDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const {
    return {2000, option.fontMetrics.height() + 2};
}

int LogLineDelegate::textLeft(const QFontMetrics& fm, bool marker) const {
    int x = 6;
    if (m_showTime)
        x += fm.horizontalAdvance(QLatin1Char('0')) * (23 + 2); // "2026-11-25 04:20:01.123"
    if (m_model->sources().size() > 1 || marker)
        x += fm.horizontalAdvance(QLatin1Char('x')) * 18 + 12;
    return x;
}

int LogLineDelegate::wrappedLines(int row, int width, const QFontMetrics& fm) const {
    const LogListModel::RowView v = m_model->row(row);
    if (!v.line)
        return 1;
    const int columns =
        std::max(8, (width - textLeft(fm, v.line->source == LogListModel::kMarkerSource)) /
                        std::max(1, fm.horizontalAdvance(QLatin1Char('x'))));
    qsizetype chars = 0;
    for (const Run& run : ansiRuns(v.message))
        chars += run.text.size();
    return std::clamp(int((chars + columns - 1) / columns), 1, kMaxWrappedLines);
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
    const int lineHeight = fm.height();
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
        p->fillRect(QRect(x, r.top() + 1, w - 4, lineHeight), m_model->sourceColor(source));
        p->setPen(Qt::white);
        p->drawText(x + 2, baseline, chip);
        x += w + 4;
    }
    QColor base = selected ? pal.color(QPalette::HighlightedText) : priorityColor(priority, pal);
    if (row.context && !selected) // a context line: dimmer than the lines that passed
        base.setAlpha(120);
    if (row.gapBefore) { // lines left out above: a dashed rule, as grep's "--"
        p->setPen(QPen(pal.color(QPalette::PlaceholderText), 1, Qt::DashLine));
        p->drawLine(r.left(), r.top(), r.right(), r.top());
    }
    QFont font = option.font;
    const bool boldLine = priority <= 2 || marker;
    // The message: its runs, cut into lines of whole characters when wrapping (the font is
    // fixed-width), else one line that the view scrolls sideways.
    const int left = r.left() + textLeft(fm, marker); // as wrappedLines() measures it
    const int charWidth = std::max(1, fm.horizontalAdvance(QLatin1Char('x')));
    const qsizetype columns = m_wrap ? std::max(8, (r.right() - left) / charWidth) : 0;
    int line = 0;
    qsizetype column = 0;
    for (const Run& run : ansiRuns(row.message)) {
        font.setBold(boldLine || run.bold);
        p->setFont(font);
        p->setPen(run.pen.isValid() && !selected ? run.pen : base);
        qsizetype at = 0;
        while (at < run.text.size() && line < kMaxWrappedLines) {
            const qsizetype n =
                columns > 0 ? std::min(run.text.size() - at, columns - column) : run.text.size();
            const QString piece = run.text.mid(at, n);
            const int y = baseline + line * lineHeight;
            if (y - fm.ascent() > r.bottom())
                break;
            p->drawText(columns > 0 ? left + int(column) * charWidth : x, y, piece);
            at += n;
            if (columns > 0) {
                column += n;
                if (column >= columns) {
                    column = 0;
                    ++line;
                }
            } else {
                x += p->fontMetrics().horizontalAdvance(piece);
            }
            if (columns == 0 && x > r.right())
                break;
        }
        if ((columns == 0 && x > r.right()) || line >= kMaxWrappedLines ||
            baseline + line * lineHeight - fm.ascent() > r.bottom())
            break; // the rest is out of the row
    }
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
    m_fit.setSingleShot(true);
    m_fit.setInterval(0);
    connect(&m_fit, &QTimer::timeout, this, &LogView::fitVisibleRows);
    connect(verticalScrollBar(), &QScrollBar::valueChanged, this, &LogView::scheduleFit);
}

void LogView::scheduleFit() {
    if (m_wrap)
        m_fit.start();
}

void LogView::setModel(QAbstractItemModel* model) {
    QTableView::setModel(model);
    connect(model, &QAbstractItemModel::rowsInserted, this, &LogView::scheduleFit);
    connect(model, &QAbstractItemModel::rowsRemoved, this, &LogView::scheduleFit);
    connect(model, &QAbstractItemModel::modelReset, this, &LogView::scheduleFit);
}

void LogView::setFont(const QFont& f) {
    QTableView::setFont(f);
    verticalHeader()->setDefaultSectionSize(QFontMetrics(f).height() + 2);
    if (m_wrap)
        resetHeights();
}

void LogView::setWrap(bool on) {
    if (on == m_wrap)
        return;
    m_wrap = on;
    if (auto* d = qobject_cast<LogLineDelegate*>(itemDelegate()))
        d->setWrap(on);
    // Wrapped, the one column is the view's width and nothing scrolls sideways.
    setHorizontalScrollBarPolicy(on ? Qt::ScrollBarAlwaysOff : Qt::ScrollBarAsNeeded);
    horizontalHeader()->setSectionResizeMode(on ? QHeaderView::Stretch : QHeaderView::Fixed);
    if (!on)
        horizontalHeader()->resizeSection(0, 4000);
    resetHeights();
}

void LogView::resizeEvent(QResizeEvent* e) {
    QTableView::resizeEvent(e);
    if (m_wrap && viewport()->width() != m_fittedWidth)
        resetHeights();
}

void LogView::resetHeights() {
    // Every row back to one line; those on screen are measured again.
    const int def = verticalHeader()->defaultSectionSize();
    verticalHeader()->reset();
    verticalHeader()->setDefaultSectionSize(def);
    m_fittedWidth = viewport()->width();
    scheduleFit();
    viewport()->update();
}

void LogView::fitVisibleRows() {
    auto* d = qobject_cast<LogLineDelegate*>(itemDelegate());
    if (!m_wrap || !d || !model())
        return;
    const QFontMetrics fm(font());
    const int lineHeight = fm.height();
    const int width = viewport()->width();
    // Rows from the top of the viewport down to its bottom (the heights found move it).
    int row = rowAt(0);
    if (row < 0)
        return;
    bool changed = false;
    for (int y = rowViewportPosition(row); row < model()->rowCount() && y < viewport()->height();
         ++row) {
        const int h = d->wrappedLines(row, width, fm) * lineHeight + 2;
        if (rowHeight(row) != h) {
            setRowHeight(row, h);
            changed = true;
        }
        y += h;
    }
    if (changed && m_following)
        scrollToBottom();
}

} // namespace day2::ui
