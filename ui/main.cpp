// day2-console: the desktop console of day2 (docs/console.md).
//   day2-console [--connect URL --token-file F --ca FILE] [--select <container|app>]
//                [--group-by agent|framework|container] [--range 5m|15m|1h|6h|24h]
//                [--exec TASK [--exec-command CMD]]
//                [--snapshot FILE.png [--snapshot-timeout S] [--snapshot-hold S]]
// --snapshot renders the window once data has arrived, saves it and exits (tests, README).
#include "log_pane.h"
#include "main_window.h"
#include "metrics_pane.h"
#include "terminal/terminal_pane.h"
#include "terminal/terminal_view.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QPixmap>
#include <QSettings>
#include <QTimer>
#include <QTreeView>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

using namespace day2::ui;

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("day2"));
    QApplication::setApplicationName(QStringLiteral("day2-console"));
    QCommandLineParser cli;
    cli.setApplicationDescription(
        QStringLiteral("The day2 console: the cluster tree, live logs, metrics and a terminal.\n"
                       "Without --connect it uses the saved connection or asks for one."));
    cli.addHelpOption();
    QCommandLineOption connect({"c", "connect"}, "Adminrouter's URL (https://host:8443).", "URL");
    QCommandLineOption tokenFile("token-file", "A file holding the JWT.", "FILE");
    QCommandLineOption ca("ca", "The CA that signed Adminrouter's certificate (PEM).", "FILE");
    QCommandLineOption select("select", "Tail this container (id or prefix) or application.",
                              "NAME");
    QCommandLineOption snapshot("snapshot",
                                "Render the window once data has arrived, save it as PNG, print a "
                                "summary (JSON) and exit: 0 with data, 1 without.",
                                "FILE.png");
    QCommandLineOption timeout("snapshot-timeout", "Give up waiting for data after S seconds.", "S",
                               "30");
    QCommandLineOption hold("snapshot-hold",
                            "With --snapshot: stay S seconds more once data has arrived (live "
                            "updates), then take it; the summary's \"gui\" says how the GUI "
                            "thread kept up.",
                            "S", "0");
    QCommandLineOption groupBy("group-by",
                               "Charts: a line per agent, framework or container (by default "
                               "agents for the cluster and an agent, containers otherwise).",
                               "agent|framework|container");
    QCommandLineOption range("range", "Charts: the time shown, ending now (default 15m).",
                             "5m|15m|1h|6h|24h");
    QCommandLineOption exec("exec",
                            "Open a shell in this task (id, prefix or application, as the CLI "
                            "names them) in the terminal pane.",
                            "TASK");
    QCommandLineOption execCommand("exec-command", "With --exec: run this (by sh -c) instead.",
                                   "CMD");
    cli.addOptions({connect, tokenFile, ca, select, groupBy, range, exec, execCommand, snapshot,
                    timeout, hold});
    cli.process(app);

    MainWindow w;
    if (cli.isSet(groupBy)) {
        const auto g = day2::client::parseGroupBy(cli.value(groupBy));
        if (!g) {
            std::fprintf(stderr, "day2-console: --group-by '%s': agent, framework or container\n",
                         qPrintable(cli.value(groupBy)));
            return 2;
        }
        w.metricsPane()->setGroupBy(*g);
        w.fixGroupBy();
    }
    if (cli.isSet(range)) {
        const QString r = cli.value(range);
        qint64 seconds = 0;
        for (qint64 s : MetricsPane::kRanges)
            if (r == (s < 3600 ? QString::number(s / 60) + "m" : QString::number(s / 3600) + "h"))
                seconds = s;
        if (seconds == 0) {
            std::fprintf(stderr, "day2-console: --range '%s': 5m, 15m, 1h, 6h or 24h\n",
                         qPrintable(r));
            return 2;
        }
        w.metricsPane()->setRangeSeconds(seconds);
    }
    ConnectionSettings c;
    if (cli.isSet(connect)) {
        c.url = cli.value(connect);
        c.tokenFile = cli.value(tokenFile);
        c.ca = cli.value(ca);
    } else {
        QSettings s;
        c.url = s.value("url").toString();
        c.ca = s.value("ca").toString();
        c.tokenFile = s.value("token_file").toString();
        if (!c.url.isEmpty() && c.tokenFile.isEmpty()) {
            QString warning;
            c.token = TokenStore::load(c.url, &warning);
            if (!warning.isEmpty())
                std::fprintf(stderr, "day2-console: %s\n", qPrintable(warning));
        }
    }
    const bool snapshotMode = cli.isSet(snapshot);
    if (!c.url.isEmpty()) {
        QString error;
        if (!w.connectTo(c, &error)) {
            std::fprintf(stderr, "day2-console: %s\n", qPrintable(error));
            if (snapshotMode)
                return 1;
            QMessageBox::warning(&w, QStringLiteral("Connect"), error);
        }
    }
    if (cli.isSet(select)) // selected once the tree has it (the window retries after refreshes)
        w.selectByKey(cli.value(select));
    if (!snapshotMode) // a snapshot is of the default layout, and changes no saved one
        w.restoreLayout();
    if (cli.isSet(exec)) {
        // Once the tree knows the task (it may take a refresh or two).
        const QString task = cli.value(exec);
        const QStringList command =
            cli.isSet(execCommand)
                ? QStringList{QStringLiteral("sh"), QStringLiteral("-c"), cli.value(execCommand)}
                : QStringList{};
        auto opened = std::make_shared<bool>(false);
        auto said = std::make_shared<QString>();
        QObject::connect(&w, &MainWindow::connectedAndRefreshed, &w,
                         [&w, task, command, opened, said] {
                             QString why;
                             if (*opened)
                                 return;
                             if (w.openExecByName(task, command, &why)) {
                                 *opened = true;
                             } else if (why != *said) { // said once, not at every refresh
                                 *said = why;
                                 std::fprintf(stderr, "day2-console: --exec %s: %s\n",
                                              qPrintable(task), qPrintable(why));
                             }
                         });
    }
    w.show();
    if (c.url.isEmpty() && !snapshotMode)
        QTimer::singleShot(0, &w, &MainWindow::showConnectionDialog);

    if (snapshotMode) {
        const QString file = cli.value(snapshot);
        // How the GUI thread keeps up: a 5 ms heartbeat's lateness (a stall), and when the first
        // log line and the first chart arrived, from the start.
        struct Gui {
            QElapsedTimer started, sinceTick;
            QTimer heartbeat;
            std::vector<double> stalls; // ms
            qint64 firstLineMs = -1, firstChartMs = -1;
            size_t readyAt = 0; // heartbeats before the data had arrived
        };
        auto gui = std::make_shared<Gui>();
        gui->started.start();
        gui->sinceTick.start();
        gui->heartbeat.setTimerType(Qt::PreciseTimer);
        gui->heartbeat.setInterval(5);
        QObject::connect(&gui->heartbeat, &QTimer::timeout, &w, [g = gui.get()] {
            if (g->stalls.size() < 1000000)
                g->stalls.push_back(std::max(0.0, double(g->sinceTick.nsecsElapsed()) / 1e6 - 5));
            g->sinceTick.restart();
        });
        gui->heartbeat.start();
        QObject::connect(w.logPane(), &LogPane::linesArrived, &w, [g = gui.get()](int total) {
            if (g->firstLineMs < 0 && total > 0)
                g->firstLineMs = g->started.elapsed();
        });
        QObject::connect(w.metricsPane(), &MetricsPane::drawnCharts, &w, [&w, g = gui.get()] {
            if (g->firstChartMs < 0 && w.metricsPane()->pointCount() > 0)
                g->firstChartMs = g->started.elapsed();
        });
        auto take = [&w, &app, file, gui](bool gotData) {
            w.repaint();
            const QPixmap shot = w.grab();
            const bool saved = shot.save(file, "PNG");
            const LogView* v = w.logPane()->view();
            const QRect logRect(v->viewport()->mapTo(&w, QPoint(0, 0)), v->viewport()->size());
            const QWidget* m = w.metricsPane()->chartArea();
            const QRect metricsRect(m->mapTo(&w, QPoint(0, 0)), m->size());
            const MetricsPane* mp = w.metricsPane();
            const TerminalPane* tp = w.terminalPane();
            const int tab = tp->currentTab();
            if (tp->view(tab))
                tp->view(tab)->flush(); // (output waiting to be parsed)
            const QRect termRect(tp->mapTo(&w, QPoint(0, 0)), tp->size());
            const QTreeView* t = w.tree();
            const QRect treeRect(t->viewport()->mapTo(&w, QPoint(0, 0)), t->viewport()->size());
            QJsonObject summary{
                {"file", file},
                {"saved", saved},
                {"width", shot.width()},
                {"height", shot.height()},
                {"agents", w.clusterModel() ? w.clusterModel()->agentCount() : 0},
                {"containers", w.clusterModel() ? w.clusterModel()->containerCount() : 0},
                {"log_lines", w.logPane()->lineCount()},
                {"log_rect", QJsonObject{{"x", logRect.x()},
                                         {"y", logRect.y()},
                                         {"w", logRect.width()},
                                         {"h", logRect.height()}}},
                {"metrics", QJsonObject{{"charts", mp->chartCount()},
                                        {"series", mp->lineCount()},
                                        {"points", qint64(mp->pointCount())},
                                        {"group_by", day2::client::groupByName(mp->groupBy())}}},
                {"metrics_rect", QJsonObject{{"x", metricsRect.x()},
                                             {"y", metricsRect.y()},
                                             {"w", metricsRect.width()},
                                             {"h", metricsRect.height()}}},
                {"terminal",
                 QJsonObject{{"tabs", tp->tabCount()},
                             {"screen", tp->view(tab) ? tp->view(tab)->screenText() : QString()},
                             {"exit_code", tp->exitCode(tab)}}},
                {"terminal_rect", QJsonObject{{"x", termRect.x()},
                                              {"y", termRect.y()},
                                              {"w", termRect.width()},
                                              {"h", termRect.height()}}},
                {"gui",
                 [&gui] {
                     // A share `q` of a sorted list (0 for none); the whole run and, once the
                     // data had arrived, the hold (live updates only).
                     const auto at = [](const std::vector<double>& sorted, double q) {
                         return sorted.empty()
                                    ? 0.0
                                    : sorted[std::min(sorted.size() - 1,
                                                      size_t(q * double(sorted.size())))];
                     };
                     std::vector<double> stalls = gui->stalls;
                     std::vector<double> live(
                         gui->stalls.begin() +
                             std::ptrdiff_t(std::min(gui->readyAt, gui->stalls.size())),
                         gui->stalls.end());
                     std::sort(stalls.begin(), stalls.end());
                     std::sort(live.begin(), live.end());
                     return QJsonObject{{"first_line_ms", gui->firstLineMs},
                                        {"first_chart_ms", gui->firstChartMs},
                                        {"stall_p50_ms", at(stalls, 0.5)},
                                        {"stall_p99_ms", at(stalls, 0.99)},
                                        {"stall_max_ms", at(stalls, 1.0)},
                                        {"heartbeats", qint64(stalls.size())},
                                        {"live_stall_p99_ms", at(live, 0.99)},
                                        {"live_stall_max_ms", at(live, 1.0)},
                                        {"seconds", double(gui->started.elapsed()) / 1000}};
                 }()},
                {"tree_rect", QJsonObject{{"x", treeRect.x()},
                                          {"y", treeRect.y()},
                                          {"w", treeRect.width()},
                                          {"h", treeRect.height()}}}};
            std::printf("%s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
            std::fflush(stdout);
            app.exit(saved && gotData ? 0 : 1);
        };
        // Enough lines to fill the view (with --select), charts with points (or 10 s more for
        // them), the exec session's output (with --exec: its end for a command, its first
        // output for a shell), then a moment for the last paint.
        struct Ready {
            bool logs = false, charts = false, terminal = false, scheduled = false;
        };
        auto ready = std::make_shared<Ready>();
        ready->logs = !cli.isSet(select);
        ready->terminal = !cli.isSet(exec);
        const int holdMs = std::max(0, cli.value(hold).toInt()) * 1000;
        auto maybeTake = [&w, take, ready, holdMs, g = gui.get()] {
            if (ready->scheduled || !ready->logs || !ready->terminal)
                return;
            if (ready->charts) {
                ready->scheduled = true;
                g->readyAt = g->stalls.size();
                QTimer::singleShot(1500 + holdMs, &w, [take] { take(true); });
            } else {
                QTimer::singleShot(10000, &w, [ready, take] {
                    if (!ready->scheduled) {
                        ready->scheduled = true;
                        take(true);
                    }
                });
            }
        };
        QObject::connect(
            w.logPane(), &LogPane::linesArrived, &w, [&w, ready, maybeTake](int total) {
                const int visible =
                    w.logPane()->view()->viewport()->height() /
                    std::max(1, w.logPane()->view()->verticalHeader()->defaultSectionSize());
                if (ready->logs || total < std::min(visible, 20))
                    return;
                ready->logs = true;
                maybeTake();
            });
        QObject::connect(w.metricsPane(), &MetricsPane::drawnCharts, &w, [&w, ready, maybeTake] {
            if (!ready->charts && w.metricsPane()->pointCount() > 0) {
                ready->charts = true;
                maybeTake();
            }
        });
        const bool waitForEnd = cli.isSet(execCommand);
        QObject::connect(w.terminalPane(), &TerminalPane::sessionFinished, &w,
                         [ready, maybeTake](int, int) {
                             ready->terminal = true;
                             maybeTake();
                         });
        QObject::connect(w.terminalPane(), &TerminalPane::outputArrived, &w,
                         [&w, ready, maybeTake, waitForEnd](int) {
                             if (waitForEnd || ready->terminal)
                                 return;
                             QTimer::singleShot(1500, &w, [ready, maybeTake] {
                                 ready->terminal = true;
                                 maybeTake();
                             });
                         });
        QTimer::singleShot(cli.value(timeout).toInt() * 1000, &w, [take, ready] {
            if (!ready->scheduled) {
                ready->scheduled = true;
                take(ready->logs && ready->terminal);
            }
        });
    }
    return app.exec();
}
