// What the metrics API and /metrics write: MetricsMessage JSON that a real parser reads back
// (NaN as null), and a Prometheus exposition that promtool accepts whatever names and tags a
// task sends.
#include "metrics/metrics_message.h"
#include "metrics/prometheus.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <unistd.h>

using namespace day2::metrics;
using nlohmann::json;

TEST(MetricsMessage, AParserReadsBackWhatIsWritten) {
    Batch b;
    b.timestampUsec = 1796500000123456;
    b.points.push_back({"mem.rss", 123456789, "bytes", {}});
    b.points.push_back({"queue \"depth\"\n", 0.1 + 0.2, "", {{"env", "te\"st"}, {"flag", ""}}});
    b.points.push_back({"broken", std::nan(""), "", {}});
    b.points.push_back({"huge", std::numeric_limits<double>::infinity(), "", {}});
    b.points.push_back({"req.latency.p99", 7, "ms", {}});
    Dimensions d;
    d.agentId = "agent-1";
    d.containerId = "c-1";
    d.labels = {{"team", "ops"}};
    const json j = json::parse(metricsMessageJson(b, d));
    ASSERT_EQ(j["datapoints"].size(), 5u);
    EXPECT_EQ(j["datapoints"][0]["value"], 123456789);
    EXPECT_EQ(j["datapoints"][1]["name"], "queue \"depth\"\n");
    EXPECT_EQ(j["datapoints"][1]["value"].get<double>(), 0.1 + 0.2); // shortest round trip
    EXPECT_EQ(j["datapoints"][1]["tags"], json({{"env", "te\"st"}, {"flag", ""}}));
    EXPECT_TRUE(j["datapoints"][2]["value"].is_null());
    EXPECT_TRUE(j["datapoints"][3]["value"].is_null());
    EXPECT_EQ(j["datapoints"][0]["timestamp"], "2026-12-05T19:46:40.123456Z");
    EXPECT_EQ(
        j["dimensions"],
        json({{"agent_id", "agent-1"}, {"container_id", "c-1"}, {"labels", {{"team", "ops"}}}}));
    // One metric, and a timer's by its name.
    const json one = json::parse(metricsMessageJson(b, d, "req.latency"));
    ASSERT_EQ(one["datapoints"].size(), 1u);
    EXPECT_EQ(one["datapoints"][0]["name"], "req.latency.p99");
    EXPECT_EQ(json::parse(metricsMessageJson(b, d, "req"))["datapoints"].size(), 0u);
}

TEST(Prometheus, NamesFollowTheConventionsPromtoolChecks) {
    double v = 250;
    EXPECT_EQ(prometheusFamily("day2.node.memory.total", "bytes", false, v),
              "day2_node_memory_total_bytes");
    v = 250;
    EXPECT_EQ(prometheusFamily("req.latency.p99", "ms", false, v), "req_latency_p99_seconds");
    EXPECT_EQ(v, 0.25);
    v = 1;
    EXPECT_EQ(prometheusFamily("jobs.done", "", true, v), "jobs_done_total");
    EXPECT_EQ(prometheusFamily("jobs_total", "", true, v), "jobs_total");
    EXPECT_EQ(prometheusFamily("filesystem.inode.total", "count", false, v),
              "filesystem_inode_overall");
    EXPECT_EQ(prometheusFamily("req.latency.count", "count", false, v), "req_latency_samples");
    EXPECT_EQ(prometheusName("9lives"), "_9lives");
    EXPECT_EQ(prometheusName("reqLatency.HTTP-2xx"), "req_latency_http_2xx");
    EXPECT_EQ(prometheusName("a:b"), "a_b");
    EXPECT_EQ(prometheusLabelName("__name__"), "x__name__");
    EXPECT_EQ(prometheusLabelName("agent-id"), "agent_id");
}

TEST(Prometheus, NoDuplicateLabelNoDuplicateSampleSameLabelsPerFamily) {
    PrometheusWriter w;
    const Tags identity{{"agent_id", "a1"}, {"container_id", "c1"}};
    // A task's tag that sanitizes to an identity label loses to it (DC/OS's broken scrapes).
    w.add("hits_total", PrometheusWriter::Type::Counter, "h", identity,
          {{"container-id", "evil"}, {"env", "prod"}}, 3);
    // Another sample of the family without `env`: written with env="".
    w.add("hits_total", PrometheusWriter::Type::Counter, "h", identity, {}, 4);
    // The same labels again (another name that sanitizes alike): left out, counted.
    w.add("hits.total", PrometheusWriter::Type::Counter, "h", identity, {{"env", "prod"}}, 5);
    // The same name as another type: left out, counted.
    w.add("hits_total", PrometheusWriter::Type::Gauge, "h", identity, {}, 6);
    w.add("flags", PrometheusWriter::Type::Gauge, "f", {}, {{"canary", ""}}, 1);
    EXPECT_EQ(w.conflicts(), 2u);
    EXPECT_EQ(w.text(), "# HELP flags f\n"
                        "# TYPE flags gauge\n"
                        "flags{canary=\"true\"} 1\n"
                        "# HELP hits_total h\n"
                        "# TYPE hits_total counter\n"
                        "hits_total{agent_id=\"a1\",container_id=\"c1\",env=\"prod\"} 3\n"
                        "hits_total{agent_id=\"a1\",container_id=\"c1\",env=\"\"} 4\n");
}

TEST(Prometheus, PromtoolAcceptsWhatATaskCouldSend) {
    if (::access("/usr/bin/promtool", X_OK) != 0)
        GTEST_SKIP() << "promtool is not installed (Debian package prometheus; "
                        "packaging/deps.sh installs it)";
    PrometheusWriter w;
    const Tags identity{{"agent_id", "a1"}, {"container_id", "c1"}};
    auto add = [&](std::string name, std::string unit, bool counter, Tags tags, double value) {
        const std::string family = prometheusFamily(name, unit, counter, value);
        w.add(family, counter ? PrometheusWriter::Type::Counter : PrometheusWriter::Type::Gauge,
              "help of " + name, identity, tags, value);
    };
    add("day2.node.memory.total", "bytes", false, {}, 1e9);
    add("day2.node.network.in", "bytes", true, {{"interface", "eth0"}}, 5);
    add("day2.container.cpus.user.time", "seconds", true, {}, 1.5);
    add("req.latency.count", "count", false, {}, 3);
    add("req.latency.p99", "ms", false, {{"route", "/a \"b\"\\n"}}, 30);
    add("9starts", "", true, {{"__name__", "x"}, {"Weird-Tag", "1"}, {"flag", ""}}, 2);
    add("queueDepth", "", false, {{"container_id", "spoof"}}, 4);
    add("inode.total", "count", false, {}, std::nan(""));
    char path[] = "/tmp/day2-promtool-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << w.text();
    const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    std::string out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    const int status = ::pclose(p);
    std::remove(path);
    EXPECT_EQ(status, 0) << out << "\n" << w.text();
    EXPECT_EQ(out, "") << w.text();
}
