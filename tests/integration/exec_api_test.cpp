// Exec through the real agent into real containers, with a WebSocket client written against the
// raw bytes (tests/support/ws_client.h) speaking the Kubernetes channel protocol: the process is
// inside the task's namespaces, cgroup, directory and user; exit codes, signals, a terminal and
// its resize, stdin and its end, two million lines byte for byte, sessions side by side, a task
// or a client that goes mid-session, what is refused, and that nothing is left behind.
#include "journal_namespace.h"
#include "task_agent.h"
#include "task_gate.h"
#include "ws_client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <unistd.h>

using namespace day2::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kBoth = {"v5.channel.k8s.io", "v4.channel.k8s.io"};

std::string percentEncode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string execTarget(const std::string& cid, const std::vector<std::string>& command,
                       const std::string& flags = "stdout=1&stderr=1") {
    std::string t = "/system/v1/exec/v1/containers/" + cid + "?";
    for (const auto& c : command)
        t += "command=" + percentEncode(c) + "&";
    return t + flags;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The pids in the container's cgroup (v1: the pids hierarchy; v2: the unified one).
std::vector<std::string> cgroupPids(int pid) {
    std::vector<std::string> out;
    for (const auto& line : [&] {
             std::vector<std::string> lines;
             std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
             for (std::string l; std::getline(in, l);)
                 lines.push_back(l);
             return lines;
         }()) {
        // "N:pids:/day2/..." or "0::/..."
        const size_t a = line.find(':');
        const size_t b = line.find(':', a + 1);
        const std::string controllers = line.substr(a + 1, b - a - 1);
        const std::string path = line.substr(b + 1);
        std::string file;
        if (controllers == "pids")
            file = "/sys/fs/cgroup/pids" + path + "/cgroup.procs";
        else if (controllers.empty() && !fs::exists("/sys/fs/cgroup/pids"))
            file = "/sys/fs/cgroup" + path + "/cgroup.procs";
        if (file.empty())
            continue;
        std::ifstream in(file);
        for (std::string p; std::getline(in, p);)
            out.push_back(p);
    }
    return out;
}

size_t openFds(int pid) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++n;
    return n;
}

// The agent's children (the supervisors are nobody's: only exec processes would be here).
std::string childrenOf(int pid) {
    std::string all;
    for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
        all += readFile(t.path().string() + "/children");
    return all;
}

class ExecApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_skip = tasksUnavailable();
        if (!s_skip.empty())
            return;
        try {
            start();
        } catch (const std::exception& e) {
            s_skip = std::string("setting up failed: ") + e.what(); // reported as a failure
        }
    }
    static void start() {
        s_ns = new JournalNamespace("day2ex");
        s_parent = "day2-extest-" + std::to_string(::getpid());
        s_state = "/tmp/day2-exec-test-" + std::to_string(::getpid());
        s_agent = new TaskAgent(s_ns->name(), s_state, s_parent,
                                "allowed_users = [\"nobody\", \"root\"]\n");
        // A task as root that mounts a tmpfs only its mount namespace sees, writes a file there
        // and in its directory, then waits.
        const json c = s_agent->launch(
            {{"framework_id", "fw-exec"},
             {"framework_name", "marathon"},
             {"application_name", "shell"},
             {"user", "root"},
             {"shell", "mkdir -p inner && mount -t tmpfs none inner && echo inside > inner/file "
                       "&& echo $$ > ready && exec sleep 100000"}});
        s_cid = c["container_id"];
        s_sandbox = s_state + "/tasks/" + s_cid + "/sandbox";
        waitUntil([] { return fs::exists(s_sandbox + "/ready"); }, std::chrono::seconds(30));
        s_init = s_agent->task(s_cid)["pid"];
        // One as nobody.
        const json n = s_agent->launch({{"framework_id", "fw-exec"},
                                        {"framework_name", "marathon"},
                                        {"application_name", "plain"},
                                        {"shell", "exec sleep 100000"}});
        s_nobody = n["container_id"];
    }
    static void TearDownTestSuite() {
        if (s_agent)
            s_agent->clear();
        delete s_agent;
        s_agent = nullptr;
        removeCgroupParent(s_parent);
        std::error_code ec;
        fs::remove_all(s_state, ec);
        delete s_ns;
        s_ns = nullptr;
    }
    void SetUp() override {
        if (s_skip.rfind("setting up failed", 0) == 0)
            FAIL() << s_skip;
        if (!s_skip.empty())
            GTEST_SKIP() << s_skip;
    }

    static std::unique_ptr<WsClient> open(const std::string& cid,
                                          const std::vector<std::string>& command,
                                          const std::string& flags = "stdout=1&stderr=1",
                                          const std::vector<std::string>& protocols = kBoth) {
        HttpResponse refusal;
        auto c = WsClient::connect(s_agent->port(), execTarget(cid, command, flags), protocols, {},
                                   &refusal);
        if (!c)
            ADD_FAILURE() << "not upgraded: " << refusal.status << " " << refusal.body;
        return c;
    }
    // A Kubernetes client's script (tests/integration/) run against the root task:
    // `INTERPRETER SCRIPT [ARGS] PORT CONTAINER_ID`, its output with stderr (77: skipped).
    static auto runClient(const std::string& interpreter, const std::string& script,
                          const std::string& args = {}) {
        return runCapture(interpreter + " " DAY2_SOURCE_DIR "/tests/integration/" + script + " " +
                          (args.empty() ? "" : args + " ") + std::to_string(s_agent->port()) + " " +
                          s_cid + " 2>&1");
    }
    static WsClient::Session run(const std::string& cid, const std::vector<std::string>& command) {
        auto c = open(cid, command);
        return c ? c->readSession() : WsClient::Session{};
    }

    static inline std::string s_skip;
    static inline JournalNamespace* s_ns = nullptr;
    static inline TaskAgent* s_agent = nullptr;
    static inline std::string s_parent;
    static inline std::string s_state;
    static inline std::string s_cid;
    static inline std::string s_nobody;
    static inline std::string s_sandbox;
    static inline int s_init = 0;
};

