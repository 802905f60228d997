#include "metrics/metrics_service.h"

#include "base/log.h"
#include "base/text.h"
#include "day2/wire/wire.h"
#include "http/query.h"
#include "metrics/container_collector.h"
#include "metrics/history.h"
#include "metrics/host_collector.h"
#include "metrics/metrics_message.h"
#include "metrics/prometheus.h"
#include "sinks/kafka_sink.h"
#include "sinks/statsd_sink.h"
#include "statsd/statsd_listener.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>
#include <unordered_set>

namespace day2::metrics {

namespace asio = boost::asio;

namespace {

int64_t nowUsec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

http::Response json(std::string body) {
    http::Response r;
    r.body = std::move(body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

std::string jsonString(std::string_view s) {
    std::string out = "\"";
    text::appendJsonEscaped(out, s);
    return out + '"';
}

} // namespace

struct MetricsService::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io_, MetricsOptions o)
        : io(io_), options(std::move(o)), timer(io_),
          receive(std::make_shared<statsd::ReceiveBatch>()),
          history(HistoryOptions{options.historyRawSeconds, options.historyRollupSeconds,
                                 options.historyMaxSeries}),
          host(HostOptions{options.procRoot, options.filesystems}) {}

    // One container, from its launch until the runtime forgets it.
    struct Container {
        Dimensions dimensions;
        tasks::CgroupSet cgroup;
        bool finished = false;
        std::unique_ptr<statsd::StatsdListener> listener;
        std::chrono::steady_clock::time_point lastFlush = std::chrono::steady_clock::now();
        Batch usage;                     // the latest from its cgroup
        Batch app;                       // the latest of its StatsD metrics
        statsd::ListenerStats lastStats; // of a listener closed
        uint64_t droppedSeries = 0;
        int64_t forwardedUsage = 0; // the timestamps of the batches the sinks have had
        int64_t forwardedApp = 0;
        // Counters since the task started, for Prometheus: name, tags, total.
        std::vector<std::tuple<std::string, Tags, double>> totals;
    };

    asio::io_context& io;
    MetricsOptions options;
    asio::steady_timer timer;
    std::shared_ptr<statsd::ReceiveBatch> receive;
    const tasks::TaskRuntime* runtime = nullptr;
    std::map<std::string, Container, std::less<>> containers;
    Batch node;
    History history;
    // Streams wait on these; every collection wakes them (a collection is a generation).
    uint64_t generation = 0;
    std::vector<asio::steady_timer*> streamWaiters;
    HostCollector host;
    ContainerCollector usage;
    std::unique_ptr<sinks::KafkaSink> kafka;
    std::unique_ptr<sinks::StatsdSink> statsdSink;
    bool statsdDelivering = true; // no datagram of the last collection was dropped
    int64_t lastExpireMs = 0;
    std::chrono::steady_clock::time_point nextTick{};
    int64_t lastCollectUsec = 0;
    uint16_t nextPort = 0; // where the search of the port range starts next
    bool stopped = false;

    Dimensions nodeDimensions() const {
        Dimensions d;
        d.agentId = options.agentId;
        d.hostname = options.hostname;
        return d;
    }

    Dimensions dimensionsOf(const tasks::ContainerSpec& spec) const {
        Dimensions d = nodeDimensions();
        d.containerId = spec.containerId;
        d.executorId = spec.executorId();
        d.frameworkId = spec.request.frameworkId;
        d.frameworkName = spec.request.frameworkName;
        d.applicationName = spec.request.applicationName;
        d.labels.assign(spec.request.labels.begin(), spec.request.labels.end());
        std::sort(d.labels.begin(), d.labels.end());
        return d;
    }

    Result<std::unique_ptr<statsd::StatsdListener>> bindListener(const std::string& address,
                                                                 uint16_t port) {
        return statsd::StatsdListener::bind(io, address, port, options.maxSeriesPerTask, receive);
    }

    // A listener on a port of the configured range (or one the kernel picks).
    Result<std::unique_ptr<statsd::StatsdListener>> newListener() {
        const uint16_t low = options.statsdPortLow, high = options.statsdPortHigh;
        if (low == 0)
            return bindListener(options.statsdHost, 0);
        const unsigned span = unsigned{high} - low + 1;
        std::string last;
        for (unsigned i = 0; i < span; ++i) {
            const auto port = static_cast<uint16_t>(low + (nextPort + i) % span);
            auto l = bindListener(options.statsdHost, port);
            if (l) {
                nextPort = static_cast<uint16_t>((nextPort + i + 1) % span);
                return l;
            }
            last = l.error().message;
        }
        return Error{"no free StatsD port in metrics.statsd_port_range " + std::to_string(low) +
                         "-" + std::to_string(high) + " (last: " + last + ")",
                     503};
    }

