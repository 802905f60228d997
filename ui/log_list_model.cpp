#include "log_list_model.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace day2::ui {

using client::LogEntry;
using client::LogFilter;
using client::LogStore;

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

void LogListModel::recomputeRows() {
    m_offset = 0;
    if (m_filtered)
        m_rows = m_store.filter(m_filter).value_or(std::vector<uint32_t>());
    else
        m_rows.clear();
    m_matches = m_searchText.isEmpty()
                    ? std::vector<uint32_t>()
                    : m_store.search(m_searchText, m_searchRegex, m_filtered ? &m_rows : nullptr);
    m_count = static_cast<int>(m_filtered ? m_rows.size() : m_store.size());
}

size_t LogListModel::rebuildWith(const QList<LogEntry>& batch, client::Evict evict) {
    beginResetModel();
    const size_t evicted = m_store.insert(batch, evict);
    recomputeRows();
    endResetModel();
    return evicted;
}

void LogListModel::removeRowRange(int first, int last) {
    if (first >= last)
        return;
    beginRemoveRows({}, first, last - 1);
    if (m_filtered)
        m_rows.erase(m_rows.begin() + first, m_rows.begin() + last);
    else if (first == 0)
        m_offset += size_t(last); // row r is now the store's line r + offset
    m_count -= last - first;
    endRemoveRows();
}

void LogListModel::insertRowsAt(int row, const std::vector<uint32_t>& fresh) {
    if (!m_searchText.isEmpty()) {
        const auto hits = m_store.search(m_searchText, m_searchRegex, &fresh);
        m_matches.insert(row == 0 ? m_matches.begin() : m_matches.end(), hits.begin(), hits.end());
    }
    if (fresh.empty())
        return;
    beginInsertRows({}, row, row + static_cast<int>(fresh.size()) - 1);
    if (m_filtered)
        m_rows.insert(m_rows.begin() + row, fresh.begin(), fresh.end());
    else if (row == 0)
        m_offset = 0;
    m_count += static_cast<int>(fresh.size());
    endInsertRows();
}

int LogListModel::dropRows(size_t topTo, size_t tailFrom) {
    removeRowRange(firstRowAtOrAfter(tailFrom), m_count);
    const int topRows = firstRowAtOrAfter(topTo);
    removeRowRange(0, topRows);
    m_matches.erase(std::lower_bound(m_matches.begin(), m_matches.end(), uint32_t(tailFrom)),
                    m_matches.end());
    m_matches.erase(m_matches.begin(),
                    std::lower_bound(m_matches.begin(), m_matches.end(), uint32_t(topTo)));
    return topRows;
}

void LogListModel::shiftRows(int64_t by) {
    for (auto& i : m_rows)
        i = uint32_t(int64_t(i) + by);
    for (auto& i : m_matches)
        i = uint32_t(int64_t(i) + by);
}

std::vector<uint32_t> LogListModel::rowsOf(size_t from, size_t to) const {
    if (m_filtered)
        return m_store.filter(m_filter, nullptr, from, to).value_or(std::vector<uint32_t>());
    std::vector<uint32_t> all;
    to = std::min(to, m_store.size());
    for (size_t i = from; i < to; ++i)
        all.push_back(uint32_t(i));
    return all;
}

size_t LogListModel::context() const {
    return m_filtered ? size_t(std::max(0, m_filter.context)) : 0;
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
    // The store's lines that change whether they are shown: the tail from `k` (it comes back
    // merged with the batch) and the evicted oldest, and with context lines, those that near.
    const size_t ctx = context();
    const size_t tailFrom = std::max(evict, k > ctx ? k - ctx : 0);
    const size_t topTo = std::min(evict + ctx, tailFrom);
    // 1. Their rows leave, while the store still holds their lines.
    const int topRows = dropRows(topTo, tailFrom);
    // 2. The store takes the batch (and drops exactly `evict` lines from the front).
    m_store.insert(batch, client::Evict::Oldest);
    m_offset = 0;
    shiftRows(-int64_t(evict));
    // 3. Their rows come (back).
    const auto top = ctx > 0 ? rowsOf(0, topTo - evict) : std::vector<uint32_t>();
    insertRowsAt(0, top);
    insertRowsAt(m_count, rowsOf(tailFrom - evict, m_store.size()));
    return topRows - static_cast<int>(top.size());
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
    // The lines that change whether they are shown: the evicted newest, and with context
    // lines, those that near them or the page.
    const size_t ctx = context();
    const size_t endFrom = old - evict > ctx ? old - evict - ctx : 0;
    const size_t topTo = std::min(ctx, endFrom);
    // 1. Their rows leave, while the store still holds their lines.
    const int topRows = dropRows(topTo, endFrom);
    // 2. The store takes the page at its front (and drops `evict` lines from its back); the
    //    rows shown so far now name lines n further on.
    m_store.insert(batch, client::Evict::Newest);
    shiftRows(int64_t(n));
    if (!m_filtered)
        m_offset = n;
    // 3. The page's rows (and those near it) come at the top, those near the end at the end.
    const auto top = rowsOf(0, n + topTo);
    insertRowsAt(0, top);
    insertRowsAt(m_count, rowsOf(endFrom + n, m_store.size()));
    *rowsAdded = static_cast<int>(top.size()) - topRows;
    return evict;
}

bool LogListModel::setFilter(const LogFilter& f, QString* error) {
    if (!f.isEmpty() && !m_store.filter(f, error, m_store.size()))
        return false; // an invalid pattern: the view keeps its rows
    beginResetModel();
    m_filter = f;
    m_filtered = !f.isEmpty();
    m_lineMatcher.reset();
    if (m_filtered && f.context > 0)
        m_lineMatcher = client::LineMatcher::compile(f);
    recomputeRows(); // the search's matches too: among the rows shown, as F3 walks them
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
    case RealtimeRole:
        return qint64(l.realtimeUsec);
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
    RowView v{&m_store.line(i), m_store.message(i),
              !m_matches.empty() &&
                  std::binary_search(m_matches.begin(), m_matches.end(), uint32_t(i))};
    if (m_lineMatcher) {
        v.context = !m_lineMatcher->passes(m_store, i);
        v.gapBefore = r > 0 && storeIndex(r - 1) + 1 != i;
    }
    return v;
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

} // namespace day2::ui