const std::string kSuccess = R"({"metadata":{},"status":"Success"})";

TEST_F(ExecApi, TheProcessIsInsideTheTasksNamespacesCgroupDirectoryAndUser) {
    auto s = run(s_cid, {"hostname"});
    EXPECT_TRUE(s.ready);
    EXPECT_EQ(s.out, s_cid.substr(0, 12) + "\n");
    EXPECT_EQ(s.status, kSuccess);
    EXPECT_EQ(s.statusMessages, 1);
    EXPECT_TRUE(s.closed);
    EXPECT_EQ(s.closeCode, 1000);

    // pid 1 is the container's init, as the host sees it.
    s = run(s_cid, {"cat", "/proc/1/cmdline"});
    EXPECT_EQ(s.out, readFile("/proc/" + std::to_string(s_init) + "/cmdline"));
    EXPECT_FALSE(s.out.empty());

    // A file in a tmpfs only the task's mount namespace has, found from its directory.
    ASSERT_FALSE(fs::exists(s_sandbox + "/inner/file")) << "the tmpfs leaked to the host";
    s = run(s_cid, {"cat", "inner/file"});
    EXPECT_EQ(s.out, "inside\n") << s.err;

    s = run(s_cid, {"sh", "-c", "id -u; pwd; echo $$ > /dev/null; cat /proc/self/cgroup"});
    EXPECT_EQ(s.out.substr(0, s.out.find('\n')), "0");
    EXPECT_NE(s.out.find(s_sandbox + "\n"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find(s_cid), std::string::npos) << "not in the container's cgroup: " << s.out;

    // The nobody task's sessions run as nobody.
    s = run(s_nobody, {"id", "-u"});
    EXPECT_EQ(s.out, "65534\n");
}

TEST_F(ExecApi, ExitCodesSignalsAndCommandsThatCannotStart) {
    auto s = run(s_cid, {"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(s.out, "out\n");
    EXPECT_EQ(s.err, "err\n");
    const json st = json::parse(s.status);
    EXPECT_EQ(st["status"], "Failure");
    EXPECT_EQ(st["reason"], "NonZeroExitCode");
    EXPECT_EQ(st["details"]["causes"][0]["reason"], "ExitCode");
    EXPECT_EQ(st["details"]["causes"][0]["message"], "3");
    EXPECT_EQ(s.statusMessages, 1);

    s = run(s_cid, {"sh", "-c", "kill -9 $$"});
    EXPECT_EQ(json::parse(s.status)["details"]["causes"][0]["message"], "137") << s.status;

    s = run(s_cid, {"no-such-command-here"});
    EXPECT_EQ(json::parse(s.status)["details"]["causes"][0]["message"], "127") << s.status;
    s = run(s_cid, {"/etc/passwd"});
    EXPECT_EQ(json::parse(s.status)["details"]["causes"][0]["message"], "126") << s.status;
}

TEST_F(ExecApi, ATerminalFollowsResizeAndStdinEndsOnV5Eof) {
    auto c = open(s_cid, {"sh", "-c", "stty size; read x; stty size; echo \"$TERM\""},
                  "stdin=1&stdout=1&tty=1");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->protocol(), "v5.channel.k8s.io");
    auto ready = c->read();
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->data, std::string(1, '\1'));
    // The first size, then a new one (two objects in one message, lower case as client-node).
    std::string out;
    ASSERT_TRUE(c->readUntil("24 80", out)) << out;
    c->sendChannel(4, R"({"Width":90,"Height":20}{"width":100,"height":30})");
    c->sendChannel(0, "go\r");
    auto s = c->readSession();
    EXPECT_NE(s.out.find("30 100"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("xterm-256color"), std::string::npos) << s.out;
    EXPECT_EQ(s.status, kSuccess);

    // cat echoes stdin (a text message, as the Python client sends) and ends on [255, 0].
    c = open(s_cid, {"cat"}, "stdin=1&stdout=1&stderr=1");
    ASSERT_TRUE(c);
    c->sendChannel(0, "hello ", true);
    c->sendChannel(0, "world\n");
    c->sendFrame(WsClient::Binary, std::string("\xff\x00", 2));
    s = c->readSession();
    EXPECT_EQ(s.out, "hello world\n");
    EXPECT_EQ(s.status, kSuccess);
}

TEST_F(ExecApi, TwoMillionLinesArriveByteForByte) {
    std::string expected;
    expected.reserve(15'000'000);
    for (int i = 1; i <= 2'000'000; ++i)
        expected += std::to_string(i) + "\n";
    auto s = run(s_cid, {"seq", "1", "2000000"});
    EXPECT_EQ(s.out.size(), expected.size());
    EXPECT_TRUE(s.out == expected);
    EXPECT_EQ(s.status, kSuccess);
}

TEST_F(ExecApi, SixteenSessionsSideBySide) {
    std::vector<std::future<WsClient::Session>> sessions;
    for (int i = 0; i < 16; ++i)
        sessions.push_back(std::async(std::launch::async, [i] {
            return run(s_cid, {"sh", "-c", "sleep 0.5; seq 1 " + std::to_string(1000 * (i + 1))});
        }));
    for (int i = 0; i < 16; ++i) {
        auto s = sessions[static_cast<size_t>(i)].get();
        EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 1000 * (i + 1));
        EXPECT_EQ(s.status, kSuccess);
    }
}

TEST_F(ExecApi, AClientThatGoesLeavesNoProcessBehind) {
    const auto before = cgroupPids(s_init);
    auto c = open(s_cid, {"sh", "-c", "echo started; sleep 100000"}, "stdin=1&stdout=1&tty=1");
    ASSERT_TRUE(c);
    std::string out;
    ASSERT_TRUE(c->readUntil("started", out)) << out;
    EXPECT_GT(cgroupPids(s_init).size(), before.size());
    c->drop();
    EXPECT_TRUE(waitUntil([&] { return cgroupPids(s_init) == before; }, std::chrono::seconds(30)))
        << "left in the task's cgroup";
}

// The command exits while a background child still holds its output: what was written arrives,
// the child gets the drain time (2 s), then the session's process group is killed and the
// status follows; nothing is left in the task's cgroup.
TEST_F(ExecApi, ABackgroundChildHoldingTheOutputGetsTheDrainThenIsKilled) {
    const auto before = cgroupPids(s_init);
    const auto started = std::chrono::steady_clock::now();
    auto s =
        run(s_cid, {"sh", "-c", "echo main; (sleep 100000; echo never) & echo $! > bg; exit 0"});
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(s.out, "main\n");
    EXPECT_EQ(s.status, kSuccess);
    EXPECT_EQ(s.statusMessages, 1);
    EXPECT_TRUE(s.closed);
    EXPECT_GE(took, std::chrono::milliseconds(1900)) << "the child was not given the drain time";
    EXPECT_TRUE(waitUntil([&] { return cgroupPids(s_init) == before; }, std::chrono::seconds(30)))
        << "the background child was left in the task's cgroup";

    // With a tty and job control, the job is in a process group of its own: the session's
    // members go too.
    auto c =
        open(s_cid, {"sh", "-c", "set -m; sleep 100000 & echo started; exit 0"}, "stdout=1&tty=1");
    ASSERT_TRUE(c);
    s = c->readSession();
    EXPECT_NE(s.out.find("started"), std::string::npos) << s.out;
    EXPECT_EQ(s.status, kSuccess);
    EXPECT_TRUE(waitUntil([&] { return cgroupPids(s_init) == before; }, std::chrono::seconds(30)))
        << "the job was left in the task's cgroup";
}

TEST_F(ExecApi, ATaskThatEndsMidSessionEndsItWithAStatus) {
    const json t = s_agent->launch({{"framework_id", "fw-exec"},
                                    {"framework_name", "marathon"},
                                    {"application_name", "short"},
                                    {"shell", "exec sleep 100000"}});
    const std::string cid = t["container_id"];
    auto c = open(cid, {"sh", "-c", "echo in; sleep 100000"});
    ASSERT_TRUE(c);
    std::string out;
    ASSERT_TRUE(c->readUntil("in", out)) << out;
    httpRequest(s_agent->port(), "DELETE", "/system/v1/tasks/v1/" + cid);
    auto s = c->readSession();
    EXPECT_EQ(s.statusMessages, 1);
    EXPECT_EQ(json::parse(s.status)["status"], "Failure") << s.status;
    EXPECT_TRUE(s.closed);
    s_agent->waitFinished(cid);
    // A finished task: 409.
    HttpResponse refusal;
    EXPECT_FALSE(
        WsClient::connect(s_agent->port(), execTarget(cid, {"true"}), kBoth, {}, &refusal));
    EXPECT_EQ(refusal.status, 409) << refusal.body;
}

TEST_F(ExecApi, BadRequestsAreRefusedBeforeTheUpgrade) {
    HttpResponse r;
    EXPECT_FALSE(WsClient::connect(s_agent->port(), execTarget("no-such-container", {"true"}),
                                   kBoth, {}, &r));
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_FALSE(WsClient::connect(
        s_agent->port(), "/system/v1/exec/v1/containers/" + s_cid + "?stdout=1", kBoth, {}, &r));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_FALSE(WsClient::connect(s_agent->port(), execTarget(s_cid, {"true"}),
                                   {"channel.k8s.io", "base64.channel.k8s.io"}, {}, &r));
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("v5.channel.k8s.io"), std::string::npos) << r.body;
    // Without an upgrade.
    r = httpGet(s_agent->port(), execTarget(s_cid, {"true"}));
    EXPECT_EQ(r.status, 400) << r.body;
    // v4 alone is spoken.
    auto c = open(s_cid, {"true"}, "stdout=1", {"v4.channel.k8s.io"});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->protocol(), "v4.channel.k8s.io");
    EXPECT_EQ(c->readSession().status, kSuccess);
}

