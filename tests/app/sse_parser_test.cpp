// The SSE parser (app/client/sse_parser.h): the same events whatever the chunking, down to one
// byte at a time and a split at every byte boundary; the event-stream rules (BOM, CR/LF/CRLF,
// comments, multi-line data, id and retry, events without data); the last event id that a
// reconnect sends; and the bound on a line.
#include "client/sse_parser.h"

#include <QTest>

using day2::client::SseEvent;
using day2::client::SseParser;

namespace {

// Every rule at once: a BOM, all three line ends, a comment, retry (valid and not), an unknown
// field, a field without a colon, data over several lines, a named event, an id with a NUL
// (ignored), an event with only an id (not dispatched, but its id counts), and a last event cut
// off before its blank line.
const QByteArray kStream = QByteArray("\xEF\xBB\xBF", 3) +
                           "retry: 3000\n"
                           ": ping\n"
                           "id: s=1;i=1\r\n"
                           "data: {\"a\":1}\r\n"
                           "data: {\"b\":2}\r\n"
                           "\r\n"
                           "id: s=1;i=2\r"
                           "data:first\r"
                           "data: second\r"
                           "data\r"
                           "unknown: x\r"
                           "\r"
                           "event: reconnected\n"
                           "retry: soon\n"
                           "data:  two spaces\n"
                           "\n" +
                           QByteArray("id: bad\0id\n", 11) +
                           "id: s=1;i=3\n"
                           "\n"
                           "id: s=1;i=4\n"
                           "data: cut off";

struct Expected {
    QByteArray type, data, lastId;
};
const QList<Expected> kEvents = {
    {"message", "{\"a\":1}\n{\"b\":2}", "s=1;i=1"},
    {"message", "first\nsecond\n", "s=1;i=2"},
    {"reconnected", " two spaces", "s=1;i=2"},
};

void check(const QList<SseEvent>& got, const SseParser& p, const QString& how) {
    QVERIFY2(got.size() == kEvents.size(), qPrintable(how + ": " + QString::number(got.size())));
    for (qsizetype i = 0; i < got.size(); ++i) {
        QVERIFY2(got[i].type == kEvents[i].type, qPrintable(how));
        QVERIFY2(got[i].data == kEvents[i].data, qPrintable(how + ": " + got[i].data));
        QVERIFY2(got[i].lastEventId == kEvents[i].lastId, qPrintable(how));
    }
    // i=3 had no data but was dispatched; i=4 was cut off: a reconnect resumes after i=3.
    QVERIFY2(p.lastEventId() == "s=1;i=3", qPrintable(how + ": " + p.lastEventId()));
    QVERIFY2(p.retryMillis() == 3000, qPrintable(how));
    QVERIFY2(p.comments() == 1, qPrintable(how));
    QVERIFY2(!p.failed(), qPrintable(how));
}

} // namespace

class SseParserTest : public QObject {
    Q_OBJECT
private slots:
    void wholeStream() {
        SseParser p;
        QList<SseEvent> got;
        QVERIFY(p.feed(kStream, got));
        check(got, p, "whole");
    }

    void splitAtEveryByteBoundary() {
        for (qsizetype cut = 0; cut <= kStream.size(); ++cut) {
            SseParser p;
            QList<SseEvent> got;
            QVERIFY(p.feed(QByteArrayView(kStream).first(cut), got));
            QVERIFY(p.feed(QByteArrayView(kStream).sliced(cut), got));
            check(got, p, "cut at " + QString::number(cut));
        }
    }

    void splitTwiceAtEveryPairOfBoundaries() {
        for (qsizetype a = 0; a <= kStream.size(); ++a)
            for (qsizetype b = a; b <= kStream.size(); ++b) {
                SseParser p;
                QList<SseEvent> got;
                p.feed(QByteArrayView(kStream).first(a), got);
                p.feed(QByteArrayView(kStream).sliced(a, b - a), got);
                p.feed(QByteArrayView(kStream).sliced(b), got);
                check(got, p, QString("cuts at %1 and %2").arg(a).arg(b));
            }
    }

    void oneByteAtATime() {
        SseParser p;
        QList<SseEvent> got;
        for (char c : kStream)
            QVERIFY(p.feed(QByteArrayView(&c, 1), got));
        check(got, p, "bytewise");
    }

    void aCrAtTheEndOfAChunkThenALfIsOneLineEnd() {
        SseParser p;
        QList<SseEvent> got;
        p.feed("data: x\r", got);
        p.feed("\ndata: y\r", got); // "\r" + "\n" ends one line: no blank line between
        p.feed("\n\r", got);        // ends "data: y", then a blank line: one event
        QCOMPARE(got.size(), 1);
        QCOMPARE(got[0].data, QByteArray("x\ny"));
        p.feed("\ndata: z\n\n", got); // this "\n" after "\r" belongs to it: no extra line
        QCOMPARE(got.size(), 2);
        QCOMPARE(got[1].data, QByteArray("z"));
    }

