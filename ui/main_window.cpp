#include "main_window.h"

#include "log_pane.h"
#include "metrics_pane.h"
#include "terminal/terminal_pane.h"

#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QEventLoop>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QShowEvent>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTimer>
#include <QTreeView>
#include <QVBoxLayout>

#include <qt6keychain/keychain.h>

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace day2::ui {

using client::ClusterModel;
using client::ContainerRef;
using client::FeedSource;

namespace {

constexpr const char* kKeychainService = "day2-console";

QString tokenFilePath() {
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
           QStringLiteral("/day2/console-token");
}

// Runs a keychain job to its end, or 10 s (a locked keyring waiting for a password that nobody
// types, under --snapshot say, must not hold the console).
template <typename Job> bool runJob(Job& job, QString* error) {
    QEventLoop loop;
    bool finished = false;
    QObject::connect(&job, &QKeychain::Job::finished, &loop, [&] {
        finished = true;
        loop.quit();
    });
    QTimer::singleShot(10000, &loop, &QEventLoop::quit);
    job.start();
    if (!finished)
        loop.exec();
    if (!finished) {
        *error = QObject::tr("the keyring did not answer within 10 s");
        return false;
    }
    *error = job.errorString();
    return job.error() == QKeychain::NoError;
}

} // namespace

// --- the token between runs ------------------------------------------------------------------

bool TokenStore::save(const QString& url, const QByteArray& token, QString* warning) {
    QKeychain::WritePasswordJob job(QString::fromLatin1(kKeychainService));
    job.setAutoDelete(false);
    job.setKey(url);
    job.setBinaryData(token);
    QString why;
    if (runJob(job, &why))
        return true;
    // No keyring answers (no Secret Service on this desktop, or none at all): a file only this
    // user can read, created so from the start (no moment when it is readable by others), with
    // the URL it belongs to, and the user is told.
    const QString path = tokenFilePath();
    const QByteArray dir = QFileInfo(path).absolutePath().toLocal8Bit();
    QDir().mkpath(QString::fromLocal8Bit(dir));
    ::chmod(dir.constData(), 0700);
    const QByteArray tmp = (path + QStringLiteral(".new")).toLocal8Bit();
    ::unlink(tmp.constData());
    const int fd =
        ::open(tmp.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    const QByteArray body = url.toUtf8() + '\n' + token + '\n';
    const bool written = fd >= 0 &&
                         ::write(fd, body.constData(), size_t(body.size())) == body.size() &&
                         ::fsync(fd) == 0;
    if (fd >= 0)
        ::close(fd);
    if (!written || ::rename(tmp.constData(), path.toLocal8Bit().constData()) != 0) {
        ::unlink(tmp.constData());
        if (warning)
            *warning = QObject::tr("The token was not saved: no keyring answered (%1) and %2 "
                                   "cannot be written.")
                           .arg(why, path);
        return false;
    }
    if (warning)
        *warning = QObject::tr("No keyring answered (%1): the token is saved in %2, readable "
                               "only by you.")
                       .arg(why, path);
    return true;
}

QByteArray TokenStore::load(const QString& url, QString* warning) {
    QKeychain::ReadPasswordJob job(QString::fromLatin1(kKeychainService));
    job.setAutoDelete(false);
    job.setKey(url);
    QString why;
    if (runJob(job, &why))
        return job.binaryData();
    QFile f(tokenFilePath());
    if (!f.open(QIODevice::ReadOnly))
        return {};
    // The file names the cluster it belongs to: never sent to another one.
    const QList<QByteArray> lines = f.readAll().split('\n');
    if (lines.size() < 2 || QString::fromUtf8(lines[0]) != url)
        return {};
    if (warning)
        *warning = QObject::tr("No keyring answered (%1): the token comes from %2.")
                       .arg(why, f.fileName());
    return lines[1].trimmed();
}

// --- the connection dialog -------------------------------------------------------------------

ConnectionDialog::ConnectionDialog(const ConnectionSettings& current, QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Connect to a day2 cluster"));
    auto* form = new QFormLayout;
    m_url = new QLineEdit(current.url);
    m_url->setPlaceholderText(QStringLiteral("https://adminrouter:8443"));
    m_token = new QLineEdit(QString::fromUtf8(current.token));
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("a JWT (day2 token issue), or a token file below"));
    m_tokenFile = new QLineEdit(current.tokenFile);
    m_ca = new QLineEdit(current.ca);
    m_ca->setPlaceholderText(tr("the CA that signed Adminrouter's certificate (PEM)"));
    auto browse = [this](QLineEdit* target, const QString& title) {
        auto* row = new QWidget;
        auto* lay = new QHBoxLayout(row);
        lay->setContentsMargins(0, 0, 0, 0);
        auto* b = new QPushButton(tr("Browse…"));
        connect(b, &QPushButton::clicked, this, [this, target, title] {
            const QString f = QFileDialog::getOpenFileName(this, title, target->text());
            if (!f.isEmpty())
                target->setText(f);
        });
        lay->addWidget(target, 1);
        lay->addWidget(b);
        return row;
    };
    m_remember = new QCheckBox(tr("Remember (the token in the desktop keyring)"));
    m_remember->setChecked(true);
    form->addRow(tr("URL"), m_url);
    form->addRow(tr("Token"), m_token);
    form->addRow(tr("Token file"), browse(m_tokenFile, tr("Token file")));
    form->addRow(tr("CA file"), browse(m_ca, tr("CA certificate")));
    form->addRow(QString(), m_remember);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Connect"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* lay = new QVBoxLayout(this);
    lay->addLayout(form);
    lay->addWidget(buttons);
    resize(560, sizeHint().height());
}

ConnectionSettings ConnectionDialog::settings() const {
    return {m_url->text().trimmed(), m_tokenFile->text().trimmed(), m_ca->text().trimmed(),
            m_token->text().trimmed().toUtf8()};
}

bool ConnectionDialog::remember() const {
    return m_remember->isChecked();
}

// --- the window ------------------------------------------------------------------------------

MainWindow::MainWindow() {
    setWindowTitle(QStringLiteral("day2 console"));
    setObjectName(QStringLiteral("day2-console"));
    m_tree = new QTreeView;
    m_tree->setHeaderHidden(true);
    m_tree->setUniformRowHeights(true);
    m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_tree->setMinimumWidth(200);
    m_logPane = new LogPane(nullptr);
    m_metricsPane = new MetricsPane;

    // The panes are docks an operator moves, stacks as tabs, floats and closes (View brings one
    // back); the layout is kept between runs. By default the logs above, the charts and the
    // terminal below them.
    auto dock = [this](const QString& title, const QString& name, QWidget* w) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(w);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
        return d;
    };
    m_treeDock = dock(tr("Cluster"), QStringLiteral("cluster"), m_tree);
    m_logDock = dock(tr("Logs"), QStringLiteral("logs"), m_logPane);
    m_metricsDock = dock(tr("Metrics"), QStringLiteral("metrics"), m_metricsPane);
    m_terminalPane = new TerminalPane;
    // An exec session's end, also in the status line.
    connect(m_terminalPane, &TerminalPane::sessionFinished, this, [this](int tab, int code) {
        statusBar()->showMessage(
            tr("%1: exited with %2").arg(m_terminalPane->tabName(tab)).arg(code), 15000);
    });
    connect(m_terminalPane, &TerminalPane::sessionLost, this, [this](int tab, const QString& why) {
        statusBar()->showMessage(tr("%1: session lost: %2").arg(m_terminalPane->tabName(tab), why),
                                 15000);
    });
    m_terminalDock = dock(tr("Terminal"), QStringLiteral("terminal"), m_terminalPane);
    // A container's (or a one-container application's) menu: a shell or a command in it.
    m_tree->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_tree, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        const QModelIndex i = m_tree->indexAt(pos);
        if (!i.isValid() || !m_model)
            return;
        QList<ContainerRef> running;
        for (const auto& c : m_model->containersUnder(i))
            if (c.running())
                running.append(c);
        const auto kind = ClusterModel::Kind(m_model->data(i, ClusterModel::KindRole).toInt());
        QMenu menu(this);
        if (running.size() == 1 &&
            (kind == ClusterModel::Kind::Container || kind == ClusterModel::Kind::Application)) {
            const ContainerRef c = running.first();
            menu.addAction(tr("Open shell"), this, [this, c] { openExec(c, {}); });
            menu.addAction(tr("Run command…"), this, [this, c] {
                bool ok = false;
                const QString line = QInputDialog::getText(
                    this, tr("Run a command"),
                    tr("Command in %1 (run by sh -c):").arg(c.applicationName), QLineEdit::Normal,
                    QString(), &ok);
                if (ok && !line.trimmed().isEmpty())
                    openExec(c, {QStringLiteral("sh"), QStringLiteral("-c"), line});
            });
        }
        // An application runs under several agents: all of it at once (merged logs, a chart
        // line per container).
        if (kind == ClusterModel::Kind::Application) {
            const QString name = m_model->data(i, ClusterModel::KeyRole).toString();
            const QModelIndexList all = applicationsNamed(name);
            if (all.size() > 1)
                menu.addAction(tr("Select %1 on every agent (%2)").arg(name).arg(all.size()), this,
                               [this, name] { selectByKey(name); });
        }
        if (!menu.isEmpty())
            menu.exec(m_tree->viewport()->mapToGlobal(pos));
    });
    // The docks take the whole window: the central widget is an empty, hidden one.
    auto* central = new QWidget;
    setCentralWidget(central);
    central->hide();
    setDockNestingEnabled(true);
    defaultLayout();

    // A log line's "show in metrics": a time cursor on the charts.
    connect(m_logPane, &LogPane::showInMetrics, this, [this](qint64 ms) {
        m_metricsDock->show();
        m_metricsDock->raise();
        m_metricsPane->showTime(ms);
    });
    connect(m_metricsPane, &MetricsPane::timeChosen, this,
            [this](qint64 from, qint64 to, const QList<client::MetricOrigin>& origins) {
                showLogsAt(from, to, origins);
            });

    auto* file = menuBar()->addMenu(tr("&Cluster"));
    file->addAction(tr("&Connect…"), QKeySequence(Qt::CTRL | Qt::Key_K), this,
                    &MainWindow::showConnectionDialog);
    file->addAction(tr("&Refresh"), QKeySequence::Refresh, this, [this] {
        if (m_model)
            m_model->refresh();
    });
    file->addAction(tr("&Save log…"), QKeySequence::Save, this, [this] {
        const QString f = QFileDialog::getSaveFileName(this, tr("Save the lines shown"),
                                                       QStringLiteral("day2.log"));
        if (!f.isEmpty())
            m_logPane->saveTo(f);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::quit);
    auto* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* d : {m_treeDock, m_logDock, m_metricsDock, m_terminalDock})
        view->addAction(d->toggleViewAction());
    view->addSeparator();
    view->addAction(tr("&Reset layout"), this, &MainWindow::defaultLayout);
    m_connection = new QLabel(tr("not connected"));
    statusBar()->addWidget(m_connection, 1);
    m_refresh.setInterval(5000);
    connect(&m_refresh, &QTimer::timeout, this, [this] {
        if (m_model)
            m_model->refresh();
    });
    resize(1400, 860);
}

