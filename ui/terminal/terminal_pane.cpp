#include "terminal/terminal_pane.h"

#include "client/exec_session.h"
#include "terminal/terminal_view.h"

#include <QLabel>
#include <QStackedLayout>
#include <QTabWidget>
#include <QTimer>

namespace day2::ui {

struct TerminalPane::Tab {
    TerminalView* view = nullptr;
    client::ExecSession* session = nullptr; // null once it ended
    QString name;                           // "web 3f2a9c on node-1"
    client::ExecRequest request;            // what a new session in the tab runs again
    int exitCode = -1;
    bool lost = false;
};

TerminalPane::TerminalPane(QWidget* parent) : QWidget(parent) {
    m_tabs = new QTabWidget;
    m_tabs->setTabsClosable(true);
    m_tabs->setDocumentMode(true);
    m_empty = new QLabel(tr("Open a shell in a container: right-click it in the cluster tree "
                            "(Open shell, Run command…)."));
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setWordWrap(true);
    m_empty->setStyleSheet(QStringLiteral("color: palette(placeholder-text)"));
    auto* stack = new QStackedLayout(this);
    stack->addWidget(m_empty);
    stack->addWidget(m_tabs);
    connect(m_tabs, &QTabWidget::tabCloseRequested, this, &TerminalPane::closeTab);
}

TerminalPane::~TerminalPane() {
    for (Tab* t : m_list) {
        if (t->session) {
            t->session->disconnect(); // nothing of it may reach a tab that is gone
            t->session->abort();
        }
        delete t;
    }
}

void TerminalPane::setApi(client::ApiClient* api) {
    m_api = api;
}

int TerminalPane::indexOf(const Tab* t) const {
    return int(m_list.indexOf(const_cast<Tab*>(t)));
}

void TerminalPane::setTabText(Tab* t) {
    const int i = indexOf(t);
    if (i < 0)
        return;
    QString text = t->name;
    if (!t->view->title().isEmpty())
        text = t->view->title() + QStringLiteral(" · ") + text;
    if (t->exitCode >= 0)
        text += tr(" (exit %1)").arg(t->exitCode);
    else if (t->lost)
        text += tr(" (lost)");
    m_tabs->setTabText(i, text);
    m_tabs->setTabToolTip(i, text);
}

void TerminalPane::open(const client::ContainerRef& c, const QString& execPath,
                        const QStringList& command) {
    if (!m_api)
        return;
    auto* t = new Tab;
    t->view = new TerminalView;
    t->name =
        c.applicationName + QLatin1Char(' ') + c.containerId.left(6) + tr(" on ") + c.hostname;
    t->request.path = execPath;
    t->request.command = command.isEmpty()
                             ? QStringList{"sh", "-c",
                                           "if command -v bash >/dev/null 2>&1; then exec bash; "
                                           "else exec sh; fi"}
                             : command;
    t->request.stdinOpen = true;
    t->request.tty = true;
    m_list.append(t);
    const int index = m_tabs->addTab(t->view, t->name);
    m_tabs->setCurrentIndex(index);
    static_cast<QStackedLayout*>(layout())->setCurrentWidget(m_tabs);

    TerminalView* view = t->view;
    // Keys go to the session; once it ended, Enter starts a new one in the same tab.
    connect(view, &TerminalView::input, this, [this, t](const QByteArray& bytes) {
        if (t->session)
            t->session->sendStdin(bytes);
        else if (bytes.contains('\r'))
            startSession(t);
    });
    connect(view, &TerminalView::sizeChanged, this, [t](int cols, int rows) {
        if (t->session)
            t->session->resize(cols, rows);
    });
    connect(view, &TerminalView::titleChanged, this, [this, t] { setTabText(t); });
    view->setFocus();
    startSession(t);
}

void TerminalPane::startSession(Tab* t) {
    t->exitCode = -1;
    t->lost = false;
    t->session = new client::ExecSession(m_api->endpoint(), t->request, t->view);
    setTabText(t);
    client::ExecSession* session = t->session;
    connect(session, &client::ExecSession::ready, t->view,
            [t, session] { session->resize(t->view->columns(), t->view->rows()); });
    connect(session, &client::ExecSession::output, t->view,
            [this, t](client::ExecSession::Stream, const QByteArray& bytes) {
                t->view->feed(bytes);
                emit outputArrived(indexOf(t));
            });
    connect(
        session, &client::ExecSession::finished, this, [this, t](int code, const QString& message) {
            t->exitCode = code;
            endSession(t, QStringLiteral("\x1b[2m[%1 · Enter: a new session]\x1b[0m")
                              .arg(message.isEmpty() ? tr("exited with %1").arg(code) : message));
            emit sessionFinished(indexOf(t), code);
        });
    connect(session, &client::ExecSession::error, this, [this, t](const QString& why, int) {
        if (t->exitCode >= 0 || !t->session)
            return;
        t->lost = true;
        endSession(t, QStringLiteral("\x1b[31m[%1 · Enter: a new session]\x1b[0m").arg(why));
        emit sessionLost(indexOf(t), why);
    });
    session->start();
}

void TerminalPane::endSession(Tab* t, const QString& line) {
    t->view->feed(QStringLiteral("\r\n%1\r\n").arg(line).toUtf8());
    client::ExecSession* old = t->session;
    old->disconnect(); // nothing more of it reaches the tab
    // Gone once its close handshake had time (or with the tab's view, its parent).
    QTimer::singleShot(5000, old, &QObject::deleteLater);
    t->session = nullptr;
    setTabText(t);
}

QString TerminalPane::tabName(int tab) const {
    return tab >= 0 && tab < m_list.size() ? m_list[tab]->name : QString();
}

void TerminalPane::closeTab(int index) {
    if (index < 0 || index >= m_list.size())
        return;
    Tab* t = m_list.takeAt(index);
    m_tabs->removeTab(index);
    if (t->session) {
        t->session->disconnect(); // nothing of it may reach the tab once it is gone
        t->session->abort();
    }
    t->view->deleteLater(); // the session with it (its child)
    delete t;
    if (m_list.isEmpty())
        static_cast<QStackedLayout*>(layout())->setCurrentWidget(m_empty);
}

int TerminalPane::tabCount() const {
    return int(m_list.size());
}

TerminalView* TerminalPane::view(int tab) const {
    return tab >= 0 && tab < m_list.size() ? m_list[tab]->view : nullptr;
}

int TerminalPane::exitCode(int tab) const {
    return tab >= 0 && tab < m_list.size() ? m_list[tab]->exitCode : -1;
}

int TerminalPane::currentTab() const {
    return m_tabs->currentIndex();
}

} // namespace day2::ui
