// LogFollower against a real agent that is killed (SIGKILL) and started again on the same port
// while a task writes: every line arrives exactly once, in order, and the reconnect says that
// nothing was missed. LogPager's history pages against the same agent. Needs root (the task's
// cgroups and namespaces, a private journald).
#include "client/api_client.h"
#include "client/log_feed.h"
#include "client/log_follower.h"
#include "client/log_pager.h"

#include "task_agent.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QSet>
#include <QSignalSpy>
#include <QTest>

#include <filesystem>
#include <memory>
#include <tuple>
#include <unistd.h>

using namespace day2::client;
using day2::test::TaskAgent;

class LogFollowerTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        if (const std::string why = TaskAgent::unavailable(); !why.empty())
            QSKIP(why.c_str());
        m_env = std::make_unique<TaskAgent>("fo");
    }

    void cleanupTestCase() { m_env.reset(); }

    void everyLineOnceAcrossAnAgentKilledAndRestarted() {
        const uint16_t port = m_env->port();
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), {}, {}};
        ApiClient api(ep);
        QString error;
        QVERIFY2(api.init(&error), qPrintable(error));
        constexpr int kLines = 3000;
        const QString path =
            m_env->launch(api, "fw-follow", "/writer",
                          QStringLiteral("i=0; while [ $i -lt %1 ]; do echo line $i; i=$((i+1)); "
                                         "sleep 0.002; done")
                              .arg(kLines),
                          &error);
        QVERIFY2(!path.isEmpty(), qPrintable(error));

        LogFollower::Options o;
        o.path = path;
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
        m_env->process().kill9();
        QTRY_VERIFY_WITH_TIMEOUT(drops >= 1, 10000);
        QTest::qWait(1000); // the task keeps writing; the follower's attempts are refused
        const qsizetype before = seen.size();
        m_env->restartOnSamePort();
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
        const uint16_t port = m_env->port();
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), {}, {}};
        ApiClient api(ep);
        QVERIFY(api.init(nullptr));
        constexpr int kLines = 200;
        QString error;
        LogFollower::Options o;
        o.path = m_env->launch(api, "fw-follow", "/late",
                               QStringLiteral("sleep 3; i=0; while [ $i -lt %1 ]; do echo tick $i; "
                                              "i=$((i+1)); done")
                                   .arg(kLines),
                               &error);
        QVERIFY2(!o.path.isEmpty(), qPrintable(error));
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
        m_env->process().kill9();
        QTest::qWait(5000); // the task writes all its lines meanwhile
        m_env->restartOnSamePort();
        QTRY_VERIFY_WITH_TIMEOUT(seen.size() >= kLines, 30000);
        QTest::qWait(300);
        QCOMPARE(seen.size(), qsizetype(kLines));
        for (int i = 0; i < kLines; ++i)
            QCOMPARE(seen[i], i);
        QCOMPARE(resumes.last(), LogFollower::Resume::Exact);
    }

    // Pages of two sources that write at very different rates, back from the present to the
    // first line and forward again: after every page the lines held are exactly all the lines
    // of both sources from the page's bound on (back) or up to it (forward), none twice.
    void pagesOfTwoSourcesKeepTheViewComplete() {
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_env->port())), {}, {}};
        ApiClient api(ep);
        QVERIFY(api.init(nullptr));
        QList<FeedSource> sources;
        for (const auto& [name, lines, pause] :
             {std::tuple{"chatty", 3000, "0.0005"}, std::tuple{"quiet", 200, "0.02"}}) {
            QString error;
            const QString path = m_env->launch(
                api, "fw-pages", QStringLiteral("/%1").arg(name),
                QStringLiteral(
                    "i=0; while [ $i -lt %1 ]; do echo %2 $i; i=$((i+1)); sleep %3; done")
                    .arg(lines)
                    .arg(name, pause),
                &error);
            QVERIFY2(!path.isEmpty(), qPrintable(error));
            sources.append(FeedSource{name, path, {}});
        }
        // Everything, as one range per source once both have finished.
        QMap<QByteArray, int64_t> all; // cursor -> time
        const auto readAll = [&] {
            all.clear();
            for (const auto& s : sources) {
                QUrlQuery q;
                q.addQueryItem("limit", "100000");
                const auto r = api.call("GET", rangePathOf(s.path), q);
                if (!r.ok())
                    return qsizetype(-1);
                for (const auto& line : r.body.split('\n'))
                    if (auto e = parseLogEntry(line))
                        all.insert(e->cursor, LogStore::sortTime(*e));
            }
            return all.size();
        };
        QTRY_COMPARE_WITH_TIMEOUT(readAll(), qsizetype(3200), 60000);

        LogPager pager(&api, sources);
        QList<LogPage> pages;
        QString failure;
        connect(&pager, &LogPager::page, this, [&](const LogPage& p) { pages.append(p); });
        connect(&pager, &LogPager::failed, this, [&](const QString& why) { failure = why; });
        constexpr int kPerSource = 250;
        for (auto direction : {LogPage::Direction::Older, LogPage::Direction::Newer}) {
            const bool older = direction == LogPage::Direction::Older;
            QMap<QByteArray, int64_t> held;
            QList<QByteArray> edges(sources.size()); // each source's oldest (newest) held
            int64_t bound = older ? LogPage::kNoBound : -1;
            int quietPages = 0;
            for (int n = 0; n < 100; ++n) {
                pages.clear();
                QVERIFY(pager.fetch(direction, bound, kPerSource, edges));
                QVERIFY(pager.busy());
                QTRY_VERIFY2_WITH_TIMEOUT(!pages.isEmpty() || !failure.isEmpty(),
                                          qPrintable(failure), 30000);
                QVERIFY2(failure.isEmpty(), qPrintable(failure));
                const LogPage& p = pages.first();
                bool quiet = false;
                for (qsizetype i = 0; i < p.entries.size(); ++i) {
                    const auto& e = p.entries[i];
                    QVERIFY2(!held.contains(e.cursor), "an entry came twice");
                    if (i > 0)
                        QVERIFY(pageOrder(p.entries[i - 1], e));
                    held.insert(e.cursor, LogStore::sortTime(e));
                    quiet = quiet || e.source == 1;
                }
                for (qsizetype i = 0; i < p.entries.size(); ++i) {
                    const auto& e = older ? p.entries[p.entries.size() - 1 - i] : p.entries[i];
                    edges[e.source] = e.cursor; // the last one set is the oldest (newest)
                }
                quietPages += quiet;
                if (older && n == 0) // where following goes on: each source's newest entry
                    for (qsizetype src = 0; src < sources.size(); ++src) {
                        QByteArray last;
                        for (const auto& e : p.entries)
                            if (e.source == src)
                                last = e.cursor;
                        QCOMPARE(p.newestCursors[src], last);
                    }
                // Complete: every entry beyond the bound is held, nothing on its near side
                // (at the bound itself the next page may add entries of the same microsecond).
                for (auto it = all.begin(); it != all.end(); ++it) {
                    const bool beyond = older ? it.value() > p.bound : it.value() < p.bound;
                    const bool near = older ? it.value() < p.bound : it.value() > p.bound;
                    if (beyond && !held.contains(it.key()))
                        QFAIL(qPrintable(QStringLiteral("page %1: missing an entry at %2, bound %3")
                                             .arg(n)
                                             .arg(it.value())
                                             .arg(p.bound)));
                    if (near)
                        QVERIFY(!held.contains(it.key()));
                }
                bound = p.bound;
                if (p.reachedEnd)
                    break;
            }
            QCOMPARE(held.size(), all.size());
            // The quiet source's 200 lines fit one answer of 250; had the chatty one's pages
            // not cut them, they would all have come in the first page.
            QVERIFY2(quietPages >= 5, qPrintable(QString::number(quietPages)));
        }

        // A source that fails: no page, and the reason names it.
        sources.append(FeedSource{"gone",
                                  agentPath({}, "logs/v1/stream/framework/fw-pages/executor/"
                                                "nope/container/nope"),
                                  {}});
        LogPager broken(&api, sources);
        QSignalSpy failed(&broken, &LogPager::failed);
        QSignalSpy delivered(&broken, &LogPager::page);
        QVERIFY(broken.fetch(LogPage::Direction::Older, LogPage::kNoBound, 10));
        QVERIFY(failed.wait(10000));
        QVERIFY2(failed.first().first().toString().startsWith("gone: HTTP 404"),
                 qPrintable(failed.first().first().toString()));
        QTest::qWait(200);
        QCOMPARE(delivered.size(), 0);
        QVERIFY(!broken.busy());
    }

    // The feed hands over at most its bound of entries the GUI thread has not taken; beyond
    // that it drops and counts, and what it drops plus what it hands over is every line.
    void aFeedThatIsNotTakenFromDropsAndCounts() {
        ApiClient api(m_env->endpoint());
        QVERIFY(api.init(nullptr));
        QString error;
        const QString path = m_env->launch(
            api, "fw-feed", "/burst",
            "i=0; while [ $i -lt 2000 ]; do echo burst $i; i=$((i+1)); done; sleep 8; "
            "i=0; while [ $i -lt 50 ]; do echo after $i; i=$((i+1)); done",
            &error);
        QVERIFY2(!path.isEmpty(), qPrintable(error));
        QUrlQuery fromStart;
        fromStart.addQueryItem("since", "0");
        LogFeed feed(api.endpoint(), {FeedSource{"burst", path, fromStart}}, 100);
        qint64 delivered = 0, dropped = 0;
        connect(&feed, &LogFeed::entries, this,
                [&](const QList<LogEntry>& batch) { delivered += batch.size(); });
        connect(&feed, &LogFeed::dropped, this, [&](int source, qint64 n) {
            QCOMPARE(source, 0);
            dropped += n;
        });
        feed.start();
        QTRY_COMPARE_WITH_TIMEOUT(delivered + dropped, qint64(2000), 30000);
        QVERIFY2(delivered <= 100, qPrintable(QString::number(delivered)));
        QVERIFY(dropped >= 1900);
        // Taken: the lines written 8 s later are all handed over.
        feed.consumed(delivered);
        const qint64 before = delivered, droppedBefore = dropped;
        QTRY_COMPARE_WITH_TIMEOUT(delivered, before + 50, 30000);
        QCOMPARE(dropped, droppedBefore);
    }

    void aRefusedRequestIsNotRetried() {
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_env->port())), {}, {}};
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
        const std::string bad = m_env->stateDir() + "/not-a-ca.pem";
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
    std::unique_ptr<TaskAgent> m_env;
};

QTEST_GUILESS_MAIN(LogFollowerTest)
#include "log_follower_test.moc"
