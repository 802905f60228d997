// The log pane's store (app/client/log_store.h): entries of several sources merged in timestamp
// order whatever the batches; cursors kept as numbers and given back exactly; the bound on lines,
// evicting from the end asked for and releasing the text's memory; filter and search together;
// and the JSON lines of the logs API.
#include "client/log_store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTest>

#include <cstring>
#include <memory>

using namespace day2::client;

namespace {

const QByteArray kSeqId = "0123456789abcdef0123456789abcdef";
const QByteArray kBoot = "fedcba9876543210fedcba9876543210";

// What parseLogEntry() must give, the way it was written first: the whole document through
// QJsonDocument, then the fields picked.
std::optional<LogEntry> referenceParse(const QByteArray& json) {
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (!doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    if (!o.value("cursor").isString() || !o.value("realtime_timestamp").isDouble())
        return std::nullopt;
    LogEntry e;
    e.cursor = o.value("cursor").toString().toUtf8();
    e.realtimeUsec = int64_t(o.value("realtime_timestamp").toDouble());
    e.message = entryField(o, "MESSAGE");
    bool ok = false;
    const int prio = entryField(o, "PRIORITY").toInt(&ok);
    e.priority = ok && prio >= 0 && prio <= 7 ? prio : 6;
    e.stderrStream = entryField(o, "STREAM") == "STDERR";
    return e;
}

// (moc's reader does not take these raw strings.)
#ifndef Q_MOC_RUN
QList<QByteArray> validEntries() {
    return {
        R"({"fields":{"MESSAGE":"plain","PRIORITY":"6"},"cursor":"c1","realtime_timestamp":1})",
        R"({"cursor":"c","realtime_timestamp":1700000000000001,"monotonic_timestamp":5,)"
        R"("fields":{"_PID":"12","MESSAGE":"tab\there \"quoted\" back\\slash \/ \u00e9\u4e2d)"
        R"(\ud83d\ude00 \b\f\n\r","PRIORITY":"3","STREAM":"STDERR","X":{"a":[1,2.5e3,-0.1,)"
        R"(true,false,null,{"b":[]}]}}})",
        R"( { "fields" : { "MESSAGE" : [ "first" , "second" ] , "PRIORITY" : [ "9" ] } ,)"
        R"( "cursor" : "c" , "realtime_timestamp" : 1.5e3 } )",
        R"({"fields":{},"fields_b64":{"MESSAGE":["eABZ","eg=="]},"cursor":"c",)"
        R"("realtime_timestamp":0})",
        R"({"fields":{"MESSAGE":"text wins"},"fields_b64":{"MESSAGE":"eABZ"},"cursor":"c",)"
        R"("realtime_timestamp":2})",
        R"({"fields":{"MESSAGE":[1,"not first"],"STREAM":["STDERR"]},"cursor":"c",)"
        R"("realtime_timestamp":-3})",
        R"({"fields":{"MESSAGE":""},"cursor":"","realtime_timestamp":4})",
    };
}

QList<QByteArray> brokenEntries() {
    return {
        "",
        "{",
        "{}",
        "[]",
        R"({"fields":{}})",
        R"({"cursor":"c","realtime_timestamp":"1"})",
        R"({"cursor":1,"realtime_timestamp":1})",
        R"({"cursor":"c","realtime_timestamp":1}x)",
        R"({"cursor":"c","realtime_timestamp":1,})",
        R"({"cursor":"c" "realtime_timestamp":1})",
        R"({"cursor":"c\q","realtime_timestamp":1})",
        R"({"cursor":"c\ud800","realtime_timestamp":1})",
        R"({"cursor":"c","realtime_timestamp":01})",
        R"({"cursor":"c","realtime_timestamp":1.})",
        R"({"fields":{"MESSAGE":"x},"cursor":"c","realtime_timestamp":1})",
        R"({"fields":{"MESSAGE":tru},"cursor":"c","realtime_timestamp":1})",
        "{\"cursor\":\"a\nb\",\"realtime_timestamp\":1}",
        QByteArray(200, '[') + QByteArray(200, ']'),
    };
}
#endif

QByteArray cursorFor(uint64_t seq, int64_t t) {
    return formatCursor({kSeqId, kBoot, seq, uint64_t(t) / 2, uint64_t(t), seq * 7919});
}

LogEntry entry(int64_t t, const QByteArray& message, uint16_t source = 0, int priority = 6,
               bool err = false) {
    LogEntry e;
    e.realtimeUsec = t;
    e.cursor = cursorFor(uint64_t(t), t);
    e.message = message;
    e.source = source;
    e.priority = priority;
    e.stderrStream = err;
    return e;
}

