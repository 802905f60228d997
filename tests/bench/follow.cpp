// day2-bench-follow: follow latency of the agent's SSE stream. Opens
// /system/v1/logs/v1/stream/?filter=BENCH_FOLLOW:<unique id>, then writes entries to the
// journald namespace at a steady rate with their sequence number and send time in fields, and
// measures, per entry, the time from just before the send to the arrival of its `data:` line.
//
// The first --warmup seconds are sent and checked but left out of the percentiles: after an idle
// spell journald announces appends only every 250 ms, so the first entries of a burst measure
// journald's timer rather than the follower. Their worst latency is reported as warmup_max_ms.
// Lost (never received; how many runs of consecutive entries, first and last), duplicated and
// out-of-order entries are counted, and how many of them journald stored, to tell journald's
// losses from the agent's.
#include "bench_common.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <sys/prctl.h>
#include <thread>
#include <unistd.h>

namespace day2::bench {
namespace {

constexpr uint64_t kNotReceived = std::numeric_limits<uint64_t>::max();

// The digits of a string-valued JSON field, e.g. "BENCH_SEQ":"123"; false when absent.
bool findNumber(std::string_view json, std::string_view key, uint64_t& out) {
    size_t at = json.find(key);
    if (at == std::string_view::npos)
        return false;
    size_t p = at + key.size();
    uint64_t v = 0;
    bool any = false;
    while (p < json.size() && json[p] >= '0' && json[p] <= '9') {
        v = v * 10 + static_cast<uint64_t>(json[p] - '0');
        ++p;
        any = true;
    }
    out = v;
    return any;
}

class Receiver {
public:
    Receiver(HttpGet& stream, size_t total) : m_stream(stream), m_latency(total, kNotReceived) {}

    // Reads the stream until every entry arrived, or the writer is done and `grace` has passed.
    void run(const std::atomic<uint64_t>& sent, const std::atomic<bool>& writerDone, double grace) {
        double doneAt = 0;
        const HttpGet::Sink sink = [this](std::string_view data) { consume(data, nowNanos()); };
        for (;;) {
            if (writerDone.load()) {
                if (doneAt == 0)
                    doneAt = nowSeconds();
                if (m_unique >= sent.load() || nowSeconds() - doneAt > grace)
                    break;
            }
            auto r = m_stream.readBody(sink, 0.05);
            if (r == HttpGet::Read::End) {
                m_ended = true;
                break;
            }
        }
    }

    const std::vector<uint64_t>& latency() const { return m_latency; }
    uint64_t unique() const { return m_unique; }
    uint64_t duplicates() const { return m_duplicates; }
    uint64_t reordered() const { return m_reordered; }
    uint64_t foreign() const { return m_foreign; }
    uint64_t pings() const { return m_pings; }
    bool ended() const { return m_ended; }

private:
    void consume(std::string_view data, uint64_t arrived) {
        m_pending.append(data);
        size_t pos = 0;
        size_t nl;
        while ((nl = m_pending.find('\n', pos)) != std::string::npos) {
            line(std::string_view(m_pending).substr(pos, nl - pos), arrived);
            pos = nl + 1;
        }
        m_pending.erase(0, pos);
    }

    void line(std::string_view l, uint64_t arrived) {
        if (l.substr(0, 6) == ": ping") {
            ++m_pings;
            return;
        }
        if (l.substr(0, 6) != "data: ")
            return;
        uint64_t seq = 0;
        uint64_t sentNs = 0;
        if (!findNumber(l, "\"BENCH_SEQ\":\"", seq) ||
            !findNumber(l, "\"BENCH_SENT_NS\":\"", sentNs) || seq >= m_latency.size()) {
            ++m_foreign;
            return;
        }
        if (m_latency[seq] != kNotReceived) {
            ++m_duplicates;
            return;
        }
        m_latency[seq] = arrived - sentNs;
        ++m_unique;
        if (m_anyReceived && seq < m_maxSeq)
            ++m_reordered;
        m_maxSeq = std::max(m_maxSeq, seq);
        m_anyReceived = true;
    }

