// LogFollower against a real agent that is killed (SIGKILL) and started again on the same port
// while a task writes: every line arrives exactly once, in order, and the reconnect says that
// nothing was missed. Needs root (the task's cgroups and namespaces, a private journald).
#include "client/api_client.h"
#include "client/log_follower.h"

#include "agent_process.h"
#include "journal_namespace.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

#include <filesystem>
#include <memory>
#include <unistd.h>

using namespace day2::client;
using day2::test::AgentProcess;
using day2::test::JournalNamespace;

class LogFollowerTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        if (::geteuid() != 0)
            QSKIP("needs root (the task's cgroups and namespaces)");
        std::string why;
        if (!JournalNamespace::available(&why))
            QSKIP(why.c_str());
        if (!std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs") &&
            !std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers"))
            QSKIP("no cgroup hierarchy with the memory controller is mounted");
        m_ns = std::make_unique<JournalNamespace>("day2fo");
        m_parent = "day2-test-fo-" + std::to_string(::getpid());
        m_state = "/tmp/day2-follow-test-" + std::to_string(::getpid());
        std::filesystem::create_directories(m_state);
        m_agent = startAgent("127.0.0.1:0");
    }

    void cleanupTestCase() {
        if (m_agent) {
            // Finished containers go with their cgroups when deleted.
            Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_agent->port())), {}, {}};
            ApiClient api(ep);
            api.init(nullptr);
            const auto list = api.call("GET", agentPath({}, QStringLiteral("tasks/v1/")));
            const auto containers =
                QJsonDocument::fromJson(list.body).object()["containers"].toArray();
            for (const auto& c : containers) {
                const QString cid = c.toObject()["container_id"].toString();
                const QString path = agentPath({}, QStringLiteral("tasks/v1/") + cid);
                api.call("DELETE", path);
                for (int i = 0; i < 100 && api.call("GET", path).status == 200; ++i) {
                    QTest::qWait(100);
                    api.call("DELETE", path);
                }
            }
        }
        m_agent.reset();
        if (!m_parent.empty())
            day2::test::removeCgroupParent(m_parent);
        std::error_code ec;
        if (!m_state.empty())
            std::filesystem::remove_all(m_state, ec);
        m_ns.reset();
    }

    void everyLineOnceAcrossAnAgentKilledAndRestarted() {
        const uint16_t port = m_agent->port();
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), {}, {}};
        ApiClient api(ep);
        QString error;
        QVERIFY2(api.init(&error), qPrintable(error));
        constexpr int kLines = 3000;
        const QByteArray body =
            QJsonDocument(
                QJsonObject{{"framework_id", "fw-follow"},
                            {"framework_name", "marathon"},
                            {"application_name", "/writer"},
                            {"shell", QStringLiteral(
                                          "i=0; while [ $i -lt %1 ]; do echo line $i; i=$((i+1)); "
                                          "sleep 0.002; done")
                                          .arg(kLines)}})
                .toJson(QJsonDocument::Compact);
        auto launched = api.call("POST", agentPath({}, QStringLiteral("tasks/v1/")), {}, body);
        QVERIFY2(launched.ok(), qPrintable(launched.error));
        const QJsonObject c = QJsonDocument::fromJson(launched.body).object();
        const QString cid = c.value("container_id").toString();
        const QString ex = c.value("executor_id").toString();

        LogFollower::Options o;
        o.path = agentPath({}, QStringLiteral("logs/v1/stream/framework/fw-follow/executor/%1/"
                                              "container/%2")
                                   .arg(ex, cid));
        o.query.addQueryItem("skip_prev", "1000000"); // from the task's first line
        o.minBackoffMs = 100;
        LogFollower follower(ep, o);
        QList<int> seen;
        QList<LogFollower::Resume> resumes;
        QList<qint64> missing;
        int drops = 0;
        QString failure;
        connect(&follower, &LogFollower::events, this, [&](const QList<QByteArray>& entries) {
            for (const auto& e : entries) {
                const QString m =
                    QJsonDocument::fromJson(e).object()["fields"].toObject()["MESSAGE"].toString();
                seen.append(m.startsWith("line ") ? m.mid(5).toInt() : -1);
            }
        });
        connect(&follower, &LogFollower::connected, this, [&](LogFollower::Resume how, qint64 n) {
            resumes.append(how);
            missing.append(n);
        });
        connect(&follower, &LogFollower::disconnected, this, [&] { ++drops; });
        connect(&follower, &LogFollower::failed, this, [&](const QString& why) { failure = why; });
        follower.start();

        QTRY_VERIFY_WITH_TIMEOUT(seen.size() >= 300, 30000);
        m_agent->kill9();
        QTRY_VERIFY_WITH_TIMEOUT(drops >= 1, 10000);
        QTest::qWait(1000); // the task keeps writing; the follower's attempts are refused
        const qsizetype before = seen.size();
        m_agent.reset();
        m_agent = startAgent("127.0.0.1:" + std::to_string(port));
        QTRY_VERIFY2_WITH_TIMEOUT(seen.size() >= kLines, qPrintable(failure), 60000);
        QTest::qWait(300); // nothing more, nothing twice
        follower.stop();

        QVERIFY(failure.isEmpty());
        QVERIFY2(seen.size() == kLines, qPrintable(QString::number(seen.size())));
        for (int i = 0; i < kLines; ++i)
            QCOMPARE(seen[i], i);
        QVERIFY2(before < kLines, "the task had finished before the agent came back");
        QVERIFY(drops >= 1);
        QVERIFY(resumes.size() >= 2);
        QCOMPARE(resumes.first(), LogFollower::Resume::Fresh);
        for (int i = 1; i < resumes.size(); ++i) {
            QCOMPARE(resumes[i], LogFollower::Resume::Exact);
            QCOMPARE(missing[i], qint64(-1));
        }
    }

    // A follower from "now" that is cut off before its first entry: the agent gave it the
    // stream's starting point as an id, so the lines written during the outage still come.
    void aStreamCutBeforeItsFirstEntryResumesFromWhereItBegan() {
        const uint16_t port = m_agent->port();
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), {}, {}};
        ApiClient api(ep);
        QVERIFY(api.init(nullptr));
        constexpr int kLines = 200;
        const QByteArray body =
            QJsonDocument(QJsonObject{{"framework_id", "fw-follow"},
                                      {"framework_name", "marathon"},
                                      {"application_name", "/late"},
                                      {"shell", QStringLiteral("sleep 3; i=0; while [ $i -lt %1 ]; "
                                                               "do echo tick $i; i=$((i+1)); done")
                                                    .arg(kLines)}})
                .toJson(QJsonDocument::Compact);
        auto launched = api.call("POST", agentPath({}, QStringLiteral("tasks/v1/")), {}, body);
        QVERIFY2(launched.ok(), qPrintable(launched.error));
        const QJsonObject c = QJsonDocument::fromJson(launched.body).object();
        LogFollower::Options o;
        o.path = agentPath(
            {}, QStringLiteral("logs/v1/stream/framework/fw-follow/executor/%1/"
                               "container/%2")
                    .arg(c.value("executor_id").toString(), c.value("container_id").toString()));
        o.minBackoffMs = 100; // from now: no skip_prev
        LogFollower follower(ep, o);
        QList<int> seen;
        QList<LogFollower::Resume> resumes;
        connect(&follower, &LogFollower::events, this, [&](const QList<QByteArray>& entries) {
            for (const auto& e : entries)
                seen.append(QJsonDocument::fromJson(e)
                                .object()["fields"]
                                .toObject()["MESSAGE"]
                                .toString()
                                .mid(5)
                                .toInt());
        });
        connect(&follower, &LogFollower::connected, this,
                [&](LogFollower::Resume how, qint64) { resumes.append(how); });
        follower.start();
        QTRY_COMPARE_WITH_TIMEOUT(resumes.size(), 1, 10000);
        QVERIFY(!follower.lastEventId().isEmpty()); // the starting point, before any entry
        QVERIFY(seen.isEmpty());
        m_agent->kill9();
        QTest::qWait(5000); // the task writes all its lines meanwhile
        m_agent.reset();
        m_agent = startAgent("127.0.0.1:" + std::to_string(port));
        QTRY_VERIFY_WITH_TIMEOUT(seen.size() >= kLines, 30000);
        QTest::qWait(300);
        QCOMPARE(seen.size(), qsizetype(kLines));
        for (int i = 0; i < kLines; ++i)
            QCOMPARE(seen[i], i);
        QCOMPARE(resumes.last(), LogFollower::Resume::Exact);
    }

    void aRefusedRequestIsNotRetried() {
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_agent->port())), {}, {}};
        LogFollower::Options o;
        o.path = agentPath({}, QStringLiteral("logs/v1/stream/"));
        o.query.addQueryItem("priority", "eleven");
        LogFollower follower(ep, o);
        QSignalSpy failed(&follower, &LogFollower::failed);
        QSignalSpy dropped(&follower, &LogFollower::disconnected);
        follower.start();
        QVERIFY(failed.wait(10000));
        const QString why = failed.first().first().toString();
        QVERIFY2(why.contains("HTTP 400") && why.contains("priority"), qPrintable(why));
        QTest::qWait(300);
        QCOMPARE(dropped.size(), 0);
        QCOMPARE(follower.connections(), 0);
    }

    void aCaFileWithoutACertificateIsAnErrorNotAnInsecureConnection() {
        const std::string bad = m_state + "/not-a-ca.pem";
        FILE* f = std::fopen(bad.c_str(), "w");
        std::fputs("hello\n", f);
        std::fclose(f);
        Endpoint ep{QUrl("https://127.0.0.1:1"), {}, QString::fromStdString(bad)};
        LogFollower::Options o;
        o.path = agentPath({}, "logs/v1/stream/");
        LogFollower follower(ep, o);
        QSignalSpy failed(&follower, &LogFollower::failed);
        follower.start();
        QCOMPARE(failed.size(), 1);
        QVERIFY(failed.first().first().toString().contains("holds no PEM certificate"));
    }

private:
    std::unique_ptr<AgentProcess> startAgent(const std::string& listen) {
        return std::make_unique<AgentProcess>(
            std::vector<std::string>{"--journal-namespace", m_ns->name(), "--state-dir", m_state,
                                     "--listen", listen},
            "[tasks]\ncgroup_parent = \"" + m_parent + "\"\nkill_grace_seconds = 2\n");
    }

    std::unique_ptr<JournalNamespace> m_ns;
    std::unique_ptr<AgentProcess> m_agent;
    std::string m_parent, m_state;
};

QTEST_GUILESS_MAIN(LogFollowerTest)
#include "log_follower_test.moc"
