// A task's StatsD endpoint on a real UDP socket on loopback: lines in batches of datagrams,
// garbage counted and the listener still serving, and what the kernel drops counted, so that
// received + counted drops = sent.
#include "statsd/statsd_listener.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using day2::statsd::ReceiveBatch;
using day2::statsd::StatsdListener;

namespace {

class Sender {
public:
    explicit Sender(uint16_t port) : m_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        m_to.sin_family = AF_INET;
        m_to.sin_port = htons(port);
        m_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    ~Sender() { ::close(m_fd); }
    void send(const std::string& datagram) {
        ASSERT_EQ(::sendto(m_fd, datagram.data(), datagram.size(), 0,
                           reinterpret_cast<const sockaddr*>(&m_to), sizeof m_to),
                  static_cast<ssize_t>(datagram.size()))
            << std::strerror(errno);
    }

private:
    int m_fd;
    sockaddr_in m_to{};
};

double valueOf(const std::vector<day2::statsd::StatsdPoint>& points, const std::string& name) {
    for (const auto& p : points)
        if (p.name == name)
            return p.value;
    return -1;
}

// Runs the loop until `done` holds (the datagrams are on loopback: they are already queued).
template <class F> bool runUntil(boost::asio::io_context& io, F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        io.run_for(std::chrono::milliseconds(10));
        io.restart();
    }
    return true;
}

} // namespace

TEST(StatsdListener, ReadsEveryLineOfEveryDatagram) {
    boost::asio::io_context io;
    auto l = StatsdListener::bind(io, "127.0.0.1", 0, 1000, std::make_shared<ReceiveBatch>());
    ASSERT_TRUE(l) << l.error().message;
    auto& listener = **l;
    EXPECT_NE(listener.port(), 0);
    listener.start();
    Sender s(listener.port());
    // 300 datagrams of 20 lines: more than one batch (64) a wake-up.
    std::string twenty;
    for (int i = 0; i < 20; ++i)
        twenty += "hits:1|c|#env:test\n";
    // In rounds of 100 (40 KB), each read before the next: no socket buffer overflows.
    for (unsigned round = 1; round <= 3; ++round) {
        for (int i = 0; i < 100; ++i)
            s.send(twenty);
        ASSERT_TRUE(runUntil(io, [&] { return listener.stats().datagrams == 100 * round; }));
    }
    s.send("latency:5|ms\nlatency:7|ms");
    ASSERT_TRUE(runUntil(io, [&] { return listener.stats().datagrams == 301; }));
    EXPECT_EQ(listener.stats().udpDrops, 0u);
    EXPECT_EQ(listener.stats().lines, 6002u);
    EXPECT_EQ(listener.stats().parseErrors, 0u);
    auto points = listener.aggregator().flush(1);
    EXPECT_EQ(valueOf(points, "hits"), 6000);
    EXPECT_EQ(valueOf(points, "latency.count"), 2);
    EXPECT_EQ(valueOf(points, "latency.max"), 7);
}

TEST(StatsdListener, GarbageIsCountedAndTheListenerKeepsServing) {
    boost::asio::io_context io;
    auto l = StatsdListener::bind(io, "127.0.0.1", 0, 1000, std::make_shared<ReceiveBatch>());
    ASSERT_TRUE(l) << l.error().message;
    auto& listener = **l;
    listener.start();
    Sender s(listener.port());
    s.send(std::string("\0\xff\xfe garbage|||", 15));
    s.send("no_type:1\nok:1|c\n:1|c\nbad:x|c");
    s.send(std::string(65000, 'x')); // one line, far too long for a name
    s.send("ok:2|c");
    ASSERT_TRUE(runUntil(io, [&] { return listener.stats().datagrams == 4; }));
    EXPECT_EQ(listener.stats().parseErrors, 5u);
    EXPECT_EQ(listener.stats().lines, 2u);
    EXPECT_EQ(valueOf(listener.aggregator().flush(1), "ok"), 3);
}

TEST(StatsdListener, WhatTheKernelDropsIsCounted) {
    boost::asio::io_context io;
    auto l = StatsdListener::bind(io, "127.0.0.1", 0, 1000, std::make_shared<ReceiveBatch>());
    ASSERT_TRUE(l) << l.error().message;
    auto& listener = **l;
    // Not started: nothing reads while the sender fills the socket's buffer far beyond its size.
    Sender s(listener.port());
    const std::string datagram = "drop.me:1|c|#" + std::string(1000, 'k') + "\n";
    // About 20 MB: more than the socket's buffer can be (the listener asks for 4 MiB, which the
    // kernel doubles at most).
    constexpr unsigned kSent = 20000;
    for (unsigned i = 0; i < kSent; ++i)
        s.send(datagram);
    listener.drain();
    const auto& st = listener.stats();
    EXPECT_GT(st.udpDrops, 0u) << "the kernel dropped nothing: the test proves nothing";
    EXPECT_EQ(st.datagrams + st.udpDrops, kSent)
        << "received " << st.datagrams << ", counted drops " << st.udpDrops;
    EXPECT_EQ(valueOf(listener.aggregator().flush(1), "drop.me"),
              static_cast<double>(st.datagrams));
}

TEST(StatsdListener, DrainReadsWhatIsQueuedWithoutTheLoop) {
    boost::asio::io_context io;
    auto l = StatsdListener::bind(io, "127.0.0.1", 0, 1000, std::make_shared<ReceiveBatch>());
    ASSERT_TRUE(l) << l.error().message;
    Sender s((*l)->port());
    for (int i = 0; i < 100; ++i)
        s.send("last:1|c");
    EXPECT_EQ((*l)->drain(), 100u);
    EXPECT_EQ(valueOf((*l)->aggregator().flush(1), "last"), 100);
    EXPECT_EQ((*l)->drain(), 0u);
}

TEST(StatsdListener, BindErrorsSayWhy) {
    boost::asio::io_context io;
    auto batch = std::make_shared<ReceiveBatch>();
    auto bad = StatsdListener::bind(io, "not-an-ip", 0, 10, batch);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("not an IP address"), std::string::npos);
    auto first = StatsdListener::bind(io, "127.0.0.1", 0, 10, batch);
    ASSERT_TRUE(first);
    auto taken = StatsdListener::bind(io, "127.0.0.1", (*first)->port(), 10, batch);
    ASSERT_FALSE(taken);
    EXPECT_NE(taken.error().message.find("127.0.0.1:" + std::to_string((*first)->port())),
              std::string::npos)
        << taken.error().message;
}
