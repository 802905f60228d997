// The tasks API of the real agent, with real cgroups (v1 here, and the v2 tree where one is
// mounted), namespaces and a private journald: launch, list, stop, limits in the cgroup files,
// OOM, missing commands, children left behind, the task's namespaces and environment, every line
// in the journal across a kill -9 of the agent, bad input that changes nothing, and garbage
// collection.
#include "agent_process.h"
#include "http_client.h"
#include "journal_namespace.h"
#include "task_gate.h"
#include "tasks/log_scope.h"
#include "tasks/task_spec.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace day2::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kTasks = "/system/v1/tasks/v1/";

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t e = text.find('\n', pos);
        if (e == std::string::npos)
            e = text.size();
        out.push_back(text.substr(pos, e - pos));
        pos = e + 1;
    }
    return out;
}

size_t countEntries(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it)
        ++n;
    return n;
}

// `sleep` processes anywhere on the host whose arguments contain `marker`.
std::vector<std::string> sleepersWith(const std::string& marker) {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string cmd = readFile(e.path().string() + "/cmdline");
        for (auto& c : cmd)
            if (c == '\0')
                c = ' ';
        if (cmd.rfind("sleep ", 0) == 0 && cmd.find(marker) != std::string::npos)
            found.push_back(name + ": " + cmd);
    }
    return found;
}

// Whether process `pid` has ended (a zombie has: only its parent's wait is left).
bool ended(int pid) {
    const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    const size_t close = stat.rfind(')');
    return close == std::string::npos || stat.compare(close, 3, ") Z") == 0;
}

// Removes a test's cgroup parents (empty by then) and state directory.
void removeScratch(const std::string& parent, const std::string& state) {
    removeCgroupParent(parent);
    std::error_code ec;
    fs::remove_all(state, ec);
}

class Agent {
public:
    Agent(const std::string& ns, const std::string& stateDir, const std::string& extraConfig) {
        m_process = std::make_unique<AgentProcess>(
            std::vector<std::string>{"--journal-namespace", ns, "--state-dir", stateDir},
            extraConfig);
    }
    uint16_t port() const { return m_process->port(); }
    AgentProcess& process() { return *m_process; }

    HttpResponse post(const std::string& body) {
        // (Every launch of this suite checks that parameters and case are allowed.)
        return httpRequest(port(), "POST", kTasks, body,
                           {{"Content-Type", "Application/JSON; charset=utf-8"}});
    }
    json launch(const std::string& body) {
        auto r = post(body);
        EXPECT_EQ(r.status, 201) << r.body;
        if (r.status != 201)
            throw std::runtime_error("launch failed: " + r.body);
        return json::parse(r.body);
    }
    json get(const std::string& cid) {
        auto r = httpGet(port(), kTasks + cid);
        if (r.status != 200)
            return json{{"status", r.status}, {"body", r.body}};
        return json::parse(r.body);
    }
    json list() { return json::parse(httpGet(port(), kTasks).body)["containers"]; }
    HttpResponse del(const std::string& cid) { return httpRequest(port(), "DELETE", kTasks + cid); }
    // Polls until the container leaves "running"; returns its last state.
    json waitFinished(const std::string& cid, std::chrono::seconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        json c;
        while (std::chrono::steady_clock::now() < deadline) {
            c = get(cid);
            if (c.value("state", "") != "running")
                return c;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return c;
    }
    // The container's lines through the logs API's per-task path, oldest first.
    std::vector<json> logLines(const json& c) {
        const std::string path = "/system/v1/logs/v1/range/framework/" +
                                 c["framework_id"].get<std::string>() + "/executor/" +
                                 c["executor_id"].get<std::string>() + "/container/" +
                                 c["container_id"].get<std::string>();
        auto r = httpGet(port(), path, {{"Accept", "application/json"}});
        std::vector<json> out;
        if (r.status != 200)
            return out;
        for (const auto& l : lines(r.body))
            if (!l.empty())
                out.push_back(json::parse(l));
        return out;
    }
    std::vector<std::string> messages(const json& c) {
        std::vector<std::string> out;
        for (const auto& e : logLines(c))
            out.push_back(e["fields"].value("MESSAGE", ""));
        return out;
    }

private:
    std::unique_ptr<AgentProcess> m_process;
};

class TasksApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (::geteuid() != 0) {
            s_skip = "needs root (cgroups and namespaces)";
            return;
        }
        std::string why;
        if (!JournalNamespace::available(&why)) {
            s_skip = why;
            return;
        }
        if (!fs::exists("/sys/fs/cgroup/memory/cgroup.procs") &&
            !fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
            s_skip = "no cgroup hierarchy with the memory controller is mounted";
            return;
        }
        // Must not reach the tasks: the agent's own environment.
        ::setenv("DAY2_TEST_LEAK", "agent-environment", 1);
        s_ns = new JournalNamespace("day2rt");
        s_parent = "day2-test-" + std::to_string(::getpid());
        s_state = "/tmp/day2-tasks-test-" + std::to_string(::getpid());
        fs::create_directories(s_state);
        s_agent = new Agent(s_ns->name(), s_state, config(s_parent, 3600));
        ::unsetenv("DAY2_TEST_LEAK");
    }
    static std::string config(const std::string& parent, unsigned keep) {
        return "[tasks]\ncgroup_parent = \"" + parent +
               "\"\nkill_grace_seconds = 2\nkeep_finished_seconds = " + std::to_string(keep) + "\n";
    }
    static void TearDownTestSuite() {
        if (s_agent) {
            for (const auto& c : s_agent->list())
                if (c["state"] == "running")
                    s_agent->del(c["container_id"]);
            for (const auto& c : s_agent->list())
                s_agent->waitFinished(c["container_id"], std::chrono::seconds(30));
            for (const auto& c : s_agent->list())
                s_agent->del(c["container_id"]); // finished: removed with its cgroup
        }
        delete s_agent;
        s_agent = nullptr;
        removeScratch(s_parent, s_state);
        std::error_code ec;
        fs::remove_all(gatesDir(), ec);
        delete s_ns;
        s_ns = nullptr;
    }
    void SetUp() override {
        if (!s_skip.empty())
            GTEST_SKIP() << s_skip;
    }
    static std::string memoryDir(const json& c) {
        for (const auto& d : c["cgroup"]["dirs"])
            if (d["controllers"].get<std::string>().find("memory") != std::string::npos)
                return d["path"];
        return {};
    }
    // `shell` launched as `app` by an agent on `state` and `parent`, which is then killed (-9):
    // the container runs on with no agent. Its launch answer.
    static json launchWithoutAnAgent(const std::string& state, const std::string& parent,
                                     const std::string& app, const std::string& shell);
    static std::string dirFor(const json& c, const std::string& controller) {
        for (const auto& d : c["cgroup"]["dirs"]) {
            std::string names = "," + d["controllers"].get<std::string>() + ",";
            if (names.find("," + controller + ",") != std::string::npos)
                return d["path"];
        }
        return {};
    }

    static inline std::string s_skip;
    static inline JournalNamespace* s_ns = nullptr;
    static inline Agent* s_agent = nullptr;
    static inline std::string s_parent;
    static inline std::string s_state;
};