void MainWindow::openExec(const ContainerRef& c, const QStringList& command) {
    if (!m_model)
        return;
    m_terminalPane->open(
        c, m_model->agentPathFor(c.agentId, QStringLiteral("exec/v1/containers/") + c.containerId),
        command);
    m_terminalDock->show();
    m_terminalDock->raise();
}

bool MainWindow::openExecByName(const QString& task, const QStringList& command, QString* error) {
    if (!m_model)
        return false;
    const auto r = client::resolveTask(m_model->containersUnder({}), task);
    if (!r.match) {
        if (error)
            *error = r.error;
        return false;
    }
    openExec(*r.match, command);
    return true;
}

MainWindow::~MainWindow() {
    m_metricsPane->setApi(nullptr);
    m_logPane->setApi(nullptr);
}

void MainWindow::defaultLayout() {
    for (QDockWidget* d : {m_treeDock, m_logDock, m_metricsDock, m_terminalDock}) {
        removeDockWidget(d);
        d->setFloating(false);
    }
    // The tree at the side; the logs above, the charts and the terminal side by side below
    // them (the log pane's tool row is too wide to share the width with the charts).
    addDockWidget(Qt::LeftDockWidgetArea, m_treeDock);
    addDockWidget(Qt::RightDockWidgetArea, m_logDock);
    splitDockWidget(m_logDock, m_metricsDock, Qt::Vertical);
    splitDockWidget(m_metricsDock, m_terminalDock, Qt::Horizontal);
    for (QDockWidget* d : {m_treeDock, m_logDock, m_metricsDock, m_terminalDock})
        d->show();
    defaultSizes();
}

