#include "client/log_feed.h"

namespace day2::client {

LogFeed::LogFeed(Endpoint endpoint, QList<FeedSource> sources, qint64 maxInFlight)
    : m_endpoint(std::move(endpoint)), m_sources(std::move(sources)), m_maxInFlight(maxInFlight) {
    qRegisterMetaType<day2::client::LogEntry>();
    qRegisterMetaType<QList<day2::client::LogEntry>>();
}

LogFeed::~LogFeed() = default; // m_thread: the followers go in their thread

void LogFeed::start() {
    m_thread.start([this] { startFollowers(); }, [this] { m_followers.clear(); });
}

void LogFeed::startFollowers() {
    for (qsizetype i = 0; i < m_sources.size(); ++i) {
        const int index = static_cast<int>(i);
        LogFollower::Options o;
        o.path = m_sources[i].path;
        o.query = m_sources[i].query;
        o.paceBytesPerSecond = m_sources[i].paceBytesPerSecond;
        auto f = std::make_unique<LogFollower>(m_endpoint, o);
        LogFollower* follower = f.get();
        // Direct: these run in the worker thread, where the follower emits.
        connect(
            follower, &LogFollower::events, m_thread.context(),
            [this, index](const QList<QByteArray>& data) {
                QList<LogEntry> batch;
                batch.reserve(data.size());
                for (const auto& d : data)
                    if (auto e = parseLogEntry(d)) {
                        e->source = static_cast<uint16_t>(index);
                        batch.append(std::move(*e));
                    }
                if (batch.isEmpty())
                    return;
                if (m_inFlight.load() + batch.size() > m_maxInFlight) {
                    emit dropped(index, batch.size());
                    return;
                }
                m_inFlight += batch.size();
                emit entries(batch);
            },
            Qt::DirectConnection);
        connect(
            follower, &LogFollower::connected, m_thread.context(),
            [this, index](LogFollower::Resume how, qint64 missing) {
                switch (how) {
                case LogFollower::Resume::Fresh:
                    emit status(index, QStringLiteral("following"), false);
                    break;
                case LogFollower::Resume::Exact:
                    emit status(index, QStringLiteral("reconnected; nothing missed"), false);
                    emit reconnected(index, false, -1);
                    break;
                case LogFollower::Resume::Gap:
                case LogFollower::Resume::Unknown:
                    emit status(index,
                                missing >= 0
                                    ? QStringLiteral("reconnected; up to %1 entries may be "
                                                     "missing")
                                          .arg(missing)
                                    : QStringLiteral("reconnected; entries may be missing"),
                                true);
                    emit reconnected(index, true, missing);
                    break;
                }
            },
            Qt::DirectConnection);
        connect(
            follower, &LogFollower::disconnected, m_thread.context(),
            [this, index](const QString& why, int ms) {
                emit status(
                    index,
                    QStringLiteral("%1; reconnecting in %2 s").arg(why).arg(ms / 1000.0, 0, 'f', 1),
                    true);
            },
            Qt::DirectConnection);
        connect(
            follower, &LogFollower::failed, m_thread.context(),
            [this, index](const QString& why) { emit status(index, why, true); },
            Qt::DirectConnection);
        follower->start();
        m_followers.push_back(std::move(f));
    }
}

} // namespace day2::client
