// Exec into a real container: one started with tasks::startContainerProcess (new pid, mount,
// uts and ipc namespaces, a tmpfs on its /tmp, a hostname of its own) in a real cgroup set made
// for this test and removed after it. Needs root.
#include "exec/exec_process.h"

#include "tasks/cgroups.h"
#include "tasks/container_process.h"
#include "tasks/task_spec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace day2::exec;
using namespace std::chrono_literals;
namespace tasks = day2::tasks;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kNobody = 65534;
constexpr auto kLimit = 60s; // for a condition to come true, on a loaded machine

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

// Reads the nonblocking `fd` into `got` until `until` is in it (or, when empty, until EOF; a
// pty's master says EIO once the terminal is closed). False on the time limit.
bool readUntil(int fd, std::string& got, std::string_view until = {}) {
    const auto deadline = std::chrono::steady_clock::now() + kLimit;
    for (;;) {
        if (!until.empty() && got.find(until) != std::string::npos)
            return true;
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            got.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0 || (n < 0 && errno == EIO))
            return until.empty();
        if (errno != EAGAIN && errno != EINTR)
            return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= 0ms)
            return false;
        pollfd pfd{fd, POLLIN, 0};
        ::poll(&pfd, 1, static_cast<int>(left.count()));
    }
}

// The children of this process, zombies included, from every thread's list.
std::set<pid_t> ourChildren() {
    std::set<pid_t> out;
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
        std::istringstream in(slurp(task.path() / "children"));
        pid_t pid;
        while (in >> pid)
            out.insert(pid);
    }
    return out;
}

size_t openDescriptors() {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

bool isCloseOnExec(int fd) {
    return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}
bool isNonblocking(int fd) {
    return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

// A container for the tests: its init is this process's child (killed with it), its cgroups
// are made under a name of this test's and removed with it.
class TestContainer {
public:
    // Starts it in a cgroup set of `mode` ("auto", "v1", "v2"): "" or why it cannot here.
    std::string start(const std::string& mode) {
        auto cgroups = tasks::Cgroups::detect(mode, "/proc/self/mountinfo");
        if (!cgroups)
            return "no cgroups of mode " + mode + " here: " + cgroups.error().message;
        const std::string name = "day2-exec-test-" + mode + "-" + std::to_string(::getpid());
        auto set = cgroups->create("", name, {});
        if (!set)
            return "cannot create a cgroup: " + set.error().message;
        m_cgroup = *set;
        m_cgroupMade = true;

        m_hostname = "day2-exec-" + std::to_string(::getpid());
        m_insideFile = "/tmp/day2-exec-inside-" + std::to_string(::getpid());
        tasks::ContainerSpec spec;
        // A tmpfs on its /tmp: the marker exists in the container's mount namespace only.
        spec.argv = {"/bin/sh", "-c",
                     "mount -t tmpfs -o mode=1777 day2-exec-test /tmp && echo marker > " +
                         m_insideFile + " && hostname && exec sleep 1000"};
        spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
        spec.workdir = "/";
        spec.hostname = m_hostname;
        spec.cgroup = m_cgroup;
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0)
            return std::string("pipe: ") + std::strerror(errno);
        m_output = out[0];
        auto started = tasks::startContainerProcess(spec, out[1], out[1], true);
        ::close(out[1]);
        if (!started)
            return "cannot start the container: " + started.error().message;
        m_process = *started;
        if (m_process.failure.stage != tasks::StartStage::None)
            return "the container did not start: " + m_process.failure.reason(spec.argv[0]);
        // Ready once it said its hostname: the tmpfs and the marker are there.
        ::fcntl(m_output, F_SETFL, O_NONBLOCK);
        std::string said;
        if (!readUntil(m_output, said, m_hostname + "\n"))
            return "the container never said its hostname; it said: " + said;
        m_startTicks = tasks::processStartTicks(m_process.init);
        return {};
    }

    // The container's init killed (the kernel kills the rest of its pid namespace with it) and
    // reaped, by pid; the cgroups emptied and removed.
    ~TestContainer() {
        if (m_process.init > 0) {
            ::kill(m_process.init, SIGKILL);
            ::waitpid(m_process.init, nullptr, 0);
        }
        if (m_process.reportFd >= 0)
            ::close(m_process.reportFd);
        if (m_output >= 0)
            ::close(m_output);
        if (m_cgroupMade) {
            auto removed = tasks::cgroupRemove(m_cgroup);
            EXPECT_TRUE(removed) << removed.error().message;
        }
    }

    ExecTarget target() const {
        ExecTarget t;
        t.initPid = m_process.init;
        t.initStartTicks = m_startTicks;
        t.cgroup = m_cgroup;
        t.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "EXEC_TEST=task-env"};
        t.uid = kNobody;
        t.gid = kNobody;
        t.groups = {kNobody};
        t.workdir = "/tmp";
        return t;
    }

    pid_t init() const { return m_process.init; }
    const std::string& hostname() const { return m_hostname; }
    const std::string& insideFile() const { return m_insideFile; }

private:
    tasks::CgroupSet m_cgroup;
    bool m_cgroupMade = false;
    tasks::ContainerProcess m_process;
    uint64_t m_startTicks = 0;
    int m_output = -1;
    std::string m_hostname, m_insideFile;
};

