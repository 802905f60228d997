// day2-bench-console: the console's log pane (LogListModel in a LogView with its delegate, as
// LogPane puts them together) against QPlainTextEdit, the naive widget, fed the same lines in
// the same run, in a real (offscreen) window that paints.
//
// rates: for each rate, both widgets start empty and get lines every 50 ms for 3 s (as
//   LogPane's flush timer hands over what its worker thread parsed: the lines are made before
//   the clock starts) and follow the end. The GUI thread's stalls are the gaps between the ticks
//   of a 1 ms timer beyond 1 ms: p50, p99, max. "kept" is the share of the lines due that the
//   widget took in time.
// memory WIDGET: RSS growth per line with RETAIN lines retained, in a process of its own, then
//   the time to show only the lines that contain "ERROR" (the pane's filter; for QPlainTextEdit,
//   what a program using it must do: walk its blocks and set the text again).
// agent ENTRIES: end to end. A private journald gets ENTRIES entries, a real agent serves them,
//   and the LogPane (its LogFeed: follower and parsing in a worker thread) replays them from the
//   agent's stream as fast as the whole chain goes; the same feed appended to a QPlainTextEdit
//   after it. Lines/s from the request to the last line shown, and the GUI thread's stalls.
//   Needs root (journald namespace).
// live RATES...: end to end at a paced rate. A writer process sends entries to a private
//   journald at RATE lines/s for 5 s (pre-encoded native datagrams, paced every millisecond),
//   a real agent streams them, and a LogPane follows them as an operator's would (its feed,
//   worker thread, flush timer); then the same with the feed appended to a QPlainTextEdit.
//   First, as the anchor, the same stream read by a plain socket in a thread (counting `data:`
//   lines, no Qt): what the chain itself delivers on this machine.
//   The GUI thread's stalls during the 5 s, the lines shown by the end and how long the last
//   ones took after it. journald, the agent, the writer and the console share the 2 cores.
//   Needs root.
// replay RATES...: end to end from a local agent at a paced rate, without journald writing at
//   the same time: the journal is filled with RATE x 5 s entries first, then each widget
//   follows them from their start with its reader paced to RATE lines/s (the follower reads
//   that many bytes a second; the agent is held back by TCP). Lines/s from the request to the
//   last line shown, and the GUI thread's stalls meanwhile. Needs root.
// Prints key=value lines; tests/bench/console_bench.sh runs it all.
//
//   QT_QPA_PLATFORM=offscreen day2-bench-console rates [RATES...]
//   QT_QPA_PLATFORM=offscreen day2-bench-console memory pane|plaintextedit [RETAIN]
//   QT_QPA_PLATFORM=offscreen day2-bench-console agent [ENTRIES]
//   QT_QPA_PLATFORM=offscreen day2-bench-console live [RATES...]
//   QT_QPA_PLATFORM=offscreen day2-bench-console replay [RATES...]
#include "log_pane.h"

#include "agent_process.h"
#include "bench_common.h"
#include "journal_namespace.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextBlock>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include <vector>

using namespace day2;
using client::LogEntry;

namespace {

// The tasks benchmark's kind of line, three sources, one in 100 an error.
LogEntry makeEntry(int64_t i) {
    static const QByteArray seqId = "0123456789abcdef0123456789abcdef";
    static const QByteArray boot = "fedcba9876543210fedcba9876543210";
    static const QByteArray pad = "level=info msg=lorem ipsum dolor sit amet, consectetur "
                                  "adipiscing elit, sed do eiusmod tempor incididunt";
    LogEntry e;
    e.realtimeUsec = 1'700'000'000'000'000 + i * 10;
    e.cursor = client::formatCursor({seqId, boot, uint64_t(i + 1), uint64_t(i) * 10,
                                     uint64_t(e.realtimeUsec), uint64_t(i) * 2654435761u});
    e.message = QByteArray::number(qlonglong(i)).rightJustified(9, '0') + ' ' + pad;
    if (i % 100 == 0)
        e.message += " ERROR timeout";
    e.priority = i % 100 == 0 ? 3 : 6;
    e.source = uint16_t(i % 3);
    return e;
}

// Runs the event loop until `done` (checked every 5 ms) or `timeoutNs` on `clock`. The GUI
// thread sleeps between events, as an application's does: a loop of processEvents() would spin
// a core the agent, journald and the reading thread need.
void runEventsUntil(const std::function<bool()>& done, const QElapsedTimer& clock,
                    qint64 timeoutNs) {
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done() || clock.nsecsElapsed() >= timeoutNs)
            loop.quit();
    });
    check.start(5);
    if (!done() && clock.nsecsElapsed() < timeoutNs)
        loop.exec();
}

