// LogFollower against a real agent that is killed (SIGKILL) and started again on the same port
// while a task writes: every line arrives exactly once, in order, and the reconnect says that
// nothing was missed. LogPager's history pages against the same agent. Needs root (the task's
// cgroups and namespaces, a private journald).
#include "client/api_client.h"
#include "client/log_feed.h"
#include "client/log_follower.h"
#include "client/log_pager.h"

#include "task_agent.h"

#include <QElapsedTimer>
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

    // The task writes a third of its lines, the agent is killed while the follower reads them,
    // the task writes the rest while the agent is down (a gate orders it), the agent comes back.
    void everyLineOnceAcrossAnAgentKilledAndRestarted() {
        const uint16_t port = m_env->port();
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), {}, {}};
        ApiClient api(ep);
        QString error;
        QVERIFY2(api.init(&error), qPrintable(error));
        constexpr int kLines = 3000, kBeforeOutage = 1000;
        const QString path =
            m_env->launch(api, "fw-follow", "/writer",
                          QStringLiteral("i=0; while [ $i -lt %1 ]; do echo line $i; i=$((i+1)); "
                                         "if [ $i -eq %2 ]; then %3; fi; done")
                              .arg(kLines)
                              .arg(kBeforeOutage)
                              .arg(m_env->waitFor("outage")),
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

        QTRY_VERIFY_WITH_TIMEOUT(seen.size() >= 300, 60000);
        m_env->process().kill9();
        QTRY_VERIFY_WITH_TIMEOUT(drops >= 1, 30000);
        const qsizetype before = seen.size();
        m_env->open("outage"); // the rest is written while the agent is down
        QTRY_VERIFY_WITH_TIMEOUT(m_env->journalLines(path) >= size_t(kLines), 60000);
        QTest::qWait(300); // the follower's attempts meanwhile are refused
        m_env->restartOnSamePort();
        QTRY_VERIFY2_WITH_TIMEOUT(seen.size() >= kLines, qPrintable(failure), 60000);
        QTest::qWait(300); // nothing more, nothing twice
        follower.stop();

        QVERIFY(failure.isEmpty());
        QVERIFY2(seen.size() == kLines, qPrintable(QString::number(seen.size())));
        for (int i = 0; i < kLines; ++i)
            QCOMPARE(seen[i], i);
        QVERIFY(before <= kBeforeOutage);
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
                               QStringLiteral("%1; i=0; while [ $i -lt %2 ]; do echo tick $i; "
                                              "i=$((i+1)); done")
                                   .arg(m_env->waitFor("late"))
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
        QTRY_COMPARE_WITH_TIMEOUT(resumes.size(), 1, 30000);
        QVERIFY(!follower.lastEventId().isEmpty()); // the starting point, before any entry
        QVERIFY(seen.isEmpty());
        m_env->process().kill9();
        m_env->open("late"); // the task writes all its lines while the agent is down
        QTRY_VERIFY_WITH_TIMEOUT(m_env->journalLines(o.path) >= size_t(kLines), 60000);
        m_env->restartOnSamePort();
        QTRY_VERIFY_WITH_TIMEOUT(seen.size() >= kLines, 60000);
        QTest::qWait(300);
        QCOMPARE(seen.size(), qsizetype(kLines));
        for (int i = 0; i < kLines; ++i)
            QCOMPARE(seen[i], i);
        QCOMPARE(resumes.last(), LogFollower::Resume::Exact);
    }

    // Pages of two sources that write at very different rates, back from the present to the
    // first line and forward again: after every page the lines held are exactly all the lines
    // of both sources from the page's bound on (back) or up to it (forward), none twice.
    //
    // The order is made, not hoped for: the sources write in ten rounds, each opened by a gate
    // once the round before is in the journal (300 lines of the chatty source, 15 of the quiet
    // one). Then one of them writes a last batch alone: the quiet one (it finishes last, and the
    // newest page holds its last lines) or the chatty one (the quiet one finished first, and
    // the newest page, cut inside the chatty one's last 300 lines, holds none of the quiet's).
    void pagesOfTwoSourcesKeepTheViewComplete_data() {
        QTest::addColumn<bool>("quietFinishesFirst");
        QTest::newRow("quiet finishes last") << false;
        QTest::newRow("quiet finishes first") << true;
    }
    void pagesOfTwoSourcesKeepTheViewComplete() {
        QFETCH(bool, quietFinishesFirst);
        const QString tag = quietFinishesFirst ? "first" : "last";
        constexpr int kRounds = 10, kChattyRound = 300, kQuietRound = 15, kPerSource = 250;
        const int chattyFinal = quietFinishesFirst ? 300 : 0;
        const int quietFinal = quietFinishesFirst ? 0 : 50;
        Endpoint ep{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_env->port())), {}, {}};
        ApiClient api(ep);
        QVERIFY(api.init(nullptr));
        QList<FeedSource> sources;
        for (const auto& [name, perRound, final] :
             {std::tuple{QStringLiteral("chatty"), kChattyRound, chattyFinal},
              std::tuple{QStringLiteral("quiet"), kQuietRound, quietFinal}}) {
            const QString lines =
                QStringLiteral("i=0; while [ $i -lt %1 ]; do echo %2 $r $i; i=$((i+1)); done");
            QString shell =
                QStringLiteral("r=1; while [ $r -le %1 ]; do %2; %3; r=$((r+1)); done")
                    .arg(kRounds)
                    .arg(m_env->waitFor(tag + "-round-$r"), lines.arg(perRound).arg(name));
            if (final > 0)
                shell += "; " + m_env->waitFor(tag + "-final") + "; r=final; " +
                         lines.arg(final).arg(name);
            QString error;
            const QString path = m_env->launch(api, "fw-pages-" + tag, "/" + name, shell, &error);
            QVERIFY2(!path.isEmpty(), qPrintable(error));
            sources.append(FeedSource{name, path, {}});
        }
        for (int r = 1; r <= kRounds; ++r) {
            m_env->open(QStringLiteral("%1-round-%2").arg(tag).arg(r));
            QTRY_VERIFY_WITH_TIMEOUT(
                m_env->journalLines(sources[0].path) >= size_t(r * kChattyRound) &&
                    m_env->journalLines(sources[1].path) >= size_t(r * kQuietRound),
                60000);
        }
        m_env->open(tag + "-final");
        const int total = kRounds * (kChattyRound + kQuietRound) + chattyFinal + quietFinal;

        // Everything, as one range per source; and each source's newest entry.
        QMap<QByteArray, int64_t> all; // cursor -> time
        QList<QByteArray> newest(sources.size());
        const auto readAll = [&] {
            all.clear();
            for (qsizetype src = 0; src < sources.size(); ++src) {
                QUrlQuery q;
                q.addQueryItem("limit", "100000");
                const auto r = api.call("GET", rangePathOf(sources[src].path), q);
                if (!r.ok())
                    return qsizetype(-1);
                for (const auto& line : r.body.split('\n'))
                    if (auto e = parseLogEntry(line)) {
                        all.insert(e->cursor, LogStore::sortTime(*e));
                        newest[src] = e->cursor; // read forwards: the last is the newest
                    }
            }
            return all.size();
        };
        QTRY_COMPARE_WITH_TIMEOUT(readAll(), qsizetype(total), 60000);

        LogPager pager(&api, sources);
        QList<LogPage> pages;
        QString failure;
        connect(&pager, &LogPager::page, this, [&](const LogPage& p) { pages.append(p); });
        connect(&pager, &LogPager::failed, this, [&](const QString& why) { failure = why; });
        for (auto direction : {LogPage::Direction::Older, LogPage::Direction::Newer}) {
            const bool older = direction == LogPage::Direction::Older;
            QMap<QByteArray, int64_t> held;
            QList<QByteArray> edges(sources.size()); // each source's oldest (newest) held
            int64_t bound = older ? LogPage::kNoBound : -1;
            int quietPages = 0;
            for (int n = 0; n < 100; ++n) {
                pages.clear();
                QVERIFY(pager.fetch(direction, bound, kPerSource, edges));
                // Busy until the page is delivered, also after the parse thread ended and
                // before its result reached this thread (a caller that fetched again then
                // would page from stale edges).
                QElapsedTimer waited;
                waited.start();
                while (pages.isEmpty() && failure.isEmpty() && waited.elapsed() < 60000) {
                    QVERIFY(pager.busy());
                    QCoreApplication::processEvents(QEventLoop::AllEvents, 2);
                }
                QVERIFY2(failure.isEmpty(), qPrintable(failure));
                const LogPage& p = pages.first();
                bool quiet = false;
                QSet<QByteArray> inPage;
                for (qsizetype i = 0; i < p.entries.size(); ++i) {
                    const auto& e = p.entries[i];
                    QVERIFY2(!held.contains(e.cursor), "an entry came twice");
                    if (i > 0)
                        QVERIFY(pageOrder(p.entries[i - 1], e));
                    held.insert(e.cursor, LogStore::sortTime(e));
                    inPage.insert(e.cursor);
                    quiet = quiet || e.source == 1;
                }
                for (qsizetype i = 0; i < p.entries.size(); ++i) {
                    const auto& e = older ? p.entries[p.entries.size() - 1 - i] : p.entries[i];
                    edges[e.source] = e.cursor; // the last one set is the oldest (newest)
                }
                quietPages += quiet;
                if (older && n == 0) {
                    // The newest page: following goes on after each source's newest entry,
                    // whether the page holds it or not (the header's contract).
                    for (qsizetype src = 0; src < sources.size(); ++src)
                        QCOMPARE(p.newestCursors[src], newest[src]);
                    QVERIFY(inPage.contains(newest[0]));
                    // The order this row made: the quiet source's newest entry is in the page
                    // when it finished last, and none of its lines when it finished first.
                    if (quietFinishesFirst)
                        QVERIFY2(!quiet, "the newest page holds lines of the quiet source");
                    else
                        QVERIFY(inPage.contains(newest[1]));
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
            // A page holds at most 250 of the chatty source's lines, less than one round, so it
            // reaches into two rounds at most, and the quiet source's lines of ten rounds are
            // in five pages at least. Had the chatty source's pages not cut the quiet one's
            // answers (at most 200 lines, under the 250 asked), they would all be in one page.
            QVERIFY2(quietPages >= kRounds / 2, qPrintable(QString::number(quietPages)));
        }
    }

    // A source that fails: no page, and the reason names it.
    void aPageWithAFailingSourceIsNotDelivered() {
        ApiClient api(m_env->endpoint());
        QVERIFY(api.init(nullptr));
        QString error;
        const QString path = m_env->launch(api, "fw-pages-broken", "/one", "echo one", &error);
        QVERIFY2(!path.isEmpty(), qPrintable(error));
        QList<FeedSource> sources{
            FeedSource{"one", path, {}},
            FeedSource{"gone",
                       agentPath({}, "logs/v1/stream/framework/fw-pages/executor/nope/container/"
                                     "nope"),
                       {}}};
        LogPager broken(&api, sources);
        QSignalSpy failed(&broken, &LogPager::failed);
        QSignalSpy delivered(&broken, &LogPager::page);
        QVERIFY(broken.fetch(LogPage::Direction::Older, LogPage::kNoBound, 10));
        QVERIFY(failed.wait(30000));
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
        const QString path =
            m_env->launch(api, "fw-feed", "/burst",
                          "i=0; while [ $i -lt 2000 ]; do echo burst $i; i=$((i+1)); done; " +
                              m_env->waitFor("after-burst") +
                              "; i=0; while [ $i -lt 50 ]; do echo after $i; i=$((i+1)); done",
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
        QTRY_COMPARE_WITH_TIMEOUT(delivered + dropped, qint64(2000), 60000);
        QVERIFY2(delivered <= 100, qPrintable(QString::number(delivered)));
        QVERIFY(dropped >= 1900);
        // Taken: the lines the task writes now are all handed over.
        feed.consumed(delivered);
        const qint64 before = delivered, droppedBefore = dropped;
        m_env->open("after-burst");
        QTRY_COMPARE_WITH_TIMEOUT(delivered, before + 50, 60000);
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
