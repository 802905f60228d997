// day2-bench-statsd-receiver: day2's StatsD ingest path alone, as the agent runs it for a task: a
// StatsdListener on one io_context run by one thread, its aggregator flushed every second into a
// metrics Batch (what MetricsService::flushApp does). For statsd_bench.sh. With --ingest-only,
// the parse and aggregate path alone, in a loop (no socket, no kernel). With --discard, the
// kernel alone: a socket like the listener's read with blocking recvmmsg calls of 64 datagrams
// and nothing done with them, the least any receiver on a UDP socket can spend a datagram.
//
// On SIGTERM, SIGINT or SIGUSR1 ("done": the sender has finished) it reads what is still queued
// (drain), flushes once more and prints one line of JSON:
//   datagrams, lines, parseErrors, udpDrops (datagrams the kernel dropped, counted), droppedSeries,
//   counterSum (the sum of every counter's total since the start: each generator line is an
//   increment of 1, so counterSum == lines when nothing was lost between parse and aggregate),
//   receiveSeconds (from the first datagram seen to the last, as a 5 ms poll sees them),
//   cpuSeconds (user + system from the first datagram seen to the end, getrusage), flushes.
#include "bench_common.h"

#include "metrics/datapoint.h"
#include "statsd/statsd_listener.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace day2::bench {
namespace {

namespace asio = boost::asio;

constexpr auto kFlushInterval = std::chrono::seconds(1);
constexpr auto kProgressPoll = std::chrono::milliseconds(5);

double cpuSeconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

class Receiver {
public:
    Receiver(asio::io_context& io, std::unique_ptr<statsd::StatsdListener> listener)
        : m_io(io), m_listener(std::move(listener)), m_flushTimer(io), m_progressTimer(io),
          m_signals(io, SIGTERM, SIGINT, SIGUSR1) {}

    void start() {
        m_listener->start();
        m_lastFlush = std::chrono::steady_clock::now();
        scheduleFlush();
        scheduleProgress();
        m_signals.async_wait([this](const boost::system::error_code& ec, int) {
            if (!ec)
                finish();
        });
    }

private:
    // As MetricsService::flushApp: the interval's points, copied into the batch the API serves.
    void flush() {
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - m_lastFlush).count();
        m_lastFlush = now;
        auto points = m_listener->aggregator().flush(seconds);
        metrics::Batch b;
        b.points.reserve(points.size());
        for (auto& p : points)
            b.points.push_back(
                {std::move(p.name), p.value, std::string(p.unit),
                 p.tags ? metrics::Tags(p.tags->begin(), p.tags->end()) : metrics::Tags{}});
        m_batch = std::move(b);
        ++m_flushes;
    }

    void scheduleFlush() {
        m_flushTimer.expires_after(kFlushInterval);
        m_flushTimer.async_wait([this](const boost::system::error_code& ec) {
            if (ec)
                return;
            flush();
            scheduleFlush();
        });
    }

    // Notes when datagrams arrive: the first seen, and the last.
    void noteProgress() {
        const uint64_t datagrams = m_listener->stats().datagrams;
        if (datagrams == m_seenDatagrams)
            return;
        const uint64_t now = nowNanos();
        if (m_seenDatagrams == 0) {
            m_firstNanos = now;
            m_cpuAtFirst = cpuSeconds();
        }
        m_lastNanos = now;
        m_seenDatagrams = datagrams;
    }

    void scheduleProgress() {
        m_progressTimer.expires_after(kProgressPoll);
        m_progressTimer.async_wait([this](const boost::system::error_code& ec) {
            if (ec)
                return;
            noteProgress();
            scheduleProgress();
        });
    }

    void finish() {
        while (m_listener->drain() > 0) {
        }
        noteProgress();
        flush();
        double counterSum = 0;
        for (const auto& c : m_listener->aggregator().cumulative())
            counterSum += c.total;
        const auto& s = m_listener->stats();
        const double receive =
            m_seenDatagrams ? static_cast<double>(m_lastNanos - m_firstNanos) / 1e9 : 0;
        const double cpu = m_seenDatagrams ? cpuSeconds() - m_cpuAtFirst : 0;
        std::printf("{\"datagrams\": %" PRIu64 ", \"lines\": %" PRIu64 ", \"parseErrors\": %" PRIu64
                    ", \"udpDrops\": %" PRIu64 ", \"droppedSeries\": %" PRIu64
                    ", \"counterSum\": %.0f, \"receiveSeconds\": %.6f, \"cpuSeconds\": %.6f, "
                    "\"flushes\": %" PRIu64 "}\n",
                    s.datagrams, s.lines, s.parseErrors, s.udpDrops,
                    m_listener->aggregator().droppedSeries(), counterSum, receive, cpu, m_flushes);
        std::fflush(stdout);
        m_flushTimer.cancel();
        m_progressTimer.cancel();
        m_listener->close();
        m_io.stop();
    }

    asio::io_context& m_io;
    std::unique_ptr<statsd::StatsdListener> m_listener;
    asio::steady_timer m_flushTimer;
    asio::steady_timer m_progressTimer;
    asio::signal_set m_signals;
    std::chrono::steady_clock::time_point m_lastFlush;
    metrics::Batch m_batch;
    uint64_t m_flushes = 0;
    uint64_t m_seenDatagrams = 0;
    uint64_t m_firstNanos = 0;
    uint64_t m_lastNanos = 0;
    double m_cpuAtFirst = 0;
};

