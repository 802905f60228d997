// resolveTask: what `day2 task log <task>` means by <task>.
#include "client/task_ref.h"

#include <QTest>

using namespace day2::client;

namespace {

ContainerRef ct(const char* id, const char* app, const char* state, const char* agent = "a1") {
    ContainerRef c;
    c.containerId = QString::fromLatin1(id);
    c.applicationName = QString::fromLatin1(app);
    c.state = QString::fromLatin1(state);
    c.agentId = QString::fromLatin1(agent);
    return c;
}

QString matched(const TaskResolution& r) {
    return r.match ? r.match->containerId : QStringLiteral("none: ") + r.error;
}

} // namespace

class TaskRefTest : public QObject {
    Q_OBJECT
private slots:
    void idsPrefixesAndNames() {
        const QList<ContainerRef> all{
            ct("aaaa1111", "/web", "running", "a1"), ct("aaaa2222", "/web", "running", "a2"),
            ct("bbbb3333", "/worker", "exited"),     ct("bbbb4444", "/worker", "running"),
            ct("cccc5555", "/job", "failed"),        ct("web", "/other", "running")};
        QCOMPARE(matched(resolveTask(all, "aaaa2222")), QString("aaaa2222"));
        QCOMPARE(matched(resolveTask(all, "aaaa2")), QString("aaaa2222"));
        QCOMPARE(matched(resolveTask(all, "cccc5")), QString("cccc5555"));
        // Too short to be taken as a prefix: `day2 task kill c` must not kill a container.
        QVERIFY(!resolveTask(all, "ccc").match);
        // An exact id wins over an application of that name.
        QCOMPARE(matched(resolveTask(all, "web")), QString("web"));
        // The one running container of an application wins over its finished ones.
        QCOMPARE(matched(resolveTask(all, "/worker")), QString("bbbb4444"));
        QCOMPARE(matched(resolveTask(all, "worker")), QString("bbbb4444"));
        // The only container of an application, finished.
        QCOMPARE(matched(resolveTask(all, "job")), QString("cccc5555"));
    }

    void ambiguityListsTheCandidates() {
        const QList<ContainerRef> all{
            ct("aaaa1111", "/web", "running", "a1"), ct("aaaa2222", "/web", "running", "a2"),
            ct("dddd1", "/batch", "exited"), ct("dddd2", "/batch", "killed")};
        auto r = resolveTask(all, "/web");
        QVERIFY(!r.match);
        QCOMPARE(r.candidates.size(), 2);
        QVERIFY(r.error.contains("ambiguous"));
        r = resolveTask(all, "aaaa"); // a prefix of two
        QVERIFY(!r.match);
        QCOMPARE(r.candidates.size(), 2);
        r = resolveTask(all, "batch"); // two finished, none running
        QVERIFY(!r.match);
        QCOMPARE(r.candidates.size(), 2);
        r = resolveTask(all, "nothing");
        QVERIFY(!r.match);
        QVERIFY(r.candidates.isEmpty());
        QVERIFY(r.error.contains("task list --all"));
        QVERIFY(!resolveTask(all, "").match);
    }

    // The leading "/" is optional on both sides: an application named without one is found
    // with it, and the other way round; two applications that differ only by it are both
    // candidates.
    void aNameMatchesWithOrWithoutItsSlash() {
        const QList<ContainerRef> all{
            ct("aaaa0001", "web", "running"), ct("bbbb0002", "/api", "running"),
            ct("cccc0003", "db", "running"), ct("dddd0004", "/db", "running")};
        QCOMPARE(matched(resolveTask(all, "web")), QString("aaaa0001"));
        QCOMPARE(matched(resolveTask(all, "/web")), QString("aaaa0001"));
        QCOMPARE(matched(resolveTask(all, "api")), QString("bbbb0002"));
        QCOMPARE(matched(resolveTask(all, "/api")), QString("bbbb0002"));
        for (const char* what : {"db", "/db"}) {
            auto r = resolveTask(all, what);
            QVERIFY(!r.match);
            QCOMPARE(r.candidates.size(), 2);
        }
        QVERIFY(!resolveTask(all, "/").match);
    }

    void aNameThatIsAlsoAPrefixIsNotGuessed() {
        const QList<ContainerRef> all{ct("cafe1234", "/web", "running"),
                                      ct("dddd0001", "/cafe", "running")};
        auto r = resolveTask(all, "cafe");
        QVERIFY(!r.match);
        QCOMPARE(r.candidates.size(), 2);
        QCOMPARE(matched(resolveTask(all, "/cafe")), QString("dddd0001"));
        QCOMPARE(matched(resolveTask(all, "cafe12")), QString("cafe1234"));
    }
};

QTEST_GUILESS_MAIN(TaskRefTest)
#include "task_ref_test.moc"
