// The metrics sinks against real things: the StatsD sink's datagrams read from a UDP socket on
// loopback, the Kafka sink producing into librdkafka's mock cluster (real brokers on loopback,
// in this process) and read back with a real librdkafka consumer.
#include "kafka_mock.h"
#include "sinks/kafka_sink.h"
#include "sinks/statsd_sink.h"
#include "task_gate.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using day2::metrics::Batch;
using day2::metrics::Datapoint;
using day2::metrics::Tags;
using day2::sinks::KafkaOptions;
using day2::sinks::KafkaSink;
using day2::sinks::StatsdSink;
using day2::sinks::StatsdSinkOptions;
using day2::test::consumeAll;
using day2::test::MockCluster;
using day2::test::Received;
using day2::test::waitUntil;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------------------------------------
// StatsD

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    size_t at = 0;
    for (size_t next; (next = text.find(separator, at)) != std::string::npos; at = next + 1)
        parts.push_back(text.substr(at, next - at));
    parts.push_back(text.substr(at));
    return parts;
}

// A UDP socket on loopback that the sink sends to.
class UdpReceiver {
public:
    explicit UdpReceiver(int family = AF_INET)
        : m_family(family), m_fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        const int bytes = 4 << 20;
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
        sockaddr_storage a{};
        socklen_t length;
        if (family == AF_INET) {
            auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
            v4->sin_family = AF_INET;
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            length = sizeof *v4;
        } else {
            auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
            v6->sin6_family = AF_INET6;
            v6->sin6_addr = in6addr_loopback;
            length = sizeof *v6;
        }
        m_bound = ::bind(m_fd, reinterpret_cast<sockaddr*>(&a), length) == 0 &&
                  ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &length) == 0;
        m_port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&a)->sin_port
                                         : reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
    }
    ~UdpReceiver() { close(); }
    UdpReceiver(const UdpReceiver&) = delete;
    UdpReceiver& operator=(const UdpReceiver&) = delete;

    bool bound() const { return m_bound; }
    std::string address() const {
        return (m_family == AF_INET ? "127.0.0.1:" : "[::1]:") + std::to_string(m_port);
    }
    void close() {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }

    // Waits (30 s at most) for `count` datagrams; returns what came.
    std::vector<std::string> receive(size_t count) {
        std::vector<std::string> datagrams;
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        std::vector<char> buffer(65536);
        while (datagrams.size() < count) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{m_fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                break;
            const ssize_t n = ::recv(m_fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (n >= 0)
                datagrams.emplace_back(buffer.data(), static_cast<size_t>(n));
        }
        return datagrams;
    }
    // Datagrams queued now (read and counted), without waiting.
    size_t extra() {
        size_t n = 0;
        char byte;
        while (::recv(m_fd, &byte, 1, MSG_DONTWAIT) >= 0)
            ++n;
        return n;
    }

private:
    int m_family;
    int m_fd;
    bool m_bound = false;
    uint16_t m_port = 0;
};

std::unique_ptr<StatsdSink> statsdSink(const std::string& address, const std::string& format,
                                       size_t mtu = 1432) {
    auto sink = StatsdSink::create({address, format, mtu});
    EXPECT_TRUE(sink.ok()) << (sink.ok() ? "" : sink.error().message);
    return sink.ok() ? std::move(sink).value() : nullptr;
}

// What a container's usage batch comes with from the agent.
const Tags kContainer = {{"agent_id", "agent.1"},    {"hostname", "node-1.example"},
                         {"container_id", "c.42"},   {"executor_id", "exec-1"},
                         {"framework_id", "fw-1"},   {"framework_name", "fw|name"},
                         {"application_name", "web"}};

