#include "client/cluster_model.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkReply>

#include <algorithm>
#include <map>

namespace day2::client {

struct ClusterModel::Node {
    Kind kind = Kind::Agent;
    QString key, label, agentId, state, error;
    bool reachable = true;
    ContainerRef ref; // containers
    Node* parent = nullptr;
    std::vector<std::unique_ptr<Node>> children;

    int row() const {
        if (!parent)
            return 0;
        for (size_t i = 0; i < parent->children.size(); ++i)
            if (parent->children[i].get() == this)
                return static_cast<int>(i);
        return 0;
    }
};

struct ClusterModel::Wanted {
    Kind kind = Kind::Agent;
    QString key, label, agentId, state, error;
    bool reachable = true;
    bool keepChildren = false; // leave the children as they are
    ContainerRef ref;
    std::vector<Wanted> children;
};

ClusterModel::ClusterModel(ApiClient* api, QObject* parent)
    : QAbstractItemModel(parent), m_api(api), m_root(std::make_unique<Node>()) {}

ClusterModel::~ClusterModel() = default;

void ClusterModel::refresh() {
    if (m_pending > 0)
        return; // the last refresh is still answering
    m_pending = 1;
    QNetworkReply* r = m_api->send("GET", kInventoryPath);
    connect(r, &QNetworkReply::finished, this, [this, r] {
        onInventory(r);
        r->deleteLater();
    });
}

void ClusterModel::onInventory(QNetworkReply* reply) {
    const QString error = describeFailure(reply);
    const QByteArray body = reply->readAll();
    auto wanted = [](const QList<AgentInfo>& agents) {
        std::vector<Wanted> out;
        for (const auto& a : agents) {
            Wanted w;
            w.kind = Kind::Agent;
            w.key = w.agentId = a.id;
            w.label = a.hostname;
            w.keepChildren = true; // their tasks' answers fill them
            out.push_back(std::move(w));
        }
        return out;
    };
    if (error.isEmpty()) {
        m_direct = false;
        auto agents = agentsFromInventory(body);
        std::vector<Wanted> w = wanted(agents.value_or(QList<AgentInfo>()));
        applyAgents(w, agents ? QString()
                              : kInventoryPath + QStringLiteral(" did not answer a JSON array"));
    } else if (httpStatus(reply) == 404) {
        // Not Adminrouter: one agent, reached directly.
        QNetworkReply* h = m_api->send("GET", kHealthPath);
        connect(h, &QNetworkReply::finished, this, [this, h, wanted] {
            const QString why = describeFailure(h);
            std::vector<Wanted> one;
            if (why.isEmpty()) {
                m_direct = true;
                one = wanted({agentFromHealth(h->readAll(), m_api->endpoint().base.authority())});
            }
            applyAgents(one, why);
            h->deleteLater();
        });
    } else {
        std::vector<Wanted> none;
        applyAgents(none, error);
    }
}

void ClusterModel::applyAgents(std::vector<Wanted>& agents, const QString& error) {
    m_inventoryError = error;
    if (error.isEmpty()) {
        // Agents the inventory no longer names go; the others keep their state until their
        // tasks answer.
        for (auto& w : agents)
            for (const auto& n : m_root->children)
                if (n->key == w.key) {
                    w.reachable = n->reachable;
                    w.error = n->error;
                }
        std::sort(agents.begin(), agents.end(), [](const Wanted& a, const Wanted& b) {
            return a.label != b.label ? a.label < b.label : a.key < b.key; // by hostname
        });
        sync(m_root.get(), agents);
    }
    // Every known agent's tasks, also when the inventory did not answer this time.
    for (const auto& n : m_root->children) {
        const QString id = n->key;
        ++m_pending;
        QNetworkReply* r =
            m_api->send("GET", agentPath(m_direct ? QString() : id, QStringLiteral("tasks/v1/")));
        connect(r, &QNetworkReply::finished, this, [this, id, r] {
            onTasks(id, r);
            r->deleteLater();
        });
    }
    finishOne();
}

void ClusterModel::onTasks(const QString& agentId, QNetworkReply* reply) {
    Node* agent = nullptr;
    for (const auto& n : m_root->children)
        if (n->key == agentId)
            agent = n.get();
    if (agent) {
        const QString error = describeFailure(reply);
        const QByteArray body = reply->readAll();
        const bool wasReachable = agent->reachable;
        const QString oldError = agent->error;
        agent->reachable = error.isEmpty();
        agent->error = error;
        if (error.isEmpty()) {
            // framework id → (name, application → containers)
            std::map<QString, std::pair<QString, std::map<QString, std::vector<Wanted>>>> tree;
            for (const auto& v :
                 QJsonDocument::fromJson(body).object().value("containers").toArray()) {
                const QJsonObject o = v.toObject();
                ContainerRef c = ContainerRef::fromJson(o, agentId);
                c.hostname = agent->label;
                Wanted w;
                w.kind = Kind::Container;
                w.key = c.containerId;
                w.agentId = agentId;
                w.state = c.state;
                w.label = c.containerId.left(12) + QStringLiteral("  ") + c.state;
                w.ref = c;
                auto& fw = tree[c.frameworkId];
                fw.first = o.value("framework_name").toString();
                fw.second[c.applicationName].push_back(std::move(w));
            }
            std::vector<Wanted> frameworks;
            for (auto& [fwId, fw] : tree) {
                Wanted f;
                f.kind = Kind::Framework;
                f.key = fwId;
                f.agentId = agentId;
                f.label = fw.first.isEmpty() ? fwId : fw.first;
                for (auto& [app, containers] : fw.second) {
                    Wanted a;
                    a.kind = Kind::Application;
                    a.key = app;
                    a.agentId = agentId;
                    const auto running =
                        std::count_if(containers.begin(), containers.end(),
                                      [](const Wanted& w) { return w.state == "running"; });
                    a.label = QStringLiteral("%1  (%2/%3 running)")
                                  .arg(app)
                                  .arg(running)
                                  .arg(containers.size());
                    std::sort(containers.begin(), containers.end(),
                              [](const Wanted& x, const Wanted& y) { return x.key < y.key; });
                    a.children = std::move(containers);
                    f.children.push_back(std::move(a));
                }
                frameworks.push_back(std::move(f));
            }
            sync(agent, frameworks);
        }
        if (wasReachable != agent->reachable || oldError != agent->error) {
            const QModelIndex i = indexOf(agent);
            emit dataChanged(i, i);
        }
    }
    finishOne();
}

void ClusterModel::finishOne() {
    if (--m_pending == 0)
        emit refreshed();
}

void ClusterModel::sync(Node* parent, std::vector<Wanted>& wanted) {
    const QModelIndex parentIndex = indexOf(parent);
    // Children no longer wanted go, one row at a time (from the end, so rows stay valid).
    for (int i = static_cast<int>(parent->children.size()) - 1; i >= 0; --i) {
        const QString& key = parent->children[size_t(i)]->key;
        const bool keep = std::any_of(wanted.begin(), wanted.end(),
                                      [&](const Wanted& w) { return w.key == key; });
        if (!keep) {
            beginRemoveRows(parentIndex, i, i);
            parent->children.erase(parent->children.begin() + i);
            endRemoveRows();
        }
    }
    // What is left is a subset of `wanted`: walk `wanted`, moving a node up when the order
    // changed (an agent renamed), inserting what is new.
    for (size_t i = 0; i < wanted.size(); ++i) {
        Wanted& w = wanted[i];
        Node* n = nullptr;
        for (size_t j = i; j < parent->children.size(); ++j)
            if (parent->children[j]->key == w.key) {
                if (j != i) {
                    beginMoveRows(parentIndex, int(j), int(j), parentIndex, int(i));
                    std::rotate(parent->children.begin() + long(i),
                                parent->children.begin() + long(j),
                                parent->children.begin() + long(j) + 1);
                    endMoveRows();
                }
                n = parent->children[i].get();
                break;
            }
        if (!n) {
            beginInsertRows(parentIndex, int(i), int(i));
            auto node = std::make_unique<Node>();
            node->kind = w.kind;
            node->key = w.key;
            node->parent = parent;
            n = node.get();
            parent->children.insert(parent->children.begin() + long(i), std::move(node));
            n->label = w.label;
            n->agentId = w.agentId;
            n->state = w.state;
            n->ref = w.ref;
            n->reachable = w.reachable;
            n->error = w.error;
            endInsertRows();
        } else if (n->label != w.label || n->state != w.state || n->reachable != w.reachable ||
                   n->error != w.error) {
            n->label = w.label;
            n->state = w.state;
            n->ref = w.ref;
            n->reachable = w.reachable;
            n->error = w.error;
            const QModelIndex idx = indexOf(n);
            emit dataChanged(idx, idx);
        } else {
            n->ref = w.ref;
        }
        if (!w.keepChildren)
            sync(n, w.children);
    }
    // A key wanted once but present twice (two containers without an id yet) leaves its
    // second node behind the walk: it goes.
    if (parent->children.size() > wanted.size()) {
        beginRemoveRows(parentIndex, int(wanted.size()), int(parent->children.size()) - 1);
        parent->children.erase(parent->children.begin() + long(wanted.size()),
                               parent->children.end());
        endRemoveRows();
    }
}

ClusterModel::Node* ClusterModel::nodeOf(const QModelIndex& index) const {
    return index.isValid() ? static_cast<Node*>(index.internalPointer()) : m_root.get();
}

QModelIndex ClusterModel::indexOf(Node* node) const {
    if (!node || node == m_root.get())
        return {};
    return createIndex(node->row(), 0, node);
}

QModelIndex ClusterModel::index(int row, int column, const QModelIndex& parent) const {
    Node* p = nodeOf(parent);
    if (column != 0 || row < 0 || size_t(row) >= p->children.size())
        return {};
    return createIndex(row, 0, p->children[size_t(row)].get());
}

QModelIndex ClusterModel::parent(const QModelIndex& child) const {
    if (!child.isValid())
        return {};
    return indexOf(nodeOf(child)->parent);
}

int ClusterModel::rowCount(const QModelIndex& parent) const {
    return static_cast<int>(nodeOf(parent)->children.size());
}

int ClusterModel::columnCount(const QModelIndex&) const {
    return 1;
}

QVariant ClusterModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid())
        return {};
    const Node* n = nodeOf(index);
    switch (role) {
    case Qt::DisplayRole:
        if (n->kind == Kind::Agent && !n->reachable)
            return n->label + QStringLiteral("  — unreachable");
        return n->label;
    case Qt::ToolTipRole:
        if (n->kind == Kind::Agent)
            return QStringLiteral("agent %1%2")
                .arg(n->key, n->reachable ? QString() : QStringLiteral("\n") + n->error);
        return n->key;
    case LabelRole:
        return n->label;
    case KindRole:
        return static_cast<int>(n->kind);
    case KeyRole:
        return n->key;
    case AgentIdRole:
        return n->agentId;
    case ReachableRole:
        return n->reachable;
    case ErrorRole:
        return n->error;
    case StateRole:
        return n->state;
    default:
        return {};
    }
}

QList<ContainerRef> ClusterModel::containersUnder(const QModelIndex& index) const {
    QList<ContainerRef> out;
    std::vector<const Node*> stack{nodeOf(index)};
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (n->kind == Kind::Container && n != m_root.get())
            out.append(n->ref);
        for (auto it = n->children.rbegin(); it != n->children.rend(); ++it)
            stack.push_back(it->get());
    }
    return out;
}

QModelIndex ClusterModel::find(const QString& key, const QModelIndex& parent) const {
    for (int r = 0; r < rowCount(parent); ++r) {
        const QModelIndex i = index(r, 0, parent);
        if (nodeOf(i)->key == key)
            return i;
        const QModelIndex below = find(key, i);
        if (below.isValid())
            return below;
    }
    return {};
}

int ClusterModel::agentCount() const {
    return static_cast<int>(m_root->children.size());
}

int ClusterModel::containerCount() const {
    return static_cast<int>(containersUnder({}).size());
}

} // namespace day2::client
