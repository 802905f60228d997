// The console's metrics pane against a real agent and its tasks: the charts' points are the
// agent's history answer for the same source; grouping sums members exactly (checked against
// the histories of both); a container that stopped ends its line (no line down to zero, no
// point after its end); live, the stream adds points; a click on a chart asks for that moment's
// logs of the chart's containers. Needs root.
#include "metrics_pane.h"

#include "task_agent.h"

#include <QAbstractScrollArea>
#include <QJsonArray>
#include <QPointer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace day2;
using day2::test::TaskAgent;

namespace {

QString containerOf(const QString& streamPath) {
    return streamPath.section(QLatin1Char('/'), -1);
}

// The agent's history of one metric of one source, up to `untilMs`.
QList<QPointF> history(client::ApiClient& api, const QString& source, const QString& metric,
                       qint64 untilMs) {
    QUrlQuery q;
    q.addQueryItem("since", QString::number((untilMs - 600000) * 1000));
    q.addQueryItem("until", QString::number(untilMs * 1000));
    const auto r = api.call("GET", client::agentPath({}, "metrics/v0/history/" + source), q);
    if (!r.ok())
        return {};
    auto all = client::parseHistory(r.body, source, {}, nullptr);
    if (!all)
        return {};
    for (const auto& s : *all)
        if (s.name == metric)
            return s.points;
    return {};
}

// A drawn line's points, in the metric's own unit, all its segments in order.
QList<QPointF> drawnLine(const ui::MetricsPane& pane, const QString& metric, int line = 0) {
    for (const auto& c : pane.drawn())
        if (c.metric == metric && line < c.lines.size()) {
            QList<QPointF> out;
            for (const auto& seg : c.lines[line].segments)
                for (const QPointF& p : seg)
                    out.append(QPointF(p.x(), p.y() * c.scale));
            return out;
        }
    return {};
}

// Points of `all` up to and including time `untilMs`.
QList<QPointF> upTo(const QList<QPointF>& all, double untilMs) {
    QList<QPointF> out;
    for (const QPointF& p : all)
        if (p.x() <= untilMs)
            out.append(p);
    return out;
}

// A TCP forwarder to the agent that the test can cut: cut() closes every connection through it
// and refuses new ones (as a network that went away), mend() lets them through again.
class CuttableProxy : public QObject {
public:
    explicit CuttableProxy(quint16 target) : m_target(target) {
        m_server.listen(QHostAddress::LocalHost);
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* in = m_server.nextPendingConnection()) {
                if (m_cut) {
                    in->abort();
                    in->deleteLater();
                    continue;
                }
                auto* out = new QTcpSocket(in);
                out->connectToHost(QHostAddress::LocalHost, m_target);
                connect(in, &QTcpSocket::readyRead, out, [in, out] { out->write(in->readAll()); });
                connect(out, &QTcpSocket::readyRead, in, [in, out] { in->write(out->readAll()); });
                connect(out, &QTcpSocket::disconnected, in, [in] { in->disconnectFromHost(); });
                connect(in, &QTcpSocket::disconnected, in, [in] { in->deleteLater(); });
                m_open.append(in);
            }
        });
    }
    quint16 port() const { return m_server.serverPort(); }
    void cut() {
        m_cut = true;
        for (const QPointer<QTcpSocket>& s : m_open)
            if (s)
                s->abort();
        m_open.clear();
    }
    void mend() { m_cut = false; }

private:
    QTcpServer m_server;
    quint16 m_target;
    bool m_cut = false;
    QList<QPointer<QTcpSocket>> m_open;
};

} // namespace

