// The metrics API of the real agent with real tasks that send StatsD/DogStatsD to the endpoint
// their environment names: their metrics come back under their container with their tags and
// the identity dimensions, a task that sends and exits at once loses nothing, bad lines are
// counted with the node's metrics, a re-adopted task keeps its port, and bad requests are
// refused.
#include "agent_process.h"
#include "http_client.h"
#include "journal_namespace.h"
#include "kafka_mock.h"
#include "task_agent.h"
#include "task_gate.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace day2::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kMetrics = "/system/v1/metrics/v0/";

// The environment variable `name` of the task's command: the child of the container's init.
std::string environOf(int init, const std::string& name) {
    std::ifstream children("/proc/" + std::to_string(init) + "/task/" + std::to_string(init) +
                           "/children");
    int pid = 0;
    children >> pid;
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    while (pos < all.size()) {
        size_t end = all.find('\0', pos);
        if (end == std::string::npos)
            end = all.size();
        const std::string var = all.substr(pos, end - pos);
        if (var.rfind(name + "=", 0) == 0)
            return var.substr(name.size() + 1);
        pos = end + 1;
    }
    return {};
}

// A Python task that sends `datagram` `times` times to its StatsD endpoint; with `gatePath`, it
// then goes on sending once every 50 ms until the gate opens.
json pythonTask(const std::string& app, const std::string& datagram, int times,
                const std::string& gatePath = {}) {
    std::string script =
        "import os, socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "to = (os.environ['STATSD_UDP_HOST'], int(os.environ['STATSD_UDP_PORT']))\n"
        "d = " +
        json(datagram).dump() +
        ".encode()\n"
        "for i in range(" +
        std::to_string(times) + "):\n    s.sendto(d, to)\n";
    if (!gatePath.empty())
        script += "while not os.path.exists(" + json(gatePath).dump() +
                  "):\n    s.sendto(d, to)\n    time.sleep(0.05)\n";
    return {{"framework_id", "fw-metrics"},
            {"framework_name", "marathon"},
            {"application_name", app},
            {"labels", {{"team", "ops"}}},
            {"command", {"/usr/bin/python3", "-c", script}}};
}

// The shared task agent with a collection interval, and the metrics API.
class Agent : public TaskAgent {
public:
    Agent(const std::string& ns, const std::string& state, const std::string& parent,
          unsigned interval, const std::string& extraConfig = {})
        : TaskAgent(ns, state, parent,
                    "[metrics]\ninterval_seconds = " + std::to_string(interval) + "\n" +
                        extraConfig) {}

    HttpResponse metrics(const std::string& rest) { return httpGet(port(), kMetrics + rest); }
    json metricsJson(const std::string& rest) {
        auto r = metrics(rest);
        if (r.status != 200)
            throw std::runtime_error(rest + ": " + std::to_string(r.status) + " " + r.body);
        return json::parse(r.body);
    }
};

// The datapoint named `name` (with these tags, if given), or null.
json pointNamed(const json& message, const std::string& name) {
    for (const auto& p : message["datapoints"])
        if (p["name"] == name)
            return p;
    return nullptr;
}

class MetricsApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_skip = tasksUnavailable();
        if (!s_skip.empty())
            return;
        if (!fs::exists("/usr/bin/python3")) {
            s_skip = "the tasks of this test are Python scripts: /usr/bin/python3 is missing";
            return;
        }
        s_ns = new JournalNamespace("day2mx");
        s_parent = "day2-mtest-" + std::to_string(::getpid());
        s_state = "/tmp/day2-metrics-test-" + std::to_string(::getpid());
        s_agent = new Agent(s_ns->name(), s_state, s_parent, 1);
    }
    static void TearDownTestSuite() {
        if (s_agent)
            s_agent->clear();
        delete s_agent;
        s_agent = nullptr;
        removeCgroupParent(s_parent);
        std::error_code ec;
        fs::remove_all(s_state, ec);
        fs::remove_all(gatesDir(), ec);
        delete s_ns;
        s_ns = nullptr;
    }
    void SetUp() override {
        if (!s_skip.empty())
            GTEST_SKIP() << s_skip;
    }
    // A second agent of its own (state and cgroups), its tasks and cgroups removed when it goes
    // (an assertion that ends a test early included).
    class OtherAgent {
    public:
        OtherAgent(const std::string& name, unsigned interval, std::string extraConfig = {})
            : m_name(name), m_extra(std::move(extraConfig)) {
            start(interval);
        }
        ~OtherAgent() {
            if (m_agent)
                m_agent->clear();
            m_agent.reset();
            removeCgroupParent(s_parent + "-" + m_name);
            std::error_code ec;
            fs::remove_all(s_state + "-" + m_name, ec);
        }
        // Starts it (again: a stopped one is replaced by a new one on the same state).
        void start(unsigned interval) {
            m_agent = std::make_unique<Agent>(s_ns->name(), s_state + "-" + m_name,
                                              s_parent + "-" + m_name, interval, m_extra);
        }
        Agent* operator->() { return m_agent.get(); }

    private:
        std::string m_name;
        std::string m_extra;
        std::unique_ptr<Agent> m_agent;
    };

    static inline std::string s_skip;
    static inline JournalNamespace* s_ns = nullptr;
    static inline Agent* s_agent = nullptr;
    static inline std::string s_parent;
    static inline std::string s_state;
};

} // namespace

TEST_F(MetricsApi, ATasksStatsdComesBackUnderItsContainerWithItsTagsAndItsIdentity) {
    auto& a = *s_agent;
    Gate g("dogstatsd");
    // A gauge, a counter, a timer and a set, with DogStatsD tags (one a flag) and one tag that
    // tries to pass for another container.
    const std::string lines = "queue.depth:42|g|#env:test,canary\n"
                              "jobs.done:1|c|#env:test\n"
                              "req.latency:10:20:30|ms\n"
                              "users:alice|s\n"
                              "spoof:1|c|#container_id:not-mine";
    json c = a.launch(pythonTask("/statsd", lines, 1, g.path()));
    const std::string cid = c["container_id"];
    ASSERT_TRUE(c["statsd"].is_object()) << c.dump();
    EXPECT_EQ(c["statsd"]["host"], "127.0.0.1");
    const int port = c["statsd"]["port"];
    EXPECT_GT(port, 0);
    EXPECT_EQ(environOf(c["pid"], "STATSD_UDP_HOST"), "127.0.0.1");
    EXPECT_EQ(environOf(c["pid"], "STATSD_UDP_PORT"), std::to_string(port));

    json app;
    ASSERT_TRUE(waitUntil(
        [&] {
            app = a.metricsJson("containers/" + cid + "/app");
            return !pointNamed(app, "req.latency.p99").is_null() &&
                   !pointNamed(app, "users").is_null();
        },
        std::chrono::seconds(60)))
        << app.dump();
    const json depth = pointNamed(app, "queue.depth");
    ASSERT_FALSE(depth.is_null()) << app.dump();
    EXPECT_EQ(depth["value"], 42);
    EXPECT_EQ(depth["tags"], json({{"canary", ""}, {"env", "test"}}));
    EXPECT_FALSE(depth["timestamp"].get<std::string>().empty());
    EXPECT_EQ(pointNamed(app, "req.latency.max")["value"], 30);
    EXPECT_EQ(pointNamed(app, "req.latency.min")["value"], 10);
    EXPECT_EQ(pointNamed(app, "users")["value"], 1);
    EXPECT_EQ(pointNamed(app, "jobs.done")["unit"], "count");
    EXPECT_EQ(pointNamed(app, "jobs.done.rate")["unit"], "per_second");
    // The identity is the agent's to say: the spoofing tag is gone.
    EXPECT_EQ(pointNamed(app, "spoof")["tags"], json::object()) << app.dump();
    const json& d = app["dimensions"];
    EXPECT_EQ(d["container_id"], cid);
    EXPECT_EQ(d["executor_id"], cid);
    EXPECT_EQ(d["framework_id"], "fw-metrics");
    EXPECT_EQ(d["framework_name"], "marathon");
    EXPECT_EQ(d["application_name"], "/statsd");
    EXPECT_EQ(d["labels"], json({{"team", "ops"}}));
    EXPECT_FALSE(d["agent_id"].get<std::string>().empty());
    EXPECT_FALSE(d["hostname"].get<std::string>().empty());

    // One metric: its datapoints only (a timer's by its name).
    json one = a.metricsJson("containers/" + cid + "/app/req.latency");
    ASSERT_EQ(one["datapoints"].size(), 8u) << one.dump();
    for (const auto& p : one["datapoints"])
        EXPECT_EQ(p["name"].get<std::string>().rfind("req.latency.", 0), 0u) << p.dump();
    auto missing = a.metrics("containers/" + cid + "/app/no.such.metric");
    EXPECT_EQ(missing.status, 404) << missing.body;
    EXPECT_NE(missing.body.find("no.such.metric"), std::string::npos);

    // The container is listed, and known: its usage message is there (empty until collected).
    json ids = a.metricsJson("containers");
    EXPECT_NE(std::find(ids.begin(), ids.end(), cid), ids.end()) << ids.dump();
    EXPECT_EQ(a.metrics("containers/" + cid).status, 200);

    g.open();
    a.waitFinished(cid);
}