// A widget under test: takes a batch of lines and shows the end.
struct Contender {
    const char* name;
    QWidget* widget;
    std::function<void(const QList<LogEntry>&)> add;
};

struct Stalls {
    double p50 = 0, p99 = 0, max = 0;
};

Stalls stallsOf(std::vector<double> gaps) {
    std::sort(gaps.begin(), gaps.end());
    return {bench::percentile(gaps, 50), bench::percentile(gaps, 99),
            gaps.empty() ? 0.0 : gaps.back()};
}

// The GUI thread's stalls: the gaps between the ticks of a 1 ms timer, beyond the 1 ms.
class StallProbe {
public:
    StallProbe() {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            if (m_last >= 0)
                m_gaps.push_back(std::max(0.0, double(now - m_last) / 1e6 - 1.0));
            m_last = now;
        });
    }
    void start() {
        m_clock.start();
        m_timer.start();
    }
    Stalls stop() {
        m_timer.stop();
        return stallsOf(m_gaps);
    }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = -1;
    std::vector<double> m_gaps;
};

// Feeds `c` at `rate` lines/s for `seconds` from `pool`; prints the stalls and the share taken.
void runRate(Contender& c, int rate, double seconds, const QList<LogEntry>& pool) {
    QElapsedTimer clock;
    StallProbe probe;
    QTimer feed;
    feed.setTimerType(Qt::PreciseTimer);
    feed.setInterval(ui::LogPane::kFlushMs);
    qsizetype fed = 0;
    const qsizetype due = std::min<qsizetype>(qsizetype(rate * seconds), pool.size());
    QObject::connect(&feed, &QTimer::timeout, [&] {
        const double t = double(clock.nsecsElapsed()) / 1e9;
        const qsizetype want = std::min(due, qsizetype(rate * std::min(t, seconds)));
        if (want <= fed)
            return;
        c.add(pool.mid(fed, want - fed));
        fed = want;
    });
    clock.start();
    probe.start();
    feed.start();
    // One hand-over past the window, so that the lines due at its very end are handed over.
    runEventsUntil([] { return false; }, clock,
                   qint64(seconds * 1e9) + 2 * qint64(feed.interval()) * 1000000);
    feed.stop();
    const Stalls s = probe.stop();
    std::printf("rate.%s.%d lines_per_s_taken=%.0f kept=%.3f stall_p50_ms=%.2f "
                "stall_p99_ms=%.2f stall_max_ms=%.1f\n",
                c.name, rate, double(fed) / seconds, double(fed) / double(due), s.p50, s.p99,
                s.max);
    std::fflush(stdout);
}

