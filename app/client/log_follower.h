// Follows one logs stream (SSE) and keeps following across network drops and agent restarts:
// it reconnects with Last-Event-ID and a growing delay (at least the server's `retry:`), and
// says, on each connection, whether anything may have been missed (the agent's
// X-Journal-Resume). Entries arrive as the JSON objects of the logs API, in order, each once.
//
// It lives in whatever thread it was created in or moved to and does its network I/O and SSE
// parsing there: the console gives each follower a worker thread, so a burst of entries is
// parsed off the GUI thread; the CLI runs it on its main thread. Call start() in that thread.
//
// Bounded: the network layer holds at most `readBufferBytes` unread (TCP pushes back on the
// agent beyond that); one `events` signal carries at most `maxBatch` entries.
#pragma once

#include "client/api_client.h"
#include "client/sse_parser.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSslConfiguration>
#include <QString>
#include <QTimer>
#include <QUrlQuery>

#include <memory>

class QNetworkAccessManager;
class QNetworkReply;

namespace day2::client {

class LogFollower : public QObject {
    Q_OBJECT
public:
    struct Options {
        QString path;    // a stream path, e.g. agentPath(id, "logs/v1/stream/")
        QUrlQuery query; // where to start (skip_prev=N, cursor=...) and filters
        int minBackoffMs = 250;
        int maxBackoffMs = 15000;
        // No byte at all for this long: the connection is dead, reconnect. The agent says how
        // often it pings (X-Journal-Ping); then the limit is twice that plus 10 s.
        int stallMs = 45000;
        qsizetype maxBatch = 4096;
        qint64 readBufferBytes = 4 << 20;
        // Read at most this many bytes a second (0: as fast as they come); the rest waits in
        // the bounded read buffer, and TCP holds the agent back. For benchmarks: a journal
        // filled in advance is then fed to a reader at a steady rate.
        qint64 paceBytesPerSecond = 0;
    };
    enum class Resume {
        Fresh,   // the first connection
        Exact,   // resumed right after the last entry received: nothing missed
        Gap,     // the last entry received is gone from the journal: entries may be missing
        Unknown, // resumed, but the agent did not say (an older agent)
    };
    Q_ENUM(Resume)

    LogFollower(Endpoint endpoint, Options options, QObject* parent = nullptr);
    ~LogFollower() override;

    // Connects (in this object's thread). Errors are reported through the signals.
    void start();
    void stop();

    // The cursor of the last entry received ("" before the first).
    QByteArray lastEventId() const { return m_parser.lastEventId(); }
    int connections() const { return m_connections; }

signals:
    // The stream answered 200. `mayBeMissing` is how many journal entries at most were lost
    // (with Resume::Gap, when the agent could tell), else -1.
    void connected(day2::client::LogFollower::Resume how, qint64 mayBeMissing);
    // Entries, oldest first: the `data` of each event, a logs API JSON object.
    void events(const QList<QByteArray>& entries);
    // The connection ended or could not be made; the next attempt is in `retryInMs`.
    void disconnected(const QString& why, int retryInMs);
    // Not retried: the request itself is wrong (3xx, 400, 401, 403, 404, ...), or TLS/CA setup
    // failed.
    void failed(const QString& why);
    // The agent ended the stream on purpose (an `until` in the query was reached): done.
    void ended();

private:
    void connectNow();
    void onReadyRead();
    void onFinished();
    void scheduleRetry(const QString& why);
    void dropReply();

    Endpoint m_endpoint;
    Options m_options;
    QSslConfiguration m_tls;
    std::unique_ptr<QNetworkAccessManager> m_network;
    QPointer<QNetworkReply> m_reply;
    SseParser m_parser;
    QTimer m_retryTimer{this}; // children: they move with the follower to its thread
    QTimer m_stallTimer{this};
    QTimer m_paceTimer{this}; // with a pace: the next read of what is waiting
    QElapsedTimer m_paceClock;
    qint64 m_paceLastNs = 0;
    double m_paceBudget = 0; // bytes that may be read now
    int m_stallMs = 0;
    int m_backoffMs = 0;
    uint64_t m_generation = 0; // connections made: a handler that started another is noticed
    int m_connections = 0;
    bool m_answered = false; // this connection said 200
    bool m_stopped = true;
};

} // namespace day2::client
