// ClusterModel against a real two-node cluster (packaging/demo/cluster: two agents in network
// namespaces behind nginx): the tree agents → frameworks → applications → containers, a second
// refresh that changes no row (no flicker), and an agent killed: shown unreachable, not removed.
// Needs root (the cluster's network namespaces).
#include "client/api_client.h"
#include "client/cluster_model.h"

#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// A port free on 127.0.0.1 now (the kernel's pick for port 0), for Adminrouter.
quint16 freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    quint16 port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        ::close(fd);
    return port;
}

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
        const QString pid = QString::number(::getpid());
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("DAY2_DEMO_DIR", "/tmp/day2-cluster-model-" + pid);
        m_env.insert("DAY2_DEMO_NAME", "d2m");
        m_env.insert("DAY2_DEMO_SUBNET", QStringLiteral("10.80.%1").arg(::getpid() % 200 + 20));
        m_dir = m_env.value("DAY2_DEMO_DIR");
        // A port free now may be taken before nginx binds it: then once more with another.
        QString out;
        for (int attempt = 0; attempt < 2 && !m_up; ++attempt) {
            m_env.insert("DAY2_DEMO_PORT", QString::number(freePort()));
            m_up = cluster({"up", "--nodes", "2", "--build", DAY2_BUILD_DIR}, &out);
            if (!out.contains("Address already in use"))
                break;
        }
        QVERIFY2(m_up, qPrintable(out));
    }

    void cleanupTestCase() {
        if (m_up)
            cluster({"down"});
    }

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
    bool cluster(const QStringList& args, QString* output = nullptr) {
        QProcess p;
        p.setProcessEnvironment(m_env);
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(QStringLiteral(DAY2_SOURCE_DIR "/packaging/demo/cluster"), args);
        const bool ok = p.waitForFinished(180000) && p.exitStatus() == QProcess::NormalExit &&
                        p.exitCode() == 0;
        if (output)
            *output = QString::fromLocal8Bit(p.readAll());
        return ok;
    }

    Endpoint endpoint() const {
        QFile t(m_dir + "/admin.token");
        if (!t.open(QIODevice::ReadOnly))
            return {};
        return Endpoint{QUrl("https://127.0.0.1:" + m_env.value("DAY2_DEMO_PORT")),
                        t.readAll().trimmed(), m_dir + "/ca.pem"};
    }

    // The pid and id of the first agent `cluster up` started (its "made" record).
    std::pair<pid_t, QString> firstAgent() const {
        QFile made(m_dir + "/made");
        if (!made.open(QIODevice::ReadOnly))
            return {0, {}};
        pid_t pid = 0;
        QString id;
        for (const QByteArray& line : made.readAll().split('\n')) {
            const auto parts = line.split(' ');
            if (parts.size() != 2)
                continue;
            if (parts[0] == "agent" && pid == 0)
                pid = parts[1].toInt();
            if (parts[0] == "agent_id" && id.isEmpty())
                id = QString::fromLatin1(parts[1]);
        }
        return {pid, id};
    }

    QProcessEnvironment m_env;
    QString m_dir;
    bool m_up = false;
};

QTEST_GUILESS_MAIN(ClusterModelTest)
#include "cluster_model_test.moc"