QList<QByteArray> messages(const LogStore& s, const std::vector<uint32_t>* only = nullptr) {
    QList<QByteArray> out;
    if (only) {
        for (uint32_t i : *only)
            out.append(s.message(i).toByteArray());
    } else {
        for (size_t i = 0; i < s.size(); ++i)
            out.append(s.message(i).toByteArray());
    }
    return out;
}

} // namespace

class LogStoreTest : public QObject {
    Q_OBJECT
private slots:
    void cursorsRoundTrip() {
        const QByteArray c =
            "s=" + kSeqId + ";i=1f4;b=" + kBoot + ";m=2d8a1c;t=6110f5ecfe53c;x=9a3b2c1d0e0f1a2b";
        auto p = parseCursor(c);
        QVERIFY(p);
        QCOMPARE(p->seqnum, 0x1f4u);
        QCOMPARE(formatCursor(*p), c);
        QVERIFY(!parseCursor("s=abc;i=1"));
        QVERIFY(!parseCursor("s=" + kSeqId + ";i=zz;b=" + kBoot + ";m=1;t=1;x=1"));
        QVERIFY(!parseCursor(""));
    }

    void severalSourcesMergeInTimestampOrderWhateverTheBatches() {
        // Three sources, each in order, arriving in batches that interleave in time.
        LogStore s;
        s.insert({entry(10, "a1", 0), entry(40, "a4", 0), entry(70, "a7", 0)});
        s.insert({entry(20, "b2", 1), entry(50, "b5", 1)});
        s.insert({entry(5, "c0", 2), entry(60, "c6", 2), entry(80, "c8", 2)});
        s.insert({entry(40, "b4-same-time", 1)}); // a tie goes after what was there
        QCOMPARE(messages(s), (QList<QByteArray>{"c0", "a1", "b2", "a4", "b4-same-time", "b5", "c6",
                                                 "a7", "c8"}));
        QCOMPARE(s.line(0).source, uint16_t(2));
        // Each line gives its own cursor back.
        for (size_t i = 0; i < s.size(); ++i)
            QCOMPARE(s.cursor(i),
                     cursorFor(uint64_t(s.line(i).realtimeUsec), s.line(i).realtimeUsec));
    }