    Result<void> beforeStart(tasks::ContainerSpec& spec) {
        auto l = newListener();
        if (!l)
            return l.error();
        spec.statsdHost = options.statsdHost;
        spec.statsdPort = (*l)->port();
        (*l)->start();
        Container& c = containers[spec.containerId];
        c = Container{};
        streamCache.generation = kStale;
        c.dimensions = dimensionsOf(spec);
        c.listener = std::move(*l);
        return {};
    }

    // The spec of a launched container is complete only now (its cgroup).
    void known(const tasks::ContainerSpec& spec) {
        auto it = containers.find(spec.containerId);
        if (it != containers.end() && it->second.cgroup.dirs.empty())
            it->second.cgroup = spec.cgroup;
    }

    void adopted(const tasks::ContainerSpec& spec, bool finished) {
        streamCache.generation = kStale;
        Container& c = containers[spec.containerId];
        c.dimensions = dimensionsOf(spec);
        c.cgroup = spec.cgroup;
        c.finished = finished;
        if (finished || spec.statsdHost.empty())
            return;
        // The task knows its port from its environment: it gets the same one back.
        auto l = bindListener(spec.statsdHost, spec.statsdPort);
        if (!l) {
            log::error("container ", spec.containerId,
                       ": its StatsD metrics are lost until it "
                       "ends: ",
                       l.error().message);
            return;
        }
        (*l)->start();
        c.listener = std::move(*l);
    }

    // Flushes a task's aggregates into its app batch.
    void flushApp(Container& c, int64_t timestamp) {
        if (!c.listener)
            return;
        const auto now = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(now - c.lastFlush).count();
        c.lastFlush = now;
        auto points = c.listener->aggregator().flush(seconds);
        Batch b;
        b.timestampUsec = timestamp;
        b.points.reserve(points.size());
        for (auto& p : points)
            b.points.push_back({std::move(p.name), p.value, std::string(p.unit),
                                p.tags ? Tags(p.tags->begin(), p.tags->end()) : Tags{}});
        c.app = std::move(b);
        c.totals.clear();
        for (const auto& t : c.listener->aggregator().cumulative())
            c.totals.emplace_back(t.name, t.tags ? *t.tags : Tags{}, t.total);
    }

    // The task ended: what it sent before it ended is read and flushed once more, then its
    // socket closes.
    void afterEnd(const tasks::ContainerSpec& spec) {
        auto it = containers.find(spec.containerId);
        if (it == containers.end())
            return;
        Container& c = it->second;
        c.finished = true;
        streamCache.generation = kStale;
        usage.forget(spec.containerId);
        if (!c.listener)
            return;
        c.listener->drain();
        // After the last collection's (whole-second) time, in the same second or not.
        const int64_t now = std::max(nowUsec(), c.app.timestampUsec + 1000);
        flushApp(c, now);
        history.append("containers/" + spec.containerId + "/app", c.app);
        c.lastStats = c.listener->stats();
        c.droppedSeries = c.listener->aggregator().droppedSeries();
        c.listener->close();
        c.listener.reset();
        const int64_t ms = now / 1000;
        history.markFinished("containers/" + spec.containerId, ms);
        history.markFinished("containers/" + spec.containerId + "/app", ms);
    }

    void removed(const std::string& id) {
        streamCache.generation = kStale;
        containers.erase(id);
        usage.forget(id);
        history.forget("containers/" + id);
        history.forget("containers/" + id + "/app");
    }