// Shows `w`, runs `start`, and waits until `shown` reaches `entries`; prints lines/s and stalls.
void runUntilShown(const std::string& label, QWidget* w, long entries,
                   const std::function<int()>& shown, const std::function<void()>& start) {
    w->show();
    QCoreApplication::processEvents();
    QElapsedTimer clock;
    StallProbe probe;
    clock.start();
    probe.start();
    start();
    runEventsUntil([&] { return shown() >= entries; }, clock, 120'000'000'000LL);
    const double secs = double(clock.nsecsElapsed()) / 1e9;
    const Stalls s = probe.stop();
    std::printf("%s entries=%ld shown=%d seconds=%.2f lines_per_s=%.0f stall_p50_ms=%.2f "
                "stall_p99_ms=%.2f stall_max_ms=%.1f\n",
                label.c_str(), entries, shown(), secs, double(shown()) / secs, s.p50, s.p99, s.max);
    std::fflush(stdout);
    w->hide();
}

// The naive widget on the pane's feed (followed and parsed in the same kind of worker thread):
// every batch appended as it comes; `appended` counts the lines.
std::unique_ptr<client::LogFeed> feedInto(Contender& plain, client::ApiClient& api,
                                          const client::FeedSource& source, int& appended) {
    auto feed =
        std::make_unique<client::LogFeed>(api.endpoint(), QList<client::FeedSource>{source});
    client::LogFeed* f = feed.get();
    QObject::connect(f, &client::LogFeed::entries, plain.widget,
                     [&plain, &appended, f](const QList<LogEntry>& batch) {
                         plain.add(batch);
                         appended += int(batch.size());
                         f->consumed(batch.size());
                     });
    feed->start();
    return feed;
}

// The rates given after the mode, or `defaults`.
std::vector<int> ratesFrom(int argc, char** argv, std::vector<int> defaults) {
    std::vector<int> rates;
    for (int i = 2; i < argc; ++i)
        rates.push_back(std::stoi(argv[i]));
    return rates.empty() ? defaults : rates;
}

// A real agent on a private journald namespace, and a client of it.
struct LocalAgent {
    explicit LocalAgent(const std::string& nsName)
        : ns(nsName), agent({"--journal-namespace", ns.name()}),
          api(client::Endpoint{
              QUrl(QStringLiteral("http://127.0.0.1:%1").arg(agent.port())), {}, {}}) {
        api.init(nullptr);
    }
    test::JournalNamespace ns;
    test::AgentProcess agent;
    client::ApiClient api;
};

// Writes the benchmark's first `n` lines (makeEntry) to the journal with SYSLOG_IDENTIFIER `id`
// and waits until journald holds them.
void fillJournal(test::JournalNamespace& ns, const std::string& id, long n) {
    for (long i = 0; i < n; ++i) {
        const LogEntry e = makeEntry(i);
        ns.write({{"MESSAGE", e.message.toStdString()},
                  {"PRIORITY", std::to_string(e.priority)},
                  {"SYSLOG_IDENTIFIER", id}});
    }
    ns.waitForCount(size_t(n), "SYSLOG_IDENTIFIER=" + id);
}

// The node's stream, filtered to SYSLOG_IDENTIFIER `id`.
client::FeedSource streamOf(const char* label, const std::string& id) {
    QUrlQuery q;
    q.addQueryItem("filter", QString::fromStdString("SYSLOG_IDENTIFIER:" + id));
    return {label, client::agentPath({}, "logs/v1/stream/"), q};
}

// A writer process: `rate` entries a second for `seconds` into journald namespace `ns`, with
// SYSLOG_IDENTIFIER `id`, encoded before the clock starts. Returns its pid.
pid_t startWriter(const std::string& ns, const std::string& id, int rate, double seconds) {
    std::vector<std::string> payloads;
    const long total = long(rate * seconds);
    payloads.reserve(size_t(total));
    for (long i = 0; i < total; ++i) {
        std::string p;
        bench::appendField(p, "SYSLOG_IDENTIFIER", id);
        bench::appendField(p, "PRIORITY", i % 100 == 0 ? "3" : "6");
        bench::appendField(p, "MESSAGE", makeEntry(i).message.toStdString());
        payloads.push_back(std::move(p));
    }
    const pid_t pid = ::fork();
    if (pid != 0)
        return pid;
    bench::JournalSocket socket(bench::namespaceSocket(ns));
    const uint64_t start = bench::nowNanos();
    long sent = 0;
    while (sent < total) {
        // What is due by now, then sleep to the next millisecond.
        const uint64_t elapsed = bench::nowNanos() - start;
        const long due = std::min(total, long(double(elapsed) / 1e9 * rate) + 1);
        for (; sent < due; ++sent)
            socket.send(payloads[size_t(sent)]);
        const timespec ms{0, 1'000'000};
        ::nanosleep(&ms, nullptr);
    }
    ::_exit(0);
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "rates";
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    const bool memory = mode == "memory";
    const std::string which = memory && argc > 2 ? argv[2] : "";
    const long retain = memory ? (argc > 3 ? std::stol(argv[3]) : 1'000'000) : 1'000'000;

    // The pane's parts, as LogPane puts them together.
    auto* model = new ui::LogListModel(size_t(retain));
    model->setSources({"web 1", "web 2", "worker"});
    auto* view = new ui::LogView;
    view->setModel(model);
    view->setItemDelegate(new ui::LogLineDelegate(model, view));
    view->setFont(mono);
    view->resize(1400, 800);
    Contender pane{"pane", view, [&](const QList<LogEntry>& batch) {
                       model->add(batch);
                       view->scrollToBottom();
                   }};

    auto* edit = new QPlainTextEdit;
    edit->setReadOnly(true);
    edit->setFont(mono);
    edit->setMaximumBlockCount(int(retain));
    edit->setLineWrapMode(QPlainTextEdit::NoWrap);
    edit->resize(1400, 800);
    Contender plain{"plaintextedit", edit, [&](const QList<LogEntry>& batch) {
                        QString text;
                        text.reserve(batch.size() * 130);
                        for (const auto& e : batch) {
                            if (!text.isEmpty())
                                text += QLatin1Char('\n');
                            text += QString::fromUtf8(e.message);
                        }
                        edit->appendPlainText(text); // one call per batch: the kind way
                        edit->verticalScrollBar()->setValue(edit->verticalScrollBar()->maximum());
                    }};

    if (mode == "agent") {
        const long entries = argc > 2 ? std::stol(argv[2]) : 200000;
        LocalAgent local("day2cb");
        client::ApiClient& api = local.api;
        fillJournal(local.ns, "bench", entries);
        client::FeedSource source = streamOf("bench", "bench");
        source.query.addQueryItem("skip_prev", QString::number(entries));
        ui::LogPane logPane(&api);
        logPane.resize(1400, 800);
        runUntilShown(
            "agent.pane", &logPane, entries, [&] { return logPane.lineCount(); },
            [&] { logPane.follow("bench", {source}); });
        logPane.setApi(nullptr);
        // The naive widget on the same feed (parsed in the same kind of worker thread).
        std::unique_ptr<client::LogFeed> feed;
        int appended = 0;
        runUntilShown(
            "agent.plaintextedit", edit, entries, [&] { return appended; },
            [&] { feed = feedInto(plain, api, source, appended); });
        feed.reset();
        return 0;
    }

    if (mode == "replay") {
        const std::vector<int> rates = ratesFrom(argc, argv, {10000, 25000, 50000});
        constexpr double kSeconds = 5;
        LocalAgent local("day2cr");
        client::ApiClient& api = local.api;
        for (int rate : rates)
            for (const char* who : {"pane", "plaintextedit"})
                fillJournal(local.ns, std::string("replay-") + who + "-" + std::to_string(rate),
                            long(rate * kSeconds));
        for (int rate : rates)
            for (const char* who : {"pane", "plaintextedit"}) {
                const long total = long(rate * kSeconds);
                const std::string id = std::string("replay-") + who + "-" + std::to_string(rate);
                client::FeedSource source = streamOf("replay", id);
                // The pace in bytes: what an event of these entries takes on the stream.
                QUrlQuery one = source.query;
                one.addQueryItem("limit", "1000");
                const auto sample = api.call("GET", client::agentPath({}, "logs/v1/range/"), one);
                const qsizetype lines = std::max<qsizetype>(1, sample.body.count('\n'));
                const double eventBytes = double(sample.body.size()) / double(lines) + 130;
                source.query.addQueryItem("skip_prev", QString::number(total));
                source.paceBytesPerSecond = qint64(eventBytes * rate);
                const bool isPane = std::string(who) == "pane";
                std::unique_ptr<ui::LogPane> logPane;
                std::unique_ptr<client::LogFeed> feed;
                int appended = 0;
                const auto shown = [&] { return isPane ? logPane->lineCount() : appended; };
                QWidget* w = edit;
                if (isPane) {
                    logPane = std::make_unique<ui::LogPane>(&api);
                    logPane->resize(1400, 800);
                    w = logPane.get();
                } else {
                    edit->clear();
                }
                runUntilShown("replay." + std::string(who) + "." + std::to_string(rate), w, total,
                              shown, [&] {
                                  if (isPane)
                                      logPane->follow("replay", {source});
                                  else
                                      feed = feedInto(plain, api, source, appended);
                              });
                feed.reset();
            }
        return 0;
    }

    if (mode == "live") {
        const std::vector<int> rates = ratesFrom(argc, argv, {10000, 25000, 50000});
        constexpr double kSeconds = 5;
        LocalAgent local("day2cl");
        client::ApiClient& api = local.api;
        for (int rate : rates)
            for (const char* who : {"sse", "pane", "plaintextedit"}) {
                const std::string id = std::string("live-") + who + "-" + std::to_string(rate);
                const client::FeedSource source = streamOf("live", id);
                const bool isPane = std::string(who) == "pane";
                const bool isSse = std::string(who) == "sse";
                std::unique_ptr<ui::LogPane> logPane;
                std::unique_ptr<client::LogFeed> feed;
                int appended = 0;
                // The anchor: the same stream read by a plain socket in a thread of its own,
                // counting `data:` lines (no Qt, no parsing): what the chain delivers.
                std::atomic<int> sseLines{0};
                std::atomic<bool> sseStop{false};
                std::thread sseReader;
                const auto shown = [&] {
                    return isSse ? sseLines.load() : isPane ? logPane->lineCount() : appended;
                };
                QWidget* w = edit;
                if (isSse) {
                    w = nullptr;
                    bench::Url url = bench::parseUrl(
                        "http://127.0.0.1:" + std::to_string(local.agent.port()) +
                        "/system/v1/logs/v1/stream/?filter=SYSLOG_IDENTIFIER:" + id);
                    sseReader = std::thread([url, &sseLines, &sseStop] {
                        bench::HttpGet stream(url, {"Accept: text/event-stream"});
                        if (stream.readHead(10) != 200)
                            return;
                        std::string carry;
                        while (!sseStop.load()) {
                            stream.readBody(
                                [&](std::string_view d) {
                                    carry.append(d);
                                    size_t at = 0, nl;
                                    while ((nl = carry.find('\n', at)) != std::string::npos) {
                                        if (carry.compare(at, 5, "data:") == 0)
                                            ++sseLines;
                                        at = nl + 1;
                                    }
                                    carry.erase(0, at);
                                },
                                0.05);
                        }
                    });
                } else if (isPane) {
                    logPane = std::make_unique<ui::LogPane>(&api);
                    logPane->resize(1400, 800);
                    w = logPane.get();
                    logPane->follow("live", {source});
                } else {
                    edit->clear();
                    feed = feedInto(plain, api, source, appended);
                }
                if (w)
                    w->show();
                // Following (the first page read, the stream open) before the writer starts.
                QElapsedTimer settle;
                settle.start();
                runEventsUntil([] { return false; }, settle, 1'500'000'000LL);
                const long total = long(rate * kSeconds);
                const pid_t writer = startWriter(local.ns.name(), id, rate, kSeconds);
                QElapsedTimer clock;
                StallProbe probe;
                clock.start();
                probe.start();
                runEventsUntil([] { return false; }, clock, qint64(kSeconds * 1e9));
                const Stalls s = probe.stop();
                const int byEnd = shown();
                runEventsUntil([&] { return shown() >= total; }, clock,
                               qint64((kSeconds + 30) * 1e9));
                const double lastAfter = double(clock.nsecsElapsed()) / 1e9 - kSeconds;
                int status = 0;
                ::waitpid(writer, &status, 0);
                std::printf("live.%s.%d sent=%ld shown_by_end=%d shown=%d last_after_s=%.2f "
                            "stall_p50_ms=%.2f stall_p99_ms=%.2f stall_max_ms=%.1f\n",
                            who, rate, total, byEnd, shown(), lastAfter, s.p50, s.p99, s.max);
                std::fflush(stdout);
                if (w)
                    w->hide();
                feed.reset();
                sseStop = true;
                if (sseReader.joinable())
                    sseReader.join();
            }
        return 0;
    }

    if (!memory) {
        const std::vector<int> rates = ratesFrom(argc, argv, {10000, 25000, 50000, 100000, 200000});
        const int top = *std::max_element(rates.begin(), rates.end());
        QList<LogEntry> pool;
        pool.reserve(qsizetype(top) * 3);
        for (int64_t i = 0; i < int64_t(top) * 3; ++i)
            pool.append(makeEntry(i));
        for (int rate : rates)
            for (Contender* c : {&pane, &plain}) {
                model->clear();
                edit->clear();
                c->widget->show();
                QCoreApplication::processEvents();
                runRate(*c, rate, 3.0, pool);
                c->widget->hide();
            }
        return 0;
    }

    Contender& c = which == "plaintextedit" ? plain : pane;
    c.widget->show();
    QCoreApplication::processEvents();
    const long before = bench::rssKiB();
    QElapsedTimer t;
    t.start();
    int64_t next = 0;
    for (long done = 0; done < retain;) {
        QList<LogEntry> batch;
        const long n = std::min<long>(20000, retain - done);
        for (long i = 0; i < n; ++i)
            batch.append(makeEntry(next++));
        c.add(batch);
        done += n;
        QCoreApplication::processEvents();
    }
    const long after = bench::rssKiB();
    std::printf("memory.%s lines=%ld fill_seconds=%.2f rss_growth_bytes_per_line=%.0f\n", c.name,
                retain, double(t.nsecsElapsed()) / 1e9,
                double(after - before) * 1024.0 / double(retain));
    std::fflush(stdout);
    t.restart();
    int shown = 0;
    if (&c == &pane) {
        std::printf("memory.pane.store_bytes_per_line=%.0f\n",
                    double(model->store().memoryBytes()) / double(model->store().size()));
        client::LogFilter f;
        f.text = QStringLiteral("ERROR");
        model->setFilter(f, nullptr);
        QCoreApplication::processEvents();
        shown = model->rowCount();
    } else {
        QString kept;
        for (QTextBlock b = edit->document()->begin(); b.isValid(); b = b.next())
            if (b.text().contains(QLatin1String("ERROR"))) {
                kept += b.text();
                kept += QLatin1Char('\n');
            }
        edit->setPlainText(kept);
        QCoreApplication::processEvents();
        shown = edit->document()->blockCount() - 1;
    }
    std::printf("filter.%s lines=%ld shown=%d ms=%.1f\n", c.name, retain, shown,
                double(t.nsecsElapsed()) / 1e6);
    return 0;
}