void MainWindow::defaultSizes() {
    const int rest = std::max(600, width() - 240);
    resizeDocks({m_treeDock, m_metricsDock, m_terminalDock}, {220, rest * 2 / 3, rest / 3},
                Qt::Horizontal);
    resizeDocks({m_logDock, m_metricsDock}, {height() * 9 / 20, height() * 11 / 20}, Qt::Vertical);
}

void MainWindow::showEvent(QShowEvent* e) {
    QMainWindow::showEvent(e);
    // Dock sizes take once the window has its size: the first time it is shown, unless the last
    // run's layout was restored.
    if (!m_shownOnce && !m_layoutRestored)
        QTimer::singleShot(0, this, &MainWindow::defaultSizes);
    m_shownOnce = true;
}

void MainWindow::restoreLayout() {
    QSettings s;
    m_keepLayout = true;
    restoreGeometry(s.value("window/geometry").toByteArray());
    m_layoutRestored = restoreState(s.value("window/state").toByteArray());
    const QString selection = s.value("window/selection").toString();
    if (!selection.isEmpty() && m_pendingSelect.isEmpty()) {
        m_pendingSelect = selection; // selected once the tree has it
        if (m_model)
            selectByKey(selection);
    }
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (m_keepLayout) {
        QSettings s;
        s.setValue("window/geometry", saveGeometry());
        s.setValue("window/state", saveState());
        const QModelIndex i = m_tree->currentIndex();
        s.setValue("window/selection", i.isValid() && m_model
                                           ? m_model->data(i, ClusterModel::KeyRole).toString()
                                           : QString());
    }
    QMainWindow::closeEvent(e);
}