std::string task(const std::string& app, const std::string& shell) {
    return json({{"framework_id", "fw-test"},
                 {"framework_name", "marathon"},
                 {"application_name", app},
                 {"shell", shell}})
        .dump();
}

json TasksApi::launchWithoutAnAgent(const std::string& state, const std::string& parent,
                                    const std::string& app, const std::string& shell) {
    fs::create_directories(state);
    Agent first(s_ns->name(), state, config(parent, 3600));
    json c = first.launch(task(app, shell));
    first.process().kill9();
    return c;
}

// `task()` with more members merged in.
std::string taskWith(const std::string& app, const std::string& shell, const json& more) {
    json j = {{"framework_id", "fw-test"},
              {"framework_name", "marathon"},
              {"application_name", app},
              {"shell", shell}};
    for (const auto& [k, v] : more.items())
        j[k] = v;
    return j.dump();
}

} // namespace

TEST_F(TasksApi, LaunchListAndStopWithTheLimitsInTheCgroupFiles) {
    auto& a = *s_agent;
    json c = a.launch(taskWith("/limits", "sleep 1000",
                               {{"resources", {{"cpus", 0.5}, {"mem_mb", 64}, {"pids", 20}}},
                                {"labels", {{"team", "ops"}}}}));
    const std::string cid = c["container_id"];
    EXPECT_EQ(cid.size(), 36u);
    EXPECT_EQ(c["state"], "running");
    ASSERT_TRUE(c["pid"].is_number());
    EXPECT_EQ(c["executor_id"], cid); // no executor id given: the container's
    EXPECT_EQ(c["user"], "nobody");   // no user given: tasks.default_user
    EXPECT_EQ(c["labels"]["team"], "ops");
    EXPECT_EQ(c["resources"]["mem_mb"], 64);

    bool listed = false;
    for (const auto& x : a.list())
        listed |= x["container_id"] == cid && x["state"] == "running";
    EXPECT_TRUE(listed);

    EXPECT_EQ(readFile(memoryDir(c) + "/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(readFile(memoryDir(c) + "/memory.memsw.limit_in_bytes"), "67108864");
    EXPECT_EQ(readFile(dirFor(c, "cpu") + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(readFile(dirFor(c, "cpu") + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(readFile(dirFor(c, "pids") + "/pids.max"), "21"); // 20 + the container's init
    const std::string procs = readFile(dirFor(c, "pids") + "/cgroup.procs");
    EXPECT_NE(procs.find(std::to_string(c["pid"].get<int>())), std::string::npos) << procs;

    auto d = a.del(cid);
    EXPECT_EQ(d.status, 202) << d.body;
    EXPECT_EQ(json::parse(d.body)["stopping"], true);
    json done = a.waitFinished(cid, std::chrono::seconds(30));
    EXPECT_EQ(done["state"], "killed") << done.dump();
    EXPECT_EQ(done["signal"], 15);
    EXPECT_EQ(done["pid"], nullptr);
    EXPECT_TRUE(done["ended_at"].is_string());
    EXPECT_EQ(readFile(dirFor(c, "pids") + "/cgroup.procs"), "");
    // A finished container keeps its cgroups until it is deleted or collected (not for an
    // hour here: tasks.keep_finished_seconds = 3600).
    EXPECT_TRUE(fs::exists(memoryDir(c)));

    // Deleting a finished container removes it and its cgroups.
    auto gone = a.del(cid);
    EXPECT_EQ(gone.status, 200) << gone.body;
    EXPECT_EQ(a.get(cid)["status"], 404);
    EXPECT_FALSE(fs::exists(memoryDir(c)));
}

TEST_F(TasksApi, TheTaskRunsInItsOwnNamespacesWithTheSpecifiedEnvironment) {
    auto& a = *s_agent;
    json c = a.launch(taskWith(
        "/ns/env",
        "hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; for n in pid mnt uts ipc; do readlink "
        "/proc/self/ns/$n; done; echo pid=$$; env | sort; echo to-stderr >&2",
        {{"executor_id", "exec-7"},
         {"env", {{"GREETING", "hello world"}, {"PATH", "/usr/bin:/bin"}}}}));
    const std::string cid = c["container_id"];
    json done = a.waitFinished(cid, std::chrono::seconds(30));
    ASSERT_EQ(done["state"], "exited") << done.dump();
    EXPECT_EQ(done["exit_code"], 0);

    auto entries = a.logLines(c);
    std::vector<std::string> out, err;
    for (const auto& e : entries) {
        const auto& f = e["fields"];
        EXPECT_EQ(f["CONTAINER_ID"], cid);
        EXPECT_EQ(f["FRAMEWORK_ID"], "fw-test");
        EXPECT_EQ(f["FRAMEWORK_NAME"], "marathon");
        EXPECT_EQ(f["EXECUTOR_ID"], "exec-7");
        EXPECT_EQ(f["APPLICATION_NAME"], "/ns/env");
        EXPECT_EQ(f["SYSLOG_IDENTIFIER"], "/ns/env");
        (f["STREAM"] == "STDERR" ? err : out).push_back(f["MESSAGE"]);
        EXPECT_EQ(f["PRIORITY"], f["STREAM"] == "STDERR" ? "3" : "6");
    }
    ASSERT_GE(out.size(), 8u);
    EXPECT_EQ(err, std::vector<std::string>{"to-stderr"});
    EXPECT_EQ(out[0], cid.substr(0, 12)); // the uts namespace's hostname
    // pid 1 is the container's init, not the host's.
    EXPECT_NE(out[1].find("day2-task-supervisor"), std::string::npos) << out[1];
    EXPECT_NE(out[1], readFile("/proc/1/cmdline"));
    const char* kinds[] = {"pid", "mnt", "uts", "ipc"};
    for (int i = 0; i < 4; ++i) {
        const std::string host = fs::read_symlink(std::string("/proc/self/ns/") + kinds[i]);
        EXPECT_EQ(out[2 + i].rfind(std::string(kinds[i]) + ":[", 0), 0u) << out[2 + i];
        EXPECT_NE(out[2 + i], host) << kinds[i] << " namespace is the host's";
    }
    EXPECT_EQ(out[6], "pid=2"); // the task is the first child of the container's init

    std::set<std::string> env(out.begin() + 7, out.end());
    auto health = json::parse(httpGet(a.port(), "/system/v1/health").body);
    for (const std::string& want : std::vector<std::string>{
             "GREETING=hello world", "PATH=/usr/bin:/bin", "HOSTNAME=" + cid.substr(0, 12),
             "DAY2_AGENT_ID=" + health["agent_id"].get<std::string>(), "DAY2_CONTAINER_ID=" + cid,
             "DAY2_FRAMEWORK_ID=fw-test", "DAY2_EXECUTOR_ID=exec-7"})
        EXPECT_TRUE(env.count(want)) << want;
    for (const auto& e : env) {
        EXPECT_EQ(e.find("DAY2_TEST_LEAK"), std::string::npos) << "agent environment leaked";
    }
    // Its own StatsD endpoint, as the tasks API shows it.
    const json statsd = a.get(cid)["statsd"];
    ASSERT_TRUE(statsd.is_object());
    EXPECT_TRUE(env.count("STATSD_UDP_HOST=" + statsd["host"].get<std::string>()));
    EXPECT_TRUE(env.count("STATSD_UDP_PORT=" + std::to_string(statsd["port"].get<int>())));
}

TEST_F(TasksApi, ATaskInheritsOnlyStdinStdoutAndStderr) {
    auto& a = *s_agent;
    // ls opens the directory it lists: that is the 3.
    json c =
        a.launch(task("/fds", "ls /proc/self/fd | tr '\\n' ' '; echo; readlink /proc/self/fd/0"));
    ASSERT_EQ(a.waitFinished(c["container_id"], std::chrono::seconds(30))["state"], "exited");
    auto m = a.messages(c);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0], "0 1 2 3 ");
    EXPECT_EQ(m[1], "/dev/null");
}

TEST_F(TasksApi, ATaskRunsAsTheRequestedUserInItsSandbox) {
    auto& a = *s_agent;
    json c = a.launch(taskWith("/as-nobody",
                               "id -u; id -g; pwd; echo $HOME $USER; touch x && echo wrote",
                               {{"user", "nobody"}}));
    json done = a.waitFinished(c["container_id"], std::chrono::seconds(30));
    ASSERT_EQ(done["state"], "exited") << done.dump();
    EXPECT_EQ(done["user"], "nobody");
    auto m = a.messages(c);
    ASSERT_EQ(m.size(), 5u);
    EXPECT_EQ(m[0], "65534");
    EXPECT_EQ(m[1], "65534");
    EXPECT_EQ(m[2], s_state + "/tasks/" + c["container_id"].get<std::string>() + "/sandbox");
    EXPECT_EQ(m[3], "/nonexistent nobody");
    EXPECT_EQ(m[4], "wrote"); // the sandbox belongs to the task's user
}

TEST_F(TasksApi, AMemoryHogIsOomKilledAndReportedAsFailedWithReasonOom) {
    auto& a = *s_agent;
    json c = a.launch(taskWith("/hog",
                               "exec python3 -c 'x = []\nwhile True: x.append(bytearray(1 << 20))'",
                               {{"resources", {{"mem_mb", 32}}}}));
    json done = a.waitFinished(c["container_id"], std::chrono::seconds(30));
    EXPECT_EQ(done["state"], "failed") << done.dump();
    EXPECT_EQ(done["reason"], "oom");
    EXPECT_EQ(done["signal"], 9);
}

TEST_F(TasksApi, AMissingCommandIsReportedAtOnceNotHung) {
    auto& a = *s_agent;
    auto r = a.post(R"({"framework_id":"fw-test","framework_name":"marathon",
                        "application_name":"/missing","command":["/no/such/program","x"]})");
    ASSERT_EQ(r.status, 201) << r.body;
    json c = json::parse(r.body);
    EXPECT_EQ(c["state"], "failed");
    EXPECT_EQ(c["reason"], "command not found");
    EXPECT_EQ(c["exit_code"], 127);
    // The same words are in the task's log.
    std::vector<std::string> m;
    waitUntil([&] { return !(m = a.messages(c)).empty(); }, std::chrono::seconds(30));
    ASSERT_EQ(m.size(), 1u);
    EXPECT_NE(m[0].find("cannot run '/no/such/program'"), std::string::npos) << m[0];
}

TEST_F(TasksApi, ExitStatusesAndSignalsBecomeStates) {
    auto& a = *s_agent;
    json ok = a.launch(task("/exit0", "exit 0"));
    json three = a.launch(task("/exit3", "exit 3"));
    json segv = a.launch(task("/segv", "kill -SEGV $$"));
    EXPECT_EQ(a.waitFinished(ok["container_id"], std::chrono::seconds(30))["state"], "exited");
    json t = a.waitFinished(three["container_id"], std::chrono::seconds(30));
    EXPECT_EQ(t["state"], "failed");
    EXPECT_EQ(t["reason"], "exit status 3");
    EXPECT_EQ(t["exit_code"], 3);
    json s = a.waitFinished(segv["container_id"], std::chrono::seconds(30));
    EXPECT_EQ(s["state"], "failed");
    EXPECT_EQ(s["signal"], 11);
    EXPECT_EQ(s["reason"], "killed by signal 11 (SIGSEGV)");
}

TEST_F(TasksApi, DeleteLeavesNoProcessBehindEvenChildrenThatIgnoreTerm) {
    auto& a = *s_agent;
    const std::string marker = "987654" + std::to_string(::getpid());
    json c = a.launch(task("/forker", "trap '' TERM; sleep " + marker + " & (trap '' TERM; sleep " +
                                          marker + ".5) & setsid sh -c 'trap \"\" TERM; sleep " +
                                          marker + ".25' & sleep " + marker + ".75"));
    const std::string cid = c["container_id"];
    waitUntil([&] { return sleepersWith(marker).size() >= 4; }, std::chrono::seconds(30));
    ASSERT_EQ(sleepersWith(marker).size(), 4u);
    EXPECT_EQ(a.del(cid).status, 202);
    json done = a.waitFinished(cid, std::chrono::seconds(30));
    EXPECT_EQ(done["state"], "killed");
    EXPECT_EQ(done["reason"], "stopped by request (SIGKILL after 2 s)");
    EXPECT_TRUE(sleepersWith(marker).empty()) << sleepersWith(marker)[0];
    EXPECT_EQ(readFile(dirFor(c, "pids") + "/cgroup.procs"), "");
    EXPECT_EQ(readFile(memoryDir(c) + "/cgroup.procs"), "");
}

TEST_F(TasksApi, ALineOfOneMebibyteArrivesWhole) {
    auto& a = *s_agent;
    json c = a.launch(task("/bigline", "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo next"));
    ASSERT_EQ(a.waitFinished(c["container_id"], std::chrono::seconds(30))["state"], "exited");
    std::string joined;
    std::vector<std::string> rest;
    for (const auto& e : a.logLines(c)) {
        const auto& f = e["fields"];
        if (f.contains("LINE_PART"))
            joined += f["MESSAGE"].get<std::string>();
        else if (joined.size() < 1048576)
            joined += f["MESSAGE"].get<std::string>();
        else
            rest.push_back(f["MESSAGE"]);
    }
    EXPECT_EQ(joined, std::string(1048576, 'x'));
    EXPECT_EQ(rest, std::vector<std::string>{"next"});
}

TEST_F(TasksApi, BadInputGetsAClearErrorAndChangesNothing) {
    auto& a = *s_agent;
    const size_t containersBefore = a.list().size();
    const std::string parentDir = "/sys/fs/cgroup/memory/" + s_parent;
    const size_t cgroupsBefore = countEntries(parentDir);
    const size_t stateBefore = countEntries(s_state + "/tasks");
    struct Case {
        std::string body;
        int status;
        std::string detail;
    } cases[] = {
        {"{not json", 400, "not valid JSON"},
        {"[1,2]", 400, "must be a JSON object"},
        {R"({"framework_name":"m","application_name":"a","shell":"true"})", 400,
         "missing required field 'framework_id'"},
        {R"({"framework_id":"f","application_name":"a","shell":"true"})", 400,
         "missing required field 'framework_name'"},
        {R"({"framework_id":"f","framework_name":"m","shell":"true"})", 400,
         "missing required field 'application_name'"},
        {R"({"framework_id":"f/x","framework_name":"m","application_name":"a","shell":"true"})",
         400, "framework_id may hold only"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a"})", 400,
         "missing 'command'"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"x","command":["x"]})",
         400, "not both"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","command":"ls -l"})",
         400, "'command' must be an array of strings"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","command":[]})", 400,
         "'command' must not be empty"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"mem_mb":-5}})",
         400, "resources.mem_mb must be positive"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"cpus":-1}})",
         400, "resources.cpus must be positive"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"mem_mb":1e12}})",
         400, "exceeds this node's memory"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"cpus":100000}})",
         400, "exceeds this node's"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"pids":0}})",
         400, "resources.pids must be positive"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"mem_mb":"lots"}})",
         400, "resources.mem_mb must be a number"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","resources":{"disk":1}})",
         400, "unknown field 'resources.disk'"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","env":{"A=B":"c"}})",
         400, "env key 'A=B' contains '='"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","env":{"DAY2_AGENT_ID":"x"}})",
         400, "is set by the agent"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","env":{"A":1}})",
         400, "env.A must be a string"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","user":"no-such-user-day2"})",
         400, "no user 'no-such-user-day2'"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","image":"x"})",
         400, "unknown field 'image'"},
        // A grant to create tasks is not a grant to be root on the node.
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true","user":"root"})",
         403, "tasks may not run as 'root' on this node (tasks.allowed_users: nobody)"},
    };
    for (const auto& c : cases) {
        auto r = a.post(c.body);
        EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
        json j = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(j.is_object()) << r.body;
        EXPECT_EQ(j["code"], c.status);
        EXPECT_NE(j["detail"].get<std::string>().find(c.detail), std::string::npos)
            << c.body << " -> " << j["detail"];
    }
    // A valid request that is not sent as JSON: 415, whatever else it says.
    const std::string valid =
        R"({"framework_id":"f","framework_name":"m","application_name":"a","shell":"true"})";
    for (const std::string type :
         {"text/plain", "application/x-www-form-urlencoded", "application/jsonx"}) {
        auto r = httpRequest(a.port(), "POST", kTasks, valid, {{"Content-Type", type}});
        EXPECT_EQ(r.status, 415) << type << " -> " << r.body;
        EXPECT_NE(r.body.find("Content-Type: application/json"), std::string::npos) << r.body;
    }
    auto untyped = rawExchange(a.port(), "POST " + kTasks +
                                             " HTTP/1.1\r\nHost: x\r\n"
                                             "Connection: close\r\nContent-Length: " +
                                             std::to_string(valid.size()) + "\r\n\r\n" + valid);
    EXPECT_EQ(untyped.received.rfind("HTTP/1.1 415 ", 0), 0u) << untyped.received;
    const std::string unknown = "00000000-0000-4000-8000-000000000000";
    for (const std::string& id : {unknown, std::string("not-a-uuid")}) {
        auto g = httpGet(a.port(), kTasks + id);
        EXPECT_EQ(g.status, 404) << g.body;
        EXPECT_NE(json::parse(g.body)["detail"].get<std::string>().find("no container"),
                  std::string::npos);
        EXPECT_EQ(a.del(id).status, 404);
    }
    EXPECT_EQ(httpRequest(a.port(), "PUT", kTasks, std::string("{}")).status, 405);
    EXPECT_EQ(a.list().size(), containersBefore);
    EXPECT_EQ(countEntries(parentDir), cgroupsBefore);
    EXPECT_EQ(countEntries(s_state + "/tasks"), stateBefore);
    // And the agent still serves.
    EXPECT_EQ(httpGet(a.port(), "/system/v1/health").status, 200);
}