class MetricsPaneTest : public QObject {
    Q_OBJECT
private:
    ui::MetricsSource source(const TaskAgent&, const QString& cid, const QString& app) {
        ui::MetricsSource s;
        s.agentId = "agent";
        s.basePath = client::agentPath({}, "metrics/v0/");
        s.source = "containers/" + cid;
        s.origin = client::MetricOrigin{"agent", "node", cid, "marathon", app};
        return s;
    }
    // Shows `sources` without the stream and waits for the charts of the history (a drawing
    // asked for earlier may end first: it waits until none is pending).
    bool showHistory(ui::MetricsPane& pane, const QList<ui::MetricsSource>& sources) {
        QSignalSpy loaded(&pane, &ui::MetricsPane::historyLoaded);
        pane.setSources("test", sources);
        if (!loaded.wait(30000))
            return false;
        pane.redraw();
        return QTest::qWaitFor([&] { return !pane.drawingPending(); }, 30000);
    }

private slots:
    void chartsAreTheAgentsHistoryGroupedAndLive() {
        if (const std::string why = TaskAgent::unavailable(); !why.empty())
            QSKIP(why.c_str());
        TaskAgent env("mp");
        client::ApiClient api(env.endpoint());
        QVERIFY(api.init(nullptr));
        QString error;
        const QString a = containerOf(env.launch(api, "fw", "/pair", "exec sleep 100000", &error));
        QVERIFY2(!a.isEmpty(), qPrintable(error));
        const QString b = containerOf(env.launch(api, "fw", "/pair", "exec sleep 100000", &error));
        QVERIFY2(!b.isEmpty(), qPrintable(error));
        // A few collections (every second) of both in the history.
        QTRY_VERIFY_WITH_TIMEOUT(
            history(api, "containers/" + a, "processes", QDateTime::currentMSecsSinceEpoch())
                        .size() >= 4 &&
                history(api, "containers/" + b, "processes", QDateTime::currentMSecsSinceEpoch())
                        .size() >= 4,
            60000);

        ui::MetricsPane pane;
        pane.resize(1200, 900);
        pane.setApi(&api);
        pane.setLive(false);
        pane.setRangeSeconds(300);

        // One container: each chart's line is its history (few points: none dropped).
        QVERIFY(showHistory(pane, {source(env, a, "/pair")}));
        QVERIFY(pane.chartCount() > 0);
        for (const QString metric : {"processes", "mem.total"}) {
            const QList<QPointF> drawn = drawnLine(pane, metric);
            QVERIFY2(!drawn.isEmpty(), qPrintable(metric));
            const QList<QPointF> agent =
                history(api, "containers/" + a, metric, qint64(drawn.last().x()));
            QCOMPARE(drawn, upTo(agent, drawn.last().x()));
        }

        // Both, a line per container, then summed: the sum of both histories, time by time.
        pane.setGroupBy(client::GroupBy::Container);
        QVERIFY(showHistory(pane, {source(env, a, "/pair"), source(env, b, "/pair")}));
        for (const auto& c : pane.drawn())
            if (c.metric == "mem.total")
                QCOMPARE(c.lines.size(), 2);
        pane.setSummed(true); // drawn when the drawing thread is done
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(pane.drawn().begin(), pane.drawn().end(),
                                             [](const ui::DrawnChart& c) {
                                                 return c.metric == "mem.total" &&
                                                        c.lines.size() == 1 &&
                                                        c.lines[0].label == "sum";
                                             }),
                                 30000);
        const QList<QPointF> sum = drawnLine(pane, "mem.total");
        QVERIFY(!sum.isEmpty());
        const qint64 until = qint64(sum.last().x());
        const QList<QPointF> expected =
            client::sumOnGrid({history(api, "containers/" + a, "mem.total", until),
                               history(api, "containers/" + b, "mem.total", until)},
                              1000);
        QCOMPARE(sum, upTo(expected, sum.last().x()));
        pane.setSummed(false);

        // Live: the stream adds points to the charts.
        pane.setSources("test", {source(env, a, "/pair")});
        {
            QSignalSpy drawn(&pane, &ui::MetricsPane::drawnCharts);
            pane.setLive(true);
            QVERIFY(drawn.wait(30000));
        }
        const qsizetype before = drawnLine(pane, "processes").size();
        QTRY_VERIFY_WITH_TIMEOUT(drawnLine(pane, "processes").size() >= before + 2, 30000);
        pane.setLive(false);