void MainWindow::setStatus(const QString& text, bool problem) {
    m_connection->setText(text);
    m_connection->setStyleSheet(problem ? QStringLiteral("color: #b00") : QString());
}

bool MainWindow::connectTo(const ConnectionSettings& c, QString* error) {
    ConnectionSettings s = c;
    if (!s.tokenFile.isEmpty()) {
        QFile f(s.tokenFile);
        if (!f.open(QIODevice::ReadOnly)) {
            *error = tr("cannot read the token file %1: %2").arg(s.tokenFile, f.errorString());
            return false;
        }
        s.token = f.readAll().trimmed();
    }
    const QUrl url(s.url, QUrl::StrictMode);
    if (!url.isValid() || (url.scheme() != "https" && url.scheme() != "http") ||
        url.host().isEmpty()) {
        *error = tr("'%1' is not an http(s) URL like https://adminrouter:8443").arg(s.url);
        return false;
    }
    auto api = std::make_unique<client::ApiClient>(client::Endpoint{url, s.token, s.ca});
    if (!api->init(error))
        return false;
    m_logPane->setApi(api.get());
    m_metricsPane->setApi(api.get());
    m_terminalPane->setApi(api.get());
    m_shownCluster = false;
    m_tree->setModel(nullptr);
    m_model = std::make_unique<ClusterModel>(api.get());
    m_api = std::move(api);
    m_settings = s;
    m_tree->setModel(m_model.get());
    // (Once a change of the selection is complete: a Shift-click changes it in several steps.)
    connect(m_tree->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { QTimer::singleShot(0, this, &MainWindow::onSelection); });
    connect(m_model.get(), &ClusterModel::rowsInserted, this,
            [this](const QModelIndex& parent, int first, int last) {
                // Agents and frameworks open by themselves (once, when their children first come);
                // applications stay closed.
                if (!parent.isValid())
                    return;
                const auto kind =
                    ClusterModel::Kind(m_model->data(parent, ClusterModel::KindRole).toInt());
                if ((kind == ClusterModel::Kind::Agent || kind == ClusterModel::Kind::Framework) &&
                    m_model->rowCount(parent) == last - first + 1)
                    m_tree->expand(parent);
            });
    connect(m_model.get(), &ClusterModel::refreshed, this, [this] {
        const QString inv = m_model->inventoryError();
        int unreachable = 0;
        for (int r = 0; r < m_model->rowCount(); ++r)
            if (!m_model->data(m_model->index(r, 0), ClusterModel::ReachableRole).toBool())
                ++unreachable;
        if (!inv.isEmpty())
            setStatus(inv, true);
        else
            setStatus(tr("%1 · %2 agents%3 · %4 containers")
                          .arg(m_settings.url)
                          .arg(m_model->agentCount())
                          .arg(unreachable ? tr(" (%1 unreachable)").arg(unreachable) : QString())
                          .arg(m_model->containerCount()),
                      unreachable > 0);
        if (!m_pendingSelect.isEmpty())
            selectByKey(m_pendingSelect);
        // The start: nothing selected, the whole cluster's hosts on the charts.
        if (!m_tree->currentIndex().isValid() && !m_shownCluster && m_model->agentCount() > 0) {
            m_shownCluster = true;
            showClusterMetrics();
        }
        emit connectedAndRefreshed();
    });
    setStatus(tr("connecting to %1…").arg(s.url), false);
    m_model->refresh();
    m_refresh.start();
    return true;
}