TEST_F(TasksApi, ATaskPathAnswersForAKnownContainerBeforeItsFirstLine) {
    auto& a = *s_agent;
    json c = a.launch(task("/quiet", "sleep 1000"));
    const std::string cid = c["container_id"];
    auto r = httpGet(a.port(), "/system/v1/logs/v1/range/framework/fw-test/executor/" + cid +
                                   "/container/" + cid);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "");
    // Another process writes a line with the container's fields: it is not the container's
    // (its lines come from the container's log scopes, whose units only root can give).
    s_ns->write({{"FRAMEWORK_ID", "fw-test"},
                 {"EXECUTOR_ID", cid},
                 {"CONTAINER_ID", cid},
                 {"MESSAGE", "forged"}});
    s_ns->waitForCount(1, "CONTAINER_ID=" + cid);
    r = httpGet(a.port(),
                "/system/v1/logs/v1/range/framework/fw-test/executor/" + cid + "/container/" + cid);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "") << "a forged line was served as the container's";
    const std::string other = "00000000-0000-4000-8000-000000000001";
    EXPECT_EQ(httpGet(a.port(), "/system/v1/logs/v1/range/framework/fw-test/executor/" + other +
                                    "/container/" + other)
                  .status,
              404);
    a.del(cid);
    a.waitFinished(cid, std::chrono::seconds(30));
}

