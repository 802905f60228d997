// The console's window against a real agent: at the start (nothing selected) the charts show
// the cluster's hosts; a range dragged on a chart of a container makes the log pane show that
// container's lines of that range, exactly what the logs API's range query answers for it, with
// a marker at the chosen time; a log line's "show in metrics" puts the charts' cursor at its
// time; the docks' layout and the selection come back at the next start. Needs root.
#include "log_pane.h"
#include "main_window.h"
#include "metrics_pane.h"

#include "task_agent.h"

#include <QDockWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <QTreeView>

using namespace day2;
using day2::test::TaskAgent;

class ConsoleWindowTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true); // settings of the test's own
        QSettings().clear();
    }

    void chartsAndLogsTogetherAndTheLayoutKept() {
        if (const std::string why = TaskAgent::unavailable(); !why.empty())
            QSKIP(why.c_str());
        TaskAgent env("cc");
        client::ApiClient api(env.endpoint());
        QVERIFY(api.init(nullptr));
        QString error;
        // A line every 50 ms, numbered.
        const QString stream =
            env.launch(api, "fw", "/ticker",
                       "i=0; while :; do echo \"tick $i\"; i=$((i+1)); sleep 0.05; done", &error);
        QVERIFY2(!stream.isEmpty(), qPrintable(error));
        const QString cid = stream.section(QLatin1Char('/'), -1);
        const QString range = QString(stream).replace("/logs/v1/stream/", "/logs/v1/range/");
        auto lines = [&](qint64 sinceUs, qint64 untilUs) {
            QUrlQuery q;
            q.addQueryItem("since", QString::number(sinceUs));
            q.addQueryItem("until", QString::number(untilUs));
            const auto r = api.call("GET", range, q);
            QList<QByteArray> out;
            for (const QByteArray& l : r.body.split('\n'))
                if (auto e = client::parseLogEntry(l))
                    out.append(e->message);
            return out;
        };
        // Three seconds of lines.
        QTRY_VERIFY_WITH_TIMEOUT(lines(0, QDateTime::currentMSecsSinceEpoch() * 1000).size() >= 60,
                                 30000);

        ui::MainWindow w;
        w.resize(1400, 900);
        w.restoreLayout(); // nothing saved yet: the default
        QVERIFY(w.connectTo({env.endpoint().base.toString(), {}, {}, {}}, &error));
        QSignalSpy refreshed(&w, &ui::MainWindow::connectedAndRefreshed);
        QVERIFY(refreshed.wait(30000));
        // The start: the cluster's hosts, a line per agent.
        QTRY_VERIFY_WITH_TIMEOUT(
            std::any_of(w.metricsPane()->drawn().begin(), w.metricsPane()->drawn().end(),
                        [](const ui::DrawnChart& c) {
                            return c.metric == "cpu.total" && c.lines.size() == 1;
                        }),
            30000);
        QCOMPARE(w.metricsPane()->groupBy(), client::GroupBy::Agent);
        w.selectByKey(cid);
        QTRY_VERIFY_WITH_TIMEOUT(w.logPane()->lineCount() > 0, 30000);

        // The second second of the task's lines, as a drag on its chart gives it.
        const QList<client::MetricOrigin> origins = {
            client::MetricOrigin{w.clusterModel()->containersUnder({}).first().agentId, "node", cid,
                                 "marathon", "/ticker"}};
        qint64 firstUs = 0;
        {
            const auto r = api.call("GET", range);
            for (const QByteArray& l : r.body.split('\n'))
                if (auto e = client::parseLogEntry(l)) {
                    firstUs = e->realtimeUsec;
                    break;
                }
        }
        QVERIFY(firstUs > 0);
        const qint64 fromMs = firstUs / 1000 + 1000, toMs = fromMs + 1000;
        emit w.metricsPane()->timeChosen(fromMs, toMs, origins);
        const QList<QByteArray> expected = lines(fromMs * 1000, toMs * 1000);
        QVERIFY(expected.size() >= 10);
        auto shown = [&] {
            QList<QByteArray> rows;
            const auto* m = w.logPane()->model();
            for (int r = 0; r < m->rowCount(); ++r)
                rows.append(m->index(r).data(ui::LogListModel::MessageRole).toByteArray());
            return rows;
        };
        // The lines of the range, and one marker (at the chosen time: before them all).
        QTRY_COMPARE_WITH_TIMEOUT(shown().size(), expected.size() + 1, 30000);
        const QList<QByteArray> rows = shown();
        QVERIFY2(rows.first().contains("the time chosen on the chart"), rows.first().constData());
        QCOMPARE(rows.mid(1), expected);

        // And back: a line's "show in metrics" puts the charts' cursor at its time, the range
        // widened to hold it (20 minutes ago: the hour).
        const qint64 earlier = QDateTime::currentMSecsSinceEpoch() - 20 * 60 * 1000;
        emit w.logPane()->showInMetrics(earlier);
        QCOMPARE(w.metricsPane()->cursorTime(), earlier);
        QCOMPARE(w.metricsPane()->rangeSeconds(), qint64(3600));

        // The layout and the selection are kept: the terminal closed, the next window has it
        // closed and the container selected.
        w.findChild<QDockWidget*>("terminal")->close();
        w.close();
        ui::MainWindow next;
        next.restoreLayout();
        QVERIFY(next.findChild<QDockWidget*>("terminal")->isHidden());
        QVERIFY(!next.findChild<QDockWidget*>("metrics")->isHidden());
        QVERIFY(next.connectTo({env.endpoint().base.toString(), {}, {}, {}}, &error));
        QTRY_VERIFY_WITH_TIMEOUT(
            next.tree()->currentIndex().data(client::ClusterModel::KeyRole).toString() == cid,
            30000);
    }
};

QTEST_MAIN(ConsoleWindowTest)
#include "console_window_test.moc"