void MainWindow::showConnectionDialog() {
    ConnectionSettings current = m_settings;
    QSettings settings;
    if (current.url.isEmpty()) {
        current.url = settings.value("url").toString();
        current.ca = settings.value("ca").toString();
        current.tokenFile = settings.value("token_file").toString();
    }
    ConnectionDialog d(current, this);
    if (d.exec() != QDialog::Accepted)
        return;
    const ConnectionSettings s = d.settings();
    QString error;
    if (!connectTo(s, &error)) {
        QMessageBox::warning(this, tr("Connect"), error);
        return;
    }
    if (d.remember()) {
        settings.setValue("url", s.url);
        settings.setValue("ca", s.ca);
        settings.setValue("token_file", s.tokenFile);
        if (!s.token.isEmpty()) {
            QString warning;
            TokenStore::save(s.url, s.token, &warning);
            if (!warning.isEmpty()) {
                statusBar()->showMessage(warning, 20000);
                QMessageBox::warning(this, tr("Token"), warning);
            }
        }
    }
}

void MainWindow::selectByKey(const QString& key) {
    if (!m_model)
        return;
    QModelIndex found = m_model->find(key);
    if (!found.isValid()) // a container id prefix, or an application without its "/"
        for (const auto& c : m_model->containersUnder({}))
            if ((key.size() >= 4 && c.containerId.startsWith(key)) || c.applicationName == key ||
                c.applicationName == QLatin1Char('/') + key) {
                found = m_model->find(c.containerId.startsWith(key) ? c.containerId
                                                                    : c.applicationName);
                break;
            }
    if (!found.isValid()) {
        m_pendingSelect = key; // perhaps after the next refresh
        return;
    }
    m_pendingSelect.clear();
    // An application: under every agent that runs it.
    QModelIndexList all{found};
    if (ClusterModel::Kind(m_model->data(found, ClusterModel::KindRole).toInt()) ==
        ClusterModel::Kind::Application)
        all = applicationsNamed(m_model->data(found, ClusterModel::KeyRole).toString());
    QItemSelection selection;
    for (const QModelIndex& i : all) {
        m_tree->expand(i.parent());
        selection.select(i, i);
    }
    m_tree->selectionModel()->setCurrentIndex(all.first(), QItemSelectionModel::NoUpdate);
    m_tree->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
    m_tree->scrollTo(all.first());
}

QModelIndexList MainWindow::applicationsNamed(const QString& name) const {
    QModelIndexList out;
    for (int a = 0; a < m_model->rowCount(); ++a) {
        const QModelIndex agent = m_model->index(a, 0);
        for (int f = 0; f < m_model->rowCount(agent); ++f) {
            const QModelIndex fw = m_model->index(f, 0, agent);
            for (int k = 0; k < m_model->rowCount(fw); ++k) {
                const QModelIndex app = m_model->index(k, 0, fw);
                if (m_model->data(app, ClusterModel::KeyRole).toString() == name)
                    out.append(app);
            }
        }
    }
    return out;
}