// A container whose state files a newer agent wrote (format 2: this agent was downgraded) is
// left as it is: not adopted, not removed, still running, and the agent says why. Back in
// format 1, the next agent adopts it again.
TEST_F(TasksApi, AContainerOfANewerAgentIsLeftAsItIs) {
    const std::string state = s_state + "-newer";
    const std::string parent = s_parent + "-newer";
    const json c = launchWithoutAnAgent(state, parent, "/newer", "exec sleep 1000");
    const std::string cid = c["container_id"];
    const int pid = c["pid"];
    // (The agent keeps its containers under <state_dir>/tasks.)
    const std::string specPath = state + "/tasks/" + cid + "/container.json";
    const std::string original = day2::tasks::readWholeFile(specPath).value_or("");
    EXPECT_EQ(day2::tasks::stateFormatOf(original), 1) << specPath << ": " << original;
    json newer = json::parse(original, nullptr, false);
    if (newer.is_object()) {
        newer["format"] = 2;
        newer["a_field_of_the_future"] = true;
        EXPECT_TRUE(day2::tasks::writeFileAtomically(specPath, newer.dump(), 0600));
        Agent second(s_ns->name(), state, config(parent, 3600));
        EXPECT_EQ(second.get(cid).value("status", 0), 404);
        EXPECT_TRUE(second.list().empty());
        EXPECT_NE(second.process().log().find("container " + cid +
                                              " left as it is, not adopted: its container.json "
                                              "is of state format 2"),
                  std::string::npos)
            << second.process().log();
        second.process().stop();
        EXPECT_FALSE(ended(pid)) << "the container of the newer agent was stopped";
        EXPECT_EQ(day2::tasks::readWholeFile(specPath), newer.dump()) << "its state was changed";
        // Back to format 1 (as if the newer agent came back).
        EXPECT_TRUE(day2::tasks::writeFileAtomically(specPath, original, 0600));
    }
    // Adopted, and removed on request.
    {
        Agent third(s_ns->name(), state, config(parent, 3600));
        EXPECT_EQ(third.get(cid).value("state", ""), "running");
        EXPECT_EQ(third.del(cid).status, 202);
        EXPECT_NE(third.waitFinished(cid, std::chrono::seconds(30)).value("state", "running"),
                  "running");
        EXPECT_EQ(third.del(cid).status, 200);
    }
    removeScratch(parent, state);
}

