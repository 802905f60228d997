// The console's log pane: the lines of whatever is selected (one container, an application's or
// a framework's containers merged in timestamp order with a colour per source, or an agent's
// journal), following live. Follow and pause, filter (substring or regex, invert, priority,
// stdout/stderr, keeping context lines) and search (highlighted, next/previous) at once, ANSI
// colours, timestamps on or off, wrap on or off, a marker where a reconnect happened, a line's
// every journald field on double-click, and save to a file. Memory is bounded by the store's
// retained window; scrolling to its top loads the page before it from the agents (LogPager), for as
// far back as the journal goes, dropping the newest lines once full (then the pane reads history
// and stops following; scrolling to the bottom loads the newer pages again, up to the present, and
// follows once more).
#pragma once

#include "client/api_client.h"
#include "client/log_feed.h"
#include "client/log_pager.h"
#include "client/log_store.h"
#include "log_list_model.h"
#include "log_view.h"

#include <QList>
#include <QTimer>
#include <QWidget>

#include <limits>
#include <memory>
#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QToolButton;

namespace day2::ui {

class LogPane : public QWidget {
    Q_OBJECT
public:
    // How often parsed lines are handed to the view (the benchmark feeds at the same pace).
    static constexpr int kFlushMs = 50;

    static constexpr size_t kMaxLines = 500000;
    explicit LogPane(client::ApiClient* api, QWidget* parent = nullptr,
                     size_t maxLines = kMaxLines);
    ~LogPane() override;
    // Another connection: what was followed stops.
    void setApi(client::ApiClient* api);

    // Follows `sources` (the title names the selection), replacing what was followed: the
    // newest lines of all of them (one page), then what they write. A source whose query names
    // its own start (skip_prev, cursor, since) is streamed from there instead.
    void follow(const QString& title, const QList<client::FeedSource>& sources);
    // A marker line at `ms` among the lines (a time chosen on a chart).
    void markTime(qint64 ms);
    // Loads the page of lines before the oldest held (as scrolling to the top does). False
    // when there is nothing to load (the logs' first line is shown) or a page is on its way.
    bool loadEarlier();
    // Back to the newest lines and following them (as the Follow button does).
    void loadLatest();
    // Lines per source in a page: the first load and each page of history (by default 20,000
    // shared among the sources, 200 to 5,000 each).
    int pageLinesPerSource() const;
    void setPageLinesPerSource(int n) { m_pageLines = n; }
    // Loads the page after the newest line held, when reading history (as scrolling to the
    // bottom does); at the present, follows again.
    bool loadNewer();
    bool busy() const { return m_pager && m_pager->busy(); }
    // Reading history: the newest lines were dropped from memory and are not followed.
    bool detached() const { return m_detached; }
    bool reachedStart() const { return m_reachedStart; }
    const LogListModel* model() const { return m_model; }
    int lineCount() const { return m_model->rowCount(); }
    LogView* view() const { return m_view; }
    void setWrap(bool on); // as the Wrap box does
    // Following an agent's journal: the units it has (host services and log scopes), once
    // loaded (unitsLoaded), and one to show alone ("": all). False for a unit not listed.
    QStringList units() const;
    bool setUnit(const QString& unit);
    void saveTo(const QString& file);

signals:
    void linesArrived(int total);
    // "Show in metrics" on a line: its time (ms since the epoch).
    void showInMetrics(qint64 ms);
    void unitsLoaded();

private:
    static constexpr int64_t kUnknown = std::numeric_limits<int64_t>::min();
    void newPager();
    void updateUnits();
    void onUnitChosen();
    void onPage(const client::LogPage& page);
    // Asks for the page before (after) the lines held, `bound` being where the window is
    // complete from (to).
    void fetchPage(bool older, int64_t bound);
    // Starts following every source after `cursors` (its newest line held; empty: from its
    // start, or at `since` µs when given).
    void startFeed(const QList<QByteArray>& cursors, int64_t since = -1);
    void stopFeed();
    void detach();
    // Each source's oldest (or newest) line held: its store index, or nothing.
    std::vector<std::optional<size_t>> edgeLines(bool oldest) const;
    // Their cursors; empty for a source without a line held.
    QList<QByteArray> edgeCursors(bool oldest) const;
    // The time of the oldest (or newest) journal line held (markers aside), else `none`.
    int64_t edgeTime(bool oldest, int64_t none) const;
    void applyFilter();
    void applySearch();
    void jump(bool forward);
    void flush();
    QString sourceLabel(int source) const;
    // A line of the pane's own (a reconnect, a drop), shown where it happened.
    void addMarker(const QString& text, int priority);
    void showFields(const QModelIndex& index);
    void updateStatus();

    client::ApiClient* m_api;
    LogListModel* m_model;
    LogLineDelegate* m_delegate;
    LogView* m_view;
    QLabel* m_title;
    QLabel* m_status;
    QToolButton* m_followButton;
    QLineEdit* m_filterEdit;
    QCheckBox* m_regex;
    QCheckBox* m_invert;
    QSpinBox* m_context;
    QCheckBox* m_wrapBox;
    QComboBox* m_unit;
    QComboBox* m_priority;
    QCheckBox* m_stdout;
    QCheckBox* m_stderr;
    QLineEdit* m_searchEdit;
    QLabel* m_searchCount;
    QToolButton* m_earlierButton;
    std::unique_ptr<client::LogFeed> m_feed;
    std::unique_ptr<client::LogPager> m_pager;
    enum class Loading { None, Latest, Older, Newer };
    Loading m_loading = Loading::None;
    QString m_pageError;
    // The window held is complete: every source's lines from m_completeFrom on (kNoBound: none
    // yet; kUnknown: streams that started where their query said, see loadEarlier) and, while
    // detached, up to m_completeTo.
    int64_t m_completeFrom = client::LogPage::kNoBound;
    int64_t m_completeTo = 0;
    bool m_detached = false;
    bool m_reachedStart = false;
    int m_autoPages = 0;           // pages loaded in a row that added no row shown
    int m_pageLines = 0;           // 0: pageLinesPerSource() decides
    uint64_t m_feedGeneration = 0; // which feed's queued batches still count
    QList<client::FeedSource> m_sources;
    QStringList m_sourceStatus;
    QList<client::LogEntry> m_pending; // parsed, not yet in the model (handed over every 50 ms)
    qsizetype m_pendingFromFeed = 0;   // of which came from the feed (not markers)
    QTimer m_flushTimer;
    uint64_t m_droppedPending = 0; // the feed's drops, while the view could not keep up
};

} // namespace day2::ui
