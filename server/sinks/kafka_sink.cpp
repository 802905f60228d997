#include "sinks/kafka_sink.h"

#include "base/log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <climits>

namespace day2::sinks {

namespace {

constexpr char kWho[] = "Kafka sink: ";

std::string errorName(int err) {
    return rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err));
}

// Sets one librdkafka property, or says which and why not.
Result<void> set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                 std::string_view setting) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) ==
        RD_KAFKA_CONF_OK)
        return {};
    std::string message =
        std::string(kWho) + std::string(setting) + " = \"" + value + "\": " + errstr;
    if (name == "compression.codec")
        message += " (one of none, gzip, snappy, lz4, zstd)";
    return Error{message};
}

} // namespace

// librdkafka calls these from rd_kafka_poll() (and rd_kafka_flush()), on the thread that polls.
struct KafkaSink::Callbacks {
    static KafkaSink& sink(void* opaque) { return *static_cast<KafkaSink*>(opaque); }

    static void delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
        KafkaSink& s = sink(opaque);
        s.m_queuedMessages -= std::min<uint64_t>(s.m_queuedMessages, 1);
        s.m_queuedBytes -= std::min<uint64_t>(s.m_queuedBytes, message->len + message->key_len);
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ++s.m_delivered;
            s.m_lastReportOk = true;
            s.m_errorSinceDelivery = false;
            return;
        }
        ++s.m_dropped;
        const bool first = s.m_lastReportOk;
        s.m_lastReportOk = false;
        s.m_lastError = "delivery failed: " + errorName(message->err);
        if (first && !s.m_closing) // closing says what it lost, all at once
            log::warning(kWho, "a message could not be delivered (", errorName(message->err),
                         "): dropped, and so is every message that fails until one is delivered");
    }

    static void error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
        KafkaSink& s = sink(opaque);
        s.m_errorSinceDelivery = true;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char fatal[512];
            rd_kafka_fatal_error(rk, fatal, sizeof fatal);
            s.m_lastError = std::string("fatal: ") + fatal;
            log::error(kWho, "the producer stopped (", fatal,
                       "): every message is dropped until the agent restarts");
            return;
        }
        const bool changed = s.m_lastError != reason;
        s.m_lastError = reason;
        if (changed && err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
            log::warning(kWho, reason, ": messages are kept (up to ", s.m_options.bufferBytes,
                         " bytes) until a broker answers");
    }

    static void logLine(const rd_kafka_t*, int level, const char* facility, const char* text) {
        // syslog levels: 0-3 errors, 4 warnings, 5-6 notices and information, 7 debug.
        const log::Level at = level <= 4   ? log::Level::Warning
                              : level <= 6 ? log::Level::Info
                                           : log::Level::Debug;
        log::at(at, kWho, "librdkafka ", facility, ": ", text);
    }
};

KafkaSink::KafkaSink(const KafkaOptions& options) : m_options(options) {}

Result<std::unique_ptr<KafkaSink>> KafkaSink::create(const KafkaOptions& options) {
    if (options.brokers.empty())
        return Error{std::string(kWho) + "brokers is empty: give at least one broker as host:port"};
    for (size_t at = 0;;) {
        const size_t comma = options.brokers.find(',', at);
        const std::string_view broker =
            std::string_view(options.brokers).substr(at, comma - std::min(comma, at));
        if (broker.find_first_not_of(" \t") == std::string_view::npos)
            return Error{std::string(kWho) + "brokers = \"" + options.brokers +
                         "\": an empty entry in the list"};
        if (comma == std::string::npos)
            break;
        at = comma + 1;
    }
    if (options.topic.empty())
        return Error{std::string(kWho) + "topic is empty"};
    if (options.bufferBytes == 0)
        return Error{std::string(kWho) + "bufferBytes is 0: nothing could ever be sent"};

    std::unique_ptr<KafkaSink> sink(new KafkaSink(options));
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto fail = [&](Error e) -> Result<std::unique_ptr<KafkaSink>> {
        rd_kafka_conf_destroy(conf);
        return e;
    };
    for (const auto& [name, value] : options.properties)
        if (auto r = set(conf, name, value, name); !r)
            return fail(r.error());

    const uint64_t kbytes = std::clamp<uint64_t>((options.bufferBytes + 1023) / 1024, 1, INT_MAX);
    struct Setting {
        const char* property;
        std::string value;
        std::string_view option; // what an error names
    };
    const Setting settings[] = {
        {"bootstrap.servers", options.brokers, "brokers"},
        {"compression.codec", options.compression, "compression"},
        {"client.id", options.clientId, "clientId"},
        {"enable.idempotence", "true", "enable.idempotence"},
        {"retries", std::to_string(INT_MAX), "retries"},
        {"queue.buffering.max.kbytes", std::to_string(kbytes), "bufferBytes"},
        {"queue.buffering.max.messages", "0", "bufferBytes"}, // the bytes are the bound
        {"message.timeout.ms",
         std::to_string(std::clamp<int64_t>(options.messageTimeout.count(), 0, INT_MAX)),
         "messageTimeout"},
        {"log.queue", "true", "log.queue"}, // log lines through poll(), not librdkafka's threads
    };
    for (const Setting& setting : settings)
        if (auto r = set(conf, setting.property, setting.value, setting.option); !r)
            return fail(r.error());

    rd_kafka_conf_set_opaque(conf, sink.get());
    rd_kafka_conf_set_dr_msg_cb(conf, &Callbacks::delivery);
    rd_kafka_conf_set_error_cb(conf, &Callbacks::error);
    rd_kafka_conf_set_log_cb(conf, &Callbacks::logLine);

    char errstr[512];
    sink->m_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!sink->m_rk) // conf is still ours when rd_kafka_new fails
        return fail(Error{std::string(kWho) + "cannot create the producer: " + errstr});
    // rd_kafka_new owns conf from here on.
    rd_kafka_set_log_queue(sink->m_rk, nullptr); // the main queue, served by rd_kafka_poll

    sink->m_topic = rd_kafka_topic_new(sink->m_rk, options.topic.c_str(), nullptr);
    if (!sink->m_topic)
        return Error{std::string(kWho) + "topic = \"" + options.topic +
                     "\": " + errorName(rd_kafka_last_error())};
    return sink;
}