struct Ran {
    std::string out, err;
    ExecExit exit{-1, 0};
};

ExecProcess startOrFail(const ExecTarget& target, const ProcessRequest& request) {
    auto started = startExec(target, request);
    if (!started) {
        ADD_FAILURE() << "startExec: " << started.error().message;
        return {};
    }
    if (auto* error = std::get_if<ExecStartError>(&*started)) {
        ADD_FAILURE() << "did not start: " << error->exitCode << " " << error->reason;
        return {};
    }
    return std::move(std::get<ExecProcess>(*started));
}

// Waits for the process to end (its pidfd turns readable), with the limit, and reaps it.
ExecExit reapOrFail(ExecProcess& process) {
    pollfd pfd{process.pidfd, POLLIN, 0};
    const int ms = static_cast<int>(std::chrono::milliseconds(kLimit).count());
    while (::poll(&pfd, 1, ms) < 0 && errno == EINTR) {
    }
    auto ended = reapExec(process, false);
    if (!ended || !*ended) {
        ADD_FAILURE() << "reapExec: " << (ended ? "still running" : ended.error().message);
        return {-1, 0};
    }
    return **ended;
}

// Runs argv without a tty: its stdout and stderr to their ends, then how it ended.
Ran run(const ExecTarget& target, std::vector<std::string> argv) {
    ProcessRequest request;
    request.argv = std::move(argv);
    ExecProcess process = startOrFail(target, request);
    Ran ran;
    if (process.pid <= 0)
        return ran;
    EXPECT_TRUE(readUntil(process.stdoutFd, ran.out)) << "no EOF on stdout";
    EXPECT_TRUE(readUntil(process.stderrFd, ran.err)) << "no EOF on stderr";
    ran.exit = reapOrFail(process);
    return ran;
}

std::string runOut(const ExecTarget& target, std::vector<std::string> argv) {
    const Ran ran = run(target, std::move(argv));
    EXPECT_EQ(ran.exit.exitCode, 0) << ran.err;
    return trimmed(ran.out);
}

ExecStartError startError(const ExecTarget& target, std::vector<std::string> argv) {
    ProcessRequest request;
    request.argv = std::move(argv);
    auto started = startExec(target, request);
    if (!started) {
        ADD_FAILURE() << "startExec: " << started.error().message;
        return {};
    }
    if (auto* error = std::get_if<ExecStartError>(&*started))
        return *error;
    ADD_FAILURE() << "it started";
    return {};
}

// The suite's container, started once for all of ExecInContainer's tests.
std::string suiteSkip, suiteFailure;
TestContainer* suiteContainer = nullptr;

class ExecInContainer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (::geteuid() != 0) {
            suiteSkip = "entering a container's namespaces and cgroups needs root";
            return;
        }
        suiteContainer = new TestContainer;
        suiteFailure = suiteContainer->start("auto");
    }
    static void TearDownTestSuite() {
        delete suiteContainer;
        suiteContainer = nullptr;
    }
    void SetUp() override {
        if (!suiteSkip.empty())
            GTEST_SKIP() << suiteSkip;
        ASSERT_TRUE(suiteFailure.empty()) << suiteFailure;
    }
    static const TestContainer& container() { return *suiteContainer; }
};

} // namespace

