// The log pane's feed: follows one or more sources (containers, or an agent's journal) with a
// LogFollower each, and parses what they receive into LogEntry batches tagged with the source's
// index. It runs in a worker thread of its own (start() moves it there), so a burst of
// thousands of entries is read and parsed off the GUI thread; the GUI thread only inserts
// parsed batches into its LogStore.
//
// Bounded: at most kMaxInFlight entries (by default) are handed over and not yet taken
// (consumed()); beyond that a batch is dropped, counted and said (`dropped`), not queued without
// end.
#pragma once

#include "client/api_client.h"
#include "client/log_follower.h"
#include "client/log_store.h"
#include "client/worker_thread.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QUrlQuery>

#include <atomic>
#include <memory>
#include <vector>

namespace day2::client {

struct FeedSource {
    QString label;                 // what the pane shows for it ("web 3f2a9c on node-1")
    QString path;                  // a stream path
    QUrlQuery query;               // filters and start (skip_prev=N)
    qint64 paceBytesPerSecond = 0; // benchmarks: LogFollower::Options::paceBytesPerSecond
};

class LogFeed : public QObject {
    Q_OBJECT
public:
    static constexpr qint64 kMaxInFlight = 300000;

    LogFeed(Endpoint endpoint, QList<FeedSource> sources, qint64 maxInFlight = kMaxInFlight);
    ~LogFeed() override;

    // Starts the worker thread and every follower in it.
    void start();
    // The GUI thread took `n` entries: the feed may hand over that many more.
    void consumed(qint64 n) { m_inFlight -= n; }
    const QList<FeedSource>& sources() const { return m_sources; }

signals:
    // Entries of one source, oldest first (emitted from the worker thread).
    void entries(const QList<day2::client::LogEntry>& batch);
    // A source's connection state, for a person ("reconnected; nothing missed").
    void status(int source, const QString& text, bool problem);
    // A source reconnected: `gap` when entries may be missing (`missing` of them at most, -1:
    // unknown). The pane draws a marker there.
    void reconnected(int source, bool gap, qint64 missing);
    // `n` entries of a source were dropped: the GUI thread had not taken the bound's worth yet.
    void dropped(int source, qint64 n);

private:
    void startFollowers(); // in the worker thread

    Endpoint m_endpoint;
    QList<FeedSource> m_sources;
    const qint64 m_maxInFlight;
    std::atomic<qint64> m_inFlight{0};
    std::vector<std::unique_ptr<LogFollower>> m_followers;  // created, used and deleted in m_thread
    WorkerThread m_thread{QStringLiteral("day2-log-feed")}; // last: it goes first
};

} // namespace day2::client

Q_DECLARE_METATYPE(day2::client::LogEntry)
