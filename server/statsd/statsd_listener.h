// One task's StatsD endpoint: a UDP socket the task finds in STATSD_UDP_HOST/STATSD_UDP_PORT,
// read on the agent's event loop in batches (recvmmsg), each datagram's lines parsed and fed to
// the task's aggregator.
//
// Nothing is lost without being counted: a line that does not parse is a parse error, a line of a
// series beyond the task's cap a dropped series (the aggregator's), and what the kernel dropped
// because the socket's buffer was full a UDP drop (the socket's own count, SO_MEMINFO, read
// after every wake-up and drain: SO_RXQ_OVFL would tell a drop only with the next datagram
// received, and miss those at the very end of a task). A
// datagram larger than the receive buffer cannot happen (each buffer holds the largest UDP
// payload); one whose payload was cut anyway is counted as a parse error, not half-read.
//
// Fair to the other work of the loop: one wake-up reads at most kMaxBatchesPerWake batches, then
// waits again (the rest is still queued in the kernel).
//
// Wake-ups are moderated, as a network card moderates its interrupts: a wake-up that found at
// least kModerateFrom datagrams (traffic, not a trickle) but not a full set of batches waits
// kModeration before it waits for the socket again, so that the next one finds a batch's worth
// instead of a few: a wake-up (epoll, a syscall, a context switch) costs as much as dozens of
// datagrams. The socket's buffer holds what comes meanwhile (4 MiB, forced as root).
#pragma once

#include "base/result.h"
#include "statsd/statsd_aggregator.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace day2::statsd {

struct ListenerStats {
    uint64_t datagrams = 0;
    uint64_t lines = 0;       // parsed and given to the aggregator
    uint64_t parseErrors = 0; // lines that are not StatsD, and cut datagrams
    uint64_t udpDrops = 0;    // datagrams the kernel dropped (socket buffer full), since bind
};

// Receive buffers shared by every listener of the agent (one event loop reads them in turn), so
// that a hundred tasks do not cost a hundred sets of 64 KiB buffers.
class ReceiveBatch {
public:
    static constexpr size_t kMessages = 64;
    static constexpr size_t kBufferBytes = 65536; // the largest UDP payload fits
    ReceiveBatch();
    ~ReceiveBatch();
    ReceiveBatch(const ReceiveBatch&) = delete;
    ReceiveBatch& operator=(const ReceiveBatch&) = delete;

    struct Impl;
    std::unique_ptr<Impl> impl;
};

class StatsdListener {
public:
    static constexpr unsigned kMaxBatchesPerWake = 16;
    static constexpr size_t kModerateFrom = 16;
    static constexpr std::chrono::microseconds kModeration{500};

    // Binds host:port (port 0: one the kernel picks). Errors say which address and why.
    static Result<std::unique_ptr<StatsdListener>> bind(boost::asio::io_context& io,
                                                        const std::string& host, uint16_t port,
                                                        size_t maxSeries,
                                                        std::shared_ptr<ReceiveBatch> batch);
    ~StatsdListener();
    StatsdListener(const StatsdListener&) = delete;
    StatsdListener& operator=(const StatsdListener&) = delete;

    uint16_t port() const { return m_port; }
    const std::string& host() const { return m_host; }

    // Reads datagrams as they arrive, until close().
    void start();
    // Reads everything queued now, without waiting; returns how many datagrams it read. For the
    // last flush of a task that ended.
    size_t drain();
    void close();
    // Reads the kernel's drop count into stats() (done after every read as well).
    void readDrops();

    // One datagram's lines (what the socket path calls; for tests and benchmarks).
    void ingest(std::string_view datagram);

    StatsdAggregator& aggregator() { return m_aggregator; }
    const StatsdAggregator& aggregator() const { return m_aggregator; }
    const ListenerStats& stats() const { return m_stats; }

private:
    StatsdListener(boost::asio::io_context& io, size_t maxSeries,
                   std::shared_ptr<ReceiveBatch> batch);
    void wait();
    // One recvmmsg; the number of datagrams read (0: nothing queued or an error).
    size_t readBatch();

    boost::asio::ip::udp::socket m_socket;
    boost::asio::steady_timer m_moderation;
    std::shared_ptr<ReceiveBatch> m_batch;
    std::shared_ptr<bool> m_alive; // the wait handler's way to tell this object is gone
    StatsdAggregator m_aggregator;
    ListenerStats m_stats;
    uint32_t m_lastDropCount = 0; // the socket's running total, as last read
    std::string m_host;
    uint16_t m_port = 0;
};

} // namespace day2::statsd
