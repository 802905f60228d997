// The Kafka sink (docs/api.md, Metrics, Sinks): each source's MetricsMessage once an interval, one
// message per source, key = the agent id or the container id, on one topic.
//
// Never blocks the agent's event loop: send() copies the message into librdkafka's queue and
// returns; librdkafka's own threads deliver it. poll(), which the agent calls once an interval on
// that same thread, serves what librdkafka has to say (delivery reports, errors, its log lines):
// every callback runs there, so nothing here is locked.
//
// Delivery: an idempotent producer (enable.idempotence: acks=all, retries that neither duplicate
// nor reorder within a partition; one key always goes to the same partition, so a source's
// messages stay in order), retried until delivered (message.timeout.ms = 0 by default), so that
// a broker outage loses nothing that fits in the buffer.
//
// The bound is librdkafka's own queue: queue.buffering.max.kbytes = bufferBytes in KiB, rounded
// up (payload bytes of messages whose delivery report poll() has not served yet; no bound on
// their number).
//
// Dropped, counted in stats().dropped (the agent reports it as `day2.sinks.kafka.dropped`):
//   - a message librdkafka refuses at send(): its queue is full (the newest message is dropped,
//     what is already queued is kept), the message is larger than message.max.bytes, or the
//     producer stopped after a fatal error (idempotence broken, e.g. a broker lost acknowledged
//     messages: logged; this sink then delivers nothing more until it is made anew);
//   - a message whose delivery failed for good: messageTimeout passed (when not 0), the broker
//     refused it permanently, or it was still undelivered when the sink closed.
#pragma once

#include "base/result.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_topic_s;

namespace day2::sinks {

struct KafkaOptions {
    std::string brokers{}; // bootstrap.servers: "host:port[,host:port...]"
    std::string topic = "metrics";
    std::string compression = "lz4"; // none, gzip, snappy, lz4, zstd
    size_t bufferBytes = size_t{64} << 20;
    // How long a message may wait for delivery before it is dropped; 0: until it is delivered.
    std::chrono::milliseconds messageTimeout{0};
    // How long the destructor waits for what is queued before dropping it.
    std::chrono::milliseconds closeTimeout{3000};
    std::string clientId = "day2-agent";
    // More librdkafka settings (security.protocol, ssl.*, sasl.*), set before the sink's own:
    // the settings above and idempotence cannot be changed here.
    std::vector<std::pair<std::string, std::string>> properties{};
};

struct KafkaStats {
    uint64_t delivered = 0;      // acknowledged by the brokers
    uint64_t dropped = 0;        // see the top of this file
    uint64_t queuedMessages = 0; // accepted by send(), no delivery report served yet
    uint64_t queuedBytes = 0;    // their keys and payloads
    // Nothing is queued, or the last word from librdkafka was good: the last delivery report was
    // a success and no error came after it. False while the brokers are unreachable.
    bool delivering = true;
    // The last thing that went wrong: librdkafka's error callback ("1/1 brokers are down", a
    // connection refused), a refused send ("send refused: Local: Queue full") or a failed delivery
    // ("delivery failed: Local: Message timed out"). Kept after recovery.
    std::string lastError;
};

class KafkaSink {
public:
    // Errors say which setting and why (librdkafka's own words where it refused a setting).
    static Result<std::unique_ptr<KafkaSink>> create(const KafkaOptions& options);
    // Waits up to closeTimeout for what is queued (the one call that blocks: at shutdown), then
    // drops the rest and says what was lost.
    ~KafkaSink();
    KafkaSink(const KafkaSink&) = delete;
    KafkaSink& operator=(const KafkaSink&) = delete;

    // Queues one message (copied); never blocks. A message that cannot be queued is dropped and
    // counted.
    void send(std::string_view key, std::string_view payload);
    // Serves delivery reports, errors and librdkafka's log lines; never blocks.
    void poll();
    KafkaStats stats() const;

private:
    struct Callbacks;
    explicit KafkaSink(const KafkaOptions& options);
    void refused(int err);

    KafkaOptions m_options;
    rd_kafka_s* m_rk = nullptr;
    rd_kafka_topic_s* m_topic = nullptr;
    uint64_t m_delivered = 0;
    uint64_t m_dropped = 0;
    uint64_t m_queuedMessages = 0;
    uint64_t m_queuedBytes = 0;
    bool m_lastReportOk = true;
    bool m_errorSinceDelivery = false;
    std::string m_lastError;
    bool m_closing = false;
    int m_refusing = 0;           // the error send() met last (0: it was accepted)
    uint64_t m_refusedInARow = 0; // messages refused since the last one accepted
};

} // namespace day2::sinks
