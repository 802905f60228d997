// The task supervisor against a real private journald: every line of a task's stdout and
// stderr arrives exactly once, in order, with the task's fields; long lines as marked parts;
// backpressure instead of loss. Each test runs with both transports: native datagrams, and
// journald's stdout stream with the fields from log scopes (server/tasks/log_scope.h).
#include "journal_namespace.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace day2::test;
using nlohmann::json;

namespace {

std::string supervisor() {
    return DAY2_SUPERVISOR_BINARY;
}

namespace fs = std::filesystem;

// Where journald looks a sender's unit up (as journaldCgroupTree() finds it).
std::string journaldTree() {
    for (const char* t :
         {"/sys/fs/cgroup/cgroup.subtree_control", "/sys/fs/cgroup/unified/cgroup.procs",
          "/sys/fs/cgroup/systemd/cgroup.procs"})
        if (fs::exists(t))
            return fs::path(t).parent_path().string();
    return {};
}

class TaskLogs : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why;
        if (!JournalNamespace::available(&why))
            GTEST_SKIP() << why;
        if (stream() && (::geteuid() != 0 || journaldTree().empty()))
            GTEST_SKIP()
                << "the stream transport needs root and a cgroup tree for journald's units";
        m_ns = std::make_unique<JournalNamespace>("day2tasks");
    }
    void TearDown() override {
        for (const auto& cid : m_cids)
            std::remove(("/tmp/day2-status-" + cid).c_str());
        if (stream())
            ::rmdir((journaldTree() + "/" + slice()).c_str());
    }
    bool stream() const { return GetParam() == "stream"; }
    static std::string slice() {
        return "day2-tasklogs-test-" + std::to_string(::getpid()) + ".slice";
    }
    // Runs `shell` under the supervisor as container `cid`; returns its exit code.
    int runTask(const std::string& cid, const std::string& shell) {
        m_cids.push_back(cid);
        std::string cmd = supervisor() + " --journal-socket " + m_ns->socketPath() +
                          " --agent-id agent-1 --framework-id fw-1 --framework-name demo"
                          " --executor-id ex-1 --application-name app-" +
                          cid + " --container-id " + cid + " --status-file /tmp/day2-status-" +
                          cid + (stream() ? " --log-slice " + slice() : "") + " -- /bin/sh -c '" +
                          shell + "'";
        return runCapture(cmd).exitCode;
    }
    std::vector<json> entries(const std::string& cid) {
        // --all: without it journalctl shows fields over 4 KiB as null.
        return m_ns->journalctlJson("--all CONTAINER_ID=" + cid);
    }
    // How `e` reached journald: with the stream transport, on the stdout stream or (`datagram`)
    // as a native datagram, from the stream's log scope either way; else as a native datagram
    // from no unit.
    void expectTransport(const json& e, const std::string& cid, bool datagram) const {
        if (stream()) {
            const std::string s = e["STREAM"] == "STDERR" ? "stderr" : "stdout";
            EXPECT_EQ(e.value("_SYSTEMD_UNIT", ""), "day2-" + cid + "-" + s + ".scope");
            EXPECT_EQ(e["_TRANSPORT"], datagram ? "journal" : "stdout") << e["MESSAGE"];
        } else {
            EXPECT_FALSE(e.contains("_SYSTEMD_UNIT"));
            EXPECT_EQ(e["_TRANSPORT"], "journal");
        }
    }
    static std::string bytes(const json& v) {
        if (v.is_string())
            return v.get<std::string>();
        std::string s;
        for (const auto& b : v)
            s += static_cast<char>(b.get<int>());
        return s;
    }
    std::unique_ptr<JournalNamespace> m_ns;
    std::vector<std::string> m_cids;
};

} // namespace

