// The log pane's model (ui/log_pane.h) against an oracle, under QAbstractItemModelTester: batches
// from three sources that interleave (merged into the tail), evictions once full, with and
// without a filter, with a search; every step checks the rows the view would show.
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

} // namespace

class LogListModelTest : public QObject {
    Q_OBJECT
private slots:
    void rowsFollowTheStoreThroughMergesEvictionsFilterAndSearch() {
        for (const bool filtered : {false, true}) {
            constexpr size_t kMax = 300;
            ui::LogListModel model(kMax);
            QAbstractItemModelTester tester(&model,
                                            QAbstractItemModelTester::FailureReportingMode::Fatal);
            model.setSources({"a", "b", "c"});
            if (filtered) {
                client::LogFilter f;
                f.text = "ERROR";
                f.invert = true; // most lines pass, some do not
                QVERIFY(model.setFilter(f, nullptr));
            }
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
                QList<QByteArray> want;
                for (const auto& [t, m] : oracle)
                    if (!filtered || !m.contains("ERROR"))
                        want.append(m);
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
};

QTEST_MAIN(LogListModelTest)
#include "log_list_model_test.moc"