// 200,000 lines as fast as the task can print them, with a kill -9 of the agent while the first
// half flows and a restart: the task keeps running, is re-adopted, and every line is in the
// journal exactly once, in order. The task waits at a gate before its second half until the new
// agent has re-adopted it, so that it is running then on any machine.
TEST_F(TasksApi, EveryLineSurvivesAKillOfTheAgentAndTheTaskIsReadopted) {
    const std::string state = s_state + "-restart";
    const std::string parent = s_parent + "-restart";
    fs::create_directories(state);
    Gate secondHalf("restart-second-half");
    json c;
    {
        Agent first(s_ns->name(), state, config(parent, 3600));
        c = first.launch(task("/firehose", "i=0; while [ $i -lt 20 ]; do [ $i = 10 ] && { " +
                                               secondHalf.waitFor() +
                                               "; }; seq $((i*10000+1)) $((i*10000+10000)); "
                                               "i=$((i+1)); sleep 0.1; done; echo done >&2"));
        // Killed once the lines flow.
        s_ns->waitForCount(1, "CONTAINER_ID=" + c["container_id"].get<std::string>());
        first.process().kill9();
    }
    const std::string cid = c["container_id"];
    const int pid = c["pid"];
    EXPECT_FALSE(ended(pid)) << "the container's init died with the agent";
    Agent second(s_ns->name(), state, config(parent, 3600));
    json again = second.get(cid);
    EXPECT_EQ(again["container_id"], cid) << again.dump();
    EXPECT_EQ(again["state"], "running") << again.dump();
    EXPECT_EQ(again["pid"], pid);
    EXPECT_NE(second.process().log().find("re-adopted running container " + cid), std::string::npos)
        << second.process().log();
    secondHalf.open();
    json done = second.waitFinished(cid, std::chrono::seconds(120));
    ASSERT_EQ(done["state"], "exited") << done.dump();

    s_ns->waitForCount(200001, "CONTAINER_ID=" + cid);
    auto entries = s_ns->journalctlJson("CONTAINER_ID=" + cid);
    std::vector<std::string> out;
    std::vector<std::string> err;
    for (const auto& e : entries)
        (e["STREAM"] == "STDERR" ? err : out).push_back(e["MESSAGE"]);
    ASSERT_EQ(out.size(), 200000u);
    for (size_t i = 0; i < out.size(); ++i)
        ASSERT_EQ(out[i], std::to_string(i + 1)) << "line " << i;
    EXPECT_EQ(err, std::vector<std::string>{"done"});
    EXPECT_EQ(entries.front()["APPLICATION_NAME"], "/firehose");

    second.del(cid);
    removeScratch(parent, state);
}