TEST_P(TaskLogs, EveryLineOnceInOrderWithTheTasksFields) {
    ASSERT_EQ(runTask("c200k", "seq 1 200000"), 0);
    m_ns->waitForCount(200000, "CONTAINER_ID=c200k");
    auto e = entries("c200k");
    ASSERT_EQ(e.size(), 200000u);
    for (size_t i = 0; i < e.size(); ++i)
        ASSERT_EQ(e[i]["MESSAGE"], std::to_string(i + 1)) << i;
    const auto& f = e[0];
    EXPECT_EQ(f["AGENT_ID"], "agent-1");
    EXPECT_EQ(f["FRAMEWORK_ID"], "fw-1");
    EXPECT_EQ(f["FRAMEWORK_NAME"], "demo");
    EXPECT_EQ(f["EXECUTOR_ID"], "ex-1");
    EXPECT_EQ(f["APPLICATION_NAME"], "app-c200k");
    EXPECT_EQ(f["SYSLOG_IDENTIFIER"], "app-c200k");
    EXPECT_EQ(f["STREAM"], "STDOUT");
    EXPECT_EQ(f["PRIORITY"], "6");
    expectTransport(f, "c200k", false);
    expectTransport(e.back(), "c200k", false);
}

TEST_P(TaskLogs, LinesAStdoutStreamWouldAlterArriveAsWrittenAndInOrder) {
    // journald's stdout stream drops empty lines, strips trailing whitespace and ends a line at
    // NUL: such lines go as datagrams, between the others, in order.
    ASSERT_EQ(runTask("calter", "printf \"a\\n  lead\\ntrail  \\n\\ttab\\t\\ncrlf\\r\\n\\n   \\n"
                                "n\\000ul\\n\\377\\376\\n<3>not a priority\\nz\\n\""),
              0);
    const std::vector<std::string> want = {"a",        "  lead",
                                           "trail  ",  "\ttab\t",
                                           "crlf\r",   "",
                                           "   ",      std::string("n\0ul", 4),
                                           "\xff\xfe", "<3>not a priority",
                                           "z"};
    m_ns->waitForCount(want.size(), "CONTAINER_ID=calter");
    auto e = entries("calter");
    ASSERT_EQ(e.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(bytes(e[i]["MESSAGE"]), want[i]) << i;
        EXPECT_EQ(e[i]["STREAM"], "STDOUT") << i;
        EXPECT_EQ(e[i]["PRIORITY"], "6") << i;
        EXPECT_EQ(e[i]["FRAMEWORK_ID"], "fw-1") << i; // once: a field journald adds is not sent too
        // Stream lines and datagrams alternate, in order.
        const bool datagram = i >= 2 && i <= 7;
        expectTransport(e[i], "calter", datagram);
    }
}

TEST_P(TaskLogs, StdoutAndStderrAreToldApartAndTheExitStatusIsKept) {
    EXPECT_EQ(runTask("cerr", "echo out; echo err >&2; exit 3"), 3);
    m_ns->waitForCount(2, "CONTAINER_ID=cerr");
    auto e = entries("cerr");
    ASSERT_EQ(e.size(), 2u);
    std::map<std::string, json> byStream;
    for (const auto& x : e)
        byStream[x["STREAM"]] = x;
    EXPECT_EQ(byStream["STDOUT"]["MESSAGE"], "out");
    EXPECT_EQ(byStream["STDOUT"]["PRIORITY"], "6");
    EXPECT_EQ(byStream["STDERR"]["MESSAGE"], "err");
    EXPECT_EQ(byStream["STDERR"]["PRIORITY"], "3");
    for (const auto& x : e) {
        expectTransport(x, "cerr", false);
        EXPECT_EQ(x["CONTAINER_ID"], "cerr");
    }
    const json status = json::parse(runCommand("cat /tmp/day2-status-cerr"));
    EXPECT_EQ(status["exit_code"], 3);
    EXPECT_EQ(status["state"], "failed");
    EXPECT_EQ(status["reason"], "exit status 3");
}

TEST_P(TaskLogs, AOneMebibyteLineArrivesAsMarkedParts) {
    ASSERT_EQ(runTask("cbig", "head -c 1048576 /dev/zero | tr \"\\\\0\" a; echo; echo after"), 0);
    // 1 MiB / 48 KiB = 21 full parts and a 16 KiB last part, then the next line.
    m_ns->waitForCount(23, "CONTAINER_ID=cbig");
    auto e = entries("cbig");
    ASSERT_EQ(e.size(), 23u);
    std::string joined;
    for (size_t i = 0; i < 22; ++i) {
        EXPECT_EQ(e[i]["LINE_PART"], std::to_string(i + 1));
        EXPECT_EQ(e[i].contains("LINE_BREAK"), i < 21) << i;
        joined += bytes(e[i]["MESSAGE"]);
    }
    EXPECT_EQ(joined.size(), 1048576u);
    EXPECT_TRUE(joined == std::string(1048576, 'a')); // (not EXPECT_EQ: no 1 MiB diff on failure)
    EXPECT_EQ(e[22]["MESSAGE"], "after");
    EXPECT_FALSE(e[22].contains("LINE_PART"));
}

