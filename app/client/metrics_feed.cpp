#include "client/metrics_feed.h"

#include "client/log_follower.h"

namespace day2::client {

MetricsFeed::MetricsFeed(Endpoint endpoint, QList<MetricsFeedAgent> agents)
    : m_endpoint(std::move(endpoint)), m_agents(std::move(agents)) {
    qRegisterMetaType<QList<day2::client::MetricSeries>>();
}

MetricsFeed::~MetricsFeed() = default; // m_thread: the followers go in their thread

void MetricsFeed::start() {
    m_thread.start([this] { startFollowers(); }, [this] { m_followers.clear(); });
}

void MetricsFeed::startFollowers() {
    for (qsizetype i = 0; i < m_agents.size(); ++i) {
        const int index = static_cast<int>(i);
        const MetricOrigin origin = m_agents[i].origin;
        const QString name = origin.agentName.isEmpty() ? origin.agentId : origin.agentName;
        LogFollower::Options o;
        o.path = m_agents[i].path;
        o.query = m_agents[i].query;
        auto f = std::make_unique<LogFollower>(m_endpoint, o);
        LogFollower* follower = f.get();
        connect(
            follower, &LogFollower::events, m_thread.context(),
            [this, index, origin](const QList<QByteArray>& data) {
                for (const auto& d : data)
                    if (auto e = parseMetricsEvent(d, origin); e && !e->series.isEmpty())
                        emit points(index, e->series);
            },
            Qt::DirectConnection);
        connect(
            follower, &LogFollower::connected, m_thread.context(),
            [this, index, follower, name](LogFollower::Resume, qint64) {
                emit status(index, QStringLiteral("metrics of %1: live").arg(name), false);
                if (follower->connections() > 1)
                    emit reconnected(index);
            },
            Qt::DirectConnection);
        connect(
            follower, &LogFollower::disconnected, m_thread.context(),
            [this, index, name](const QString& why, int ms) {
                emit status(index,
                            QStringLiteral("metrics of %1: %2; reconnecting in %3 s")
                                .arg(name, why)
                                .arg(ms / 1000.0, 0, 'f', 1),
                            true);
            },
            Qt::DirectConnection);
        connect(
            follower, &LogFollower::failed, m_thread.context(),
            [this, index, name](const QString& why) {
                emit status(index, QStringLiteral("metrics of %1: %2").arg(name, why), true);
            },
            Qt::DirectConnection);
        follower->start();
        m_followers.push_back(std::move(f));
    }
}

} // namespace day2::client