void MainWindow::onSelection() {
    if (!m_model)
        return;
    QModelIndexList picked = m_tree->selectionModel()->selectedIndexes();
    if (picked.isEmpty())
        return;
    std::sort(picked.begin(), picked.end()); // the tree's order
    QList<FeedSource> sources;
    QSet<QString> seen;
    QString title;
    const QUrlQuery start; // the pane loads the newest page, then follows
    int containerCount = 0;
    // The containers under each item, for both panes (a walk of the tree each).
    QList<QList<ContainerRef>> under;
    for (const QModelIndex& i : picked)
        under.append(m_model->containersUnder(i));
    for (qsizetype k = 0; k < picked.size(); ++k) {
        const QModelIndex& i = picked[k];
        const auto kind = ClusterModel::Kind(m_model->data(i, ClusterModel::KindRole).toInt());
        if (kind == ClusterModel::Kind::Agent) {
            const QString id = m_model->data(i, ClusterModel::KeyRole).toString();
            if (seen.contains(id))
                continue;
            seen.insert(id);
            if (picked.size() == 1)
                title = tr("Journal of %1").arg(m_model->data(i).toString());
            sources.append(FeedSource{m_model->data(i).toString(),
                                      m_model->agentPathFor(id, QStringLiteral("logs/v1/stream/")),
                                      start});
            continue;
        }
        const auto& containers = under[k];
        if (picked.size() == 1)
            title = containers.size() == 1
                        ? tr("%1 · container %2 on %3")
                              .arg(containers.first().applicationName,
                                   containers.first().containerId, containers.first().hostname)
                        : tr("%1 · %2 containers merged")
                              .arg(m_model->data(i).toString())
                              .arg(containers.size());
        for (const auto& c : containers) {
            if (seen.contains(c.containerId))
                continue;
            seen.insert(c.containerId);
            ++containerCount;
            const QString rest = QStringLiteral("logs/v1/stream/") + c.logPathSuffix();
            sources.append(FeedSource{c.applicationName + QLatin1Char(' ') + c.containerId.left(6) +
                                          QStringLiteral(" @") + c.hostname,
                                      m_model->agentPathFor(c.agentId, rest), start});
        }
    }
    if (picked.size() > 1) {
        // One application on several agents, or a mix.
        QSet<QString> names;
        for (const QModelIndex& i : picked)
            names.insert(m_model->data(i, ClusterModel::KeyRole).toString());
        title = names.size() == 1
                    ? tr("%1 on %2 agents · %3 containers merged")
                          .arg(*names.begin())
                          .arg(picked.size())
                          .arg(containerCount)
                    : tr("%1 selected · %2 sources merged").arg(picked.size()).arg(sources.size());
    }
    if (!sources.isEmpty())
        m_logPane->follow(title, sources);
    showMetricsFor(picked, under);
}

MetricsSource MainWindow::metricsSource(const QString& agentId, const QString& agentName,
                                        const QString& source) const {
    MetricsSource s;
    s.agentId = agentId;
    s.basePath = m_model->agentPathFor(agentId, QStringLiteral("metrics/v0/"));
    s.source = source;
    s.origin.agentId = agentId;
    s.origin.agentName = agentName;
    return s;
}

void MainWindow::showClusterMetrics() {
    QList<MetricsSource> sources;
    for (int r = 0; r < m_model->rowCount(); ++r) {
        const QModelIndex a = m_model->index(r, 0);
        sources.append(metricsSource(m_model->data(a, ClusterModel::KeyRole).toString(),
                                     m_model->data(a, ClusterModel::LabelRole).toString(),
                                     QStringLiteral("node")));
    }
    if (!m_groupByFixed)
        m_metricsPane->setGroupBy(client::GroupBy::Agent);
    m_metricsPane->setSources(tr("The cluster's hosts"), sources);
}