    void collect() {
        // On the whole second: the history stores a steady series of timestamps in a bit or two
        // each (delta of delta 0), where the timer's jitter of a few ms would cost a byte or more.
        // A collection that ran late and the next one on time can fall in the same second: the
        // later one then takes a millisecond after it (the history takes only later times).
        const int64_t now = std::max(nowUsec() / 1000000 * 1000000, lastCollectUsec + 1000);
        lastCollectUsec = now;
        if (runtime)
            runtime->forEachContainer([&](const tasks::ContainerSpec& spec,
                                          const tasks::ContainerStatus&) { known(spec); });
        const double seconds = options.intervalSeconds;
        for (auto& [id, c] : containers) {
            if (c.listener) {
                flushApp(c, now);
                history.append("containers/" + id + "/app", c.app);
            }
            if (!c.finished && !c.cgroup.dirs.empty()) {
                c.usage.timestampUsec = now;
                c.usage.points = usage.collect(id, c.cgroup, seconds);
                history.append("containers/" + id, c.usage);
            }
        }
        Batch n;
        n.timestampUsec = now;
        n.points = host.collect(seconds);
        node = std::move(n);
        Batch nodeBatch = nodeNow(); // with the agent's own counters
        history.append("node", nodeBatch);
        forward(nodeBatch);
        ++generation;
        for (auto* t : streamWaiters)
            t->cancel();
        // Chunks age out, finished tasks' history goes (once a minute is enough).
        if (now / 1000 - lastExpireMs >= 60000) {
            lastExpireMs = now / 1000;
            history.expire(lastExpireMs, int64_t{options.keepFinishedSeconds} * 1000);
        }
    }

    // The node's message: the latest host collection and the agent's own counters as they are
    // now (a drop is told at once, not an interval later).
    Batch nodeNow() {
        Batch n = node;
        n.timestampUsec = nowUsec();
        if (kafka) {
            const auto st = kafka->stats();
            n.points.push_back(
                {"day2.sinks.kafka.delivered", static_cast<double>(st.delivered), "count", {}});
            n.points.push_back(
                {"day2.sinks.kafka.dropped", static_cast<double>(st.dropped), "count", {}});
            n.points.push_back(
                {"day2.sinks.kafka.queued", static_cast<double>(st.queuedMessages), "count", {}});
        }
        if (statsdSink) {
            const auto& st = statsdSink->stats();
            n.points.push_back(
                {"day2.sinks.statsd.lines_sent", static_cast<double>(st.linesSent), "count", {}});
            n.points.push_back({"day2.sinks.statsd.lines_dropped",
                                static_cast<double>(st.linesDropped),
                                "count",
                                {}});
        }
        n.points.push_back({"day2.metrics.history_refused",
                            static_cast<double>(history.refusedBatches() +
                                                history.refusedSamples() + history.droppedSeries()),
                            "count",
                            {}});
        n.points.push_back({"day2.metrics.read_errors",
                            static_cast<double>(host.readErrors() + usage.readErrors()),
                            "count",
                            {}});
        for (auto& [id, c] : containers) {
            if (c.listener)
                c.listener->readDrops();
            const auto& st = c.listener ? c.listener->stats() : c.lastStats;
            const uint64_t dropped =
                c.listener ? c.listener->aggregator().droppedSeries() : c.droppedSeries;
            Tags tag{{std::string(wire::kTagContainerId), id}};
            n.points.push_back(
                {"day2.statsd.parse_errors", static_cast<double>(st.parseErrors), "count", tag});
            n.points.push_back(
                {"day2.statsd.dropped_series", static_cast<double>(dropped), "count", tag});
            n.points.push_back(
                {"day2.statsd.udp_drops", static_cast<double>(st.udpDrops), "count", tag});
        }
        return n;
    }

    // Every source's collection to the sinks: the node's, then each running task's usage and
    // app metrics (and a finished task's last ones, once).
    void forward(const Batch& nodeBatch) {
        if (!kafka && !statsdSink)
            return;
        const Dimensions nd = nodeDimensions();
        if (kafka)
            kafka->send(options.agentId, metricsMessageJson(nodeBatch, nd));
        const uint64_t statsdDroppedBefore = statsdSink ? statsdSink->stats().dropped : 0;
        if (statsdSink)
            statsdSink->send(nodeBatch, identityLabels(nd));
        for (auto& [id, c] : containers) {
            if (c.forwardedUsage == c.usage.timestampUsec && c.forwardedApp == c.app.timestampUsec)
                continue;
            const Tags ident = identityLabels(c.dimensions);
            for (auto [batch, done] :
                 {std::pair{&c.usage, &c.forwardedUsage}, std::pair{&c.app, &c.forwardedApp}}) {
                if (batch->timestampUsec == 0 || *done == batch->timestampUsec)
                    continue;
                *done = batch->timestampUsec;
                if (kafka)
                    kafka->send(id, metricsMessageJson(*batch, c.dimensions));
                if (statsdSink)
                    statsdSink->send(*batch, ident);
            }
        }
        if (kafka)
            kafka->poll();
        if (statsdSink)
            statsdDelivering = statsdSink->stats().dropped == statsdDroppedBefore;
    }