TEST_F(TasksApi, AgentRestartFindsADeadSupervisorAndCleansUp) {
    const std::string state = s_state + "-dead";
    const std::string parent = s_parent + "-dead";
    const json c = launchWithoutAnAgent(state, parent, "/orphan", "sleep 1000");
    const std::string cid = c["container_id"];
    auto status = json::parse(readFile(state + "/tasks/" + cid + "/status.json"));
    ::kill(status["supervisor_pid"].get<int>(), SIGKILL); // its init dies with it
    ASSERT_TRUE(waitUntil([&] { return ended(c["pid"].get<int>()); }, std::chrono::seconds(30)))
        << "the container's init outlived its supervisor";
    Agent second(s_ns->name(), state, config(parent, 3600));
    json again = second.waitFinished(cid, std::chrono::seconds(30));
    EXPECT_EQ(again["state"], "failed") << again.dump();
    EXPECT_EQ(again["reason"], "supervisor exited unexpectedly");
    waitUntil([&] { return readFile(memoryDir(c) + "/cgroup.procs").empty(); },
              std::chrono::seconds(10));
    EXPECT_EQ(readFile(memoryDir(c) + "/cgroup.procs"), "");
    EXPECT_EQ(second.del(cid).status, 200);
    removeScratch(parent, state);
}