TEST_F(MetricsApi, ATaskThatSendsAndExitsAtOnceLosesNothing) {
    // An interval far longer than the task: the only flush of its metrics is the last one, at
    // its end, which must hold every line it sent.
    OtherAgent agent("short", 3600);
    // 50 datagrams of 20 counter lines and 3 bad lines.
    std::string datagram;
    for (int i = 0; i < 20; ++i)
        datagram += "short.hits:1|c\n";
    const std::string bad = "garbage\nno_value:|c\nx:1|zz";
    json c = agent->launch(pythonTask("/short", datagram, 50));
    const std::string cid = c["container_id"];
    json done = agent->waitFinished(cid);
    EXPECT_EQ(done["state"], "exited") << done.dump();
    json app = agent->metricsJson("containers/" + cid + "/app");
    const json hits = pointNamed(app, "short.hits");
    ASSERT_FALSE(hits.is_null()) << app.dump();
    json node = agent->metricsJson("node");
    double drops = -1;
    for (const auto& p : node["datapoints"])
        if (p["name"] == "day2.statsd.udp_drops" && p["tags"]["container_id"] == cid)
            drops = p["value"];
    ASSERT_GE(drops, 0) << node.dump();
    // Every line is counted or its loss is: here, on loopback with a quiet socket, none is lost.
    EXPECT_EQ(hits["value"].get<double>() + 20 * drops, 1000) << app.dump();
    EXPECT_EQ(drops, 0);

    // Bad lines are counted with the node's metrics, tagged with the container.
    json c2 = agent->launch(pythonTask("/bad", bad + "\nok.one:1|c", 1));
    const std::string cid2 = c2["container_id"];
    agent->waitFinished(cid2);
    EXPECT_EQ(pointNamed(agent->metricsJson("containers/" + cid2 + "/app"), "ok.one")["value"], 1);
    double parseErrors = -1;
    const json node2 = agent->metricsJson("node");
    for (const auto& p : node2["datapoints"])
        if (p["name"] == "day2.statsd.parse_errors" && p["tags"]["container_id"] == cid2)
            parseErrors = p["value"];
    EXPECT_EQ(parseErrors, 3) << node2.dump();
}

TEST_F(MetricsApi, AReadoptedTaskGetsItsPortBack) {
    OtherAgent agent("restart", 1);
    Gate g("restart");
    json c = agent->launch(pythonTask("/restart", "alive:1|c|#phase:any", 1, g.path()));
    const std::string cid = c["container_id"];
    const int port = c["statsd"]["port"];
    EXPECT_EQ(agent->process().stop(), 0);
    // The port is free while no agent runs; the task goes on sending into the void.
    agent.start(1);
    json after = agent->task(cid);
    EXPECT_EQ(after["state"], "running") << after.dump();
    EXPECT_EQ(after["statsd"]["port"], port);
    json app;
    EXPECT_TRUE(waitUntil(
        [&] {
            app = agent->metricsJson("containers/" + cid + "/app");
            const json alive = pointNamed(app, "alive");
            return !alive.is_null() && alive["value"].get<double>() > 0;
        },
        std::chrono::seconds(60)))
        << app.dump();
    g.open();
    agent->waitFinished(cid);
}