    void schedule() {
        // At a steady phase (not "an interval after the last one ran", which drifts).
        const auto interval = std::chrono::seconds(options.intervalSeconds);
        const auto now = std::chrono::steady_clock::now();
        if (nextTick.time_since_epoch().count() == 0) {
            // The first at the middle of a wall-clock second: a collection can then run up to
            // half a second late and still fall in its own second.
            const int64_t intoSecond = nowUsec() % 1000000;
            nextTick = now + std::chrono::microseconds((1500000 - intoSecond) % 1000000);
        } else {
            nextTick += interval;
        }
        if (nextTick <= now)
            nextTick = now + interval; // fell behind: no burst of collections to catch up
        timer.expires_at(nextTick);
        std::weak_ptr<Impl> weak = shared_from_this();
        timer.async_wait([weak](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped)
                return;
            self->collect();
            self->schedule();
        });
    }

    static Tags identityLabels(const Dimensions& d) {
        Tags t{{std::string(wire::kTagAgentId), d.agentId},
               {std::string(wire::kTagHostname), d.hostname}};
        if (!d.containerId.empty()) {
            t.emplace_back(wire::kTagContainerId, d.containerId);
            t.emplace_back(wire::kTagExecutorId, d.executorId);
            t.emplace_back(wire::kTagFrameworkId, d.frameworkId);
            t.emplace_back(wire::kTagFrameworkName, d.frameworkName);
            t.emplace_back(wire::kTagApplicationName, d.applicationName);
        }
        return t;
    }

    // Host and container metrics that count up from a start (the rest are gauges).
    static bool cumulative(std::string_view name) {
        for (std::string_view prefix : {"network.", "blkio.", "net.", "day2."})
            if (name.substr(0, prefix.size()) == prefix)
                return true;
        return name == "cpus.user.time" || name == "cpus.system.time" ||
               name == "cpus.throttled.time" || name == "cpus.nr.periods" ||
               name == "cpus.nr.throttled";
    }

    static void addPoint(PrometheusWriter& w, std::string_view prefix, const Datapoint& p,
                         const Tags& identity, bool counter, std::string_view help) {
        double value = p.value;
        const std::string family =
            prometheusFamily(std::string(prefix) + p.name, p.unit, counter, value);
        w.add(family, counter ? PrometheusWriter::Type::Counter : PrometheusWriter::Type::Gauge,
              help, identity, p.tags, value);
    }

    std::string prometheus() {
        PrometheusWriter w;
        const Dimensions nodeDims = nodeDimensions();
        const Tags nodeId = identityLabels(nodeDims);
        for (const auto& p : nodeNow().points) {
            // The agent's own (day2.*) without a prefix; the host's as day2_node_*.
            const bool own = p.name.rfind("day2.", 0) == 0;
            addPoint(w, own ? "" : "day2.node.", p, nodeId, cumulative(p.name),
                     own ? "day2-agent's own count (docs/api.md, Metrics)"
                         : "host metric " + p.name + " (docs/api.md, Metrics)");
        }
        for (const auto& [id, c] : containers) {
            const Tags ident = identityLabels(c.dimensions);
            for (const auto& p : c.usage.points)
                addPoint(w, "day2.container.", p, ident, cumulative(p.name),
                         "container metric " + p.name + " (docs/api.md, Metrics)");
            // A task's own: counters as totals since it started, the rest as the last interval
            // has them. Its names are its own, but not the agent's.
            auto appName = [](const std::string& name) {
                return name.rfind("day2", 0) == 0 ? "app." + name : name;
            };
            // What the counters' per-interval points are named (n and n.rate): one lookup a
            // point, not a pass over the counters.
            std::unordered_set<std::string> counterPoints;
            for (const auto& [n, tags, total] : c.totals) {
                counterPoints.insert(n);
                counterPoints.insert(n + ".rate");
            }
            for (const auto& p : c.app.points) {
                if (counterPoints.count(p.name))
                    continue;
                Datapoint q = p;
                q.name = appName(p.name);
                addPoint(w, "", q, ident, false, "StatsD metric sent by tasks");
            }
            for (const auto& [n, tags, total] : c.totals)
                addPoint(w, "", {appName(n), total, "", tags}, ident, true,
                         "StatsD counter sent by tasks, since each task started");
        }
        std::string out = w.text();
        // What could not be written without breaking the scrape, said in it.
        out += "# HELP day2_prometheus_samples_left_out_total Samples of this scrape left out: a "
               "name taken by another type, or the same labels twice\n"
               "# TYPE day2_prometheus_samples_left_out_total counter\n"
               "day2_prometheus_samples_left_out_total " +
               std::to_string(w.conflicts()) + "\n";
        return out;
    }

