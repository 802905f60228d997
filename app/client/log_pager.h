// Pages of a log view's past (older lines) or of what followed it (newer lines), for all the
// view's sources at once, so that the view stays *complete*: for its time window it holds every
// line of every source, never one source's lines with another's missing.
//
// A page asks each source (a range read) for at most `perSource` entries before its oldest line
// held (after its newest), by cursor, so that no entry is skipped or read twice even when many
// share one microsecond (journald stamps the lines of one read alike); a source without any
// line held is asked by time, up to (from) the view's bound. Sources differ in rate: 1,000 lines
// of a chatty container may cover a minute, 1,000 of a quiet one a day. So the page is cut
// where the shortest full answer ends: for older lines, at the latest of the full sources'
// oldest entries; what lies beyond the cut is left for the next page. After an older page the
// view is complete for every time after the page's bound (at the bound itself, the next page
// may add entries of the same microsecond). A page where no source was full reached the end
// (the start of the logs, or the present).
//
// The ranges run on the caller's thread (a QNetworkAccessManager is asynchronous); the answers
// are parsed in a pool thread, not the GUI thread.
#pragma once

#include "client/api_client.h"
#include "client/log_feed.h"
#include "client/log_store.h"

#include <QFutureWatcher>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <cstdint>
#include <limits>
#include <optional>

class QNetworkReply;

namespace day2::client {

// The range path of a stream path ("…/logs/v1/stream/…" → "…/logs/v1/range/…").
QString rangePathOf(const QString& streamPath);

struct LogPage {
    enum class Direction { Older, Newer };
    static constexpr int64_t kNoBound = std::numeric_limits<int64_t>::max();

    Direction direction = Direction::Older;
    QList<LogEntry> entries; // all sources, in time order, each tagged with its source
    // The view is now complete after (Older) or before (Newer) this time (µs since the epoch,
    // the journal's realtime): the cut, or at the end the oldest (newest) entry's time, or the
    // old bound when there was none.
    int64_t bound = kNoBound;
    bool reachedEnd = false; // no source had more than the page held
    // Per source, where following it goes on (after this entry; empty: it has none to follow
    // from), so that a view that holds the page and then follows each source from here misses
    // nothing and holds nothing twice:
    // - Older: the newest entry the source answered with, *whether or not the cut kept it in
    //   the page*. After the newest page (Older from kNoBound) a source that wrote nothing in
    //   the page's time (it finished before a chattier one) has no line in the page, and its
    //   cursor is still its newest entry: everything up to it lies before the page's bound and
    //   comes with older pages, everything after it comes by following.
    // - Newer: the newest entry the page kept of that source (entries beyond the cut come with
    //   the next page, so following must not start after them).
    QList<QByteArray> newestCursors;
    int64_t newestTime = std::numeric_limits<int64_t>::min(); // of those entries
};

// The order of entries in a page: time, then (within one journal) sequence number, so the
// lines of one microsecond keep the journal's order.
bool pageOrder(const LogEntry& a, const LogEntry& b);

// Assembles a page from each source's range answer (JSON lines, in the order the range read
// them). `perSource` is the limit each was asked with. The error names a malformed answer.
std::optional<LogPage> assemblePage(LogPage::Direction direction, const QList<QByteArray>& bodies,
                                    int64_t bound, int perSource, QString* error);

class LogPager : public QObject {
    Q_OBJECT
public:
    LogPager(ApiClient* api, QList<FeedSource> sources, QObject* parent = nullptr);
    ~LogPager() override;

    // Fetches the page before (Older) or after (Newer) the view: for each source, the entries
    // before (after) `edges[i]`, the cursor of its oldest (newest) line held, or where it has
    // none, those at or before (after) `bound` (Older with kNoBound: the newest entries). False
    // when a fetch is under way.
    bool fetch(LogPage::Direction direction, int64_t bound, int perSource,
               const QList<QByteArray>& edges = {});
    // Until the page (or the failure) was emitted: the parse thread's end comes before its
    // result reaches this thread.
    bool busy() const { return m_remaining > 0 || m_parsePending; }
    const QList<FeedSource>& sources() const { return m_sources; }

signals:
    void page(const day2::client::LogPage& page);
    // A source's range failed (the reason names it); nothing of the page is delivered.
    void failed(const QString& why);

private:
    void abortAll();

    ApiClient* m_api;
    QList<FeedSource> m_sources;
    QList<QPointer<QNetworkReply>> m_replies;
    QList<QByteArray> m_bodies;
    int m_remaining = 0;
    bool m_parsePending = false;
    bool m_failed = false;
    LogPage::Direction m_direction = LogPage::Direction::Older;
    int64_t m_bound = LogPage::kNoBound;
    int m_perSource = 0;
    struct Parsed {
        std::optional<LogPage> page;
        QString error;
    };
    QFutureWatcher<Parsed> m_parsing;
};

} // namespace day2::client

Q_DECLARE_METATYPE(day2::client::LogPage)