    void onlyALeadingBomIsSkipped() {
        SseParser p;
        QList<SseEvent> got;
        p.feed(QByteArray("\xEF\xBB", 2), got);
        p.feed(QByteArray("\xBF"
                          "data: a\n\n",
                          10),
               got);
        p.feed(QByteArray("\xEF\xBB\xBF"
                          "data: b\n\n",
                          12),
               got);
        QCOMPARE(got.size(), 1); // the second BOM starts a field named "\xEF\xBB\xBFdata"
        QCOMPARE(got[0].data, QByteArray("a"));
        SseParser noBom;
        got.clear();
        noBom.feed("\xEF", got); // a lone first byte that is not a BOM after all
        noBom.feed("data: c\n\n", got);
        QCOMPARE(got.size(), 0); // "\xEFdata" is an unknown field
        noBom.feed("data: d\n\n", got);
        QCOMPARE(got.size(), 1);
    }

    void anAgentStreamInRandomChunks() {
        QByteArray stream;
        for (int i = 1; i <= 2000; ++i)
            stream += "id: s=abc;i=" + QByteArray::number(i) +
                      "\ndata: {\"fields\":{\"MESSAGE\":\"line " + QByteArray::number(i) +
                      "\"}}\n\n" + (i % 100 == 0 ? ": ping\n" : "");
        SseParser p;
        QList<SseEvent> got;
        quint32 seed = 7;
        for (qsizetype at = 0; at < stream.size();) {
            seed = seed * 1103515245u + 12345u;
            const qsizetype n = std::min<qsizetype>(1 + (seed >> 16) % 300, stream.size() - at);
            QVERIFY(p.feed(QByteArrayView(stream).sliced(at, n), got));
            at += n;
        }
        QCOMPARE(got.size(), 2000);
        for (int i = 0; i < 2000; ++i)
            QCOMPARE(got[i].lastEventId, "s=abc;i=" + QByteArray::number(i + 1));
        QCOMPARE(p.comments(), 20u);
    }

    void aReconnectDropsTheCutEventAndResumesAfterTheLastOneSeen() {
        SseParser p;
        QList<SseEvent> got;
        p.feed(kStream, got); // ends inside event i=4
        p.resetStream();
        // The new connection opens with retry and a blank line, then is cut again at once.
        p.feed(QByteArray("\xEF\xBB\xBF"
                          "retry: 1000\n\n",
                          17),
               got);
        QCOMPARE(got.size(), kEvents.size()); // nothing new, no "cut off" + "retry" event
        QCOMPARE(p.lastEventId(), QByteArray("s=1;i=3")); // i=4 was never seen
        QCOMPARE(p.retryMillis(), 1000);
        p.resetStream();
        p.feed("id: s=1;i=4\ndata: again\n\n", got);
        QCOMPARE(got.size(), kEvents.size() + 1);
        QCOMPARE(got.back().data, QByteArray("again"));
        QCOMPARE(p.lastEventId(), QByteArray("s=1;i=4"));
    }

    void anEventsDataIsBoundedToo() {
        SseParser p(64);
        QList<SseEvent> got;
        for (int i = 0; i < 7 && !p.failed(); ++i)
            p.feed("data: 0123456789\n", got); // short lines, one event growing past 64 bytes
        QVERIFY(p.failed());
        QVERIFY(got.isEmpty());
    }

    void aLineOfExactlyTheBoundPassesAndOneMoreFails() {
        SseParser p(64);
        QList<SseEvent> got;
        QVERIFY(p.feed("data: " + QByteArray(58, 'x') + "\n\n", got)); // 64 bytes
        QCOMPARE(got.size(), 1);
        QVERIFY(!p.feed("data: " + QByteArray(59, 'x') + "\n\n", got)); // 65, in one chunk
        QCOMPARE(got.size(), 1);
    }

    void aLineOverTheBoundStopsTheParser() {
        SseParser p(64);
        QList<SseEvent> got;
        QVERIFY(p.feed("data: ok\n\n", got));
        QVERIFY(p.feed("data: " + QByteArray(40, 'x'), got));
        QVERIFY(!p.feed(QByteArray(40, 'x'), got)); // 86 bytes without a line end
        QVERIFY(p.failed());
        QVERIFY(!p.feed("\n\ndata: later\n\n", got));
        QCOMPARE(got.size(), 1);
    }
};

QTEST_GUILESS_MAIN(SseParserTest)
#include "sse_parser_test.moc"