        // A container that stopped: its line ends where it ended, nothing after, no zero.
        auto killed = api.call("DELETE", client::agentPath({}, "tasks/v1/" + b));
        QVERIFY2(killed.ok(), qPrintable(killed.error));
        qint64 endedMs = 0;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const auto t = api.call("GET", client::agentPath({}, "tasks/v1/" + b));
                const QJsonObject o = QJsonDocument::fromJson(t.body).object();
                if (o.value("state").toString() == "running")
                    return false;
                endedMs = QDateTime::currentMSecsSinceEpoch();
                return true;
            }(),
            30000);
        QTest::qWait(3000); // collections after the end: none may add a point
        QVERIFY(showHistory(pane, {source(env, b, "/pair")}));
        const QList<QPointF> ended = drawnLine(pane, "mem.total");
        QVERIFY(!ended.isEmpty());
        QVERIFY2(ended.last().x() <= double(endedMs) + 1000,
                 qPrintable(QString("a point at %1, the task ended by %2")
                                .arg(qint64(ended.last().x()))
                                .arg(endedMs)));

        // A click on a chart: that moment, with the chart's container as the origin.
        QSignalSpy chosen(&pane, &ui::MetricsPane::timeChosen);
        QVERIFY(showHistory(pane, {source(env, a, "/pair")}));
        pane.show(); // (the widget: the chart needs a geometry to be clicked)
        QVERIFY(QTest::qWaitForWindowExposed(&pane));
        auto* view = pane.chartArea()->findChild<QAbstractScrollArea*>("metric-chart");
        QVERIFY(view);
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->viewport()->rect().center());
        QCOMPARE(chosen.size(), 1);
        const qint64 at = chosen[0][0].toLongLong();
        QCOMPARE(chosen[0][1].toLongLong(), at);
        const auto origins = chosen[0][2].value<QList<client::MetricOrigin>>();
        QCOMPARE(origins.size(), 1);
        QCOMPARE(origins[0].containerId, a);
        const double now = double(QDateTime::currentMSecsSinceEpoch());
        // The plot's middle: about half the range (5 min) before the window's end (which is at
        // most a tenth of the range after the drawing).
        QVERIFY2(now - double(at) > 100000 && now - double(at) < 200000,
                 qPrintable(QString("clicked %1 s before now").arg((now - double(at)) / 1000)));
    }

    // The stream drops for a few seconds (the agent goes on collecting): after the reconnect the
    // hole is fetched from the history, so the line holds every collection of that time.
    void aStreamsReconnectFillsTheHole() {
        if (const std::string why = TaskAgent::unavailable(); !why.empty())
            QSKIP(why.c_str());
        TaskAgent env("mr");
        client::ApiClient direct(env.endpoint());
        QVERIFY(direct.init(nullptr));
        QString error;
        const QString cid =
            containerOf(env.launch(direct, "fw", "/steady", "exec sleep 100000", &error));
        QVERIFY2(!cid.isEmpty(), qPrintable(error));
        CuttableProxy proxy(quint16(env.endpoint().base.port()));
        client::ApiClient api(client::Endpoint{
            QUrl(QStringLiteral("http://127.0.0.1:%1").arg(proxy.port())), {}, {}});
        QVERIFY(api.init(nullptr));

        ui::MetricsPane pane;
        pane.resize(1200, 900);
        pane.setApi(&api);
        pane.setRangeSeconds(300);
        QSignalSpy loaded(&pane, &ui::MetricsPane::historyLoaded);
        pane.setSources("test", {source(env, cid, "/steady")});
        QVERIFY(loaded.wait(30000));
        auto held = [&] {
            for (const auto& s : pane.series())
                if (s.name == "processes" && s.source == "containers/" + cid)
                    return s.points;
            return QList<QPointF>();
        };
        // Live: points come from the stream.
        const qsizetype before = held().size();
        QTRY_VERIFY_WITH_TIMEOUT(held().size() >= before + 2, 30000);
        proxy.cut();
        // What was on its way before the cut is taken; then nothing more comes through.
        QTest::qWait(500);
        const double cutAt = held().last().x();
        // Collections the pane cannot see (the agent's history has them).
        QTRY_VERIFY_WITH_TIMEOUT(
            history(direct, "containers/" + cid, "processes", QDateTime::currentMSecsSinceEpoch())
                    .last()
                    .x() >= cutAt + 4000,
            30000);
        QVERIFY(held().last().x() == cutAt);
        proxy.mend();

        // Back: the stream goes on, and the hole is filled (the history's answer for it may
        // come after the stream's first new points: waited for, not assumed).
        QTRY_VERIFY_WITH_TIMEOUT(held().last().x() >= cutAt + 6000, 60000);
        QList<QPointF> agentSince, mineSince;
        auto compare = [&] {
            const QList<QPointF> agent =
                history(direct, "containers/" + cid, "processes", qint64(held().last().x()));
            const QList<QPointF> mine = held();
            agentSince.clear();
            mineSince.clear();
            for (const QPointF& p : agent)
                if (p.x() >= cutAt)
                    agentSince.append(p);
            for (const QPointF& p : mine)
                if (p.x() >= cutAt && !agent.isEmpty() && p.x() <= agent.last().x())
                    mineSince.append(p);
            return agentSince.size() >= 6 && mineSince == agentSince;
        };
        QTRY_VERIFY_WITH_TIMEOUT(compare(), 30000);
        QCOMPARE(mineSince, agentSince);
    }
};

QTEST_MAIN(MetricsPaneTest)
#include "metrics_pane_test.moc"
