// The console's log pane against a real agent whose task wrote more lines than the pane keeps:
// it shows the newest page, pages back to the task's first line (dropping the newest once
// full, and then no longer following), pages forward again to the present and follows it, and
// at every step shows a run of the task's lines without a gap or a line twice. The agent's
// journal by unit shows that task's lines alone. Needs root.
#include "log_pane.h"

#include "task_agent.h"

#include <QSignalSpy>
#include <QTest>

using namespace day2;
using day2::test::TaskAgent;

namespace {

// The task's lines in order: "line 0" … "line 2999", then "late 0" … "late 99".
QList<QByteArray> expectedLines() {
    QList<QByteArray> all;
    for (int i = 0; i < 3000; ++i)
        all.append("line " + QByteArray::number(i));
    for (int i = 0; i < 100; ++i)
        all.append("late " + QByteArray::number(i));
    return all;
}

QList<QByteArray> shown(const ui::LogPane& pane) {
    QList<QByteArray> rows;
    const auto* m = pane.model();
    for (int r = 0; r < m->rowCount(); ++r)
        rows.append(m->index(r).data(ui::LogListModel::MessageRole).toByteArray());
    return rows;
}

// `rows` is a run of `all` without a gap or a repeat; returns where it starts (-1: it is not).
qsizetype runOf(const QList<QByteArray>& rows, const QList<QByteArray>& all) {
    if (rows.isEmpty())
        return -1;
    const qsizetype start = all.indexOf(rows.first());
    if (start < 0 || start + rows.size() > all.size())
        return -1;
    for (qsizetype i = 0; i < rows.size(); ++i)
        if (rows[i] != all[start + i])
            return -1;
    return start;
}

} // namespace

class LogPaneHistoryTest : public QObject {
    Q_OBJECT
private slots:
    void pagesBackToTheFirstLineAndForwardToThePresent() {
        if (const std::string why = TaskAgent::unavailable(); !why.empty())
            QSKIP(why.c_str());
        TaskAgent env("ph");
        client::ApiClient api(env.endpoint());
        QVERIFY(api.init(nullptr));
        QString error;
        // The late lines wait for the gate "late", opened once the pane follows the present
        // again: they come while it follows.
        const QString path =
            env.launch(api, "fw-history", "/pages",
                       "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; " +
                           env.waitFor("late") +
                           "; i=0; while [ $i -lt 100 ]; do echo late $i; i=$((i+1)); done",
                       &error);
        QVERIFY2(!path.isEmpty(), qPrintable(error));
        QUrlQuery q;
        q.addQueryItem("limit", "5000");
        QTRY_VERIFY_WITH_TIMEOUT(
            api.call("GET", client::rangePathOf(path), q).body.count('\n') >= 3000, 30000);
        const QList<QByteArray> all = expectedLines();

        ui::LogPane pane(&api, nullptr, 1000);
        pane.setPageLinesPerSource(400);
        pane.resize(900, 400);
        pane.show();
        pane.follow("pages", {client::FeedSource{"pages", path, {}}});
        QTRY_VERIFY_WITH_TIMEOUT(!pane.busy() && pane.lineCount() >= 400, 20000);
        QCOMPARE(runOf(shown(pane), all), qsizetype(2600)); // the newest page
        QVERIFY(!pane.detached());

        // Back: 2200, 1800, 1400 (full: the newest go), … 0.
        for (int n = 0; n < 20 && !pane.reachedStart(); ++n) {
            QVERIFY(pane.loadEarlier());
            QTRY_VERIFY_WITH_TIMEOUT(!pane.busy(), 20000);
            const auto rows = shown(pane);
            QVERIFY2(runOf(rows, all) >= 0, qPrintable(QString::number(n)));
            QVERIFY(rows.size() <= 1000);
        }
        QVERIFY(pane.reachedStart());
        QVERIFY(pane.detached()); // the newest lines were dropped on the way
        QVERIFY(!pane.loadEarlier());
        QCOMPARE(pane.lineCount(), 1000);
        QCOMPARE(runOf(shown(pane), all), qsizetype(0));

        // Forward to the present, then following again.
        for (int n = 0; n < 20 && pane.detached(); ++n) {
            QVERIFY(pane.loadNewer());
            QTRY_VERIFY_WITH_TIMEOUT(!pane.busy(), 20000);
            QVERIFY2(runOf(shown(pane), all) >= 0, qPrintable(QString::number(n)));
        }
        QVERIFY(!pane.detached());
        QCOMPARE(runOf(shown(pane), all), qsizetype(2000)); // the present: nothing late yet
        env.open("late");
        QTRY_VERIFY_WITH_TIMEOUT(shown(pane).contains("late 99"), 30000);
        QTest::qWait(300); // nothing more, nothing twice
        const auto rows = shown(pane);
        QCOMPARE(rows.size(), 1000);
        QCOMPARE(runOf(rows, all), all.size() - 1000);

        // The agent's journal, by unit: the task's stdout is the unit of its log scope.
        const QString unit = "day2-" + path.section('/', -1) + "-stdout.scope";
        const QString other = env.launch(api, "fw-history", "/other", "echo other line", &error);
        QVERIFY2(!other.isEmpty(), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(
            api.call("GET", client::rangePathOf(other), q).body.contains("other line"), 20000);
        QSignalSpy unitsLoaded(&pane, &ui::LogPane::unitsLoaded);
        pane.follow("journal",
                    {client::FeedSource{"node", client::agentPath({}, "logs/v1/stream/"), {}}});
        QVERIFY(unitsLoaded.wait(10000));
        QVERIFY2(pane.units().contains(unit), qPrintable(pane.units().join(", ")));
        QTRY_VERIFY_WITH_TIMEOUT(!pane.busy() && shown(pane).contains("other line"), 20000);
        QVERIFY(!pane.setUnit("no-such.service"));
        QVERIFY(pane.setUnit(unit));
        QTRY_VERIFY_WITH_TIMEOUT(!pane.busy() && pane.lineCount() > 0, 20000);
        const auto unitRows = shown(pane);
        QVERIFY(runOf(unitRows, all) >= 0); // only the task's lines, in order
    }
};

QTEST_MAIN(LogPaneHistoryTest)
#include "log_pane_history_test.moc"
