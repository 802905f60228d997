// The metrics pane's live feed: one metrics stream (SSE) per agent, each followed by a
// LogFollower (which reconnects with a growing delay), in a worker thread of its own where the
// events are also parsed, so the GUI thread only merges parsed points. After a reconnect it says
// so (`reconnected`), for the pane to fetch the hole from the agent's history.
//
// Bounded: one collection of an agent is one event batch; the agent's stream is one collection
// deep and says what a slow reader missed.
#pragma once

#include "client/api_client.h"
#include "client/metrics_data.h"
#include "client/worker_thread.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QUrlQuery>

#include <memory>
#include <vector>

namespace day2::client {

class LogFollower;

struct MetricsFeedAgent {
    MetricOrigin origin; // the agent's id and name
    QString path;        // its stream path (agentPath(id, "metrics/v0/stream"))
    QUrlQuery query;     // container_id=<cid> for one container's events only
};

class MetricsFeed : public QObject {
    Q_OBJECT
public:
    MetricsFeed(Endpoint endpoint, QList<MetricsFeedAgent> agents);
    ~MetricsFeed() override;
    void start();
    const QList<MetricsFeedAgent>& agents() const { return m_agents; }

signals:
    // One event's series (a point each) of agent `agent` (emitted from the worker thread).
    void points(int agent, const QList<day2::client::MetricSeries>& series);
    // The agent's stream is back after a drop: what came meanwhile is only in its history.
    void reconnected(int agent);
    // For a person: "metrics stream of node-2: connection refused; reconnecting in 2.0 s".
    void status(int agent, const QString& text, bool problem);

private:
    void startFollowers();

    Endpoint m_endpoint;
    QList<MetricsFeedAgent> m_agents;
    std::vector<std::unique_ptr<LogFollower>> m_followers; // created, used and deleted in m_thread
    WorkerThread m_thread{QStringLiteral("day2-metrics-feed")}; // last: it goes first
};

} // namespace day2::client

Q_DECLARE_METATYPE(day2::client::MetricSeries)
Q_DECLARE_METATYPE(day2::client::MetricOrigin)