    HttpGet& m_stream;
    std::vector<uint64_t> m_latency;
    std::string m_pending;
    uint64_t m_unique = 0;
    uint64_t m_duplicates = 0;
    uint64_t m_reordered = 0;
    uint64_t m_foreign = 0;
    uint64_t m_pings = 0;
    uint64_t m_maxSeq = 0;
    bool m_anyReceived = false;
    bool m_ended = false;
};

uint64_t countStored(const std::string& nameSpace, const std::string& id) {
    sd_journal* j = nullptr;
    if (int r = sd_journal_open_namespace(&j, nameSpace.c_str(), 0); r < 0)
        die("sd_journal_open_namespace: " + std::string(std::strerror(-r)));
    const std::string match = "BENCH_FOLLOW=" + id;
    sd_journal_add_match(j, match.data(), match.size());
    uint64_t n = 0;
    while (sd_journal_next(j) > 0)
        ++n;
    sd_journal_close(j);
    return n;
}

void sleepUntil(uint64_t ns) {
    timespec ts{static_cast<time_t>(ns / 1000000000ULL), static_cast<long>(ns % 1000000000ULL)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

int run(int argc, char** argv) {
    Args args(argc, argv,
              "--url http://HOST:PORT --namespace NS --rate R --seconds D [--warmup W]\n"
              "       [--grace G] [--message-bytes B] [--prefix /system/v1/agent/ID]\n"
              "Writes R entries/s for W+D seconds and prints the follow latency of the last D.\n"
              "--prefix replaces /system/v1 (to follow through Adminrouter).",
              {"url", "namespace", "rate", "seconds", "warmup", "grace", "message-bytes",
               "prefix"});
    const std::string prefix = args.get("prefix", "/system/v1");
    const Url base = parseUrl(args.required("url"));
    const std::string nameSpace = args.required("namespace");
    const double rate = args.getDouble("rate", 1000);
    const double seconds = args.getDouble("seconds", 10);
    const double warmup = args.getDouble("warmup", 1);
    const double grace = args.getDouble("grace", 3);
    const size_t messageBytes = args.getCount("message-bytes", 120);
    if (rate <= 0 || seconds <= 0 || warmup < 0)
        die("--rate and --seconds must be positive, --warmup not negative");
    const auto warmupCount = static_cast<uint64_t>(warmup * rate);
    const uint64_t total = warmupCount + static_cast<uint64_t>(seconds * rate);
    const std::string id =
        "follow-" + std::to_string(::getpid()) + "-" + std::to_string(nowNanos() % 1000000007ULL);

    // Fine-grained sleeps for the pacing at high rates.
    ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

    Url url = base;
    url.target = prefix + "/logs/v1/stream/?filter=BENCH_FOLLOW:" + id;
    HttpGet stream(url, {"Accept: text/event-stream"});
    if (int status = stream.readHead(10); status != 200)
        die("the stream answered " + std::to_string(status) + ":\n" + stream.rawHead());
    // The stream is positioned at the tail once the head is out; wait for its first bytes
    // (`retry:`) anyway so that the follow loop is running.
    std::string first;
    const double headAt = nowSeconds();
    while (first.find("\n\n") == std::string::npos) {
        if (nowSeconds() - headAt > 10)
            die("no `retry:` on the stream within 10 s");
        stream.readBody([&](std::string_view d) { first.append(d); }, 1);
    }

    JournalSocket sock(namespaceSocket(nameSpace));
    std::atomic<uint64_t> sent{0};
    std::atomic<bool> writerDone{false};
    Receiver receiver(stream, total);
    std::thread receiverThread([&] { receiver.run(sent, writerDone, grace); });

    const std::string padding(messageBytes, 'x');
    std::string payload;
    std::string message;
    const uint64_t startNs = nowNanos();
    uint64_t maxBehindNs = 0;
    for (uint64_t seq = 0; seq < total; ++seq) {
        const uint64_t due = startNs + static_cast<uint64_t>(static_cast<double>(seq) * 1e9 / rate);
        uint64_t now = nowNanos();
        if (now < due) {
            sleepUntil(due);
            now = nowNanos();
        } else {
            maxBehindNs = std::max(maxBehindNs, now - due);
        }
        message = "day2 follow bench entry " + std::to_string(seq) + " ";
        message.append(padding, 0,
                       messageBytes > message.size() ? messageBytes - message.size() : 0);
        payload.clear();
        appendField(payload, "MESSAGE", message);
        appendField(payload, "SYSLOG_IDENTIFIER", "day2-bench-follow");
        appendField(payload, "PRIORITY", "6");
        appendField(payload, "BENCH_FOLLOW", id);
        appendField(payload, "BENCH_SEQ", std::to_string(seq));
        appendField(payload, "BENCH_SENT_NS", std::to_string(nowNanos()));
        sock.send(payload);
        sent.store(seq + 1);
    }
    const double sendSeconds = static_cast<double>(nowNanos() - startNs) / 1e9;
    writerDone.store(true);
    receiverThread.join();

    const auto& lat = receiver.latency();
    std::vector<double> measured;
    double warmupMax = 0;
    uint64_t lost = 0;
    uint64_t lostRuns = 0;
    uint64_t lostFirst = 0;
    uint64_t lostLast = 0;
    for (uint64_t seq = 0; seq < total; ++seq) {
        if (lat[seq] == kNotReceived) {
            if (lost == 0)
                lostFirst = seq;
            if (seq == 0 || lat[seq - 1] != kNotReceived)
                ++lostRuns;
            lostLast = seq;
            ++lost;
            continue;
        }
        const double ms = static_cast<double>(lat[seq]) / 1e6;
        if (seq < warmupCount)
            warmupMax = std::max(warmupMax, ms);
        else
            measured.push_back(ms);
    }
    std::sort(measured.begin(), measured.end());
    const uint64_t stored = countStored(nameSpace, id);
    const double firstMs = lat[0] == kNotReceived ? -1 : static_cast<double>(lat[0]) / 1e6;

    std::printf("rate=%.0f sent=%" PRIu64 " send_rate=%.0f max_behind_ms=%.2f stored=%" PRIu64
                " received=%" PRIu64 " lost=%" PRIu64 " lost_runs=%" PRIu64 " lost_seqs=%" PRIu64
                "-%" PRIu64 " dup=%" PRIu64 " reordered=%" PRIu64 " foreign=%" PRIu64
                " measured=%zu p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f"
                " p999_ms=%.3f max_ms=%.3f first_ms=%.3f warmup_max_ms=%.3f\n",
                rate, total, static_cast<double>(total) / sendSeconds,
                static_cast<double>(maxBehindNs) / 1e6, stored, receiver.unique(), lost, lostRuns,
                lostFirst, lostLast, receiver.duplicates(), receiver.reordered(),
                receiver.foreign(), measured.size(), percentile(measured, 50),
                percentile(measured, 90), percentile(measured, 99), percentile(measured, 99.9),
                measured.empty() ? 0.0 : measured.back(), firstMs, warmupMax);
    if (receiver.ended())
        std::fprintf(stderr, "follow: the agent ended the stream early\n");
    return lost == 0 && receiver.duplicates() == 0 && !receiver.ended() ? 0 : 1;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