TEST_F(ExecApi, MalformedMessagesAreSaidAndTheSessionGoesOn) {
    auto c = open(s_cid, {"cat"}, "stdin=1&stdout=1&stderr=1");
    ASSERT_TRUE(c);
    c->sendChannel(7, "what");
    c->sendChannel(4, "{not json");
    c->sendChannel(0, "still here\n");
    c->sendFrame(WsClient::Binary, std::string("\xff\x00", 2));
    auto s = c->readSession();
    EXPECT_EQ(s.out, "still here\n");
    EXPECT_NE(s.err.find("7"), std::string::npos) << s.err;
    EXPECT_NE(s.err.find("resize"), std::string::npos) << s.err;
    EXPECT_EQ(s.status, kSuccess);
    EXPECT_EQ(s.statusMessages, 1);

    // A message over the limit closes the session with 1009.
    c = open(s_cid, {"cat"}, "stdin=1&stdout=1");
    ASSERT_TRUE(c);
    c->sendChannel(0, std::string(2 << 20, 'x'));
    s = c->readSession();
    EXPECT_TRUE(s.closed);
    EXPECT_EQ(s.closeCode, 1009);
}

// The Kubernetes Python client's WSClient, unchanged (v4, text messages, "True" flags).
TEST_F(ExecApi, TheKubernetesPythonClientWorksUnchanged) {
    const auto r = runClient("/usr/bin/python3", "exec_python_client.py");
    if (r.exitCode == 77)
        GTEST_SKIP() << r.output;
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const json got = json::parse(r.output);
    EXPECT_EQ(got["stdout"], "out\n");
    EXPECT_EQ(got["stderr"], "err\n");
    EXPECT_EQ(got["returncode"], 3);
    EXPECT_EQ(got["echo"], "hello from python");
    EXPECT_NE(got["tty"].get<std::string>().find("33 111"), std::string::npos) << got["tty"];
    EXPECT_EQ(got["tty_returncode"], 0);
}

