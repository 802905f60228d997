// The log pane's model (ui/log_pane.h) against an oracle, under QAbstractItemModelTester: batches
// from three sources that interleave (merged into the tail), evictions once full, pages of
// history, without a filter, with one, and with one keeping context lines, with a search; every
// step checks the rows the view would show.
#include "log_pane.h"

#include <QAbstractItemModelTester>
#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <map>

using namespace day2;
using client::LogEntry;

namespace {

LogEntry entry(int64_t time, int source) {
    LogEntry e;
    e.realtimeUsec = time;
    e.source = uint16_t(source);
    e.message = "t" + QByteArray::number(qlonglong(time)) + (time % 7 == 0 ? " ERROR" : "");
    e.priority = time % 7 == 0 ? 3 : 6;
    return e;
}

// The rows a filter shows of `lines` (in order): mode 0 none; 1 the lines without ERROR; 2 the
// lines with ERROR and two lines of context around each (as grep -C 2).
QList<QByteArray> shownBy(int mode, const QList<QByteArray>& lines) {
    if (mode == 0)
        return lines;
    QList<QByteArray> out;
    for (qsizetype i = 0; i < lines.size(); ++i) {
        bool show = mode == 1 ? !lines[i].contains("ERROR") : false;
        for (qsizetype k = std::max<qsizetype>(0, i - 2);
             mode == 2 && k <= std::min(lines.size() - 1, i + 2); ++k)
            show = show || lines[k].contains("ERROR");
        if (show)
            out.append(lines[i]);
    }
    return out;
}

void setFilterMode(ui::LogListModel& model, int mode) {
    if (mode == 0)
        return;
    client::LogFilter f;
    f.text = "ERROR";
    f.invert = mode == 1; // most lines pass, some do not
    f.context = mode == 2 ? 2 : 0;
    QVERIFY(model.setFilter(f, nullptr));
}

} // namespace

class LogListModelTest : public QObject {
    Q_OBJECT
private slots:
    void rowsFollowTheStoreThroughMergesEvictionsFilterAndSearch() {
        for (const int mode : {0, 1, 2}) {
            constexpr size_t kMax = 300;
            ui::LogListModel model(kMax);
            QAbstractItemModelTester tester(&model,
                                            QAbstractItemModelTester::FailureReportingMode::Fatal);
            model.setSources({"a", "b", "c"});
            setFilterMode(model, mode);
            model.setSearch("t1", false);
            std::map<int64_t, QByteArray> oracle; // time → message (times are unique)
            QRandomGenerator rng(42);
            int64_t clock[3] = {1000, 1000, 1000};
            for (int step = 0; step < 200; ++step) {
                // One source's batch: its own times go up; the sources drift apart, so a batch
                // is often older than what another source already delivered.
                const int s = int(rng.bounded(3));
                QList<LogEntry> batch;
                const int n = 1 + int(rng.bounded(step % 10 == 0 ? 120 : 12));
                for (int i = 0; i < n; ++i) {
                    clock[s] += 1 + rng.bounded(5);
                    const int64_t t = clock[s] * 3 + s; // unique across sources
                    batch.append(entry(t, s));
                    oracle[t] = batch.last().message;
                }
                model.add(batch);
                while (oracle.size() > kMax)
                    oracle.erase(oracle.begin());
                QList<QByteArray> held;
                for (const auto& [t, m] : oracle)
                    held.append(m);
                const QList<QByteArray> want = shownBy(mode, held);
                QCOMPARE(model.rowCount(), int(want.size()));
                int matches = 0;
                for (int r = 0; r < model.rowCount(); ++r) {
                    const QModelIndex i = model.index(r, 0);
                    QCOMPARE(i.data(ui::LogListModel::MessageRole).toByteArray(), want[r]);
                    const bool match = want[r].contains("t1");
                    QCOMPARE(i.data(ui::LogListModel::MatchRole).toBool(), match);
                    matches += match;
                }
                QCOMPARE(model.nextMatch(-1, true) >= 0, matches > 0);
            }
            QVERIFY(model.store().evictedTotal() > 0);
        }
    }

    // Pages of history come at the top; once full, the newest lines go. A page that is not all
    // older than what is held (a marker's clock) is merged by a rebuild.
    void historyPagesComeAtTheTopAndEvictTheNewest() {
        for (const int mode : {0, 1, 2}) {
            constexpr size_t kMax = 250;
            ui::LogListModel model(kMax);
            QAbstractItemModelTester tester(&model,
                                            QAbstractItemModelTester::FailureReportingMode::Fatal);
            model.setSources({"a", "b"});
            setFilterMode(model, mode);
            model.setSearch("t1", false);
            std::map<int64_t, QByteArray> oracle;
            QList<LogEntry> live;
            for (int64_t t = 100000; t < 100100; ++t)
                live.append(entry(t, int(t % 2)));
            model.add(live);
            for (const auto& e : live)
                oracle[e.realtimeUsec] = e.message;
            QRandomGenerator rng(7);
            int64_t oldest = 100000;
            size_t evicted = 0;
            for (int page = 0; page < 12; ++page) {
                QList<LogEntry> batch;
                const int n = 1 + int(rng.bounded(page == 5 ? 300 : 60)); // one more than fits
                for (int i = 0; i < n; ++i)
                    batch.prepend(entry(--oldest, int(rng.bounded(2))));
                if (page == 8) // not all older: rebuilt
                    batch.append(entry(100050 + page, 0));
                int rowsAdded = 0;
                evicted += model.prepend(batch, &rowsAdded);
                for (const auto& e : batch)
                    oracle[e.realtimeUsec] = e.message;
                while (oracle.size() > kMax)
                    oracle.erase(std::prev(oracle.end()));
                QList<QByteArray> held;
                for (const auto& [t, m] : oracle)
                    held.append(m);
                const QList<QByteArray> want = shownBy(mode, held);
                QCOMPARE(model.rowCount(), int(want.size()));
                for (int r = 0; r < model.rowCount(); ++r) {
                    const QModelIndex i = model.index(r, 0);
                    QCOMPARE(i.data(ui::LogListModel::MessageRole).toByteArray(), want[r]);
                    QCOMPARE(i.data(ui::LogListModel::MatchRole).toBool(), want[r].contains("t1"));
                }
                if (page == 8)
                    QCOMPARE(rowsAdded, -1);
                else if (mode == 0 && n <= int(kMax))
                    QCOMPARE(rowsAdded, n);
            }
            QVERIFY(evicted > 0);
        }
    }
};

QTEST_MAIN(LogListModelTest)
#include "log_list_model_test.moc"