    void theBoundEvictsFromTheEndAskedForAndReleasesTheText() {
        LogStore s(1000);
        const QByteArray text(200, 'x');
        QList<LogEntry> batch;
        for (int i = 0; i < 1000; ++i)
            batch.append(entry(1000 + i, text + QByteArray::number(i)));
        QCOMPARE(s.insert(batch), size_t(0));
        // Following: 20,000 newer lines keep the newest 1000.
        for (int round = 0; round < 20; ++round) {
            batch.clear();
            for (int i = 0; i < 1000; ++i)
                batch.append(
                    entry(10'000 + round * 1000 + i, text + QByteArray::number(round * 1000 + i)));
            QCOMPARE(s.insert(batch), size_t(1000));
        }
        QCOMPARE(s.size(), size_t(1000));
        QCOMPARE(s.evictedTotal(), uint64_t(20'000));
        QCOMPARE(s.message(0).toByteArray(), text + "19000");
        // 20x the lines went through, the memory is that of 1000 lines (plus a chunk or two).
        QVERIFY2(s.memoryBytes() < 1000 * (sizeof(LogStore::Line) + 210) + 2 * 1024 * 1024,
                 qPrintable(QString::number(s.memoryBytes())));
        // Reading back in history: older lines evict the newest.
        batch.clear();
        for (int i = 0; i < 10; ++i)
            batch.append(entry(1 + i, "old" + QByteArray::number(i)));
        QCOMPARE(s.insert(batch, Evict::Newest), size_t(10));
        QCOMPARE(s.message(0).toByteArray(), QByteArray("old0"));
        QCOMPARE(s.message(s.size() - 1).toByteArray(), text + "19989");
    }

    void readingHistoryWhileTheTailArrivesKeepsMemoryBounded() {
        // The window is full of history (Evict::Newest): each live line is stored and evicted
        // at once. The text of those lines must not pile up.
        LogStore s(1000);
        QList<LogEntry> batch;
        for (int i = 0; i < 1000; ++i)
            batch.append(entry(1000 + i, QByteArray(200, 'h')));
        s.insert(batch);
        const size_t before = s.memoryBytes();
        for (int round = 0; round < 50; ++round) {
            batch.clear();
            for (int i = 0; i < 1000; ++i)
                batch.append(entry(100'000 + round * 1000 + i, QByteArray(200, 't')));
            QCOMPARE(s.insert(batch, Evict::Newest), size_t(1000));
        }
        QCOMPARE(s.message(s.size() - 1).toByteArray(), QByteArray(200, 'h'));
        QVERIFY2(s.memoryBytes() <= before + 1024 * 1024,
                 qPrintable(QString("%1 -> %2").arg(before).arg(s.memoryBytes())));
    }

    void aBatchOlderThanEverythingOrInterleavedIsMergedInOrder() {
        LogStore s;
        s.insert({entry(100, "n100"), entry(200, "n200")});
        // A history page, itself out of order, all older than the window.
        s.insert({entry(30, "h30"), entry(10, "h10"), entry(20, "h20")});
        // A late source's backlog that interleaves with everything.
        s.insert({entry(15, "l15"), entry(150, "l150"), entry(5, "l5"), entry(250, "l250")});
        QCOMPARE(messages(s), (QList<QByteArray>{"l5", "h10", "l15", "h20", "h30", "n100", "l150",
                                                 "n200", "l250"}));
    }

    void aHugeMessageIsKeptCutAndSaysSo() {
        LogStore s;
        s.insert({entry(1, QByteArray(LogStore::kMaxMessage + 5, 'y')), entry(2, "small")});
        QCOMPARE(s.message(0).size(), qsizetype(LogStore::kMaxMessage));
        QVERIFY(s.line(0).truncated);
        QVERIFY(!s.line(1).truncated);
        QCOMPARE(s.message(1).toByteArray(), QByteArray("small"));
        // Cut before a UTF-8 sequence, never inside it.
        LogStore u;
        u.insert({entry(1, QByteArray(LogStore::kMaxMessage - 1, 'a') + "\xc3\xa9"
                                                                        "tail")});
        QCOMPARE(u.message(0).size(), qsizetype(LogStore::kMaxMessage - 1));
        QVERIFY(u.line(0).truncated);
    }

    void filterAndSearchWorkTogether() {
        LogStore s;
        s.insert({entry(1, "GET /health 200", 0, 6), entry(2, "GET /api 500 Internal", 0, 3, true),
                  entry(3, "POST /api 201", 1, 6), entry(4, "timeout talking to db", 1, 4, true),
                  entry(5, "get /API 404", 0, 6)});
        auto all = s.filter({});
        QVERIFY(all);
        QCOMPARE(all->size(), size_t(5));
        LogFilter f;
        f.text = "/api"; // case-insensitive substring
        auto api = s.filter(f);
        QCOMPARE(messages(s, &*api),
                 (QList<QByteArray>{"GET /api 500 Internal", "POST /api 201", "get /API 404"}));
        // Search within the filtered lines: the matches to jump between.
        auto hits = s.search("get", false, &*api);
        QCOMPARE(hits, (std::vector<uint32_t>{1, 4}));
        f.invert = true;
        auto others = s.filter(f);
        QCOMPARE(messages(s, &*others),
                 (QList<QByteArray>{"GET /health 200", "timeout talking to db"}));
        f = {};
        f.maxPriority = 4;
        QCOMPARE(s.filter(f)->size(), size_t(2));
        f.stderrLines = false;
        QCOMPARE(s.filter(f)->size(), size_t(0));
        f = {};
        f.text = "^(get|post) /api [45]\\d\\d";
        f.regex = true;
        auto errors = s.filter(f);
        QCOMPARE(messages(s, &*errors),
                 (QList<QByteArray>{"GET /api 500 Internal", "get /API 404"}));
        // Case folding is Unicode's; regex metacharacters in a substring are plain text;
        // invalid UTF-8 in a message is matched around, not an error.
        s.insert({entry(6, "\xc3\xa9"
                           "chec: [retry] x\xff"),
                  entry(7, "retry")});
        f = {};
        f.text = QString::fromUtf8("\xc3\x89"
                                   "CHEC: [RETRY]");
        auto folded = s.filter(f);
        QCOMPARE(folded->size(), size_t(1));
        QCOMPARE(folded->front(), uint32_t(5));
        // A long pasted line is a substring, whatever its punctuation.
        f.text = QString(500, QChar('.')) + " [x]";
        QString longError;
        QVERIFY2(s.filter(f, &longError), qPrintable(longError));
        f.regex = true;
        f.text = "(";
        QString error;
        QVERIFY(!s.filter(f, &error));
        QVERIFY(!error.isEmpty());
    }

    void jsonLinesOfTheLogsApi() {
        const QByteArray line =
            "{\"fields\":{\"MESSAGE\":\"hello\",\"PRIORITY\":\"3\",\"STREAM\":\"STDERR\"},"
            "\"cursor\":\"" +
            cursorFor(9, 1700000000000000) +
            "\",\"monotonic_timestamp\":5,"
            "\"realtime_timestamp\":1700000000000000}";
        QString error;
        auto e = parseLogEntry(line, &error);
        QVERIFY2(e, qPrintable(error));
        QCOMPARE(e->message, QByteArray("hello"));
        QCOMPARE(e->priority, 3);
        QVERIFY(e->stderrStream);
        QCOMPARE(e->realtimeUsec, int64_t(1700000000000000));
        // Binary messages arrive base64 in fields_b64.
        auto b =
            parseLogEntry("{\"fields\":{},\"fields_b64\":{\"MESSAGE\":\"eABZ\"},\"cursor\":\"c\","
                          "\"realtime_timestamp\":1}");
        QVERIFY(b);
        QCOMPARE(b->message, QByteArray("x\0Y", 3));
        // A field repeated in one entry is an array of its values: the first one counts.
        auto twice = parseLogEntry("{\"fields\":{\"MESSAGE\":[\"one\",\"two\"],"
                                   "\"PRIORITY\":[\"2\",\"6\"]},\"cursor\":\"c\","
                                   "\"realtime_timestamp\":1}");
        QVERIFY(twice);
        QCOMPARE(twice->message, QByteArray("one"));
        QCOMPARE(twice->priority, 2);
        QVERIFY(!parseLogEntry("{\"fields\":{}}", &error));
        QVERIFY(error.contains("cursor"));
        QVERIFY(!parseLogEntry("not json", &error));
    }

    // The one-pass reader gives what QJsonDocument gives, on entries with every kind of value
    // and escape; broken ones are refused, and nothing past the text is read.
    void theEntryReaderAgreesWithQJsonDocument() {
        const QList<QByteArray> valid = validEntries();
        for (const auto& json : valid) {
            const auto want = referenceParse(json);
            QVERIFY2(want, json.constData());
            QString error;
            const auto got = parseLogEntry(json, &error);
            QVERIFY2(got, qPrintable(error + ": " + json));
            QCOMPARE(got->message, want->message);
            QCOMPARE(got->cursor, want->cursor);
            QCOMPARE(got->realtimeUsec, want->realtimeUsec);
            QCOMPARE(got->priority, want->priority);
            QCOMPARE(got->stderrStream, want->stderrStream);
        }
        // (QJsonDocument takes some of these: an invalid escape, a lone surrogate, "1.". The
        // agent never writes them; what is not UTF-8 goes to fields_b64.)
        const QList<QByteArray> broken = brokenEntries();
        for (const auto& json : broken) {
            QString error;
            QVERIFY2(!parseLogEntry(json, &error), json.constData());
            QVERIFY(!error.isEmpty());
        }
        // Every prefix, and random bytes changed: exactly those bytes are read (a copy of each,
        // so that ASan sees a read past it), a cut entry is never taken, and where both
        // readers take a changed one they agree.
        QRandomGenerator rng(5);
        for (const auto& json : valid)
            for (int round = 1; round < json.size() + 400; ++round) {
                QByteArray bad = round < json.size() ? json.left(round) : json;
                for (int k = 0; round >= json.size() && k < 1 + int(rng.bounded(3)); ++k)
                    bad[int(rng.bounded(int(bad.size())))] = char(rng.bounded(256));
                const std::unique_ptr<char[]> copy(new char[size_t(bad.size())]);
                std::memcpy(copy.get(), bad.constData(), size_t(bad.size()));
                const auto got = parseLogEntry(QByteArrayView(copy.get(), bad.size()));
                if (round < json.size() && !json.left(round).trimmed().endsWith('}'))
                    QVERIFY2(!got, bad.constData());
                const auto want = referenceParse(bad);
                if (got && want) {
                    QCOMPARE(got->cursor, want->cursor);
                    QCOMPARE(got->realtimeUsec, want->realtimeUsec);
                }
            }
    }
};

QTEST_GUILESS_MAIN(LogStoreTest)
#include "log_store_test.moc"