    // GET history/{node | containers/<cid> | containers/<cid>/app}?since=&until=&step=&agg=
    http::Response historyAnswer(const http::Request& req, const std::vector<std::string>& seg) {
        const bool isNode = seg.size() == 2 && seg[1] == "node";
        const bool isContainer =
            (seg.size() == 3 || (seg.size() == 4 && seg[3] == "app")) && seg[1] == "containers";
        if (!isNode && !isContainer)
            return http::jsonError(404, "history is kept for node, containers/<id> and "
                                        "containers/<id>/app");
        if (isContainer && !find(seg[2]))
            return http::jsonError(404, "no container '" + seg[2].substr(0, 64) + "' on this node");
        auto params = http::parseQueryString(req.query);
        if (!params)
            return http::jsonError(400, params.error().message);
        const int64_t nowMs = nowUsec() / 1000;
        int64_t sinceMs = nowMs - options.historyRawSeconds * 1000;
        int64_t untilMs = nowMs;
        int64_t step = 0;
        HistoryAgg agg = HistoryAgg::Mean;
        for (const auto& [k, v] : *params) {
            if (k == "since" || k == "until") {
                auto us = text::parseTimestampMicros(v);
                if (!us)
                    return http::jsonError(400, k + " '" + v.substr(0, 64) +
                                                    "' is neither RFC 3339 nor microseconds "
                                                    "since the epoch");
                (k == "since" ? sinceMs : untilMs) = static_cast<int64_t>(*us / 1000);
            } else if (k == "step") {
                auto n = text::parseUnsigned(v);
                if (!n || *n > 86400)
                    return http::jsonError(400, "step '" + v.substr(0, 64) +
                                                    "' is not a number of seconds (0-86400)");
                step = static_cast<int64_t>(*n);
            } else if (k == "agg") {
                auto a = parseHistoryAgg(v);
                if (!a)
                    return http::jsonError(400,
                                           "agg '" + v.substr(0, 64) + "' is not mean, min or max");
                agg = *a;
            } else {
                return http::jsonError(400, "unknown parameter '" + k.substr(0, 64) +
                                                "' (since, until, step, agg)");
            }
        }
        if (sinceMs > untilMs)
            return http::jsonError(400, "since is after until");
        std::string source = "node";
        if (isContainer)
            source = "containers/" + seg[2] + (seg.size() == 4 ? "/app" : "");
        auto series = history.query(source, sinceMs, untilMs, step, agg);
        std::string out = "{\"series\":[";
        if (series) {
            bool first = true;
            for (const auto& s : *series) {
                if (!first)
                    out += ',';
                first = false;
                out += "{\"name\":" + jsonString(s.name) + ",\"unit\":" + jsonString(s.unit) +
                       ",\"tags\":";
                appendJsonTags(out, s.tags);
                out += ",\"points\":[";
                for (size_t i = 0; i < s.points.size(); ++i) {
                    out += i ? ",[" : "[";
                    out += std::to_string(s.points[i].first);
                    out += ',';
                    appendJsonNumber(out, s.points[i].second);
                    out += ']';
                }
                out += "]}";
            }
        }
        return json(out + "]}\n");
    }

    // The stream's events of one collection: the node's message, then each container's usage
    // and app messages (of one container with `only`). Made once a collection, for every stream
    // (and again when a container comes, ends or goes).
    static constexpr uint64_t kStale = ~uint64_t{0}; // made again at the next use
    struct StreamEvents {
        uint64_t generation = kStale;
        std::string node;
        std::map<std::string, std::string, std::less<>> containers; // id -> its two events
    } streamCache;