TEST_F(TasksApi, FinishedContainersAreGarbageCollectedWithTheirCgroups) {
    const std::string state = s_state + "-gc";
    const std::string parent = s_parent + "-gc";
    fs::create_directories(state);
    {
        // Collected a second after it finished. It waits at a gate until what exists while it
        // runs has been looked at (a finished container keeping its cgroups until collected is
        // in LaunchListAndStopWithTheLimitsInTheCgroupFiles, where that is an hour).
        Gate finish("gc-finish");
        Agent agent(s_ns->name(), state, config(parent, 1));
        json c = agent.launch(task("/short", "echo bye; echo oops >&2; " + finish.waitFor()));
        const std::string cid = c["container_id"];
        EXPECT_TRUE(fs::exists(memoryDir(c)));
        // Its lines went over journald's stdout stream from its log scope (the agent's default
        // transport where it can make log scopes, as here): journald added the fields.
        const auto tree = day2::tasks::journaldCgroupTree();
        ASSERT_TRUE(tree);
        const auto scopes = day2::tasks::logScopesFor(*tree, day2::tasks::kJournaldUnitsDir,
                                                      day2::tasks::logSliceFor(parent), cid);
        EXPECT_EQ(json::parse(httpGet(agent.port(), "/system/v1/health").body)["task_logs"]
                      .get<std::string>()
                      .rfind("journald stdout streams", 0),
                  0u);
        s_ns->waitForCount(2, "CONTAINER_ID=" + cid);
        std::map<std::string, json> byStream;
        for (const auto& e : s_ns->journalctlJson("CONTAINER_ID=" + cid))
            byStream[e["STREAM"]] = e;
        ASSERT_EQ(byStream.size(), 2u);
        EXPECT_EQ(byStream["STDOUT"]["_SYSTEMD_UNIT"], scopes.streams[0].unit);
        EXPECT_EQ(byStream["STDERR"]["_SYSTEMD_UNIT"], scopes.streams[1].unit);
        EXPECT_EQ(byStream["STDERR"]["MESSAGE"], "oops");
        EXPECT_EQ(byStream["STDOUT"]["FRAMEWORK_NAME"], "marathon");
        EXPECT_EQ(byStream["STDOUT"]["_TRANSPORT"], "stdout");
        EXPECT_TRUE(fs::exists(scopes.streams[1].fieldsFile));
        EXPECT_TRUE(fs::exists(scopes.streams[0].cgroupDir));
        finish.open();
        // Finished, then gone a second later (the state is "exited" or, once collected, a 404).
        json done = agent.waitFinished(cid, std::chrono::seconds(30));
        EXPECT_TRUE(done.value("state", "") == "exited" || done.value("status", 0) == 404)
            << done.dump();
        int status = 200;
        waitUntil([&] { return (status = agent.get(cid).value("status", 200)) != 200; },
                  std::chrono::seconds(30));
        EXPECT_EQ(status, 404) << "not collected after 30 s";
        EXPECT_FALSE(fs::exists(memoryDir(c)));
        EXPECT_FALSE(fs::exists(state + "/tasks/" + cid));
        for (const auto& scope : scopes.streams) {
            EXPECT_FALSE(fs::exists(scope.fieldsFile)) << scope.fieldsFile;
            EXPECT_FALSE(fs::exists(scope.cgroupDir)) << scope.cgroupDir;
        }
        // Its log lines stay in the journal.
        EXPECT_EQ(s_ns->journalctlJson("CONTAINER_ID=" + cid).size(), 2u);
    }
    removeScratch(parent, state);
}

// cgroup v2: this machine mounts the unified tree beside the v1 controllers, so it offers no
// memory, cpu or pids controller. What v2 can do here is tested for real: the container gets
// its own v2 cgroup, DELETE empties it, and limits the tree cannot enforce are refused.
TEST_F(TasksApi, CgroupV2TreeRunsContainersAndRefusesLimitsItCannotEnforce) {
    std::string v2;
    for (const auto& l : lines(readFile("/proc/self/mountinfo")))
        if (l.find(" - cgroup2 ") != std::string::npos) {
            std::istringstream in(l);
            std::string f;
            for (int i = 0; i < 5; ++i)
                in >> f;
            v2 = f;
        }
    if (v2.empty())
        GTEST_SKIP() << "no cgroup2 file system is mounted";
    const std::string state = s_state + "-v2";
    const std::string parent = s_parent + "-v2";
    fs::create_directories(state);
    {
        Agent agent(s_ns->name(), state, config(parent, 3600) + "cgroup_mode = \"v2\"\n");
        json c = agent.launch(task("/v2", "sleep 1000"));
        const std::string cid = c["container_id"];
        ASSERT_EQ(c["cgroup"]["version"], 2);
        const std::string dir = c["cgroup"]["dirs"][0]["path"];
        EXPECT_EQ(dir, v2 + "/" + parent + "/" + cid);
        EXPECT_NE(readFile(dir + "/cgroup.procs").find(std::to_string(c["pid"].get<int>())),
                  std::string::npos);
        EXPECT_EQ(agent.del(cid).status, 202);
        EXPECT_EQ(agent.waitFinished(cid, std::chrono::seconds(30))["state"], "killed");
        EXPECT_EQ(readFile(dir + "/cgroup.procs"), "");
        EXPECT_EQ(agent.del(cid).status, 200);
        EXPECT_FALSE(fs::exists(dir));

        const std::string controllers = readFile(v2 + "/cgroup.controllers");
        if (controllers.find("memory") == std::string::npos) {
            const size_t before = countEntries(v2 + "/" + parent);
            auto r = agent.post(taskWith("/v2mem", "true", {{"resources", {{"mem_mb", 64}}}}));
            EXPECT_EQ(r.status, 422) << r.body;
            EXPECT_NE(r.body.find("memory controller"), std::string::npos) << r.body;
            EXPECT_EQ(countEntries(v2 + "/" + parent), before); // no cgroup left behind
        }
    }
    ::rmdir((v2 + "/" + parent).c_str());
    removeCgroupParent(parent); // and the log scopes' slice
    std::error_code ec;
    fs::remove_all(state, ec);
}