// Every line of the batch in one datagram (the MTU is large enough), in the batch's order, and
// the sink's counts.
struct Sent {
    std::vector<std::string> lines;
    day2::sinks::StatsdSinkStats stats;
};
Sent sendOneDatagram(const std::string& format, const Batch& batch, const Tags& identity) {
    UdpReceiver receiver;
    EXPECT_TRUE(receiver.bound());
    auto sink = statsdSink(receiver.address(), format, 65507);
    if (!sink)
        return {};
    sink->send(batch, identity);
    EXPECT_EQ(sink->stats().datagramsSent, 1u);
    const auto datagrams = receiver.receive(1);
    EXPECT_EQ(datagrams.size(), 1u);
    EXPECT_EQ(receiver.extra(), 0u);
    return {datagrams.empty() ? std::vector<std::string>{} : split(datagrams[0], '\n'),
            sink->stats()};
}

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TEST(StatsdSink, DogStatsdLinesCarryTheIdentityThenThePointsTagsSanitized) {
    Batch batch;
    batch.timestampUsec = 1'700'000'000'000'000;
    batch.points = {
        {"cpus.usage", 0.25, "cores", {}},
        {"filesystem.capacity.used", 1073741824, "bytes", {{"path", "/var/lib"}}},
        {"app.req|bad:na,me#x@y z",
         3,
         "",
         {{"env", "prod,eu"}, {"flag", ""}, {"img", "redis:7"}, {"k|#@ \n", "v\r\tw"}}},
        {"app.spoof", 1, "", {{"container_id", "not-me"}, {"zone", "a"}}},
        {"mem.delta", -5.5, "bytes", {}},
        {"tiny", 1e-7, "", {}},
        {"zero", -0.0, "", {}},
        {"nan", kNan, "", {}},
        {"inf", kInf, "", {}},
        {"minus.inf", -kInf, "", {}},
    };
    const auto sent = sendOneDatagram("dogstatsd", batch, kContainer);
    const std::string id = "|#agent_id:agent.1,hostname:node-1.example,container_id:c.42,"
                           "executor_id:exec-1,framework_id:fw-1,framework_name:fw_name,"
                           "application_name:web";
    const std::vector<std::string> expected = {
        "cpus.usage:0.25|g" + id,
        "filesystem.capacity.used:1073741824|g" + id + ",path:/var/lib",
        "app.req_bad_na_me_x_y_z:3|g" + id + ",env:prod_eu,flag,img:redis:7,k_____:v__w",
        "app.spoof:1|g" + id + ",zone:a",
        "mem.delta:0|g" + id, // a signed gauge is a delta in StatsD: set 0 first
        "mem.delta:-5.5|g" + id,
        "tiny:1e-07|g" + id,
        "zero:0|g" + id,
    };
    EXPECT_EQ(sent.lines, expected);
    EXPECT_EQ(sent.stats.skipped, 3u);
    EXPECT_EQ(sent.stats.linesSent, expected.size());
    EXPECT_EQ(sent.stats.dropped, 0u);
}

TEST(StatsdSink, DogStatsdWithoutAnyTagHasNoTagSection) {
    Batch batch;
    batch.points = {{"load.1min", 0.5, "", {}}, {"network.in", 10, "bytes", {{"interface", "e"}}}};
    const auto sent = sendOneDatagram("dogstatsd", batch, {{"agent_id", ""}});
    EXPECT_EQ(sent.lines,
              (std::vector<std::string>{"load.1min:0.5|g", "network.in:10|g|#interface:e"}));
}

TEST(StatsdSink, PlainPrefixesTheIdsAndAppendsThePointsTagsAsSegments) {
    Batch batch;
    batch.points = {
        {"cpus.usage", 0.5, "cores", {}},
        {"network.in", 123, "bytes", {{"interface", "eth0.100"}}},
        {"filesystem.capacity.used", 42, "bytes", {{"path", "/var/lib"}}},
        {"app.req|x", 7, "", {{"a.b", "c:d e"}, {"env", "prod"}}},
        {"mem.delta", -2, "", {}},
        {"nan", kNan, "", {}},
    };
    auto sent = sendOneDatagram("plain", batch, kContainer);
    EXPECT_EQ(sent.lines, (std::vector<std::string>{
                              "agent_1.c_42.cpus.usage:0.5|g",
                              "agent_1.c_42.network.in.interface_eth0_100:123|g",
                              "agent_1.c_42.filesystem.capacity.used.path_/var/lib:42|g",
                              "agent_1.c_42.app.req_x.a_b_c_d_e.env_prod:7|g",
                              "agent_1.c_42.mem.delta:0|g",
                              "agent_1.c_42.mem.delta:-2|g",
                          }));
    EXPECT_EQ(sent.stats.skipped, 1u);

    // The node's own batch: the agent id alone.
    const Tags node = {{"agent_id", "agent.1"}, {"hostname", "node-1.example"}};
    sent = sendOneDatagram("plain", Batch{0, {{"load.1min", 0.75, "", {}}}}, node);
    EXPECT_EQ(sent.lines, (std::vector<std::string>{"agent_1.load.1min:0.75|g"}));
}

