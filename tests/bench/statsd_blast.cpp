// day2-bench-statsd-blast: the StatsD sender of statsd_bench.sh. Sends lines
// `bench.m<k>:1|c|#env:bench` (k cycling over --names distinct metric names, so each line is a
// counter increment of 1) to HOST:PORT, --per-datagram lines to a datagram, in sendmmsg batches
// from datagrams built in advance. At full speed by default; with --rate, paced to that many
// lines a second (batches sent on a schedule; a sender that fell behind catches up at once).
// Stops after --lines lines or --seconds seconds, whichever comes first, and prints what the
// kernel accepted: datagrams=D lines=N seconds=S rate=R (lines/s).
#include "bench_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

namespace day2::bench {
namespace {

constexpr size_t kMaxBatch = 64;

void sleepUntil(uint64_t nanos) {
    const timespec ts{static_cast<time_t>(nanos / 1000000000ULL),
                      static_cast<long>(nanos % 1000000000ULL)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

int run(int argc, char** argv) {
    Args args(argc, argv,
              "--port P [--host 127.0.0.1] [--per-datagram 1] [--names 300] [--lines N] "
              "[--seconds S] [--rate LINES_PER_SECOND] [--cpu N]",
              {"host", "port", "per-datagram", "names", "lines", "seconds", "rate", "cpu"});
    const uint64_t perDatagram = args.getCount("per-datagram", 1);
    const uint64_t names = args.getCount("names", 300);
    const uint64_t maxLines = args.getCount("lines", UINT64_MAX);
    const double maxSeconds = args.getDouble("seconds", 0);
    const double rate = args.getDouble("rate", 0);
    if (perDatagram == 0 || names == 0)
        die("--per-datagram and --names must be at least 1");
    if (maxLines == UINT64_MAX && maxSeconds <= 0)
        die("say when to stop: --lines or --seconds");
    if (args.has("cpu"))
        pinToCpu(static_cast<int>(args.getCount("cpu", 0)));

    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(args.getCount("port", 0)));
    if (::inet_pton(AF_INET, args.get("host", "127.0.0.1").c_str(), &to.sin_addr) != 1)
        die("--host must be an IPv4 address");
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
        die(std::string("cannot connect the UDP socket: ") + std::strerror(errno));

    const std::vector<std::string> datagrams = statsdDatagrams(names, perDatagram);
    const uint64_t maxDatagrams = maxLines / perDatagram;
    // Paced: batches small enough that one goes out about every millisecond.
    const double datagramRate = rate / static_cast<double>(perDatagram);
    const size_t batch =
        rate > 0 ? std::clamp<size_t>(static_cast<size_t>(datagramRate / 1000), 1, kMaxBatch)
                 : kMaxBatch;
    std::vector<mmsghdr> headers(batch);
    std::vector<iovec> iov(batch);

    uint64_t sent = 0; // datagrams the kernel accepted
    size_t next = 0;   // index into the cycle of datagrams
    const uint64_t start = nowNanos();
    const uint64_t deadline =
        maxSeconds > 0 ? start + static_cast<uint64_t>(maxSeconds * 1e9) : UINT64_MAX;
    uint64_t now = start;
    while (sent < maxDatagrams && now < deadline) {
        if (rate > 0) {
            const auto due =
                start + static_cast<uint64_t>(static_cast<double>(sent) / datagramRate * 1e9);
            if (due > now) {
                sleepUntil(std::min(due, deadline));
                if (nowNanos() >= deadline)
                    break;
            }
        }
        const size_t n = static_cast<size_t>(std::min<uint64_t>(batch, maxDatagrams - sent));
        for (size_t i = 0; i < n; ++i) {
            const std::string& d = datagrams[(next + i) % datagrams.size()];
            iov[i] = {const_cast<char*>(d.data()), d.size()};
            headers[i] = {};
            headers[i].msg_hdr.msg_iov = &iov[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        const int r = ::sendmmsg(fd, headers.data(), static_cast<unsigned>(n), 0);
        if (r < 0) {
            if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
                now = nowNanos();
                continue;
            }
            die(std::string("sendmmsg: ") + std::strerror(errno));
        }
        sent += static_cast<uint64_t>(r);
        next = (next + static_cast<size_t>(r)) % datagrams.size();
        now = nowNanos();
    }
    const double seconds = static_cast<double>(nowNanos() - start) / 1e9;
    ::close(fd);
    const uint64_t lines = sent * perDatagram;
    std::printf("datagrams=%" PRIu64 " lines=%" PRIu64 " seconds=%.6f rate=%.0f\n", sent, lines,
                seconds, seconds > 0 ? static_cast<double>(lines) / seconds : 0.0);
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