TEST_P(TaskLogs, FinalLineWithoutNewlineNulAndInvalidUtf8ArriveIntact) {
    ASSERT_EQ(runTask("craw", "printf \"x\\\\000y\\\\377z\\\\nlast\""), 0);
    m_ns->waitForCount(2, "CONTAINER_ID=craw");
    auto e = entries("craw");
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(bytes(e[0]["MESSAGE"]), std::string("x\0y\xffz", 5));
    EXPECT_EQ(bytes(e[1]["MESSAGE"]), "last");
    EXPECT_EQ(e[1]["LINE_BREAK"], "eof");
}

TEST_P(TaskLogs, WithoutAStdoutStreamLinesGoAsDatagramsFromTheScope) {
    if (!stream())
        GTEST_SKIP() << "a stream transport case";
    // A socket directory with journald's native socket and no stdout stream beside it.
    const std::string dir = "/tmp/day2-nostream-" + std::to_string(::getpid());
    fs::create_directories(dir);
    fs::create_symlink(m_ns->socketPath(), dir + "/socket");
    m_cids.push_back("cnostream");
    const std::string cmd = supervisor() + " --journal-socket " + dir +
                            "/socket --container-id cnostream --log-slice " + slice() +
                            " -- /bin/sh -c 'echo one; echo two >&2; echo three' 2>&1";
    auto run = runCapture(cmd);
    fs::remove_all(dir);
    ASSERT_EQ(run.exitCode, 0) << run.output;
    EXPECT_NE(run.output.find("sending every line as a datagram"), std::string::npos) << run.output;
    m_ns->waitForCount(3, "CONTAINER_ID=cnostream");
    auto e = entries("cnostream");
    ASSERT_EQ(e.size(), 3u);
    for (const auto& x : e)
        expectTransport(x, "cnostream", true);
}

TEST_P(TaskLogs, AMissingCommandIsReportedNotHung) {
    std::string cmd = supervisor() + " --journal-socket " + m_ns->socketPath() +
                      " --container-id cmiss" + (stream() ? " --log-slice " + slice() : "") +
                      " -- /nonexistent/day2-command";
    EXPECT_EQ(runCapture(cmd).exitCode, 127);
    m_ns->waitForCount(1, "CONTAINER_ID=cmiss");
    auto e = entries("cmiss");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0]["MESSAGE"].get<std::string>().find("cannot run '/nonexistent/day2-command'"),
              std::string::npos);
    EXPECT_EQ(e[0]["STREAM"], "STDERR");
    expectTransport(e[0], "cmiss", false);
}

TEST_P(TaskLogs, ASlowJournaldBlocksTheTaskInsteadOfLosingLines) {
    // 250,000 lines of ~100 bytes (25 MB) are more than the pipe and both socket buffers hold.
    pid_t journald = std::stoi(runCommand("pgrep -f 'systemd-journald " + m_ns->name() + "$'"));
    ASSERT_EQ(::kill(journald, SIGSTOP), 0);
    std::atomic<bool> finished{false};
    std::thread task([&] {
        runTask("cslow", "yes 0123456789012345678901234567890123456789012345678901234567890123"
                         "4567890123456789012345678901234 | head -n 250000");
        finished = true;
    });
    // The task's head (-x: that process itself, not a shell or the supervisor whose command
    // lines hold the same words) once it runs, or the task's end, whichever comes first.
    auto head = [] { return runCapture("pgrep -fx 'head -n 250000'").exitCode == 0; };
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!finished && !head() && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Then a while in which it could finish if lines were dropped: it is still running, its
    // writes blocked while journald does not read.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_FALSE(finished) << "the task finished although journald was stopped";
    EXPECT_TRUE(head()) << "the task's head is not running";
    ::kill(journald, SIGCONT);
    task.join();
    m_ns->waitForCount(250000, "CONTAINER_ID=cslow");
    EXPECT_EQ(entries("cslow").size(), 250000u);
}

INSTANTIATE_TEST_SUITE_P(Transports, TaskLogs, ::testing::Values("native", "stream"),
                         [](const auto& p) { return p.param; });
