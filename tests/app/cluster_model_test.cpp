// ClusterModel against a real two-node cluster (packaging/demo/cluster: two agents in network
// namespaces behind nginx): the tree agents → frameworks → applications → containers, a second
// refresh that changes no row (no flicker), and an agent killed: shown unreachable, not removed.
// Needs root (the cluster's network namespaces).
#include "client/api_client.h"
#include "client/cluster_model.h"
#include "demo_cluster.h"

#include <QFile>
#include <QSignalSpy>
#include <QTest>

#include <csignal>
#include <memory>

namespace {

// Whether process `pid` has ended (a zombie has: only its parent's wait is left).
bool ended(pid_t pid) {
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return true;
    const QByteArray s = stat.readAll();
    const qsizetype close = s.lastIndexOf(')');
    return close < 0 || s.mid(close, 3) == ") Z";
}

} // namespace

using namespace day2::client;

class ClusterModelTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        if (::geteuid() != 0)
            QSKIP("needs root (the cluster's network namespaces)");
        m_cluster = std::make_unique<day2::test::DemoCluster>("d2m", "cluster-model");
        QString out;
        QVERIFY2(m_cluster->up(2, &out), qPrintable(out));
    }

    void cleanupTestCase() { m_cluster.reset(); }

    void theTreeHasBothAgentsTheirFrameworksApplicationsAndContainers() {
        ApiClient api(endpoint());
        QString error;
        QVERIFY2(api.init(&error), qPrintable(error));
        ClusterModel model(&api);
        QSignalSpy refreshed(&model, &ClusterModel::refreshed);
        model.refresh();
        QVERIFY(refreshed.wait(60000));
        QVERIFY2(model.inventoryError().isEmpty(), qPrintable(model.inventoryError()));
        QCOMPARE(model.agentCount(), 2);
        for (int a = 0; a < 2; ++a) {
            const QModelIndex agent = model.index(a, 0);
            QVERIFY(model.data(agent, ClusterModel::ReachableRole).toBool());
            QCOMPARE(model.data(agent, ClusterModel::KindRole).toInt(),
                     int(ClusterModel::Kind::Agent));
            const QModelIndex fw = model.find("demo-framework-0001", agent);
            QVERIFY2(fw.isValid(), "no framework demo-framework-0001 under an agent");
            QCOMPARE(model.data(fw).toString(), QString("demo")); // shown by its name
            QCOMPARE(model.data(fw).toString(), QString("demo")); // shown by its name
            QCOMPARE(model.data(fw, ClusterModel::KindRole).toInt(),
                     int(ClusterModel::Kind::Framework));
            for (const char* app : {"web", "worker"}) {
                const QModelIndex i = model.find(app, fw);
                QVERIFY2(i.isValid(), app);
                QVERIFY(model.rowCount(i) >= 1);
                const auto containers = model.containersUnder(i);
                QCOMPARE(containers.size(), model.rowCount(i));
                QCOMPARE(containers.first().applicationName, QString(app));
                QCOMPARE(containers.first().agentId,
                         model.data(agent, ClusterModel::KeyRole).toString());
            }
            QVERIFY(model.containersUnder(agent).size() >= 2);
        }

        // Nothing changed: a refresh touches no row.
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        const QModelIndex firstWeb =
            model.find("web", model.find("demo-framework-0001", model.index(0, 0)));
        const QPersistentModelIndex kept(firstWeb);
        model.refresh();
        QVERIFY(refreshed.wait(60000));
        QCOMPARE(reset.size(), 0);
        QCOMPARE(removed.size(), 0);
        QVERIFY(kept.isValid()); // a view's selection survives
        QCOMPARE(kept.data(ClusterModel::KeyRole).toString(), QString("web"));

        // One agent killed: unreachable, with its containers still shown.
        const auto [pid, id] = firstAgent();
        QVERIFY(pid > 0);
        const QModelIndex victim = model.find(id);
        QVERIFY(victim.isValid());
        const auto before = model.containersUnder(victim).size();
        QCOMPARE(::kill(pid, SIGKILL), 0);
        QTRY_VERIFY_WITH_TIMEOUT(ended(pid), 10000); // its sockets closed
        model.refresh();
        QVERIFY(refreshed.wait(60000));
        QCOMPARE(model.agentCount(), 2);
        const QModelIndex gone = model.find(id);
        QVERIFY(gone.isValid());
        QVERIFY(!model.data(gone, ClusterModel::ReachableRole).toBool());
        QVERIFY(!model.data(gone, ClusterModel::ErrorRole).toString().isEmpty());
        QVERIFY(model.data(gone, Qt::DisplayRole).toString().contains("unreachable"));
        QCOMPARE(model.containersUnder(gone).size(), before);
        const QModelIndex other = model.index(model.index(0, 0) == gone ? 1 : 0, 0);
        QVERIFY(model.data(other, ClusterModel::ReachableRole).toBool());
    }

private:
    Endpoint endpoint() const { return m_cluster->endpoint(); }
    std::pair<pid_t, QString> firstAgent() const { return m_cluster->firstAgent(); }

    std::unique_ptr<day2::test::DemoCluster> m_cluster;
};

QTEST_GUILESS_MAIN(ClusterModelTest)
#include "cluster_model_test.moc"
