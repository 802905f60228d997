// The metrics pillar of one agent (docs/api.md, Metrics): a StatsD listener for every task, the
// collection every interval (host, containers, the tasks' StatsD aggregates), the latest batch
// of every source, and the v0 API over them.
//
// Sources: "node" (host metrics and the agent's own counters), "containers/<cid>" (a task's
// resource use from its cgroup) and "containers/<cid>/app" (its StatsD metrics). A container is
// known from its launch (or the agent's start, for one it re-adopts) until the task runtime
// forgets it (tasks.keep_finished_seconds after it ended): known with nothing collected yet is
// an empty message, not an error.
//
// Single-threaded: everything runs on the agent's event loop.
#pragma once

#include "base/result.h"
#include "http/response.h"
#include "http/stream_stop.h"
#include "metrics/datapoint.h"
#include "tasks/task_runtime.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace day2::metrics {

struct MetricsOptions {
    std::string agentId;
    std::string hostname;
    unsigned intervalSeconds = 1;
    std::string statsdHost = "127.0.0.1";
    uint16_t statsdPortLow = 0; // 0: ports the kernel picks
    uint16_t statsdPortHigh = 0;
    size_t maxSeriesPerTask = 1000;
    // GET /metrics without a JWT: to anyone (prometheusOpen), or to "Authorization: Bearer
    // <prometheusToken>" when a token is set. Otherwise a JWT with day2:metrics read.
    bool prometheusOpen = false;
    std::string prometheusToken;
    // History (history.h): the raw tier, the rollups, the most series, and how long a finished
    // task's stays (its container is forgotten then anyway).
    int64_t historyRawSeconds = 3600;
    int64_t historyRollupSeconds = 86400;
    size_t historyMaxSeries = 10000;
    unsigned keepFinishedSeconds = 3600;
    // Host metrics: where /proc is (a fixture tree in tests) and the filesystems to report.
    std::string procRoot = "/proc";
    std::vector<std::string> filesystems = {"/"};
    // The stream: an SSE comment this often when nothing else is sent.
    std::chrono::seconds ssePing{15};
    // Forwarding (server/sinks): Kafka when kafkaBrokers is set, StatsD when statsdSinkAddress
    // is set.
    std::string kafkaBrokers;
    std::string kafkaTopic = "metrics";
    std::string kafkaCompression = "lz4";
    size_t kafkaBufferBytes = size_t{64} << 20;
    std::vector<std::pair<std::string, std::string>> kafkaProperties; // more librdkafka settings
    std::string statsdSinkAddress;
    std::string statsdSinkFormat = "dogstatsd";
    size_t statsdSinkMtu = 1432;
};

class MetricsService {
public:
    MetricsService(boost::asio::io_context& io, MetricsOptions options);
    ~MetricsService();
    MetricsService(const MetricsService&) = delete;
    MetricsService& operator=(const MetricsService&) = delete;

    // What the task runtime calls (set them before the runtime's start()).
    tasks::LaunchHooks launchHooks();
    // Tells where container metrics come from (the containers the runtime knows).
    void attach(const tasks::TaskRuntime* runtime);
    // Starts the sinks and collecting every interval. An error names the sink setting that is
    // wrong (the agent does not start with a sink it cannot use).
    Result<void> start();
    void stop();

    // `segments`: the path below /system/v1/metrics/v0/, decoded. A stream ends at `until` (the
    // token's end) or when `stop` says so (the ACL no longer grants it).
    boost::asio::awaitable<void>
    handle(const http::Request& request, const std::vector<std::string>& segments,
           http::ResponseStream& response,
           std::optional<std::chrono::system_clock::time_point> until = std::nullopt,
           http::StreamStop* stop = nullptr);

    // GET /metrics: the Prometheus text exposition of every source (prometheus.h).
    std::string prometheusText();
    // Whether this Authorization header opens /metrics without a JWT.
    bool scrapeWithoutJwt(std::optional<std::string_view> authorization) const;

    // Collects once now (the timer's work; for tests).
    void collect();
    std::string describe() const;
    // {"kafka": {...}, "statsd": {...}}: which sinks are on and whether each is delivering.
    std::string sinksJson() const;

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace day2::metrics