TEST_F(MetricsApi, BadRequestsAreRefusedAndChangeNothing) {
    auto& a = *s_agent;
    auto unknown = a.metrics("containers/00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(unknown.status, 404) << unknown.body;
    EXPECT_EQ(json::parse(unknown.body)["code"], 404);
    EXPECT_EQ(a.metrics("containers/00000000-0000-4000-8000-000000000000/app").status, 404);
    EXPECT_EQ(a.metrics("nothing-here").status, 404);
    EXPECT_EQ(a.metrics("containers/x/y/z/w").status, 404);
    auto post = httpRequest(a.port(), "POST", kMetrics + "node", std::string("{}"));
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow").value_or(""), "GET, HEAD");
    json ping = a.metricsJson("ping");
    EXPECT_EQ(ping["ok"], true);
    EXPECT_FALSE(ping["timestamp"].get<std::string>().empty());
    json node = a.metricsJson("node");
    EXPECT_TRUE(node["datapoints"].is_array());
    EXPECT_FALSE(node["dimensions"]["agent_id"].get<std::string>().empty());
    EXPECT_EQ(node["dimensions"].count("container_id"), 0u);
}

namespace {

// Runs `command` through the shell; its exit status and what it printed.
std::pair<int, std::string> run(const std::string& command) {
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A TCP port nobody listens on now (for a program that must be told one).
uint16_t freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

} // namespace

TEST_F(MetricsApi, TheHistoryHoldsEveryIntervalACounterSumsToExactlyWhatWasSent) {
    auto& a = *s_agent;
    Gate g("history");
    // The task sends 10 increments every 50 ms until the gate opens, then 10 more and ends: its
    // lines span several intervals, and the last ones come just before its end.
    const std::string script =
        "import os, socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "to = (os.environ['STATSD_UDP_HOST'], int(os.environ['STATSD_UDP_PORT']))\n"
        "d = b'hist.hits:1|c\\n' * 10\n"
        "n = 0\n"
        "while not os.path.exists(" +
        json(g.path()).dump() +
        "):\n"
        "    s.sendto(d, to); n += 10; time.sleep(0.05)\n"
        "s.sendto(d, to); n += 10\n"
        "print(n, flush=True)\n";
    json c = a.launch({{"framework_id", "fw-metrics"},
                       {"framework_name", "marathon"},
                       {"application_name", "/history"},
                       {"command", {"/usr/bin/python3", "-c", script}}});
    const std::string cid = c["container_id"];
    // Three intervals with lines in them, at least.
    json hist;
    ASSERT_TRUE(waitUntil(
        [&] {
            hist = a.metricsJson("history/containers/" + cid + "/app");
            for (const auto& s : hist["series"])
                if (s["name"] == "hist.hits") {
                    int busy = 0;
                    for (const auto& p : s["points"])
                        busy += p[1].get<double>() > 0;
                    return busy >= 3;
                }
            return false;
        },
        std::chrono::seconds(60)))
        << hist.dump();
    g.open();
    a.waitFinished(cid);
    // How many it sent, as it said in its log.
    int sent = 0;
    ASSERT_TRUE(waitUntil(
        [&] {
            auto r = httpGet(a.port(),
                             "/system/v1/logs/v1/range/framework/fw-metrics/executor/" + cid +
                                 "/container/" + cid,
                             {{"Accept", "application/json"}});
            if (r.status != 200 || r.body.empty())
                return false;
            const json line = json::parse(r.body.substr(0, r.body.find('\n')));
            sent = std::atoi(line["fields"].value("MESSAGE", "").c_str());
            return sent > 0;
        },
        std::chrono::seconds(60)));
    hist = a.metricsJson("history/containers/" + cid + "/app");
    double sum = -1;
    for (const auto& s : hist["series"])
        if (s["name"] == "hist.hits") {
            sum = 0;
            int64_t previous = 0;
            for (const auto& p : s["points"]) {
                EXPECT_GT(p[0].get<int64_t>(), previous) << "points in time order";
                previous = p[0];
                sum += p[1].get<double>();
            }
        }
    EXPECT_EQ(sum, sent) << hist.dump();

    // The history took every collection (none refused for its time).
    EXPECT_EQ(pointNamed(a.metricsJson("node"), "day2.metrics.history_refused")["value"], 0);
    // The node's history is there too; bad parameters are refused.
    EXPECT_FALSE(a.metricsJson("history/node")["series"].empty());
    EXPECT_EQ(a.metrics("history/node?since=yesterday").status, 400);
    EXPECT_EQ(a.metrics("history/node?step=-1").status, 400);
    EXPECT_EQ(a.metrics("history/node?agg=median").status, 400);
    EXPECT_EQ(a.metrics("history/node?color=red").status, 400);
    EXPECT_EQ(a.metrics("history/node?since=2000000000000000&until=1000000000000000").status, 400);
    EXPECT_EQ(a.metrics("history/containers/00000000-0000-4000-8000-000000000000").status, 404);
    EXPECT_EQ(a.metrics("history/elsewhere").status, 404);
    json byMinute = a.metricsJson("history/containers/" + cid + "/app?step=60&agg=max");
    EXPECT_TRUE(byMinute["series"].is_array());
}

TEST_F(MetricsApi, PrometheusScrapesTheAgentAndPromtoolHasNoComplaint) {
    if (::access("/usr/bin/prometheus", X_OK) != 0 || ::access("/usr/bin/promtool", X_OK) != 0)
        GTEST_SKIP() << "Prometheus is not installed (Debian package prometheus; "
                        "packaging/deps.sh installs it)";
    auto& a = *s_agent;
    Gate g("prometheus");
    json c =
        a.launch(pythonTask("/prom", "dogs.barked:1|c|#breed:collie\nqueueDepth:3|g", 1, g.path()));
    const std::string cid = c["container_id"];
    std::string text;
    ASSERT_TRUE(waitUntil(
        [&] {
            text = httpGet(a.port(), "/metrics").body;
            return text.find("dogs_barked_total{") != std::string::npos;
        },
        std::chrono::seconds(60)))
        << text;
    const std::string file = s_state + "/metrics.txt";
    std::ofstream(file) << text;
    auto [status, out] = run("promtool check metrics < " + file);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "");
    EXPECT_NE(text.find("container_id=\"" + cid + "\""), std::string::npos);
    EXPECT_NE(text.find("# TYPE day2_statsd_parse_errors_total counter"), std::string::npos);

    // A real Prometheus scrapes it.
    const std::string dir = s_state + "/prometheus";
    fs::create_directories(dir);
    std::ofstream(dir + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: day2\n"
           "    static_configs:\n      - targets: ['127.0.0.1:"
        << a.port() << "']\n";
    const uint16_t webPort = freePort();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(webPort);
        const std::string config = "--config.file=" + dir + "/prometheus.yml";
        const std::string storage = "--storage.tsdb.path=" + dir + "/data";
        ::freopen((dir + "/prometheus.log").c_str(), "w", stderr);
        ::execl("/usr/bin/prometheus", "prometheus", config.c_str(), storage.c_str(),
                listen.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ASSERT_GT(pid, 0);
    json up, dogs;
    const bool scraped = waitUntil(
        [&] {
            auto r = httpGet(webPort, "/api/v1/query?query=up");
            auto d = httpGet(webPort, "/api/v1/query?query=dogs_barked_total");
            if (r.status != 200 || d.status != 200)
                return false;
            up = json::parse(r.body);
            dogs = json::parse(d.body);
            return !up["data"]["result"].empty() && !dogs["data"]["result"].empty();
        },
        std::chrono::seconds(90));
    ::kill(pid, SIGTERM);
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    std::ifstream log(dir + "/prometheus.log");
    std::string logText((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(scraped) << up.dump() << "\n" << logText.substr(0, 4000);
    EXPECT_EQ(up["data"]["result"][0]["value"][1], "1");
    const json& metric = dogs["data"]["result"][0]["metric"];
    EXPECT_EQ(metric["container_id"], cid);
    EXPECT_EQ(metric["breed"], "collie");
    EXPECT_EQ(metric["application_name"], "/prom");
    g.open();
    a.waitFinished(cid);
}

TEST_F(MetricsApi, HostMetricsAgreeWithProcAndATasksUseGrowsInItsCgroup) {
    auto& a = *s_agent;
    // The host: what /proc says, read here independently (MemTotal can change on a machine with
    // memory hot-plug: the agent's last collection agrees with it in the end).
    auto memTotal = [] {
        std::ifstream meminfo("/proc/meminfo");
        std::string key;
        double kb = 0;
        while (meminfo >> key)
            if (key == "MemTotal:") {
                meminfo >> kb;
                break;
            }
        return kb * 1024;
    };
    std::ifstream stat("/proc/stat");
    std::string line;
    int cpus = 0;
    while (std::getline(stat, line))
        cpus += line.rfind("cpu", 0) == 0 && line.size() > 3 && std::isdigit(line[3]);
    json node;
    double want = 0;
    EXPECT_TRUE(waitUntil(
        [&] {
            node = a.metricsJson("node");
            want = memTotal();
            return !pointNamed(node, "cpu.user").is_null() &&
                   pointNamed(node, "memory.total")["value"] == want;
        },
        std::chrono::seconds(60)))
        << want << " " << node.dump();
    EXPECT_EQ(pointNamed(node, "memory.total")["unit"], "bytes");
    EXPECT_EQ(pointNamed(node, "cpu.cores")["value"], cpus);
    EXPECT_GT(pointNamed(node, "process.count")["value"].get<double>(), 0);
    const json fs = pointNamed(node, "filesystem.capacity.total");
    ASSERT_FALSE(fs.is_null());
    EXPECT_EQ(fs["tags"]["path"], "/");
    EXPECT_EQ(pointNamed(node, "day2.metrics.read_errors")["value"], 0);

    // A task that takes 64 MiB and burns CPU until the gate opens.
    Gate g("burn");
    const std::string script = "import os\n"
                               "m = bytearray(64 << 20)\n"
                               "for i in range(0, len(m), 4096): m[i] = 1\n"
                               "n = 0\n"
                               "while not os.path.exists(" +
                               json(g.path()).dump() +
                               "):\n"
                               "    for i in range(100000): n += i\n";
    json c = a.launch({{"framework_id", "fw-metrics"},
                       {"framework_name", "marathon"},
                       {"application_name", "/burn"},
                       {"resources", {{"cpus", 1.5}, {"mem_mb", 256}}},
                       {"command", {"/usr/bin/python3", "-c", script}}});
    const std::string cid = c["container_id"];
    json usage;
    auto value = [&](const char* name) {
        const json p = pointNamed(usage, name);
        return p.is_null() ? -1.0 : p["value"].get<double>();
    };
    ASSERT_TRUE(waitUntil(
        [&] {
            usage = a.metricsJson("containers/" + cid);
            return value("mem.rss") >= 64 << 20 && value("cpus.user.time") > 0;
        },
        std::chrono::seconds(60)))
        << usage.dump();
    const double firstCpu = value("cpus.user.time");
    EXPECT_EQ(pointNamed(usage, "cpus.user.time")["unit"], "seconds");
    EXPECT_EQ(value("cpus.limit"), 1.5);
    EXPECT_EQ(value("mem.limit"), 256 << 20);
    EXPECT_GE(value("mem.working_set"), 64 << 20);
    EXPECT_GE(value("processes"), 2); // the container's init and the task
    EXPECT_EQ(usage["dimensions"]["container_id"], cid);
    // It keeps burning: its CPU time grows, and cpus.usage says it uses a core's worth.
    ASSERT_TRUE(waitUntil(
        [&] {
            usage = a.metricsJson("containers/" + cid);
            return value("cpus.user.time") > firstCpu + 0.5 && value("cpus.usage") > 0.2;
        },
        std::chrono::seconds(60)))
        << usage.dump();
    json hist = a.metricsJson("history/containers/" + cid);
    bool rss = false;
    for (const auto& s : hist["series"])
        rss |= s["name"] == "mem.rss" && !s["points"].empty();
    EXPECT_TRUE(rss) << hist.dump();
    g.open();
    a.waitFinished(cid);
}

TEST_F(MetricsApi, TheStreamSendsEachCollectionOfASource) {
    auto& a = *s_agent;
    Gate g("stream");
    json c = a.launch(pythonTask("/stream", "streamed:1|c", 1, g.path()));
    const std::string cid = c["container_id"];
    StreamingGet stream(a.port(), kMetrics + "stream?container_id=" + cid, {});
    ASSERT_EQ(stream.status(), 200);
    EXPECT_EQ(stream.headers().size() > 0, true);
    SseParser parser;
    std::vector<std::string> appTimestamps;
    bool counted = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((appTimestamps.size() < 3 || !counted) && std::chrono::steady_clock::now() < deadline) {
        parser.feed(stream.readSome(std::chrono::seconds(5)));
        for (const auto& e : parser.take()) {
            const json j = json::parse(e.data);
            const std::string source = j["source"];
            // Only this container's sources.
            ASSERT_TRUE(source == "containers/" + cid || source == "containers/" + cid + "/app")
                << e.data;
            EXPECT_EQ(j["message"]["dimensions"]["container_id"], cid);
            if (source == "containers/" + cid + "/app" && !j["message"]["datapoints"].empty()) {
                appTimestamps.push_back(j["message"]["datapoints"][0]["timestamp"]);
                const json p = pointNamed(j["message"], "streamed");
                counted |= !p.is_null() && p["value"].get<double>() > 0;
            }
        }
    }
    ASSERT_GE(appTimestamps.size(), 3u);
    EXPECT_TRUE(counted);
    // One message of a source per collection: each later than the one before.
    for (size_t i = 1; i < appTimestamps.size(); ++i)
        EXPECT_LT(appTimestamps[i - 1], appTimestamps[i]);
    stream.close();

    EXPECT_EQ(a.metrics("stream?container_id=00000000-0000-4000-8000-000000000000").status, 404);
    EXPECT_EQ(a.metrics("stream?colour=blue").status, 400);
    g.open();
    a.waitFinished(cid);
}

TEST_F(MetricsApi, ATagFloodBeyondTheCapIsDroppedAndCountedAndTheRestServed) {
    auto& a = *s_agent;
    // 1,500 series (one name, 1,500 values of a tag), then one more line of the first: the cap
    // (metrics.max_series_per_task, 1,000) keeps 1,000 and counts the other 500 lines.
    const std::string script = "import os, socket\n"
                               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                               "to = (os.environ['STATSD_UDP_HOST'], "
                               "int(os.environ['STATSD_UDP_PORT']))\n"
                               "for b in range(30):\n"
                               "    s.sendto(''.join('flood:1|c|#i:%d\\n' % (b * 50 + i) "
                               "for i in range(50)).encode(), to)\n"
                               "s.sendto(b'flood:1|c|#i:0\\n' + b'x' * 60000, to)\n";
    json c = a.launch({{"framework_id", "fw-metrics"},
                       {"framework_name", "marathon"},
                       {"application_name", "/flood"},
                       {"command", {"/usr/bin/python3", "-c", script}}});
    const std::string cid = c["container_id"];
    EXPECT_EQ(a.waitFinished(cid)["state"], "exited");
    const json node = a.metricsJson("node");
    double dropped = -1, parseErrors = -1, drops = -1;
    for (const auto& p : node["datapoints"]) {
        if (p["tags"].value("container_id", "") != cid)
            continue;
        if (p["name"] == "day2.statsd.dropped_series")
            dropped = p["value"];
        if (p["name"] == "day2.statsd.parse_errors")
            parseErrors = p["value"];
        if (p["name"] == "day2.statsd.udp_drops")
            drops = p["value"];
    }
    ASSERT_EQ(drops, 0) << "the kernel dropped datagrams: the counts below would not hold";
    EXPECT_EQ(dropped, 500);
    EXPECT_EQ(parseErrors, 1); // the 60,000-byte line, in a datagram with a good one
    // Across the history, the first series holds both of its lines, and 1,000 series exist.
    const json hist = a.metricsJson("history/containers/" + cid + "/app");
    size_t series = 0;
    double first = 0;
    for (const auto& s : hist["series"]) {
        if (s["name"] != "flood")
            continue;
        ++series;
        if (s["tags"]["i"] == "0")
            for (const auto& p : s["points"])
                first += p[1].get<double>();
    }
    EXPECT_EQ(series, 1000u);
    EXPECT_EQ(first, 2);
    // The agent still serves.
    EXPECT_EQ(a.metrics("ping").status, 200);
}

// The operator's librdkafka settings reach librdkafka: one it does not know stops the agent at
// start with librdkafka's own words.
TEST_F(MetricsApi, KafkaPropertiesReachLibrdkafka) {
    const std::string dir = "/tmp/day2-kafka-props-" + std::to_string(::getpid());
    fs::create_directories(dir);
    {
        std::ofstream(dir + "/agent.toml")
            << "[sinks.kafka]\nbrokers = \"127.0.0.1:1\"\n[sinks.kafka.properties]\n"
               "\"no.such.property\" = \"1\"\n[auth]\nenabled = false\n[tasks]\nenabled = false\n";
    }
    // (Bounded: an agent that took the setting would run until stopped.)
    auto r = runCapture("timeout 30 " + agentBinary() + " --config " + dir +
                        "/agent.toml --listen 127.0.0.1:0 --state-dir " + dir + "/state 2>&1");
    EXPECT_EQ(r.exitCode, 1) << r.output;
    EXPECT_NE(r.output.find("sinks.kafka: Kafka sink: no.such.property = \"1\": No such "
                            "configuration property"),
              std::string::npos)
        << r.output;
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST_F(MetricsApi, EveryCollectionGoesToKafkaAndToStatsd) {
    MockCluster kafka(1);
    ASSERT_TRUE(kafka.ok());
    // A StatsD server: a UDP socket here.
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len);
    const timeval tv{1, 0};
    ::setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // (With librdkafka settings of the operator's that change nothing here.)
    OtherAgent agent("sinks", 1,
                     "[sinks.kafka]\nbrokers = \"" + kafka.bootstraps() +
                         "\"\n[sinks.kafka.properties]\n\"linger.ms\" = 20\n"
                         "socket.keepalive.enable = true\n[sinks.statsd]\naddress = \"127.0.0.1:" +
                         std::to_string(ntohs(addr.sin_port)) + "\"\n");
    Gate g("sinks");
    json c = agent->launch(pythonTask("/sunk", "sunk.hits:1|c|#zone:a", 1, g.path()));
    const std::string cid = c["container_id"];
    // StatsD: the task's counter as a gauge, with its identity and its own tag.
    std::string line;
    const bool seen = waitUntil(
        [&] {
            char buf[65536];
            const ssize_t n = ::recv(udp, buf, sizeof buf, 0);
            if (n <= 0)
                return false;
            std::string datagram(buf, static_cast<size_t>(n));
            for (size_t pos = 0; pos < datagram.size();) {
                size_t end = datagram.find('\n', pos);
                if (end == std::string::npos)
                    end = datagram.size();
                const std::string l = datagram.substr(pos, end - pos);
                if (l.rfind("sunk.hits:", 0) == 0 &&
                    l.find("container_id:" + cid) != std::string::npos)
                    line = l;
                pos = end + 1;
            }
            return !line.empty();
        },
        std::chrono::seconds(60));
    ASSERT_TRUE(seen);
    EXPECT_NE(line.find("|g|#"), std::string::npos) << line;
    EXPECT_NE(line.find("zone:a"), std::string::npos) << line;
    EXPECT_NE(line.find("application_name:/sunk"), std::string::npos) << line;

    // Kafka: once the agent says it delivered, the topic holds the task's messages, keyed by
    // its container id, each a MetricsMessage.
    json health;
    ASSERT_TRUE(waitUntil(
        [&] {
            health = json::parse(httpGet(agent->port(), "/system/v1/health").body);
            return health["sinks"]["kafka"].value("delivered", 0) > 3;
        },
        std::chrono::seconds(60)))
        << health.dump();
    EXPECT_EQ(health["sinks"]["kafka"]["delivering"], true);
    EXPECT_EQ(health["sinks"]["kafka"]["dropped"], 0);
    EXPECT_EQ(health["sinks"]["statsd"]["lines_dropped"], 0);
    g.open();
    agent->waitFinished(cid);
    bool found = false, node = false;
    for (const auto& r : consumeAll(kafka.bootstraps())) {
        const json m = json::parse(r.payload);
        if (r.key == cid && !pointNamed(m, "sunk.hits").is_null()) {
            found = true;
            EXPECT_EQ(m["dimensions"]["container_id"], cid);
        }
        node |= r.key == health["agent_id"] && !pointNamed(m, "memory.total").is_null();
    }
    EXPECT_TRUE(found);
    EXPECT_TRUE(node);
    ::close(udp);
}