TEST(StatsdSink, PacksLinesUpToTheMtuAndSendsAnOverlongLineAloneAndWhole) {
    constexpr size_t kMtu = 256;
    UdpReceiver receiver;
    ASSERT_TRUE(receiver.bound());
    auto sink = statsdSink(receiver.address(), "dogstatsd", kMtu);
    ASSERT_TRUE(sink);

    const Tags identity = {{"agent_id", "a1"}, {"container_id", "c1"}};
    Batch batch;
    std::vector<std::string> expected;
    for (int i = 0; i < 150; ++i) {
        if (i == 70) {
            const std::string longName = "long." + std::string(600, 'n');
            batch.points.push_back({longName, 1, "", {}});
            expected.push_back(longName + ":1|g|#agent_id:a1,container_id:c1");
        }
        // i * 1.5 as the shortest text that reads back the same: "3", "4.5", ...
        const std::string value = std::to_string(3 * i / 2) + (i % 2 ? ".5" : "");
        const std::string name = "metric." + std::to_string(i);
        batch.points.push_back({name, i * 1.5, "", {{"i", std::to_string(i % 7)}}});
        std::string line = name;
        line += ":" + value;
        line += "|g|#agent_id:a1,container_id:c1,i:" + std::to_string(i % 7);
        expected.push_back(std::move(line));
    }
    sink->send(batch, identity);

    const auto& stats = sink->stats();
    EXPECT_EQ(stats.linesSent, expected.size());
    EXPECT_EQ(stats.dropped, 0u);
    const auto datagrams = receiver.receive(stats.datagramsSent);
    ASSERT_EQ(datagrams.size(), stats.datagramsSent);
    EXPECT_EQ(receiver.extra(), 0u);

    std::vector<std::string> lines;
    std::vector<std::vector<std::string>> perDatagram;
    for (const auto& d : datagrams) {
        perDatagram.push_back(split(d, '\n'));
        if (d.size() > kMtu) { // only the over-long line, alone and whole
            EXPECT_EQ(perDatagram.back().size(), 1u) << d.substr(0, 80);
            EXPECT_EQ(d, expected[70]);
        }
        lines.insert(lines.end(), perDatagram.back().begin(), perDatagram.back().end());
    }
    // Every line exactly once, in the batch's order.
    EXPECT_EQ(lines, expected);
    // Packed: the next datagram's first line would not have fitted in the one before.
    for (size_t i = 0; i + 1 < datagrams.size(); ++i)
        EXPECT_GT(datagrams[i].size() + 1 + perDatagram[i + 1].front().size(), kMtu)
            << "datagram " << i << " had room for the next line";
    EXPECT_GT(datagrams.size(), 10u);
}

TEST(StatsdSink, OnlyNanAndInfinitiesSendNothingAndAreCounted) {
    UdpReceiver receiver;
    ASSERT_TRUE(receiver.bound());
    auto sink = statsdSink(receiver.address(), "dogstatsd");
    ASSERT_TRUE(sink);
    sink->send(Batch{0, {{"a", kNan, "", {}}, {"b", kInf, "", {}}, {"c", -kNan, "", {}}}}, {});
    EXPECT_EQ(sink->stats().skipped, 3u);
    EXPECT_EQ(sink->stats().datagramsSent, 0u);
    EXPECT_EQ(sink->stats().linesSent, 0u);
    EXPECT_EQ(receiver.extra(), 0u);
}

TEST(StatsdSink, ADatagramNobodyListensForIsDroppedAndCounted) {
    std::string address;
    {
        UdpReceiver gone; // a port that was free a moment ago, closed again
        ASSERT_TRUE(gone.bound());
        address = gone.address();
    }
    auto sink = statsdSink(address, "dogstatsd");
    ASSERT_TRUE(sink);
    // The kernel says "refused" at the send after the one whose ICMP came back.
    uint64_t sends = 0;
    ASSERT_TRUE(waitUntil(
        [&] {
            sink->send(Batch{0, {{"x", 1, "", {}}}}, {});
            ++sends;
            return sink->stats().dropped > 0;
        },
        30s));
    const auto& stats = sink->stats();
    EXPECT_EQ(stats.datagramsSent + stats.dropped, sends);
    EXPECT_EQ(stats.linesSent + stats.linesDropped, sends);
    EXPECT_NE(stats.lastError.find("refused"), std::string::npos) << stats.lastError;
}