void MainWindow::showMetricsFor(const QModelIndexList& picked,
                                const QList<QList<ContainerRef>>& under) {
    QList<MetricsSource> sources;
    QString title;
    QSet<QString> seen, agents;
    auto addContainer = [&](const ContainerRef& c, bool app) {
        if (seen.contains(c.containerId))
            return;
        seen.insert(c.containerId);
        agents.insert(c.agentId);
        MetricsSource s =
            metricsSource(c.agentId, c.hostname, QStringLiteral("containers/") + c.containerId);
        s.origin.containerId = c.containerId;
        s.origin.frameworkName = c.frameworkName;
        s.origin.applicationName = c.applicationName;
        sources.append(s);
        if (app) {
            s.source += QStringLiteral("/app");
            sources.append(s);
        }
    };
    bool anAgent = false;
    for (qsizetype k = 0; k < picked.size(); ++k) {
        const QModelIndex& i = picked[k];
        const auto kind = ClusterModel::Kind(m_model->data(i, ClusterModel::KindRole).toInt());
        const auto& containers = under[k];
        if (kind == ClusterModel::Kind::Agent) {
            anAgent = true;
            const QString id = m_model->data(i, ClusterModel::KeyRole).toString();
            if (picked.size() == 1)
                title = tr("Host %1 and its containers")
                            .arg(m_model->data(i, ClusterModel::LabelRole).toString());
            sources.append(metricsSource(id, m_model->data(i, ClusterModel::LabelRole).toString(),
                                         QStringLiteral("node")));
            for (const auto& c : containers)
                addContainer(c, false);
        } else {
            // A container: its resources and its own StatsD metrics; an application's
            // containers with theirs; a framework's containers.
            for (const auto& c : containers)
                addContainer(c, kind != ClusterModel::Kind::Framework);
            if (picked.size() == 1)
                title = containers.size() == 1
                            ? tr("%1 · container %2")
                                  .arg(containers.first().applicationName,
                                       containers.first().containerId.left(12))
                            : tr("%1 · %2 containers")
                                  .arg(m_model->data(i, ClusterModel::LabelRole).toString())
                                  .arg(containers.size());
        }
    }
    if (picked.size() > 1)
        title = tr("%1 selected · %2 containers on %3 agents")
                    .arg(picked.size())
                    .arg(seen.size())
                    .arg(agents.size());
    if (!m_groupByFixed)
        m_metricsPane->setGroupBy(anAgent || agents.size() > 1 ? client::GroupBy::Agent
                                                               : client::GroupBy::Container);
    m_metricsPane->setSources(title, sources);
}

void MainWindow::showLogsAt(qint64 fromMs, qint64 toMs,
                            const QList<client::MetricOrigin>& origins) {
    if (!m_model)
        return;
    // A minute either side of a moment; a range as chosen.
    const qint64 since = (fromMs == toMs ? fromMs - 60000 : fromMs) * 1000;
    const qint64 until = (fromMs == toMs ? toMs + 60000 : toMs) * 1000;
    QUrlQuery range;
    range.addQueryItem(QStringLiteral("since"), QString::number(since));
    range.addQueryItem(QStringLiteral("until"), QString::number(until));
    QList<FeedSource> sources;
    QSet<QString> agents;
    for (const auto& o : origins) {
        if (o.containerId.isEmpty()) {
            if (agents.contains(o.agentId))
                continue;
            agents.insert(o.agentId);
            sources.append(FeedSource{
                o.agentName, m_model->agentPathFor(o.agentId, QStringLiteral("logs/v1/stream/")),
                range});
            continue;
        }
        for (const auto& c : m_model->containersUnder({}))
            if (c.containerId == o.containerId) {
                sources.append(
                    FeedSource{c.applicationName + QLatin1Char(' ') + c.containerId.left(6) +
                                   QStringLiteral(" @") + c.hostname,
                               m_model->agentPathFor(c.agentId, QStringLiteral("logs/v1/stream/") +
                                                                    c.logPathSuffix()),
                               range});
                break;
            }
    }
    if (sources.isEmpty())
        return;
    const QString when =
        QDateTime::fromMSecsSinceEpoch(fromMs).toString(QStringLiteral("HH:mm:ss"));
    m_logDock->show();
    m_logDock->raise();
    m_logPane->follow(fromMs == toMs ? tr("Logs around %1 (from the chart)").arg(when)
                                     : tr("Logs from %1 to %2 (from the chart)")
                                           .arg(when, QDateTime::fromMSecsSinceEpoch(toMs).toString(
                                                          QStringLiteral("HH:mm:ss"))),
                      sources);
    m_logPane->markTime(fromMs);
}

} // namespace day2::ui