    std::string streamEvents(const std::string& only) {
        if (streamCache.generation != generation) {
            auto event = [](std::string& out, const std::string& source, std::string message) {
                while (!message.empty() && message.back() == '\n')
                    message.pop_back();
                out += "event: metrics\ndata: {\"source\":" + jsonString(source) +
                       ",\"message\":" + message + "}\n\n";
            };
            streamCache.generation = generation;
            streamCache.node.clear();
            streamCache.containers.clear();
            event(streamCache.node, "node", metricsMessageJson(nodeNow(), nodeDimensions()));
            for (const auto& [id, c] : containers) {
                if (c.finished && c.app.timestampUsec == 0 && c.usage.timestampUsec == 0)
                    continue;
                std::string& out = streamCache.containers[id];
                event(out, "containers/" + id, metricsMessageJson(c.usage, c.dimensions));
                event(out, "containers/" + id + "/app", metricsMessageJson(c.app, c.dimensions));
            }
        }
        if (!only.empty()) {
            auto it = streamCache.containers.find(only);
            return it == streamCache.containers.end() ? std::string() : it->second;
        }
        std::string out = streamCache.node;
        for (const auto& [id, events] : streamCache.containers)
            out += events;
        return out;
    }

    asio::awaitable<void> stream(const http::Request& req, http::ResponseStream& rs,
                                 std::optional<std::chrono::system_clock::time_point> until,
                                 http::StreamStop* stop) {
        using Clock = std::chrono::steady_clock;
        auto params = http::parseQueryString(req.query);
        if (!params) {
            co_await rs.send(http::jsonError(400, params.error().message));
            co_return;
        }
        std::string only;
        for (const auto& [k, v] : *params) {
            if (k != "container_id") {
                co_await rs.send(http::jsonError(400, "unknown parameter '" + k.substr(0, 64) +
                                                          "' (container_id)"));
                co_return;
            }
            only = v;
        }
        if (!only.empty() && !find(only)) {
            co_await rs.send(
                http::jsonError(404, "no container '" + only.substr(0, 64) + "' on this node"));
            co_return;
        }
        // (Named first: GCC 12 cannot initialise arrays of a braced list inside a co_await.)
        http::Headers headers;
        headers.emplace_back("Cache-Control", "no-cache");
        headers.emplace_back("X-Accel-Buffering", "no");
        if (!co_await rs.begin(200, "text/event-stream", std::move(headers)))
            co_return;
        auto self = shared_from_this(); // the service outlives no stream of it
        asio::steady_timer wake(io);
        struct Registration {
            Impl& d;
            asio::steady_timer* t;
            http::StreamStop* stop;
            ~Registration() {
                std::erase(d.streamWaiters, t);
                if (stop)
                    stop->onStop(nullptr);
            }
        } registration{*this, &wake, stop};
        streamWaiters.push_back(&wake);
        rs.onClosing([&wake] { wake.cancel(); });
        if (stop)
            stop->onStop([&wake] { wake.cancel(); });
        // The latest collection at once, then each new one. A reader slower than the interval
        // gets the latest when it is ready for more; the collections it missed are counted and
        // said (the queue is one collection deep).
        uint64_t sent = generation - 1;
        auto lastWrite = Clock::now();
        for (;;) {
            if (rs.closing() || stopped)
                break;
            if (until && std::chrono::system_clock::now() >= *until) {
                (void)co_await rs.write(": the token expired: reconnect with a valid one\n\n");
                break;
            }
            if (stop && stop->stopped()) {
                (void)co_await rs.write(stop->sseComment());
                break;
            }
            std::string out;
            if (generation != sent) {
                if (const uint64_t missed = generation - sent - 1; sent != 0 && missed > 0)
                    out = ": this reader missed " + std::to_string(missed) +
                          " collection(s): it read more slowly than they came\n\n";
                sent = generation;
                out += streamEvents(only);
            } else if (Clock::now() - lastWrite >= options.ssePing) {
                out = ": ping\n\n";
            }
            if (!out.empty()) {
                if (!co_await rs.write(out))
                    co_return;
                lastWrite = Clock::now();
                continue; // a collection may have come while this was written
            }
            Clock::duration timeout = options.ssePing - (Clock::now() - lastWrite);
            if (until)
                timeout = std::min<Clock::duration>(timeout,
                                                    std::chrono::duration_cast<Clock::duration>(
                                                        *until - std::chrono::system_clock::now()) +
                                                        std::chrono::milliseconds(1));
            wake.expires_after(timeout);
            boost::system::error_code ec;
            co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        co_await rs.end();
    }

    const Container* find(std::string_view id) const {
        auto it = containers.find(id);
        return it == containers.end() ? nullptr : &it->second;
    }
};

MetricsService::MetricsService(asio::io_context& io, MetricsOptions options)
    : m_impl(std::make_shared<Impl>(io, std::move(options))) {}

MetricsService::~MetricsService() {
    stop();
}

tasks::LaunchHooks MetricsService::launchHooks() {
    std::weak_ptr<Impl> weak = m_impl;
    tasks::LaunchHooks h;
    h.beforeStart = [weak](tasks::ContainerSpec& spec) -> Result<void> {
        auto self = weak.lock();
        return self ? self->beforeStart(spec) : Result<void>{};
    };
    h.afterEnd = [weak](const tasks::ContainerSpec& spec) {
        if (auto self = weak.lock())
            self->afterEnd(spec);
    };
    h.adopted = [weak](const tasks::ContainerSpec& spec, bool finished) {
        if (auto self = weak.lock())
            self->adopted(spec, finished);
    };
    h.removed = [weak](const std::string& id) {
        if (auto self = weak.lock())
            self->removed(id);
    };
    return h;
}

void MetricsService::attach(const tasks::TaskRuntime* runtime) {
    m_impl->runtime = runtime;
}

Result<void> MetricsService::start() {
    auto& d = *m_impl;
    const auto& o = d.options;
    if (!o.kafkaBrokers.empty()) {
        sinks::KafkaOptions ko;
        ko.brokers = o.kafkaBrokers;
        ko.topic = o.kafkaTopic;
        ko.compression = o.kafkaCompression;
        ko.bufferBytes = o.kafkaBufferBytes;
        ko.properties = o.kafkaProperties;
        auto k = sinks::KafkaSink::create(ko);
        if (!k)
            return Error{"sinks.kafka: " + k.error().message};
        d.kafka = std::move(*k);
    }
    if (!o.statsdSinkAddress.empty()) {
        auto s =
            sinks::StatsdSink::create({o.statsdSinkAddress, o.statsdSinkFormat, o.statsdSinkMtu});
        if (!s)
            return Error{"sinks.statsd: " + s.error().message};
        d.statsdSink = std::move(*s);
    }
    d.collect();
    d.schedule();
    return {};
}

std::string MetricsService::sinksJson() const {
    const auto& d = *m_impl;
    std::string out = "{";
    if (d.kafka) {
        const auto st = d.kafka->stats();
        out += "\"kafka\":{\"brokers\":" + jsonString(d.options.kafkaBrokers) +
               ",\"topic\":" + jsonString(d.options.kafkaTopic) +
               ",\"delivering\":" + (st.delivering ? "true" : "false") +
               ",\"delivered\":" + std::to_string(st.delivered) +
               ",\"dropped\":" + std::to_string(st.dropped) +
               ",\"queued\":" + std::to_string(st.queuedMessages) +
               ",\"last_error\":" + jsonString(st.lastError) + "}";
    }
    if (d.statsdSink) {
        const auto& st = d.statsdSink->stats();
        if (d.kafka)
            out += ",";
        out += "\"statsd\":{\"address\":" + jsonString(d.options.statsdSinkAddress) +
               ",\"format\":" + jsonString(d.options.statsdSinkFormat) +
               ",\"delivering\":" + (d.statsdDelivering ? "true" : "false") +
               ",\"lines_sent\":" + std::to_string(st.linesSent) +
               ",\"lines_dropped\":" + std::to_string(st.linesDropped) +
               ",\"last_error\":" + jsonString(st.lastError) + "}";
    }
    return out + "}";
}

void MetricsService::stop() {
    auto& d = *m_impl;
    if (d.stopped)
        return;
    d.stopped = true;
    d.timer.cancel();
    for (auto* t : d.streamWaiters)
        t->cancel();
    for (auto& [id, c] : d.containers)
        if (c.listener)
            c.listener->close();
}

std::string MetricsService::prometheusText() {
    return m_impl->prometheus();
}

bool MetricsService::scrapeWithoutJwt(std::optional<std::string_view> authorization) const {
    const auto& o = m_impl->options;
    if (o.prometheusOpen)
        return true;
    if (o.prometheusToken.empty() || !authorization)
        return false;
    const std::string want = "Bearer " + o.prometheusToken;
    if (authorization->size() != want.size())
        return false;
    unsigned char diff = 0; // the same time for every wrong token of this length
    for (size_t i = 0; i < want.size(); ++i)
        diff |= static_cast<unsigned char>((*authorization)[i] ^ want[i]);
    return diff == 0;
}

void MetricsService::collect() {
    m_impl->collect();
}

std::string MetricsService::describe() const {
    const auto& o = m_impl->options;
    return "every " + std::to_string(o.intervalSeconds) + " s; StatsD for tasks on " +
           o.statsdHost + ", " +
           (o.statsdPortLow ? "ports " + std::to_string(o.statsdPortLow) + "-" +
                                  std::to_string(o.statsdPortHigh)
                            : std::string("ports the kernel picks")) +
           ", at most " + std::to_string(o.maxSeriesPerTask) + " series a task; /metrics " +
           (o.prometheusOpen ? "OPEN to anyone (metrics.prometheus_open)"
            : o.prometheusToken.empty()
                ? std::string("needs a JWT with day2:metrics read")
                : std::string("for the scrape token (metrics.prometheus_token) or a JWT"));
}

asio::awaitable<void> MetricsService::handle(
    const http::Request& req, const std::vector<std::string>& seg, http::ResponseStream& rs,
    std::optional<std::chrono::system_clock::time_point> until, http::StreamStop* stop) {
    auto& d = *m_impl;
    if (req.method != "GET" && req.method != "HEAD") {
        http::Response r = http::jsonError(405, "the metrics API answers GET");
        r.headers.emplace_back("Allow", "GET, HEAD");
        co_await rs.send(std::move(r));
        co_return;
    }
    if (seg.size() == 1 && seg[0] == "ping") {
        std::string ts;
        text::appendRfc3339Micros(ts, static_cast<uint64_t>(nowUsec()));
        co_await rs.send(json("{\"ok\":true,\"timestamp\":" + jsonString(ts) + "}\n"));
        co_return;
    }
    if (seg.size() == 1 && seg[0] == "node") {
        co_await rs.send(json(metricsMessageJson(d.nodeNow(), d.nodeDimensions())));
        co_return;
    }
    if (seg.size() == 1 && seg[0] == "containers") {
        std::string out = "[";
        for (const auto& [id, c] : d.containers)
            out += (out.size() > 1 ? "," : "") + jsonString(id);
        co_await rs.send(json(out + "]\n"));
        co_return;
    }
    if (seg.size() >= 2 && seg.size() <= 4 && seg[0] == "containers" &&
        (seg.size() == 2 || seg[2] == "app")) {
        const auto* c = d.find(seg[1]);
        if (!c) {
            co_await rs.send(
                http::jsonError(404, "no container '" + seg[1].substr(0, 64) + "' on this node"));
            co_return;
        }
        if (seg.size() == 2) {
            co_await rs.send(json(metricsMessageJson(c->usage, c->dimensions)));
            co_return;
        }
        if (seg.size() == 3) {
            co_await rs.send(json(metricsMessageJson(c->app, c->dimensions)));
            co_return;
        }
        std::string body = metricsMessageJson(c->app, c->dimensions, seg[3]);
        if (body.rfind("{\"datapoints\":[]", 0) == 0) {
            co_await rs.send(http::jsonError(
                404, "container '" + seg[1].substr(0, 64) + "' has sent no metric named '" +
                         seg[3].substr(0, 250) + "' in the last interval"));
            co_return;
        }
        co_await rs.send(json(std::move(body)));
        co_return;
    }
    if (seg.size() == 1 && seg[0] == "stream") {
        co_await d.stream(req, rs, until, stop);
        co_return;
    }
    if (!seg.empty() && seg[0] == "history") {
        co_await rs.send(d.historyAnswer(req, seg));
        co_return;
    }
    co_await rs.send(
        http::jsonError(404, "no such metrics endpoint: " + req.path.substr(0, 200) +
                                 " (ping, node, containers, containers/<id>, containers/<id>/app, "
                                 "containers/<id>/app/<name>, history/node, "
                                 "history/containers/<id>[/app], stream)"));
}

} // namespace day2::metrics