TEST(StatsdSink, SendsToAnIpv6Address) {
    UdpReceiver receiver(AF_INET6);
    if (!receiver.bound())
        GTEST_SKIP() << "no IPv6 loopback here (cannot bind [::1])";
    auto sink = statsdSink(receiver.address(), "plain");
    ASSERT_TRUE(sink);
    sink->send(Batch{0, {{"up", 1, "", {}}}}, {{"agent_id", "a"}});
    EXPECT_EQ(receiver.receive(1), (std::vector<std::string>{"a.up:1|g"}));
}

TEST(StatsdSink, BadSettingsSayWhichAndWhy) {
    struct Case {
        StatsdSinkOptions options;
        std::string mentions;
    };
    const Case cases[] = {
        {{"", "dogstatsd", 1432}, "no port"},
        {{"127.0.0.1", "dogstatsd", 1432}, "no port"},
        {{"127.0.0.1:", "dogstatsd", 1432}, "port"},
        {{"127.0.0.1:0", "dogstatsd", 1432}, "port"},
        {{"127.0.0.1:65536", "dogstatsd", 1432}, "port"},
        {{"127.0.0.1:81x", "dogstatsd", 1432}, "port"},
        {{"localhost:8125", "dogstatsd", 1432}, "not an IPv4 or IPv6 address"},
        {{"::1:8125", "dogstatsd", 1432}, "brackets"},
        {{"[::1:8125", "dogstatsd", 1432}, "']'"},
        {{"[::1]8125", "dogstatsd", 1432}, "no port"},
        {{"[127.0.0.1.5]:8125", "dogstatsd", 1432}, "not an IPv4 or IPv6 address"},
        {{"127.0.0.1:8125", "influx", 1432}, "format \"influx\": must be dogstatsd or plain"},
        {{"127.0.0.1:8125", "plain", 10}, "mtu 10"},
        {{"127.0.0.1:8125", "plain", 70000}, "mtu 70000"},
    };
    for (const auto& c : cases) {
        auto sink = StatsdSink::create(c.options);
        ASSERT_FALSE(sink.ok()) << c.options.address << " " << c.options.format;
        EXPECT_NE(sink.error().message.find(c.mentions), std::string::npos) << sink.error().message;
        if (c.options.format != "influx" && c.options.mtu >= 64 && c.options.mtu <= 65507) {
            EXPECT_NE(sink.error().message.find("address \"" + c.options.address + "\""),
                      std::string::npos)
                << sink.error().message;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Kafka

constexpr char kTopic[] = "metrics";
constexpr int kPartitions = 4;

// Sends numbered messages round-robin over the keys; each key's numbers count from 0.
class Numbered {
public:
    explicit Numbered(size_t keys, size_t payloadBytes = 500) : m_payloadBytes(payloadBytes) {
        for (size_t k = 0; k < keys; ++k)
            m_next["container-" + std::to_string(k)] = 0;
    }
    void send(KafkaSink& sink, size_t count) {
        for (size_t i = 0; i < count; ++i) {
            auto it = m_next.begin();
            std::advance(it, static_cast<long>(m_sent % m_next.size()));
            sink.send(it->first, payload(it->first, it->second++));
            ++m_sent;
        }
    }
    std::string payload(const std::string& key, uint64_t seq) const {
        nlohmann::json j{{"key", key}, {"seq", seq}, {"pad", ""}};
        const size_t bare = j.dump().size();
        j["pad"] = std::string(m_payloadBytes > bare ? m_payloadBytes - bare : 0, 'x');
        return j.dump();
    }
    uint64_t sent() const { return m_sent; }
    const std::map<std::string, uint64_t>& perKey() const { return m_next; }

private:
    size_t m_payloadBytes;
    std::map<std::string, uint64_t> m_next;
    uint64_t m_sent = 0;
};

// Every key's messages arrived once each, numbered 0, 1, 2, ... in the order of their partition,
// each key in one partition; and nothing else arrived.
void expectExactlyOnceInOrder(const std::vector<Received>& received,
                              const std::map<std::string, uint64_t>& perKey) {
    std::map<std::string, std::vector<uint64_t>> seqs;
    std::map<std::string, std::set<int32_t>> partitions;
    for (const auto& r : received) {
        const auto payload = nlohmann::json::parse(r.payload);
        EXPECT_EQ(payload.at("key"), r.key);
        seqs[r.key].push_back(payload.at("seq").get<uint64_t>());
        partitions[r.key].insert(r.partition);
    }
    EXPECT_EQ(seqs.size(), perKey.size());
    for (const auto& [key, count] : perKey) {
        std::vector<uint64_t> expected(count);
        for (uint64_t i = 0; i < count; ++i)
            expected[i] = i;
        EXPECT_EQ(seqs[key], expected) << key << ": duplicated, lost or out of order";
        EXPECT_EQ(partitions[key].size(), 1u) << key;
    }
}

std::unique_ptr<KafkaSink> kafkaSink(const KafkaOptions& options) {
    auto sink = KafkaSink::create(options);
    EXPECT_TRUE(sink.ok()) << (sink.ok() ? "" : sink.error().message);
    return sink.ok() ? std::move(sink).value() : nullptr;
}

bool settle(KafkaSink& sink, uint64_t reported, std::chrono::seconds limit = 60s) {
    return waitUntil(
        [&] {
            sink.poll();
            const auto s = sink.stats();
            return s.delivered + s.dropped == reported && s.queuedMessages == 0;
        },
        limit);
}

TEST(KafkaSink, DeliversEveryMessageExactlyOnceAndInOrderPerKey) {
    MockCluster cluster(3);
    ASSERT_TRUE(cluster.ok());
    auto sink = kafkaSink({.brokers = cluster.bootstraps()});
    ASSERT_TRUE(sink);

    Numbered messages(10);
    messages.send(*sink, 2000);
    EXPECT_EQ(sink->stats().queuedMessages + sink->stats().delivered, 2000u);
    ASSERT_TRUE(settle(*sink, 2000)) << sink->stats().delivered << " delivered";
    const auto stats = sink->stats();
    EXPECT_EQ(stats.delivered, 2000u);
    EXPECT_EQ(stats.dropped, 0u);
    EXPECT_EQ(stats.queuedBytes, 0u);
    EXPECT_TRUE(stats.delivering);

    const auto received = consumeAll(cluster.bootstraps());
    EXPECT_EQ(received.size(), 2000u);
    expectExactlyOnceInOrder(received, messages.perKey());
}

TEST(KafkaSink, ABrokerOutageWithinTheBufferLosesNothing) {
    MockCluster cluster(3);
    ASSERT_TRUE(cluster.ok());
    auto sink = kafkaSink({.brokers = cluster.bootstraps()});
    ASSERT_TRUE(sink);
    Numbered messages(10);

    // Before: delivered.
    messages.send(*sink, 100);
    ASSERT_TRUE(settle(*sink, 100));

    // Some more, then every broker goes down, some of them perhaps in flight: retried later
    // without duplicates (idempotence), whichever way that goes.
    messages.send(*sink, 100);
    cluster.down();
    const uint64_t sentBeforeOutage = messages.sent();

    // The outage: ten messages each "interval", the sink polled each time, as the agent does.
    // It lasts 10 s and at least until the sink has noticed.
    const auto outageEnd = std::chrono::steady_clock::now() + 10s;
    const auto limit = std::chrono::steady_clock::now() + 60s;
    bool noticed = false;
    while (std::chrono::steady_clock::now() < outageEnd || !noticed) {
        ASSERT_LT(std::chrono::steady_clock::now(), limit) << "the sink never said it was not "
                                                              "delivering";
        messages.send(*sink, 10);
        sink->poll();
        const auto s = sink->stats();
        // Nothing sent during the outage can have reached a broker.
        ASSERT_LE(s.delivered, sentBeforeOutage);
        noticed = !s.delivering && !s.lastError.empty();
        std::this_thread::sleep_for(100ms); // the agent's interval, shortened
    }
    const auto during = sink->stats();
    EXPECT_EQ(during.dropped, 0u);
    EXPECT_GE(during.queuedMessages, messages.sent() - sentBeforeOutage);
    EXPECT_GT(during.queuedBytes, 0u);
    EXPECT_FALSE(during.delivering);
    std::cout << "outage: " << messages.sent() - sentBeforeOutage
              << " messages sent while down, lastError: " << during.lastError << "\n";

    cluster.up();
    ASSERT_TRUE(settle(*sink, messages.sent())) << sink->stats().delivered << " delivered";
    const auto after = sink->stats();
    EXPECT_EQ(after.delivered, messages.sent());
    EXPECT_EQ(after.dropped, 0u);
    EXPECT_TRUE(after.delivering);

    const auto received = consumeAll(cluster.bootstraps());
    EXPECT_EQ(received.size(), messages.sent());
    expectExactlyOnceInOrder(received, messages.perKey());
}

TEST(KafkaSink, BeyondTheBufferMessagesAreDroppedAndCountedExactly) {
    MockCluster cluster(1);
    ASSERT_TRUE(cluster.ok());
    cluster.down(); // nothing leaves the buffer until it is back
    constexpr size_t kBuffer = 4096;
    constexpr size_t kPayload = 1000;
    auto sink = kafkaSink({.brokers = cluster.bootstraps(), .bufferBytes = kBuffer});
    ASSERT_TRUE(sink);

    Numbered messages(1, kPayload);
    ASSERT_EQ(messages.payload("container-0", 0).size(), kPayload);
    for (int i = 0; i < 20; ++i) { // as the agent would: poll, send (the last word is a send's)
        sink->poll();
        messages.send(*sink, 1);
    }
    const auto full = sink->stats();
    // The buffer's bytes bound what it holds; the rest was refused and counted at once.
    EXPECT_GE(full.queuedMessages, 1u);
    EXPECT_LE(full.queuedMessages * kPayload, kBuffer);
    EXPECT_EQ(full.queuedMessages + full.dropped, 20u);
    EXPECT_EQ(full.delivered, 0u);
    EXPECT_NE(full.lastError.find("full"), std::string::npos) << full.lastError;

    cluster.up();
    ASSERT_TRUE(settle(*sink, 20)) << sink->stats().delivered << " delivered";
    const auto after = sink->stats();
    EXPECT_EQ(after.delivered, full.queuedMessages);
    EXPECT_EQ(after.dropped, full.dropped);
    EXPECT_EQ(after.delivered + after.dropped, 20u);

    // What was kept is what came first (the newest are the ones dropped), and it arrived.
    const auto received = consumeAll(cluster.bootstraps());
    EXPECT_EQ(received.size(), after.delivered);
    expectExactlyOnceInOrder(received, {{"container-0", after.delivered}});
}

TEST(KafkaSink, AMessageThatTimesOutIsDroppedAndCounted) {
    MockCluster cluster(1);
    ASSERT_TRUE(cluster.ok());
    cluster.down();
    auto sink = kafkaSink({.brokers = cluster.bootstraps(), .messageTimeout = 1000ms});
    ASSERT_TRUE(sink);
    Numbered messages(2);
    messages.send(*sink, 5);
    ASSERT_TRUE(settle(*sink, 5));
    const auto stats = sink->stats();
    EXPECT_EQ(stats.dropped, 5u);
    EXPECT_EQ(stats.delivered, 0u);
    EXPECT_FALSE(stats.lastError.empty()); // which: the delivery's or a later connection's
}

TEST(KafkaSink, ClosingSaysWhatWasLost) {
    MockCluster cluster(1);
    ASSERT_TRUE(cluster.ok());
    cluster.down();
    auto sink = kafkaSink({.brokers = cluster.bootstraps(), .closeTimeout = 200ms});
    ASSERT_TRUE(sink);
    Numbered messages(1, 100); // and keys of 11 bytes
    messages.send(*sink, 3);
    testing::internal::CaptureStderr();
    sink.reset();
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("3 message(s) (333 bytes) not delivered within 200 ms are lost"),
              std::string::npos)
        << said;
}

TEST(KafkaSink, BadSettingsSayWhichAndWhy) {
    struct Case {
        KafkaOptions options;
        std::vector<std::string> mentions;
    };
    const Case cases[] = {
        {{.brokers = ""}, {"brokers is empty"}},
        {{.brokers = "127.0.0.1:9092,,127.0.0.1:9093"}, {"brokers", "empty entry"}},
        {{.brokers = "127.0.0.1:9092", .compression = "brotli"},
         {"compression = \"brotli\"", "Invalid value", "one of none, gzip"}},
        {{.brokers = "127.0.0.1:9092", .topic = ""}, {"topic is empty"}},
        {{.brokers = "127.0.0.1:9092", .bufferBytes = 0}, {"bufferBytes is 0"}},
        {{.brokers = "127.0.0.1:9092", .properties = {{"no.such.property", "1"}}},
         {"no.such.property = \"1\"", "No such configuration property"}},
    };
    for (const auto& c : cases) {
        auto sink = KafkaSink::create(c.options);
        ASSERT_FALSE(sink.ok()) << c.options.brokers;
        for (const auto& m : c.mentions)
            EXPECT_NE(sink.error().message.find(m), std::string::npos) << sink.error().message;
    }
}

} // namespace