// @kubernetes/client-node is not a Debian package: the test runs where it was installed with
// npm and DAY2_KUBERNETES_CLIENT_NODE names its directory (docs/DEVELOPING.md), else it skips.
TEST_F(ExecApi, TheKubernetesJavaScriptClientWorksUnchanged) {
    if (::access("/usr/bin/node", X_OK) != 0)
        GTEST_SKIP() << "no Node.js (/usr/bin/node)";
    const auto r = runClient("/usr/bin/node", "exec_node_client.mjs");
    if (r.exitCode == 77)
        GTEST_SKIP() << r.output;
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const json got = json::parse(r.output);
    EXPECT_EQ(got["stdout"], "out\n");
    EXPECT_EQ(got["stderr"], "err\n");
    EXPECT_EQ(got["status"]["reason"], "NonZeroExitCode");
    EXPECT_EQ(got["status"]["details"]["causes"][0]["message"], "3");
    EXPECT_EQ(got["echo"], "hello from node\n");
    EXPECT_EQ(got["echo_status"], "Success");
    EXPECT_NE(got["tty"].get<std::string>().find("33 111"), std::string::npos) << got["tty"];
    EXPECT_EQ(got["tty_status"], "Success");
}

// kubectl >= 1.30 (exec over WebSocket, v5 first), unchanged but for the path: a shim stands
// for the API server (exec_kubectl.py). kubectl is not a Debian package (Debian 12's
// kubernetes-client is 1.20, SPDY only): the test runs where one is installed (DAY2_KUBECTL, else
// kubectl on the PATH), and skips otherwise.
TEST_F(ExecApi, KubectlExecWorksUnchanged) {
    const char* kubectl = std::getenv("DAY2_KUBECTL");
    const auto r = runClient("/usr/bin/python3", "exec_kubectl.py", kubectl ? kubectl : "kubectl");
    if (r.exitCode == 77)
        GTEST_SKIP() << r.output;
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const json got = json::parse(r.output);
    EXPECT_EQ(got["status"]["stdout"], "out\n");
    EXPECT_NE(got["status"]["stderr"].get<std::string>().find("err\n"), std::string::npos)
        << got["status"];
    EXPECT_EQ(got["status"]["code"], 3) << got["status"];
    EXPECT_EQ(got["stdin"]["stdout"], "hello from kubectl\n") << got["stdin"];
    EXPECT_EQ(got["stdin"]["code"], 0) << got["stdin"];
}

