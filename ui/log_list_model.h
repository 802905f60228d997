// The log pane's rows: the lines of a LogStore, or those that pass a filter (with context lines
// around them), updated in batches (one insert or remove per region, never a reset while
// following), with the search matches among them.
#pragma once

#include "client/log_store.h"

#include <QAbstractListModel>
#include <QColor>
#include <QStringList>

#include <optional>
#include <vector>

namespace day2::ui {

// The rows the view shows: the store's lines, or those that pass the filter.
class LogListModel : public QAbstractListModel {
    Q_OBJECT
public:
    static constexpr uint16_t kMarkerSource = 0xffff; // a reconnect marker, not a journal line
    enum Role {
        PriorityRole = Qt::UserRole + 1,
        StderrRole,
        SourceRole,
        TimeRole,
        MatchRole,
        MessageRole,
        RealtimeRole // µs since the epoch (qint64)
    };

    explicit LogListModel(size_t maxLines, QObject* parent = nullptr);

    void setSources(const QStringList& labels);
    const QStringList& sources() const { return m_sources; }
    QColor sourceColor(int source) const;
    // Adds parsed entries (any order, any sources); the oldest lines go beyond the bound.
    // Returns how many rows left from the top (the view keeps its place with it).
    int add(const QList<client::LogEntry>& batch);
    // Adds entries older than every line held (a page of history); the newest lines go beyond
    // the bound. Returns how many lines were evicted; `rowsAdded` says how many rows came at the
    // top (-1: the rows were rebuilt, as when the batch was not all older).
    size_t prepend(const QList<client::LogEntry>& batch, int* rowsAdded);
    void clear();
    // Applies a filter; false (and the reason) for an invalid pattern.
    bool setFilter(const client::LogFilter& f, QString* error);
    // Marks the rows whose message matches `text`; returns how many.
    int setSearch(const QString& text, bool regex);
    int nextMatch(int fromRow, bool forward) const;
    int matchCount() const { return static_cast<int>(m_matches.size()); }

    // What the delegate paints of a row, without QVariants (it runs for every visible row on
    // every repaint).
    struct RowView {
        const client::LogStore::Line* line = nullptr;
        QByteArrayView message;
        bool match = false;
        bool context = false;   // shown as context of a line that passes the filter
        bool gapBefore = false; // with context lines: lines are left out above this one
    };
    RowView row(int r) const;
    // "2026-11-25 04:20:01.123" (UTC), quickly: no QDateTime per painted row.
    static QString formatTime(int64_t realtimeUsec);

    const client::LogStore& store() const { return m_store; }
    size_t storeIndex(int row) const {
        return (m_filtered ? m_rows[size_t(row)] : size_t(row)) + m_offset;
    }

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

private:
    // The rows, the search's matches among them and the count, from the store (in a reset).
    void recomputeRows();
    // Inserts `batch` evicting from `evict`'s end and rebuilds the rows (a model reset).
    size_t rebuildWith(const QList<client::LogEntry>& batch, client::Evict evict);
    int firstRowAtOrAfter(size_t storeIndex) const;
    // Rows [first, last) leave (unfiltered: only at the top or the end).
    void removeRowRange(int first, int last);
    // Rows for the store's lines `fresh` come at `row` (the top or the end), with their matches.
    void insertRowsAt(int row, const std::vector<uint32_t>& fresh);
    // The rows (and search matches) of the store's lines before `topTo` and from `tailFrom` on
    // leave; returns how many rows left at the top.
    int dropRows(size_t topTo, size_t tailFrom);
    // The rows and matches name lines `by` further on (the store gained or lost lines in front).
    void shiftRows(int64_t by);
    // The store's lines in [from, to) that are shown.
    std::vector<uint32_t> rowsOf(size_t from, size_t to) const;
    size_t context() const; // context lines around each line that passes the filter

    client::LogStore m_store;
    QStringList m_sources;
    client::LogFilter m_filter;
    std::optional<client::LineMatcher> m_lineMatcher; // m_filter compiled, with context lines
    bool m_filtered = false;
    std::vector<uint32_t> m_rows;    // with a filter: store indices shown
    std::vector<uint32_t> m_matches; // store indices that match the search, sorted
    QString m_searchText;
    bool m_searchRegex = false;
    int m_count = 0;     // rows, as the view was last told
    size_t m_offset = 0; // while evicted rows are being removed: the store still holds them
};

} // namespace day2::ui