TEST_F(ExecInContainer, SeesTheContainersNamespacesRootAndWorkdir) {
    const ExecTarget target = container().target();
    EXPECT_EQ(runOut(target, {"hostname"}), container().hostname());
    // pid 1 in its pid namespace is the container's init (a fork of this test: its cmdline).
    const std::string initCmdline =
        slurp("/proc/" + std::to_string(container().init()) + "/cmdline");
    ASSERT_FALSE(initCmdline.empty());
    EXPECT_EQ(run(target, {"cat", "/proc/1/cmdline"}).out, initCmdline);
    // The marker is in the container's /tmp (a tmpfs of its mount namespace), not the host's.
    EXPECT_FALSE(fs::exists(container().insideFile()));
    EXPECT_EQ(runOut(target, {"cat", container().insideFile()}), "marker");
    EXPECT_EQ(runOut(target, {"pwd"}), "/tmp");
    EXPECT_EQ(runOut(target, {"cat", fs::path(container().insideFile()).filename()}), "marker");
    // Every namespace is the init's.
    for (const char* ns : {"mnt", "pid", "net", "uts", "ipc", "cgroup", "user"}) {
        const std::string theirs =
            fs::read_symlink("/proc/" + std::to_string(container().init()) + "/ns/" + ns);
        EXPECT_EQ(runOut(target, {"readlink", std::string("/proc/self/ns/") + ns}), theirs) << ns;
    }
}

TEST_F(ExecInContainer, RunsAsTheTasksUserWithItsEnvironmentAndCleanSignals) {
    const ExecTarget target = container().target();
    EXPECT_EQ(runOut(target, {"id", "-u"}), "65534");
    EXPECT_EQ(runOut(target, {"id", "-g"}), "65534");
    EXPECT_EQ(runOut(target, {"id", "-G"}), "65534");

    // Nothing of the agent's: its environment, an ignored and a blocked signal, an inheritable
    // descriptor.
    ::setenv("DAY2_EXEC_AGENT_ONLY", "1", 1);
    struct sigaction ignore {};
    struct sigaction oldUsr1 {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGUSR1, &ignore, &oldUsr1);
    // And glibc's own signal 33 ignored (its sigaction() refuses it; a parent may have done it
    // with the raw call, as CI's environment once had 32 and 33 ignored).
    struct KernelSigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        uint64_t mask;
    };
    const KernelSigaction ignore33{SIG_IGN, 0, nullptr, 0};
    KernelSigaction old33{};
    ::syscall(SYS_rt_sigaction, 33, &ignore33, &old33, sizeof(uint64_t));
    sigset_t usr2, oldMask;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &usr2, &oldMask);
    const int inheritable = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(inheritable, 0);

    const std::string env = runOut(target, {"env"});
    const std::string status =
        runOut(target, {"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"});
    const std::string fds = runOut(target, {"ls", "/proc/self/fd"});

    ::close(inheritable);
    ::pthread_sigmask(SIG_SETMASK, &oldMask, nullptr);
    ::sigaction(SIGUSR1, &oldUsr1, nullptr);
    ::syscall(SYS_rt_sigaction, 33, &old33, nullptr, sizeof(uint64_t));
    ::unsetenv("DAY2_EXEC_AGENT_ONLY");

    EXPECT_NE(("\n" + env + "\n").find("\nEXEC_TEST=task-env\n"), std::string::npos) << env;
    EXPECT_EQ(env.find("DAY2_EXEC_AGENT_ONLY"), std::string::npos) << env;
    EXPECT_EQ(env.find("TERM="), std::string::npos) << env; // only with a tty
    EXPECT_EQ(status, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000");
    EXPECT_EQ(fds, "0\n1\n2\n3"); // 3: ls's own listing of the directory
}

