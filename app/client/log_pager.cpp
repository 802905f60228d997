#include "client/log_pager.h"

#include <QNetworkReply>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace day2::client {

QString rangePathOf(const QString& streamPath) {
    QString p = streamPath;
    p.replace(QStringLiteral("/logs/v1/stream/"), QStringLiteral("/logs/v1/range/"));
    return p;
}

bool pageOrder(const LogEntry& a, const LogEntry& b) {
    const int64_t ta = LogStore::sortTime(a), tb = LogStore::sortTime(b);
    if (ta != tb)
        return ta < tb;
    if (a.source != b.source)
        return a.source < b.source;
    // (An entry without a readable cursor counts as sequence number 0: still a strict order.)
    return (a.parts ? a.parts->seqnum : 0) < (b.parts ? b.parts->seqnum : 0);
}

std::optional<LogPage> assemblePage(LogPage::Direction direction, const QList<QByteArray>& bodies,
                                    int64_t bound, int perSource, QString* error) {
    const bool older = direction == LogPage::Direction::Older;
    LogPage page;
    page.direction = direction;
    // The cut: older pages keep entries at or after the latest of the full sources' oldest
    // entries; newer pages those at or before the earliest of their newest.
    std::optional<int64_t> cut;
    QList<QList<LogEntry>> perSourceEntries;
    for (qsizetype s = 0; s < bodies.size(); ++s) {
        QList<LogEntry> list;
        int64_t oldest = std::numeric_limits<int64_t>::max();
        int64_t newest = std::numeric_limits<int64_t>::min();
        QByteArray newestCursor;
        int answered = 0;
        for (QByteArrayView line :
             QByteArray::fromRawData(bodies[s].constData(), bodies[s].size()).split('\n')) {
            if (line.trimmed().isEmpty())
                continue;
            QString why;
            auto e = parseLogEntry(line, &why);
            if (!e) {
                if (error)
                    *error = QStringLiteral("source %1 answered a malformed entry: %2")
                                 .arg(s + 1)
                                 .arg(why);
                return std::nullopt;
            }
            e->source = uint16_t(s);
            ++answered;
            const int64_t t = LogStore::sortTime(*e);
            oldest = std::min(oldest, t);
            newest = std::max(newest, t);
            list.append(std::move(*e));
        }
        // The newest by the journal's order (many may share its microsecond): the first read
        // backwards. Read forwards, the newest kept is found after the cut.
        if (older && !list.isEmpty())
            newestCursor = list.first().cursor;
        page.newestCursors.append(newestCursor);
        if (!list.isEmpty())
            page.newestTime = std::max(page.newestTime, newest);
        if (answered >= perSource) {
            const int64_t edge = older ? oldest : newest;
            cut = !cut ? edge : older ? std::max(*cut, edge) : std::min(*cut, edge);
        }
        perSourceEntries.append(std::move(list));
    }
    page.reachedEnd = !cut.has_value();
    int64_t kept =
        older ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
    for (auto& list : perSourceEntries)
        for (auto& e : list) {
            const int64_t t = LogStore::sortTime(e);
            if (cut && (older ? t < *cut : t > *cut))
                continue; // the next page's
            kept = older ? std::min(kept, t) : std::max(kept, t);
            if (!older) // read forwards: the last kept is the newest
                page.newestCursors[e.source] = e.cursor;
            page.entries.append(std::move(e));
        }
    std::sort(page.entries.begin(), page.entries.end(), pageOrder);
    if (cut)
        page.bound = *cut;
    else if (!page.entries.isEmpty())
        page.bound = kept;
    else
        page.bound = bound;
    return page;
}

LogPager::LogPager(ApiClient* api, QList<FeedSource> sources, QObject* parent)
    : QObject(parent), m_api(api), m_sources(std::move(sources)) {
    qRegisterMetaType<day2::client::LogPage>();
    connect(&m_parsing, &QFutureWatcher<Parsed>::finished, this, [this] {
        m_parsePending = false;
        const Parsed p = m_parsing.result();
        if (p.page)
            emit page(*p.page);
        else
            emit failed(p.error);
    });
}

LogPager::~LogPager() {
    abortAll();
    m_parsing.waitForFinished(); // it holds nothing of ours, but its result is not wanted
}

void LogPager::abortAll() {
    for (auto& r : m_replies)
        if (r) {
            r->disconnect(this);
            r->abort();
            r->deleteLater();
        }
    m_replies.clear();
    m_remaining = 0;
}

bool LogPager::fetch(LogPage::Direction direction, int64_t bound, int perSource,
                     const QList<QByteArray>& edges) {
    if (busy() || m_sources.isEmpty())
        return false;
    m_direction = direction;
    m_bound = bound;
    m_perSource = std::max(1, perSource);
    m_failed = false;
    m_bodies = QList<QByteArray>(m_sources.size());
    m_replies.clear();
    m_remaining = int(m_sources.size());
    const bool older = direction == LogPage::Direction::Older;
    for (qsizetype i = 0; i < m_sources.size(); ++i) {
        QUrlQuery q = m_sources[i].query;
        for (const char* where :
             {"skip_prev", "skip_next", "cursor", "since", "until", "limit", "read_reverse"})
            q.removeAllQueryItems(QString::fromLatin1(where));
        q.addQueryItem(QStringLiteral("limit"), QString::number(m_perSource));
        if (older)
            q.addQueryItem(QStringLiteral("read_reverse"), QStringLiteral("true"));
        if (i < edges.size() && !edges[i].isEmpty()) {
            // From the entry next to the one held: skip_prev (skip_next) steps off it.
            q.addQueryItem(QStringLiteral("cursor"), QString::fromLatin1(edges[i]));
            q.addQueryItem(older ? QStringLiteral("skip_prev") : QStringLiteral("skip_next"),
                           QStringLiteral("1"));
        } else if (older && bound != LogPage::kNoBound) { // inclusive, as `since` is
            q.addQueryItem(QStringLiteral("until"), QString::number(bound));
        } else if (!older) {
            q.addQueryItem(QStringLiteral("since"), QString::number(std::max<int64_t>(0, bound)));
        }
        QNetworkReply* r = m_api->send("GET", rangePathOf(m_sources[i].path), q);
        m_replies.append(r);
        connect(r, &QNetworkReply::finished, this, [this, r, i] {
            r->deleteLater();
            if (m_failed)
                return;
            const QString why = describeFailure(r);
            if (!why.isEmpty()) {
                m_failed = true;
                abortAll();
                emit failed(QStringLiteral("%1: %2").arg(m_sources[i].label, why));
                return;
            }
            m_bodies[i] = r->readAll();
            if (--m_remaining > 0)
                return;
            m_replies.clear();
            // Parsed in a pool thread: the answers' copies go with it.
            m_parsePending = true;
            m_parsing.setFuture(
                QtConcurrent::run([direction = m_direction, bodies = std::move(m_bodies),
                                   bound = m_bound, perSource = m_perSource] {
                    Parsed p;
                    p.page = assemblePage(direction, bodies, bound, perSource, &p.error);
                    return p;
                }));
        });
    }
    return true;
}

} // namespace day2::client
