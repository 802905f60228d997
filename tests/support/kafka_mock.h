// Kafka for tests: librdkafka's mock cluster (real brokers on loopback, in this process) and a
// real consumer that reads a topic to its end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace day2::test {

// Brokers on loopback with `topic` created with `partitions`. It lives in an rd_kafka_t of its
// own, which does nothing else. Failures are test failures (ok() says whether it runs).
class MockCluster {
public:
    explicit MockCluster(int brokers, const std::string& topic = "metrics", int partitions = 4);
    ~MockCluster();
    MockCluster(const MockCluster&) = delete;
    MockCluster& operator=(const MockCluster&) = delete;

    bool ok() const { return m_cluster != nullptr; }
    std::string bootstraps() const;
    // Every broker closes its connections and refuses new ones (returns when done), or serves
    // again.
    void down();
    void up();

private:
    rd_kafka_s* m_rk = nullptr;
    rd_kafka_mock_cluster_s* m_cluster = nullptr;
};

struct Received {
    std::string key;
    std::string payload;
    int32_t partition = -1;
};

// Reads every partition of `topic` from the beginning to its end with a real consumer. Call it
// once everything sent has been acknowledged, so that the end of a partition is final.
std::vector<Received> consumeAll(const std::string& brokers, const std::string& topic = "metrics",
                                 int partitions = 4);

} // namespace day2::test
