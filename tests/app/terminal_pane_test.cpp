// The console's terminal pane against a real agent and task: an exec tab with a shell, typed
// into as a person would; `echo $((6*7))` shows 42, a resize of the widget changes `stty size`,
// `exit 3` shows exit code 3 in the tab, and the screen stays. Needs root.
#include "terminal/terminal_pane.h"
#include "terminal/terminal_view.h"

#include "task_agent.h"

#include <QSignalSpy>
#include <QTabWidget>
#include <QTest>

using namespace day2;
using day2::test::TaskAgent;

namespace {

bool hasLine(const ui::TerminalView* v, const QString& line) {
    const QStringList lines = v->screenText().split('\n');
    return std::any_of(lines.begin(), lines.end(),
                       [&](const QString& l) { return l.trimmed() == line; });
}

} // namespace

class TerminalPaneTest : public QObject {
    Q_OBJECT
private slots:
    void aShellTypedIntoResizedAndExited() {
        if (const std::string why = TaskAgent::unavailable(); !why.empty())
            QSKIP(why.c_str());
        TaskAgent env("tp");
        client::ApiClient api(env.endpoint());
        QVERIFY(api.init(nullptr));
        QString error;
        const QString stream = env.launch(api, "fw", "/term", "exec sleep 100000", &error);
        QVERIFY2(!stream.isEmpty(), qPrintable(error));
        client::ContainerRef c;
        c.containerId = stream.section(QLatin1Char('/'), -1);
        c.applicationName = "/term";
        c.hostname = "node";
        c.state = "running";

        ui::TerminalPane pane;
        pane.setApi(&api);
        pane.resize(700, 400);
        pane.show();
        QVERIFY(QTest::qWaitForWindowExposed(&pane));
        pane.open(c, client::agentPath({}, "exec/v1/containers/" + c.containerId), {});
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
        QVERIFY(hasLine(view, "42")); // the screen stays
    }
};

QTEST_MAIN(TerminalPaneTest)
#include "terminal_pane_test.moc"
