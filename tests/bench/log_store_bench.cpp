// day2-bench-log-store: what the log pane's store costs, without the GUI. Inserts LINES lines of
// ~100 bytes (the tasks benchmark's text, 3 sources merged) in batches of 1000, then reports the
// bytes it holds per retained line (its own count, and the growth of VmRSS), and the time to
// filter and search every line; and the time to read one logs API JSON line (parseLogEntry,
// and QJsonDocument for comparison). Prints key=value lines.
//
//   day2-bench-log-store [LINES]      (default 1000000)
#include "client/log_store.h"

#include "bench_common.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>

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

    // Reading the logs API's JSON line of a task's entry (the console's reading thread does it
    // for every line): parseLogEntry() against QJsonDocument with the same values picked.
    const QByteArray json =
        R"({"fields":{"_TRANSPORT":"stdout","_UID":"65534","_GID":"65534","_COMM":"sh",)"
        R"("_EXE":"/bin/dash","_CMDLINE":"sh -c ./serve","_CAP_EFFECTIVE":"0",)"
        R"("_SYSTEMD_CGROUP":"/day2.slice/day2-c09ba709-70d0-429a-93e7-faaaf1ea0386-stdout.scope",)"
        R"("_SYSTEMD_UNIT":"day2-c09ba709-70d0-429a-93e7-faaaf1ea0386-stdout.scope",)"
        R"("_SYSTEMD_SLICE":"day2.slice","_BOOT_ID":"4cfbec614f624176bec5252a06add4ea",)"
        R"("_MACHINE_ID":"0a1b2c3d4e5f60718293a4b5c6d7e8f9","_HOSTNAME":"node-1",)"
        R"("PRIORITY":"6","SYSLOG_IDENTIFIER":"web","MESSAGE":"000000123 level=info )"
        R"(msg=lorem ipsum dolor sit amet, consectetur adipiscing elit","FRAMEWORK_ID":"fw",)"
        R"("EXECUTOR_ID":"web.c09ba709","CONTAINER_ID":"c09ba709-70d0-429a-93e7-faaaf1ea0386",)"
        R"("AGENT_ID":"00000000-0000-4000-8000-00000000a9e7","STREAM":"STDOUT","_PID":"1234",)"
        R"("_STREAM_ID":"5f1e8a3b2c4d4e6f8a9b0c1d2e3f4a5b"},"cursor":"s=ebee7aa15c5749edbd444cd2ab)"
        R"(dfebc2;i=b59;b=4cfbec614f624176bec5252a06add4ea;m=9dbc18a44;t=66113fceb567a;)"
        R"(x=2124c61cffa43559","monotonic_timestamp":42324322,)"
        R"("realtime_timestamp":1795588335818362})";
    constexpr int kParses = 200000;
    size_t check = 0;
    t.restart();
    for (int i = 0; i < kParses; ++i)
        check += size_t(parseLogEntry(json)->message.size());
    const double oneUs = ms(t) * 1000 / kParses;
    t.restart();
    for (int i = 0; i < kParses; ++i) {
        const QJsonObject o = QJsonDocument::fromJson(json).object();
        check += size_t(entryField(o, "MESSAGE").size() + entryField(o, "PRIORITY").size() +
                        entryField(o, "STREAM").size() + o.value("cursor").toString().size()) +
                 size_t(o.value("realtime_timestamp").toDouble() > 0);
    }
    const double qjsonUs = ms(t) * 1000 / kParses;
    std::printf("entry_json_bytes=%lld\nparse_entry_us=%.2f\nparse_entry_qjsondocument_us=%.2f\n"
                "(check %zu)\n",
                static_cast<long long>(json.size()), oneUs, qjsonUs, check);
    return 0;
}