// A client that does not read: the agent stops reading the process's output (it blocks), its
// memory does not grow with what the process would write, and every byte comes once it reads.
TEST_F(ExecApi, ASlowClientSlowsTheProcessNotTheAgentsMemory) {
    const int agent = s_agent->process().pid();
    auto rss = [agent] {
        std::ifstream in("/proc/" + std::to_string(agent) + "/status");
        for (std::string line; std::getline(in, line);)
            if (line.rfind("VmRSS:", 0) == 0)
                return std::stol(line.substr(6)) * 1024;
        return 0L;
    };
    const long before = rss();
    auto c = open(s_cid, {"head", "-c", "209715200", "/dev/zero"}, "stdout=1&stderr=1");
    ASSERT_TRUE(c);
    std::this_thread::sleep_for(std::chrono::seconds(2)); // the process writes, nobody reads
    const long during = rss();
    EXPECT_LT(during - before, 32L << 20) << "the agent buffered what the client did not read";
    uint64_t got = 0;
    std::string status;
    for (;;) {
        auto m = c->read(std::chrono::seconds(60));
        ASSERT_TRUE(m);
        if (m->opcode == WsClient::Close)
            break;
        if (m->data.size() > 1 && m->data[0] == 1)
            got += m->data.size() - 1;
        else if (!m->data.empty() && m->data[0] == 3)
            status = m->data.substr(1);
    }
    EXPECT_EQ(got, 209715200u);
    EXPECT_EQ(status, kSuccess);
}

TEST_F(ExecApi, AThousandSessionsLeaveNoZombieAndNoDescriptor) {
    const int agent = s_agent->process().pid();
    // Warm up (the first sessions allocate what stays: thread pool, buffers).
    for (int i = 0; i < 5; ++i)
        run(s_cid, {"true"});
    const size_t fds = openFds(agent);
    for (int i = 0; i < 1000; ++i) {
        auto s = run(s_cid, {"true"});
        ASSERT_EQ(s.status, kSuccess) << "session " << i;
    }
    EXPECT_TRUE(waitUntil([&] { return childrenOf(agent).empty(); }, std::chrono::seconds(10)))
        << "children left: " << childrenOf(agent);
    EXPECT_TRUE(waitUntil([&] { return openFds(agent) <= fds; }, std::chrono::seconds(10)))
        << openFds(agent) << " descriptors, " << fds << " before";
}

} // namespace
