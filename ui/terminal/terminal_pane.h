// The console's terminal pane: exec sessions in tabs, each a TerminalView on an ExecSession (a
// TTY session through the API, as `day2 task exec -it`). A tab's title names the container and
// its agent (and the program's own title, OSC 0/2); a finished session shows its exit code in
// the tab and keeps its screen; a lost connection says so in the screen; either way Enter in
// the tab starts a new session there; closing a tab ends its session.
#pragma once

#include "client/api_client.h"
#include "client/task_ref.h"

#include <QList>
#include <QStringList>
#include <QWidget>

class QLabel;
class QTabWidget;

namespace day2::client {
class ExecSession;
}

namespace day2::ui {

class TerminalView;

class TerminalPane : public QWidget {
    Q_OBJECT
public:
    explicit TerminalPane(QWidget* parent = nullptr);
    ~TerminalPane() override;
    void setApi(client::ApiClient* api);

    // A tab running `command` in container `c` (`execPath`: its agent's exec path for it); an
    // empty command is a shell: bash where the container has it, else sh.
    void open(const client::ContainerRef& c, const QString& execPath, const QStringList& command);
    int tabCount() const;
    TerminalView* view(int tab) const;
    // The exit code of a tab's session; -1 while it runs (or when it was lost).
    int exitCode(int tab) const;
    int currentTab() const;
    // "web 3f2a9c on node-1"
    QString tabName(int tab) const;

signals:
    // A tab's session ended with this exit code.
    void sessionFinished(int tab, int exitCode);
    // A tab's session was lost (refused, or its connection dropped).
    void sessionLost(int tab, const QString& why);
    // A tab's session printed output (tests and --snapshot wait for it).
    void outputArrived(int tab);

private:
    struct Tab;
    int indexOf(const Tab* t) const;
    void setTabText(Tab* t);
    void closeTab(int index);
    void startSession(Tab* t);
    void endSession(Tab* t, const QString& line); // the line shown, then the session let go

    client::ApiClient* m_api = nullptr;
    QTabWidget* m_tabs;
    QLabel* m_empty;
    QList<Tab*> m_list;
};

} // namespace day2::ui
