// The console's terminal pane against a real container through Adminrouter (the local cluster:
// agents in network namespaces behind nginx with TLS): an exec tab with a shell, typed into as a
// person would; `echo $((6*7))` shows 42, a resize of the widget changes `stty size`, `exit 3`
// shows exit code 3 in the tab, and the screen stays; Enter then starts a new session in the
// tab. Needs root.
#include "client/cluster_model.h"
#include "terminal/terminal_pane.h"
#include "terminal/terminal_view.h"

#include "demo_cluster.h"

#include <QSignalSpy>
#include <QTabWidget>
#include <QTest>

using namespace day2;

namespace {

bool hasLine(const ui::TerminalView* v, const QString& line) {
    const QStringList lines = v->screenText().split('\n');
    return std::any_of(lines.begin(), lines.end(),
                       [&](const QString& l) { return l.trimmed() == line; });
}

// The same, on the screen or in the scrollback (a resize may push top rows into it).
bool keptLine(const ui::TerminalView* v, const QString& line) {
    for (int i = 0; i < v->scrollbackCount(); ++i)
        if (v->scrollbackLine(i).trimmed() == line)
            return true;
    return hasLine(v, line);
}

} // namespace

class TerminalPaneTest : public QObject {
    Q_OBJECT
private slots:
    void aShellTypedIntoResizedAndExited() {
        if (::geteuid() != 0)
            QSKIP("needs root (the cluster's network namespaces)");
        test::DemoCluster cluster("d2t", "terminal-pane");
        QString out;
        QVERIFY2(cluster.up(1, &out), qPrintable(out));
        client::ApiClient api(cluster.endpoint());
        QString error;
        QVERIFY2(api.init(&error), qPrintable(error));
        // A running container of the sample `web` application, as the tree shows it.
        client::ClusterModel model(&api);
        QSignalSpy refreshed(&model, &client::ClusterModel::refreshed);
        client::ContainerRef c;
        for (int attempt = 0; attempt < 30 && c.containerId.isEmpty(); ++attempt) {
            model.refresh();
            QVERIFY(refreshed.wait(60000));
            const QModelIndex web =
                model.find("web", model.find("demo-framework-0001", model.index(0, 0)));
            for (const auto& ref : model.containersUnder(web))
                if (ref.state == "running")
                    c = ref;
            if (c.containerId.isEmpty())
                QTest::qWait(1000);
        }
        QVERIFY2(!c.containerId.isEmpty(), "no running web container");

        ui::TerminalPane pane;
        pane.setApi(&api);
        pane.resize(700, 400);
        pane.show();
        QVERIFY(QTest::qWaitForWindowExposed(&pane));
        pane.open(c, model.agentPathFor(c.agentId, "exec/v1/containers/" + c.containerId), {});
        QCOMPARE(pane.tabCount(), 1);
        ui::TerminalView* view = pane.view(0);
        QVERIFY(view);
        // The shell's prompt.
        QTRY_VERIFY_WITH_TIMEOUT(!view->screenText().trimmed().isEmpty(), 30000);

        QTest::keyClicks(view, "echo $((6*7))");
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view, "42"), qPrintable(view->screenText()), 30000);

        // A wider and taller widget: the terminal's size follows, and the shell sees it.
        const int cols = view->columns();
        pane.resize(900, 500);
        QTRY_VERIFY_WITH_TIMEOUT(view->columns() > cols, 10000);
        const QString size = QStringLiteral("%1 %2").arg(view->rows()).arg(view->columns());
        QTest::keyClicks(view, "stty size");
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view, size), qPrintable(view->screenText()), 30000);

        QSignalSpy finished(&pane, &ui::TerminalPane::sessionFinished);
        QTest::keyClicks(view, "exit 3");
        QTest::keyClick(view, Qt::Key_Return);
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished[0][1].toInt(), 3);
        QCOMPARE(pane.exitCode(0), 3);
        QVERIFY(pane.findChild<QTabWidget*>()->tabText(0).contains("exit 3"));
        QVERIFY2(keptLine(view, "42"), qPrintable(view->screenText())); // the screen stays

        // Enter in the ended tab: a new session in it, which works as the first did.
        QVERIFY(view->screenText().contains("Enter: a new session"));
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(pane.exitCode(0), -1, 10000);
        QVERIFY(!pane.findChild<QTabWidget*>()->tabText(0).contains("exit 3"));
        QTRY_VERIFY2_WITH_TIMEOUT(view->screenText().trimmed().endsWith('$') ||
                                      view->screenText().trimmed().endsWith('#'),
                                  qPrintable(view->screenText()),
                                  30000); // the new shell's prompt
        QTest::keyClicks(view, "echo again-$((2+3))");
        QTest::keyClick(view, Qt::Key_Return);
        QTRY_VERIFY2_WITH_TIMEOUT(hasLine(view, "again-5"), qPrintable(view->screenText()), 30000);
        QCOMPARE(pane.tabCount(), 1);
        QTest::keyClicks(view, "exit 4");
        QTest::keyClick(view, Qt::Key_Return);
        QVERIFY(finished.wait(30000));
        QCOMPARE(pane.exitCode(0), 4);
    }
};

QTEST_MAIN(TerminalPaneTest)
#include "terminal_pane_test.moc"