// Killing what is left of a container waits for its processes to go. A process that SIGKILL
// cannot end (here: one frozen in a cgroup v1 freezer group of its own, as a process stuck in the
// kernel would be) holds that for seconds, when the agent finds a container's supervisor dead
// and when it removes the container; neither may hold the agent's other clients meanwhile: the
// killing and waiting happen off the thread that serves them.
TEST_F(TasksApi, AStuckCgroupDoesNotDelayAnotherClient) {
    auto& a = *s_agent;
    json c = a.launch(task("/stuck", "sleep 1000"));
    const std::string cid = c["container_id"];
    const std::string freezer = dirFor(c, "freezer");
    if (freezer.empty()) {
        a.del(cid);
        GTEST_SKIP() << "needs the cgroup v1 freezer to hold a process SIGKILL cannot end";
    }
    // The task's `sleep 1000`, frozen in a group of its own below the container's.
    pid_t sleeper = 0;
    for (auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         !sleeper && std::chrono::steady_clock::now() < limit;
         std::this_thread::sleep_for(std::chrono::milliseconds(20)))
        for (const auto& p : lines(readFile(freezer + "/cgroup.procs")))
            if (!p.empty() && readFile("/proc/" + p + "/comm") == "sleep")
                sleeper = std::stoi(p);
    ASSERT_GT(sleeper, 0);
    const std::string stuck = freezer + "/stuck";
    fs::create_directories(stuck);
    writeTextFile(stuck + "/cgroup.procs", std::to_string(sleeper));
    writeTextFile(stuck + "/freezer.state", "FROZEN");
    for (auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         readFile(stuck + "/freezer.state") != "FROZEN" &&
         std::chrono::steady_clock::now() < limit;)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(readFile(stuck + "/freezer.state"), "FROZEN");

    // While the agent kills what is left, requests of others are answered, each within a second.
    json other = a.launch(task("/not-stuck", "sleep 1000"));
    const std::vector<std::string> paths = {"/system/v1/health", kTasks,
                                            kTasks + other["container_id"].get<std::string>()};
    int answered = 0;
    auto askOthers = [&] {
        for (const auto& path : paths) {
            const auto t0 = std::chrono::steady_clock::now();
            auto r = httpGet(a.port(), path, {}, std::chrono::seconds(30));
            const auto took = std::chrono::steady_clock::now() - t0;
            EXPECT_EQ(r.status, 200) << path;
            EXPECT_LT(took, std::chrono::seconds(1)) << path << " waited for the stuck cgroup";
            ++answered;
        }
    };
    // 1. Its supervisor dies (as in a crash): the agent marks it failed and kills the rest.
    std::string supervisor;
    for (const auto& l :
         lines(readFile("/proc/" + std::to_string(c["pid"].get<int>()) + "/status")))
        if (l.rfind("PPid:", 0) == 0)
            supervisor = l.substr(5);
    ASSERT_FALSE(supervisor.empty());
    ::kill(std::stoi(supervisor), SIGKILL);
    for (auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         a.get(cid).value("state", "") == "running" && std::chrono::steady_clock::now() < limit;)
        askOthers();
    EXPECT_EQ(a.get(cid)["reason"], "supervisor exited unexpectedly");
    // 2. It is removed: the removal waits for the frozen process and gives up, saying so.
    std::atomic<bool> removed{false};
    HttpResponse removal;
    std::thread remover([&] {
        removal = a.del(cid);
        removed = true;
    });
    int meanwhile = 0;
    while (!removed) {
        askOthers();
        meanwhile += !removed;
    }
    remover.join();
    EXPECT_GT(meanwhile, 0);
    EXPECT_EQ(removal.status, 500) << removal.body; // the process survived SIGKILL
    EXPECT_NE(removal.body.find("survived SIGKILL"), std::string::npos) << removal.body;
    EXPECT_EQ(a.get(cid)["container_id"], cid); // still listed: nothing is lost

    // Thawed, it dies of the SIGKILL it has; then the container goes.
    writeTextFile(stuck + "/freezer.state", "THAWED");
    for (auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         fs::exists("/proc/" + std::to_string(sleeper)) &&
         std::chrono::steady_clock::now() < limit;)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         ::rmdir(stuck.c_str()) != 0 && std::chrono::steady_clock::now() < limit;)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(a.del(cid).status, 200);
    EXPECT_FALSE(fs::exists(freezer));
    a.del(other["container_id"]);
}
