// The console's window: the cluster tree at the side; the log tail, the metrics pane and the
// terminal in splitters. Its connection (URL, token, CA) comes from the command line, from the
// saved settings (the token from the desktop keyring, or from a 0600 file when no keyring
// answers, with a visible warning), or from the connection dialog.
#pragma once

#include "client/api_client.h"
#include "client/cluster_model.h"
#include "client/metrics_data.h"

#include <QDialog>
#include <QMainWindow>
#include <QString>
#include <QTimer>

#include <memory>

class QCheckBox;
class QDockWidget;
class QLabel;
class QLineEdit;
class QTreeView;

namespace day2::ui {

class LogPane;
class MetricsPane;
struct MetricsSource;
class TerminalPane;

struct ConnectionSettings {
    QString url, tokenFile, ca;
    QByteArray token; // the token itself (from the dialog, a file or the keyring)
};

// URL, token or token file, CA file; "remember" keeps them (the token in the keyring).
class ConnectionDialog : public QDialog {
    Q_OBJECT
public:
    explicit ConnectionDialog(const ConnectionSettings& current, QWidget* parent = nullptr);
    ConnectionSettings settings() const;
    bool remember() const;

private:
    QLineEdit* m_url;
    QLineEdit* m_token;
    QLineEdit* m_tokenFile;
    QLineEdit* m_ca;
    QCheckBox* m_remember;
};

// Where the token is kept between runs.
class TokenStore {
public:
    // The keyring (QtKeychain); where none answers, ~/.config/day2/console-token (0600).
    // `warning` says so when the file was used.
    static bool save(const QString& url, const QByteArray& token, QString* warning);
    static QByteArray load(const QString& url, QString* warning);
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow();
    ~MainWindow() override;

    // Connects with `c` (the token read from its file when given). False, with the reason.
    bool connectTo(const ConnectionSettings& c, QString* error);
    // Selects (and tails) the first container or application with this key or name.
    void selectByKey(const QString& key);
    client::ClusterModel* clusterModel() const { return m_model.get(); }
    LogPane* logPane() const { return m_logPane; }
    MetricsPane* metricsPane() const { return m_metricsPane; }
    TerminalPane* terminalPane() const { return m_terminalPane; }
    // A TTY exec session in a tab of the terminal pane (an empty command: a shell).
    void openExec(const client::ContainerRef& c, const QStringList& command);
    // The same for a task named as the CLI names them (id, prefix, application); false, with
    // the reason, when the cluster has no such running task (yet).
    bool openExecByName(const QString& task, const QStringList& command, QString* error);
    // The group-by of the charts stays as given (--group-by) instead of following the selection.
    void fixGroupBy() { m_groupByFixed = true; }
    // The layout, the window's size and the selection of the last run (and kept on close).
    void restoreLayout();
    // Logs, charts and terminal as they are at first.
    void defaultLayout();
    QTreeView* tree() const { return m_tree; }
    void showConnectionDialog();

signals:
    void connectedAndRefreshed();

protected:
    void closeEvent(QCloseEvent* e) override;
    void showEvent(QShowEvent* e) override;

private:
    void onSelection();
    void showClusterMetrics();
    void defaultSizes();
    // The log and metrics panes on what is selected: an agent, a framework, an application, a
    // container, or several of them (Ctrl/Shift-click; an application on every agent).
    // `under`: the containers under each picked item.
    void showMetricsFor(const QModelIndexList& picked,
                        const QList<QList<client::ContainerRef>>& under);
    // Every agent's application named `name` (the tree has one under each agent running it).
    QModelIndexList applicationsNamed(const QString& name) const;
    MetricsSource metricsSource(const QString& agentId, const QString& agentName,
                                const QString& source) const;
    // The log pane shows the lines of `origins` around a moment (or in a range) from a chart.
    void showLogsAt(qint64 fromMs, qint64 toMs, const QList<client::MetricOrigin>& origins);
    void setStatus(const QString& text, bool problem);

    std::unique_ptr<client::ApiClient> m_api;
    std::unique_ptr<client::ClusterModel> m_model;
    QTreeView* m_tree;
    LogPane* m_logPane;
    MetricsPane* m_metricsPane;
    TerminalPane* m_terminalPane;
    QDockWidget* m_treeDock;
    QDockWidget* m_logDock;
    QDockWidget* m_metricsDock;
    QDockWidget* m_terminalDock;
    bool m_keepLayout = false;
    bool m_layoutRestored = false;
    bool m_shownOnce = false;
    bool m_groupByFixed = false;
    bool m_shownCluster = false;
    QLabel* m_connection;
    QTimer m_refresh;
    ConnectionSettings m_settings;
    QString m_pendingSelect;
};

} // namespace day2::ui
