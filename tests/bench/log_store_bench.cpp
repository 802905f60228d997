// day2-bench-log-store: what the log pane's store costs, without the GUI. Inserts LINES lines of
// ~100 bytes (the tasks benchmark's text, 3 sources merged) in batches of 1000, then reports the
// bytes it holds per retained line (its own count, and the growth of VmRSS), and the time to
// filter and search every line. Prints key=value lines.
//
//   day2-bench-log-store [LINES]      (default 1000000)
#include "client/log_store.h"

#include "bench_common.h"

#include <QElapsedTimer>

#include <cstdio>
#include <string>

using namespace day2::client;

namespace {

double ms(QElapsedTimer& t) {
    return double(t.nsecsElapsed()) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
    const long lines = argc > 1 ? std::stol(argv[1]) : 1'000'000;
    const QByteArray seqId = "0123456789abcdef0123456789abcdef";
    const QByteArray boot = "fedcba9876543210fedcba9876543210";
    const QByteArray pad =
        "level=info msg=lorem ipsum dolor sit amet, consectetur adipiscing elit, "
        "sed do eiusmod tempor incididunt";
    LogStore store{static_cast<size_t>(lines)};
    const long before = day2::bench::rssKiB();
    QElapsedTimer t;
    t.start();
    QList<LogEntry> batch;
    for (long i = 0; i < lines; ++i) {
        LogEntry e;
        e.realtimeUsec = 1'700'000'000'000'000 + i * 10;
        e.cursor = formatCursor({seqId, boot, uint64_t(i + 1), uint64_t(i) * 10,
                                 uint64_t(e.realtimeUsec), uint64_t(i) * 2654435761u});
        e.message = QByteArray::number(qlonglong(i)).rightJustified(9, '0') + ' ' + pad;
        if (i % 100 == 0)
            e.message += " ERROR timeout";
        e.source = uint16_t(i % 3);
        batch.append(std::move(e));
        if (batch.size() == 1000) {
            store.insert(batch);
            batch.clear();
        }
    }
    store.insert(batch);
    const double insertMs = ms(t);
    const long after = day2::bench::rssKiB();
    std::printf("lines=%zu\ninsert_ms=%.1f\ninsert_lines_per_s=%.0f\n", store.size(), insertMs,
                double(store.size()) / (insertMs / 1000));
    std::printf("message_bytes=%zu\nstore_bytes_per_line=%.1f\nrss_bytes_per_line=%.1f\n",
                size_t(pad.size() + 10), double(store.memoryBytes()) / double(store.size()),
                double(after - before) * 1024 / double(store.size()));
    struct Case {
        const char* name;
        LogFilter filter;
    };
    LogFilter sub;
    sub.text = "error timeout";
    LogFilter none;
    none.text = "no such text anywhere";
    LogFilter re;
    re.text = "ERROR\\s+time(out)?";
    re.regex = true;
    LogFilter prio;
    prio.maxPriority = 4;
    for (const Case& c : {Case{"filter_substring", sub}, Case{"filter_substring_absent", none},
                          Case{"filter_regex", re}, Case{"filter_priority", prio}}) {
        t.restart();
        auto kept = store.filter(c.filter);
        std::printf("%s_ms=%.1f\n%s_kept=%zu\n", c.name, ms(t), c.name, kept ? kept->size() : 0);
    }
    t.restart();
    auto hits = store.search("timeout", false);
    std::printf("search_substring_ms=%.1f\nsearch_hits=%zu\n", ms(t), hits.size());
    return 0;
}