// --ingest-only: the parse and aggregate path without the kernel: the sender's datagrams handed
// to StatsdListener::ingest in a loop, flushed every million lines; prints CPU ns a line.
void ingestOnly(statsd::StatsdListener& listener, uint64_t lines, uint64_t perDatagram,
                uint64_t names) {
    const auto datagrams = statsdDatagrams(names, perDatagram);
    const double cpu0 = cpuSeconds();
    const uint64_t start = nowNanos();
    uint64_t sinceFlush = 0;
    size_t next = 0;
    for (uint64_t sent = 0; sent < lines; sent += perDatagram) {
        listener.ingest(datagrams[next]);
        next = next + 1 == datagrams.size() ? 0 : next + 1;
        if ((sinceFlush += perDatagram) >= 1000000) {
            listener.aggregator().flush(1);
            sinceFlush = 0;
        }
    }
    listener.aggregator().flush(1);
    const double cpu = cpuSeconds() - cpu0;
    const double wall = static_cast<double>(nowNanos() - start) / 1e9;
    const auto& s = listener.stats();
    std::printf("lines=%" PRIu64 " parseErrors=%" PRIu64 " cpuSeconds=%.6f wallSeconds=%.6f "
                "cpuNanosPerLine=%.1f\n",
                s.lines, s.parseErrors, cpu, wall,
                s.lines ? cpu * 1e9 / static_cast<double>(s.lines) : 0.0);
}

// --discard: see the top. Prints the same JSON line on SIGTERM/SIGINT/SIGUSR1 (lines are
// datagrams here).
volatile std::sig_atomic_t g_stop = 0;

int discard(const std::string& host, uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (fd < 0 || ::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        die("cannot bind " + host + ": " + std::strerror(errno));
    const int buffer = 4 * 1024 * 1024;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    const timeval wake{0, 100000}; // to see the stop
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof wake);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_stop = 1; };
    for (int sig : {SIGTERM, SIGINT, SIGUSR1})
        ::sigaction(sig, &sa, nullptr);
    std::printf("listening port=%u\n", ntohs(a.sin_port));
    std::fflush(stdout);
    constexpr unsigned kBatch = 64;
    std::vector<char> data(kBatch * 2048);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> headers(kBatch);
    uint64_t datagrams = 0;
    double cpuAtFirst = 0;
    uint64_t first = 0, last = 0;
    while (!g_stop) {
        for (unsigned i = 0; i < kBatch; ++i) {
            iov[i] = {data.data() + i * 2048, 2048};
            headers[i] = {};
            headers[i].msg_hdr.msg_iov = &iov[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::recvmmsg(fd, headers.data(), kBatch, MSG_WAITFORONE, nullptr);
        if (n <= 0)
            continue;
        if (datagrams == 0) {
            cpuAtFirst = cpuSeconds();
            first = nowNanos();
        }
        datagrams += static_cast<uint64_t>(n);
        last = nowNanos();
    }
    uint32_t info[SK_MEMINFO_VARS] = {};
    socklen_t size = sizeof info;
    ::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &size);
    std::printf("{\"datagrams\": %" PRIu64 ", \"lines\": %" PRIu64 ", \"parseErrors\": 0, "
                "\"udpDrops\": %u, \"droppedSeries\": 0, \"counterSum\": %" PRIu64
                ", \"receiveSeconds\": %.6f, \"cpuSeconds\": %.6f, \"flushes\": 0}\n",
                datagrams, datagrams, info[SK_MEMINFO_DROPS], datagrams,
                static_cast<double>(last - first) / 1e9, cpuSeconds() - cpuAtFirst);
    return 0;
}

int run(int argc, char** argv) {
    Args args(
        argc, argv,
        "[--host 127.0.0.1] [--port P (0: any)] [--cpu N] [--max-series 1000] "
        "| --ingest-only LINES [--per-datagram 1] [--names 300] [--cpu N] "
        "| --discard [--host 127.0.0.1] [--port P] [--cpu N]",
        {"host", "port", "cpu", "max-series", "ingest-only", "per-datagram", "names", "discard"});
    if (args.has("cpu"))
        pinToCpu(static_cast<int>(args.getCount("cpu", 0)));
    if (args.has("discard"))
        return discard(args.get("host", "127.0.0.1"),
                       static_cast<uint16_t>(args.getCount("port", 0)));
    asio::io_context io(1);
    auto listener = statsd::StatsdListener::bind(
        io, args.get("host", "127.0.0.1"), static_cast<uint16_t>(args.getCount("port", 0)),
        args.getCount("max-series", 1000), std::make_shared<statsd::ReceiveBatch>());
    if (!listener)
        die(listener.error().message);
    if (args.has("ingest-only")) {
        ingestOnly(**listener, args.getCount("ingest-only", 0), args.getCount("per-datagram", 1),
                   args.getCount("names", 300));
        return 0;
    }
    std::printf("listening port=%u\n", (*listener)->port());
    std::fflush(stdout);
    Receiver receiver(io, std::move(*listener));
    receiver.start();
    io.run();
    return 0;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    try {
        return day2::bench::run(argc, argv);
    } catch (const std::exception& e) {
        day2::bench::die(e.what());
    }
}