TEST_F(ExecInContainer, ReportsTheExitStatusOrTheSignal) {
    const ExecTarget target = container().target();
    const Ran three = run(target, {"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(three.exit.exitCode, 3);
    EXPECT_EQ(three.exit.signal, 0);
    EXPECT_EQ(three.out, "out\n");
    EXPECT_EQ(three.err, "err\n");

    const Ran term = run(target, {"sh", "-c", "kill -TERM $$"});
    EXPECT_EQ(term.exit.exitCode, 128 + SIGTERM);
    EXPECT_EQ(term.exit.signal, SIGTERM);
}

TEST_F(ExecInContainer, ACommandThatCannotStartIsReportedBeforeStartExecReturns) {
    const std::set<pid_t> before = ourChildren();
    ExecTarget target = container().target();
    const ExecStartError missing = startError(target, {"no-such-command-day2"});
    EXPECT_EQ(missing.exitCode, 127);
    EXPECT_EQ(missing.reason, "command not found: no-such-command-day2");

    const ExecStartError notExecutable = startError(target, {"/etc/passwd"});
    EXPECT_EQ(notExecutable.exitCode, 126);
    EXPECT_EQ(notExecutable.reason, "permission denied: /etc/passwd");

    target.workdir = "/no-such-dir";
    const ExecStartError workdir = startError(target, {"true"});
    EXPECT_EQ(workdir.exitCode, 1);
    EXPECT_EQ(workdir.reason,
              "cannot enter the working directory /no-such-dir: No such file or directory");
    // Each process that failed was reaped.
    EXPECT_EQ(ourChildren(), before);
}

TEST_F(ExecInContainer, RefusesAnInitWhosePidWasReused) {
    ExecTarget target = container().target();
    target.initStartTicks += 1;
    ProcessRequest request;
    request.argv = {"true"};
    auto started = startExec(target, request);
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().status, 409u) << started.error().message;
}

TEST_F(ExecInContainer, IsTheAgentsChildInTheContainersCgroups) {
    ProcessRequest request;
    request.argv = {"sleep", "1000"};
    ExecProcess process = startOrFail(container().target(), request);
    ASSERT_GT(process.pid, 0);
    for (int fd : {process.pidfd, process.stdoutFd, process.stderrFd})
        EXPECT_TRUE(isCloseOnExec(fd)) << fd;
    EXPECT_TRUE(isNonblocking(process.stdoutFd));
    EXPECT_TRUE(isNonblocking(process.stderrFd));
    EXPECT_EQ(process.stdinFd, -1);

    const std::string proc = "/proc/" + std::to_string(process.pid);
    const std::string statText = slurp(proc + "/stat");
    std::istringstream stat(statText.substr(statText.rfind(')') + 2));
    std::string state;
    pid_t parent = 0;
    stat >> state >> parent;
    EXPECT_EQ(parent, ::getpid());
    // Every hierarchy: the container's where it has one (all of them but cpuset, devices and
    // systemd's), this process's (its supervisor's, here) elsewhere: as its init.
    const std::string cgroups = slurp(proc + "/cgroup");
    EXPECT_EQ(cgroups, slurp("/proc/" + std::to_string(container().init()) + "/cgroup"));
    EXPECT_NE(cgroups.find("day2-exec-test-"), std::string::npos) << cgroups;

    EXPECT_TRUE(kill(process));
    const ExecExit ended = reapOrFail(process);
    EXPECT_EQ(ended.exitCode, 128 + SIGKILL);
    EXPECT_FALSE(kill(process)) << "signalled a reaped pid";
}

TEST_F(ExecInContainer, HangUpAndKillEndTheWholeProcessGroup) {
    for (const int sig : {SIGHUP, SIGKILL}) {
        ProcessRequest request;
        // A background child in the same process group holds stdout too.
        request.argv = {"sh", "-c", "sleep 1000 & echo started; wait"};
        ExecProcess process = startOrFail(container().target(), request);
        ASSERT_GT(process.pid, 0);
        std::string out;
        ASSERT_TRUE(readUntil(process.stdoutFd, out, "started\n")) << out;
        EXPECT_TRUE(sig == SIGHUP ? hangUp(process) : kill(process));
        EXPECT_EQ(reapOrFail(process).exitCode, 128 + sig);
        // EOF only once the background sleep is gone as well.
        EXPECT_TRUE(readUntil(process.stdoutFd, out)) << "the background child survived";
    }
}

TEST_F(ExecInContainer, StdinPipeIsEchoedAndClosingItEndsCat) {
    ProcessRequest request;
    request.argv = {"cat"};
    request.stdinOpen = true;
    ExecProcess process = startOrFail(container().target(), request);
    ASSERT_GT(process.pid, 0);
    EXPECT_TRUE(isCloseOnExec(process.stdinFd));
    EXPECT_TRUE(isNonblocking(process.stdinFd));
    const std::string line = "hello from exec\n";
    ASSERT_EQ(::write(process.stdinFd, line.data(), line.size()),
              static_cast<ssize_t>(line.size()));
    std::string out;
    EXPECT_TRUE(readUntil(process.stdoutFd, out, line)) << out;
    ::close(std::exchange(process.stdinFd, -1));
    EXPECT_TRUE(readUntil(process.stdoutFd, out));
    EXPECT_EQ(out, line);
    EXPECT_EQ(reapOrFail(process).exitCode, 0);

    // Without stdinOpen, stdin is /dev/null: cat ends at once.
    EXPECT_EQ(run(container().target(), {"cat"}).exit.exitCode, 0);
}

TEST_F(ExecInContainer, TerminalHasTheRequestedSizeAndFollowsResize) {
    ProcessRequest request;
    request.argv = {"sh", "-c", "echo term=$TERM; tty; stty size; read line; stty size"};
    request.tty = true;
    request.cols = 100;
    request.rows = 30;
    ExecTarget target = container().target();
    target.env.push_back("TERM=dumb"); // the client's terminal is an xterm
    ExecProcess process = startOrFail(target, request);
    ASSERT_GT(process.pid, 0);
    EXPECT_EQ(process.stdoutFd, -1);
    EXPECT_TRUE(isCloseOnExec(process.ptyMaster));
    EXPECT_TRUE(isNonblocking(process.ptyMaster));
    std::string out;
    ASSERT_TRUE(readUntil(process.ptyMaster, out, "30 100\r\n")) << out;
    EXPECT_NE(out.find("term=xterm-256color\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out; // a controlling terminal
    ASSERT_TRUE(resize(process.ptyMaster, 120, 40));
    ASSERT_EQ(::write(process.ptyMaster, "\n", 1), 1);
    EXPECT_TRUE(readUntil(process.ptyMaster, out)) << out; // EIO once it ended
    EXPECT_NE(out.find("40 120\r\n"), std::string::npos) << out;
    EXPECT_EQ(reapOrFail(process).exitCode, 0);
}

TEST_F(ExecInContainer, HangUpOrClosingTheTerminalEndsItsSession) {
    for (const bool closeTerminal : {false, true}) {
        ProcessRequest request;
        request.argv = {"sh", "-c", "echo started; sleep 1000"};
        request.tty = true;
        ExecProcess process = startOrFail(container().target(), request);
        ASSERT_GT(process.pid, 0);
        std::string out;
        ASSERT_TRUE(readUntil(process.ptyMaster, out, "started\r\n")) << out;
        // The terminal is the session's controlling terminal: the kernel hangs it up when the
        // master is closed (the client went away).
        if (closeTerminal)
            ::close(std::exchange(process.ptyMaster, -1));
        else
            EXPECT_TRUE(hangUp(process));
        EXPECT_EQ(reapOrFail(process).exitCode, 128 + SIGHUP) << closeTerminal;
    }
}

TEST_F(ExecInContainer, AThousandSessionsLeaveNoZombieAndNoDescriptor) {
    const ExecTarget target = container().target();
    const size_t fdsBefore = openDescriptors();
    const std::set<pid_t> childrenBefore = ourChildren();
    EXPECT_EQ(childrenBefore, std::set<pid_t>{container().init()});
    for (int i = 0; i < 1000; ++i) {
        ProcessRequest request;
        request.argv = {"true"};
        request.tty = i % 2 == 1;
        ExecProcess process = startOrFail(target, request);
        ASSERT_GT(process.pid, 0) << "session " << i;
        ASSERT_EQ(reapOrFail(process).exitCode, 0) << "session " << i;
    }
    // Sessions dropped while their process runs: killed and reaped by the destructor.
    for (int i = 0; i < 10; ++i) {
        ProcessRequest request;
        request.argv = {"sleep", "1000"};
        ExecProcess process = startOrFail(target, request);
        ASSERT_GT(process.pid, 0);
    }
    EXPECT_EQ(ourChildren(), childrenBefore);
    EXPECT_EQ(openDescriptors(), fdsBefore);
}

// The v2 way into the cgroup (clone3 CLONE_INTO_CGROUP), where a cgroup2 tree is mounted.
TEST(ExecInV2Container, IsClonedIntoTheContainersCgroup) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "entering a container's namespaces and cgroups needs root";
    TestContainer container;
    const std::string why = container.start("v2");
    if (why.rfind("no cgroups", 0) == 0)
        GTEST_SKIP() << why;
    ASSERT_TRUE(why.empty()) << why;
    const std::string cgroups = runOut(container.target(), {"cat", "/proc/self/cgroup"});
    EXPECT_NE(cgroups.find("0::/day2-exec-test-v2-"), std::string::npos) << cgroups;
    EXPECT_EQ(cgroups + "\n", slurp("/proc/" + std::to_string(container.init()) + "/cgroup"));
    EXPECT_EQ(runOut(container.target(), {"hostname"}), container.hostname());
}