KafkaSink::~KafkaSink() {
    if (!m_rk)
        return;
    if (m_topic) {
        m_closing = true;
        const auto waitMs =
            static_cast<int>(std::clamp<int64_t>(m_options.closeTimeout.count(), 0, INT_MAX));
        rd_kafka_flush(m_rk, waitMs); // serves the delivery reports too
        const uint64_t droppedBefore = m_dropped;
        const uint64_t bytes = m_queuedBytes;
        if (m_queuedMessages > 0) {
            rd_kafka_purge(m_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(m_rk, 0); // the purged messages' reports: counted as dropped
        }
        const uint64_t lost = m_dropped - droppedBefore;
        if (lost > 0 || m_queuedMessages > 0)
            log::warning(kWho, "closing: ", lost + m_queuedMessages, " message(s) (", bytes,
                         " bytes) not delivered within ", waitMs, " ms are lost (", m_delivered,
                         " delivered, ", m_dropped, " dropped in all)");
        else
            log::info(kWho, "closed: everything sent was delivered or counted (", m_delivered,
                      " delivered, ", m_dropped, " dropped)");
        rd_kafka_topic_destroy(m_topic);
    }
    rd_kafka_destroy(m_rk);
}

void KafkaSink::send(std::string_view key, std::string_view payload) {
    auto produce = [&] {
        return rd_kafka_produce(m_topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                const_cast<char*>(payload.data()), payload.size(), key.data(),
                                key.size(), nullptr);
    };
    int r = produce();
    if (r != 0 && rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Delivered messages hold their room until their reports are served: serve them (this
        // does not wait) and try once more.
        rd_kafka_poll(m_rk, 0);
        r = produce();
    }
    if (r != 0) {
        refused(rd_kafka_last_error());
        return;
    }
    if (m_refusing != 0)
        log::info(kWho, "accepting messages again, after dropping ", m_refusedInARow);
    m_refusing = 0;
    m_refusedInARow = 0;
    ++m_queuedMessages;
    m_queuedBytes += payload.size() + key.size();
}

void KafkaSink::refused(int err) {
    ++m_dropped;
    ++m_refusedInARow;
    m_lastError = "send refused: " + errorName(err);
    if (err == m_refusing)
        return;
    m_refusing = err;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        log::warning(kWho, "the buffer is full (", m_options.bufferBytes,
                     " bytes not yet delivered): new messages are dropped until it drains");
    else
        log::warning(kWho, "a message was refused (", errorName(err), "): dropped");
}

void KafkaSink::poll() {
    rd_kafka_poll(m_rk, 0);
}

KafkaStats KafkaSink::stats() const {
    KafkaStats s;
    s.delivered = m_delivered;
    s.dropped = m_dropped;
    s.queuedMessages = m_queuedMessages;
    s.queuedBytes = m_queuedBytes;
    s.delivering = m_queuedMessages == 0 || (m_lastReportOk && !m_errorSinceDelivery);
    s.lastError = m_lastError;
    return s;
}

} // namespace day2::sinks
