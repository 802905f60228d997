#include "kafka_mock.h"

#include "task_gate.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <set>

namespace day2::test {

MockCluster::MockCluster(int brokers, const std::string& topic, int partitions) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    m_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!m_rk) {
        ADD_FAILURE() << errstr;
        return;
    }
    m_cluster = rd_kafka_mock_cluster_new(m_rk, brokers);
    EXPECT_NE(m_cluster, nullptr);
    if (m_cluster) {
        EXPECT_EQ(rd_kafka_mock_topic_create(m_cluster, topic.c_str(), partitions, brokers),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
    }
}

MockCluster::~MockCluster() {
    if (m_cluster)
        rd_kafka_mock_cluster_destroy(m_cluster);
    if (m_rk)
        rd_kafka_destroy(m_rk);
}

std::string MockCluster::bootstraps() const {
    return rd_kafka_mock_cluster_bootstraps(m_cluster);
}

void MockCluster::down() {
    ASSERT_EQ(rd_kafka_mock_broker_set_down(m_cluster, -1), RD_KAFKA_RESP_ERR_NO_ERROR);
}

void MockCluster::up() {
    ASSERT_EQ(rd_kafka_mock_broker_set_up(m_cluster, -1), RD_KAFKA_RESP_ERR_NO_ERROR);
}

std::vector<Received> consumeAll(const std::string& brokers, const std::string& topic,
                                 int partitions) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] : std::map<std::string, std::string>{
             {"bootstrap.servers", brokers},
             {"group.id", "sinks_test"},
             {"enable.auto.commit", "false"},
             {"enable.partition.eof", "true"},
             {"auto.offset.reset", "earliest"},
         })
        EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr),
                  RD_KAFKA_CONF_OK)
            << errstr;
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        ADD_FAILURE() << errstr;
        return {};
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
        rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    EXPECT_EQ(rd_kafka_assign(rk, assignment), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(assignment);

    std::vector<Received> received;
    std::set<int32_t> ended;
    const bool done = waitUntil(
        [&] {
            while (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100)) {
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    ended.insert(m->partition);
                } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    Received r;
                    r.key.assign(static_cast<const char*>(m->key), m->key_len);
                    r.payload.assign(static_cast<const char*>(m->payload), m->len);
                    r.partition = m->partition;
                    received.push_back(std::move(r));
                }
                rd_kafka_message_destroy(m);
            }
            return ended.size() == static_cast<size_t>(partitions);
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(done) << "the consumer reached the end of " << ended.size() << " of " << partitions
                      << " partitions";
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return received;
}

} // namespace day2::test
