// The cluster as a tree: agents → frameworks → applications → containers, from Adminrouter's
// inventory (GET /system/v1/agents) and each agent's tasks list. refresh() updates the tree in
// place (rows are inserted, removed or changed, never reset), so a view keeps its selection,
// expansion and scroll position: no flicker. An agent that stops answering stays, marked
// unreachable with the reason, its last known containers under it.
#pragma once

#include "client/api_client.h"
#include "client/task_ref.h"

#include <QAbstractItemModel>
#include <QDateTime>
#include <QList>
#include <QString>

#include <memory>
#include <vector>

namespace day2::client {

class ClusterModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum class Kind { Agent, Framework, Application, Container };
    enum Role {
        KindRole = Qt::UserRole + 1, // Kind, as int
        KeyRole,                     // agent id, framework id, application name, container id
        AgentIdRole,
        ReachableRole, // agents: whether the last refresh reached it
        ErrorRole,     // agents: why not
        StateRole,     // containers: running, exited, killed, failed
        LabelRole,     // the name alone (an agent's hostname, without "unreachable")
    };

    explicit ClusterModel(ApiClient* api, QObject* parent = nullptr);
    ~ClusterModel() override;

    // Asks the inventory and every agent again; `refreshed` when every answer is in.
    void refresh();
    bool refreshing() const { return m_pending > 0; }
    // The inventory's error of the last refresh ("" when it answered).
    QString inventoryError() const { return m_inventoryError; }

    // Every container at or under `index` (one, an application's, a framework's, an agent's).
    QList<ContainerRef> containersUnder(const QModelIndex& index) const;
    // The index of an agent, framework, application or container by key ("" parent: top).
    QModelIndex find(const QString& key, const QModelIndex& parent = {}) const;
    // The path of an agent's API `rest`: through Adminrouter, or direct when the URL is one agent.
    QString agentPathFor(const QString& agentId, const QString& rest) const {
        return agentPath(m_direct ? QString() : agentId, rest);
    }
    int agentCount() const;
    int containerCount() const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

signals:
    void refreshed();

private:
    struct Node;
    struct Wanted; // a node as the latest answers describe it

    Node* nodeOf(const QModelIndex& index) const;
    QModelIndex indexOf(Node* node) const;
    void onInventory(QNetworkReply* reply);
    void applyAgents(std::vector<Wanted>& agents, const QString& error);
    void onTasks(const QString& agentId, QNetworkReply* reply);
    // Makes `parent`'s children exactly `wanted`, in its order, reusing nodes by key.
    void sync(Node* parent, std::vector<Wanted>& wanted);
    void finishOne();

    ApiClient* m_api;
    std::unique_ptr<Node> m_root;
    int m_pending = 0;
    bool m_direct = false; // the URL is one agent, not Adminrouter
    QString m_inventoryError;
};

} // namespace day2::client
