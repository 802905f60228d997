// The console's window: the cluster tree at the side; the log tail, the metrics pane and the
// terminal in splitters. Its connection (URL, token, CA) comes from the command line, from the
// saved settings (the token from the desktop keyring, or from a 0600 file when no keyring
// answers, with a visible warning), or from the connection dialog.
#pragma once

#include "client/api_client.h"
#include "client/cluster_model.h"

#include <QDialog>
#include <QMainWindow>
#include <QString>
#include <QTimer>

#include <memory>

class QCheckBox;
class QLabel;
class QLineEdit;
class QTreeView;

namespace day2::ui {

class LogPane;

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
    QTreeView* tree() const { return m_tree; }
    void showConnectionDialog();

signals:
    void connectedAndRefreshed();

private:
    void onSelection();
    void setStatus(const QString& text, bool problem);

    std::unique_ptr<client::ApiClient> m_api;
    std::unique_ptr<client::ClusterModel> m_model;
    QTreeView* m_tree;
    LogPane* m_logPane;
    QLabel* m_connection;
    QTimer m_refresh;
    ConnectionSettings m_settings;
    QString m_pendingSelect;
};

} // namespace day2::ui
