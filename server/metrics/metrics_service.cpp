#include "metrics/metrics_service.h"

#include "base/log.h"
#include "base/text.h"
#include "day2/wire/wire.h"
#include "metrics/metrics_message.h"
#include "statsd/statsd_listener.h"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <map>

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
          receive(std::make_shared<statsd::ReceiveBatch>()) {}

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
    };

    asio::io_context& io;
    MetricsOptions options;
    asio::steady_timer timer;
    std::shared_ptr<statsd::ReceiveBatch> receive;
    const tasks::TaskRuntime* runtime = nullptr;
    std::map<std::string, Container, std::less<>> containers;
    Batch node;
    uint16_t nextPort = 0; // where the search of the port range starts next
    bool stopped = false;

    Dimensions nodeDimensions() const {
        Dimensions d;
        d.agentId = options.agentId;
        d.hostname = options.hostname;
        return d;
    }

    Dimensions dimensionsOf(const tasks::ContainerSpec& spec) const {
        Dimensions d;
        d.agentId = options.agentId;
        d.hostname = options.hostname;
        d.containerId = spec.containerId;
        d.executorId = spec.executorId();
        d.frameworkId = spec.request.frameworkId;
        d.frameworkName = spec.request.frameworkName;
        d.applicationName = spec.request.applicationName;
        d.labels.assign(spec.request.labels.begin(), spec.request.labels.end());
        std::sort(d.labels.begin(), d.labels.end());
        return d;
    }

    Result<std::unique_ptr<statsd::StatsdListener>> bindListener(uint16_t port) {
        return statsd::StatsdListener::bind(io, options.statsdHost, port, options.maxSeriesPerTask,
                                            receive);
    }

    // A listener on a port of the configured range (or one the kernel picks).
    Result<std::unique_ptr<statsd::StatsdListener>> newListener() {
        const uint16_t low = options.statsdPortLow, high = options.statsdPortHigh;
        if (low == 0)
            return bindListener(0);
        const unsigned span = unsigned{high} - low + 1;
        std::string last;
        for (unsigned i = 0; i < span; ++i) {
            const auto port = static_cast<uint16_t>(low + (nextPort + i) % span);
            auto l = bindListener(port);
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
        Container& c = containers[spec.containerId];
        c.dimensions = dimensionsOf(spec);
        c.cgroup = spec.cgroup;
        c.finished = finished;
        if (finished || spec.statsdHost.empty())
            return;
        // The task knows its port from its environment: it gets the same one back.
        auto l = statsd::StatsdListener::bind(io, spec.statsdHost, spec.statsdPort,
                                              options.maxSeriesPerTask, receive);
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
    }

    // The task ended: what it sent before it ended is read and flushed once more, then its
    // socket closes.
    void afterEnd(const tasks::ContainerSpec& spec) {
        auto it = containers.find(spec.containerId);
        if (it == containers.end())
            return;
        Container& c = it->second;
        c.finished = true;
        if (!c.listener)
            return;
        c.listener->drain();
        flushApp(c, nowUsec());
        c.lastStats = c.listener->stats();
        c.droppedSeries = c.listener->aggregator().droppedSeries();
        c.listener->close();
        c.listener.reset();
    }

    void removed(const std::string& id) { containers.erase(id); }

    void collect() {
        const int64_t now = nowUsec();
        if (runtime)
            runtime->forEachContainer([&](const tasks::ContainerSpec& spec,
                                          const tasks::ContainerStatus&) { known(spec); });
        for (auto& [id, c] : containers)
            flushApp(c, now);
        Batch n;
        n.timestampUsec = now;
        node = std::move(n);
    }

    // The node's message: the latest host collection and the agent's own counters as they are
    // now (a drop is told at once, not an interval later).
    Batch nodeNow() {
        Batch n = node;
        n.timestampUsec = nowUsec();
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

    void schedule() {
        timer.expires_after(std::chrono::seconds(options.intervalSeconds));
        std::weak_ptr<Impl> weak = shared_from_this();
        timer.async_wait([weak](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped)
                return;
            self->collect();
            self->schedule();
        });
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

void MetricsService::start() {
    m_impl->collect();
    m_impl->schedule();
}

void MetricsService::stop() {
    auto& d = *m_impl;
    if (d.stopped)
        return;
    d.stopped = true;
    d.timer.cancel();
    for (auto& [id, c] : d.containers)
        if (c.listener)
            c.listener->close();
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
           ", at most " + std::to_string(o.maxSeriesPerTask) + " series a task";
}

asio::awaitable<void> MetricsService::handle(const http::Request& req,
                                             const std::vector<std::string>& seg,
                                             http::ResponseStream& rs) {
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
    co_await rs.send(
        http::jsonError(404, "no such metrics endpoint: " + req.path.substr(0, 200) +
                                 " (ping, node, containers, containers/<id>, containers/<id>/app, "
                                 "containers/<id>/app/<name>)"));
}

} // namespace day2::metrics
