#include "exec/exec_process.h"

#include "base/signals.h"

#include "base/c_string_array.h"
#include "tasks/task_spec.h" // processStartTicks

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/sched.h> // struct clone_args
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <utility>

extern char** environ;

namespace day2::exec {

namespace {

std::string errnoText(int e) {
    return std::strerror(e);
}

int pidfdOpen(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfdSignal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

void closeFd(int& fd) {
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

// An owned descriptor of the agent's side of startExec.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            closeFd(m_fd);
            m_fd = std::exchange(other.m_fd, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { closeFd(m_fd); }

    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }
    int release() { return std::exchange(m_fd, -1); }
    void reset() { closeFd(m_fd); }

private:
    int m_fd = -1;
};

// A descriptor the children keep must not be 0, 1 or 2, which they dup2 over (possible when
// the agent runs with a standard stream closed).
Result<Fd> aboveStdio(Fd fd, const char* what) {
    if (!fd.valid())
        return Error{std::string(what) + ": " + errnoText(errno), 500};
    if (fd.get() > STDERR_FILENO)
        return fd;
    Fd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
    if (!moved.valid())
        return Error{std::string(what) + ": " + errnoText(errno), 500};
    return moved;
}

Result<void> setNonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return Error{"fcntl(O_NONBLOCK): " + errnoText(errno), 500};
    return {};
}

// What the helper and the process tell the agent through the report pipe.
enum class Stage : int {
    Started = 0, // pid: the process exists (sent by the helper)
    Cgroup,
    Namespaces,
    Spawn,
    Root,
    Stdio,
    User,
    Workdir,
    Exec,
};

struct Report {
    Stage stage = Stage::Started;
    int error = 0; // errno
    pid_t pid = 0;
};

// Everything the two children need, prepared before fork: between fork and exec they only read
// it and make async-signal-safe calls.
struct ChildPlan {
    int reportFd = -1;                // write end of the report pipe
    int initPidfd = -1;               // the container's init
    bool joinPid = false;             // the helper joins its pid namespace
    int nsFlags = 0;                  // the namespaces the process joins itself
    const int* cgroupProcs = nullptr; // v1: cgroup.procs of each hierarchy, for the helper
    size_t cgroupProcsCount = 0;
    int cgroupDir = -1; // v2: the process is cloned into it
    bool tty = false;
    int terminal = -1;                              // tty: the pty's slave
    int stdinFd = -1, stdoutFd = -1, stderrFd = -1; // no tty
    uid_t uid = 0;
    gid_t gid = 0;
    const gid_t* groups = nullptr;
    size_t groupCount = 0;
    const char* workdir = "/";
    char* const* argv = nullptr;
    char** envp = nullptr;
};

// ---- between fork and exec: async-signal-safe calls only ----

[[noreturn]] void fail(int reportFd, Stage stage, int error) {
    const Report report{stage, error, 0};
    (void)!::write(reportFd, &report, sizeof report);
    ::_exit(stage == Stage::Exec ? (error == ENOENT ? 127 : 126) : 1);
}

// The exec'd process: the agent's child (CLONE_PARENT), born in the container's pid namespace
// and cgroup. Joins the other namespaces itself: setns of the mount and user namespaces needs a
// single-threaded caller that shares no fs_struct, which it is.
[[noreturn]] void runProcess(const ChildPlan& plan) {
    // The agent may be shielded from the OOM killer; the process is not (best effort: before
    // the mount namespace changes, while /proc is the host's).
    if (const int oom = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC); oom >= 0) {
        (void)!::write(oom, "0", 1);
        ::close(oom);
    }
    // One call, so the kernel switches the user namespace (if any) first and the rest at once.
    if (plan.nsFlags != 0 && ::setns(plan.initPidfd, plan.nsFlags) != 0)
        fail(plan.reportFd, Stage::Namespaces, errno);
    // setns(CLONE_NEWNS) put root and cwd at the namespace's root; say so explicitly.
    if (::chdir("/") != 0)
        fail(plan.reportFd, Stage::Root, errno);
    // Its own session and process group, apart from the agent's terminal if it has one.
    if (::setsid() < 0)
        fail(plan.reportFd, Stage::Stdio, errno);
    if (plan.tty) {
        if (::ioctl(plan.terminal, TIOCSCTTY, 0) != 0 || ::dup2(plan.terminal, STDIN_FILENO) < 0 ||
            ::dup2(plan.terminal, STDOUT_FILENO) < 0 || ::dup2(plan.terminal, STDERR_FILENO) < 0)
            fail(plan.reportFd, Stage::Stdio, errno);
    } else if (::dup2(plan.stdinFd, STDIN_FILENO) < 0 || ::dup2(plan.stdoutFd, STDOUT_FILENO) < 0 ||
               ::dup2(plan.stderrFd, STDERR_FILENO) < 0) {
        fail(plan.reportFd, Stage::Stdio, errno);
    }
    resetSignalDispositions();
    // glibc's set*id() run through its thread bookkeeping (to change every thread), which a
    // child of a raw clone3 inherits unfit for use: the raw system calls change this one only.
    if (::syscall(SYS_setgroups, plan.groupCount, plan.groups) != 0 ||
        ::syscall(SYS_setgid, plan.gid) != 0 || ::syscall(SYS_setuid, plan.uid) != 0)
        fail(plan.reportFd, Stage::User, errno);
    if (::chdir(plan.workdir) != 0)
        fail(plan.reportFd, Stage::Workdir, errno);
    // Nothing of the agent's crosses the exec; the report pipe stays open until it succeeds.
    if (::close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        ::close_range(STDERR_FILENO + 1, static_cast<unsigned>(plan.reportFd) - 1, 0);
        ::close_range(static_cast<unsigned>(plan.reportFd) + 1, ~0U, 0);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    environ = plan.envp; // execvp searches the task's PATH
    ::execvp(plan.argv[0], plan.argv);
    fail(plan.reportFd, Stage::Exec, errno);
}

// The helper, forked by the agent with every signal blocked: joins the container's v1 cgroups
// and pid namespace (which only its children enter), makes the process with
// clone3(CLONE_PARENT) so that the agent is its parent, reports its pid and exits.
[[noreturn]] void runHelper(const ChildPlan& plan) {
    for (size_t i = 0; i < plan.cgroupProcsCount; ++i)
        if (::write(plan.cgroupProcs[i], "0", 1) != 1)
            fail(plan.reportFd, Stage::Cgroup, errno);
    if (plan.joinPid && ::setns(plan.initPidfd, CLONE_NEWPID) != 0)
        fail(plan.reportFd, Stage::Namespaces, errno);
    clone_args args{};
    args.flags = CLONE_PARENT;
    if (plan.cgroupDir >= 0) {
        // With the helper's host credentials and cgroup namespace: before setns, so a user
        // namespace or a delegation boundary of the container cannot refuse it.
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(plan.cgroupDir);
    }
    // exit_signal must be 0 with CLONE_PARENT: the process inherits the helper's (SIGCHLD).
    const long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        fail(plan.reportFd, Stage::Spawn, errno);
    if (pid == 0)
        runProcess(plan);
    const Report report{Stage::Started, 0, static_cast<pid_t>(pid)};
    (void)!::write(plan.reportFd, &report, sizeof report);
    ::_exit(0);
}

// ---- the agent ----

ExecStartError startError(const Report& report, const std::string& program,
                          const std::string& workdir) {
    const std::string err = errnoText(report.error);
    switch (report.stage) {
    case Stage::Started:
        break;
    case Stage::Cgroup:
        return {1, "cannot join the container's cgroup: " + err};
    case Stage::Namespaces:
        return {1, "cannot enter the container's namespaces: " + err};
    case Stage::Spawn:
        return {1, "cannot start a process in the container: " + err};
    case Stage::Root:
        return {1, "cannot enter the container's root: " + err};
    case Stage::Stdio:
        return {1, "cannot set up the process's terminal or standard streams: " + err};
    case Stage::User:
        return {1, "cannot switch to the task's user: " + err};
    case Stage::Workdir:
        return {1, "cannot enter the working directory " + workdir + ": " + err};
    case Stage::Exec:
        if (report.error == ENOENT || report.error == ENOTDIR)
            return {127, "command not found: " + program};
        if (report.error == EACCES)
            return {126, "permission denied: " + program};
        return {126, "cannot run " + program + ": " + err};
    }
    return {1, err};
}

void waitForPid(pid_t pid, int* status) {
    while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
}

std::string describeWaitStatus(int status) {
    if (WIFEXITED(status))
        return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// 0 when /proc/<pid>/ns/<name> does not exist (the kernel lacks that namespace type).
struct NsId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool present() const { return ino != 0; }
    bool operator==(const NsId&) const = default;
};

NsId namespaceOf(const std::string& procDir, const char* name) {
    struct stat st {};
    if (::stat((procDir + "/ns/" + name).c_str(), &st) != 0)
        return {};
    return {st.st_dev, st.st_ino};
}

// The namespaces of the container's init that the process joins itself (the helper joins the
// pid namespace). The user and time namespaces only when they are not the agent's: setns
// refuses to join one's own user namespace.
int namespaceFlags(pid_t init, bool& joinPid) {
    const std::string proc = "/proc/" + std::to_string(init);
    int flags = 0;
    for (const auto& [name, flag] : {std::pair{"mnt", CLONE_NEWNS}, std::pair{"net", CLONE_NEWNET},
                                     std::pair{"uts", CLONE_NEWUTS}, std::pair{"ipc", CLONE_NEWIPC},
                                     std::pair{"cgroup", CLONE_NEWCGROUP}})
        if (namespaceOf(proc, name).present())
            flags |= flag;
    for (const auto& [name, flag] :
         {std::pair{"user", CLONE_NEWUSER}, std::pair{"time", CLONE_NEWTIME}}) {
        const NsId theirs = namespaceOf(proc, name);
        if (theirs.present() && theirs != namespaceOf("/proc/self", name))
            flags |= flag;
    }
    joinPid = namespaceOf(proc, "pid").present();
    return flags;
}

struct Stdio {
    Fd terminal;                    // tty: the pty's slave, for the process
    Fd stdinFd, stdoutFd, stderrFd; // no tty: the process's ends
};

// Makes the pty or the pipes: the agent's ends into `process`, the process's into the result.
Result<Stdio> makeStdio(const ProcessRequest& request, ExecProcess& process) {
    Stdio io;
    if (request.tty) {
        Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (!master.valid())
            return Error{"cannot open a pty: " + errnoText(errno), 500};
        if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0)
            return Error{"cannot unlock the pty: " + errnoText(errno), 500};
        // The slave of this very master, without a path lookup in /dev/pts.
        auto slave =
            aboveStdio(Fd(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)),
                       "cannot open the pty's slave");
        if (!slave)
            return slave.error();
        if (auto r = resize(master.get(), request.cols, request.rows); !r)
            return r.error();
        if (auto r = setNonblocking(master.get()); !r)
            return r.error();
        io.terminal = std::move(*slave);
        process.ptyMaster = master.release();
        return io;
    }
    // The process's end into `processEnd`, the agent's (nonblocking) into `agentEnd`.
    auto makePipe = [](Fd& processEnd, int& agentEnd, bool processReads) -> Result<void> {
        int p[2]; // p[0] reads, p[1] writes
        if (::pipe2(p, O_CLOEXEC) != 0)
            return Error{"pipe: " + errnoText(errno), 500};
        Fd agentSide(processReads ? p[1] : p[0]);
        auto processSide = aboveStdio(Fd(processReads ? p[0] : p[1]), "pipe");
        if (!processSide)
            return processSide.error();
        processEnd = std::move(*processSide);
        agentEnd = agentSide.release();
        return setNonblocking(agentEnd);
    };
    if (auto r = makePipe(io.stdoutFd, process.stdoutFd, false); !r)
        return r.error();
    if (auto r = makePipe(io.stderrFd, process.stderrFd, false); !r)
        return r.error();
    if (request.stdinOpen) {
        if (auto r = makePipe(io.stdinFd, process.stdinFd, true); !r)
            return r.error();
    } else {
        auto null = aboveStdio(Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)), "/dev/null");
        if (!null)
            return null.error();
        io.stdinFd = std::move(*null);
    }
    return io;
}

// Reads the helper's and the process's reports until every writer is gone: the helper exited
// and the process exec'd (the pipe is close-on-exec) or failed.
void readReports(int fd, pid_t& pid, std::optional<Report>& failure) {
    char buf[sizeof(Report) * 4];
    size_t have = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        have += static_cast<size_t>(n);
        while (have >= sizeof(Report)) {
            Report report;
            std::memcpy(&report, buf, sizeof report);
            std::memmove(buf, buf + sizeof report, have - sizeof report);
            have -= sizeof report;
            if (report.stage == Stage::Started)
                pid = report.pid;
            else if (!failure)
                failure = report;
        }
    }
}

bool signalGroup(const ExecProcess& process, int sig) {
    if (process.pid <= 0 || process.pidfd < 0 || process.reaped)
        return false;
    // Until it is reaped (a zombie included) its pid, and so its process group's and its
    // session's id, cannot be reused. It leads its session, so the group is still its own.
    (void)pidfdSignal(process.pidfd, sig);
    (void)::kill(-process.pid, sig);
    return true;
}

// The session id in /proc/<pid>/stat (as the agent's pid namespace numbers it), or -1.
pid_t sessionOf(const char* pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[1024];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    // "pid (comm) state ppid pgrp session ...": comm may hold anything, so from the last ')'.
    const char* p = std::strrchr(buf, ')');
    int ppid = 0, pgrp = 0, session = 0;
    char state = 0;
    if (!p || std::sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4)
        return -1;
    return session;
}

// SIGKILL to every process of the session the process leads: with a tty, jobs a shell with job
// control put in groups of their own. Each is pinned by a pidfd and its session checked again
// before the signal, so a pid reused meanwhile is never signalled.
void killSession(const ExecProcess& process) {
    DIR* dir = ::opendir("/proc");
    if (!dir)
        return;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || sessionOf(e->d_name) != process.pid)
            continue;
        const pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
        if (pid == process.pid)
            continue;
        Fd pinned(pidfdOpen(pid));
        if (pinned.get() >= 0 && sessionOf(e->d_name) == process.pid)
            (void)pidfdSignal(pinned.get(), SIGKILL);
    }
    ::closedir(dir);
}

Result<std::optional<ExecExit>> waitForExit(ExecProcess& process, bool block, bool reap) {
    if (process.pidfd < 0 || process.reaped)
        return Error{"the process was reaped already"};
    siginfo_t info{};
    int r;
    while ((r = ::waitid(P_PIDFD, static_cast<id_t>(process.pidfd), &info,
                         WEXITED | (block ? 0 : WNOHANG) | (reap ? 0 : WNOWAIT))) < 0 &&
           errno == EINTR) {
    }
    if (r < 0)
        return Error{"waitid: " + errnoText(errno)};
    if (info.si_pid == 0)
        return std::optional<ExecExit>{};
    if (reap)
        process.reaped = true;
    ExecExit ended;
    if (info.si_code == CLD_EXITED) {
        ended.exitCode = info.si_status;
    } else {
        ended.signal = info.si_status;
        ended.exitCode = 128 + ended.signal;
    }
    return std::optional<ExecExit>{ended};
}

} // namespace

ExecProcess::ExecProcess(ExecProcess&& other) noexcept
    : pid(std::exchange(other.pid, -1)), pidfd(std::exchange(other.pidfd, -1)),
      ptyMaster(std::exchange(other.ptyMaster, -1)), stdinFd(std::exchange(other.stdinFd, -1)),
      stdoutFd(std::exchange(other.stdoutFd, -1)), stderrFd(std::exchange(other.stderrFd, -1)),
      reaped(std::exchange(other.reaped, false)) {}

ExecProcess& ExecProcess::operator=(ExecProcess&& other) noexcept {
    if (this != &other) {
        ExecProcess previous(std::move(*this)); // killed, reaped and closed at the end
        pid = std::exchange(other.pid, -1);
        pidfd = std::exchange(other.pidfd, -1);
        ptyMaster = std::exchange(other.ptyMaster, -1);
        stdinFd = std::exchange(other.stdinFd, -1);
        stdoutFd = std::exchange(other.stdoutFd, -1);
        stderrFd = std::exchange(other.stderrFd, -1);
        reaped = std::exchange(other.reaped, false);
    }
    return *this;
}

ExecProcess::~ExecProcess() {
    if (pid > 0 && pidfd >= 0 && !reaped) {
        kill(*this);
        (void)reapExec(*this, true);
    }
    for (int* fd : {&pidfd, &ptyMaster, &stdinFd, &stdoutFd, &stderrFd})
        closeFd(*fd);
}

Result<ExecStart> startExec(const ExecTarget& target, const ProcessRequest& request) {
    if (request.argv.empty() || request.argv.front().empty())
        return Error{"no command to run", 400};
    if (target.initStartTicks == 0)
        return Error{"the container's init has no start time to check its pid against", 500};

    // The container's init, pinned: the pidfd is taken before the start time is checked, so a
    // process that reused the pid can never be entered.
    Fd init(pidfdOpen(target.initPid));
    const int openErrno = errno;
    const std::string gone =
        "the container is not running (its init, pid " + std::to_string(target.initPid) + ", ";
    if (!init.valid() && openErrno == ESRCH)
        return Error{gone + "has ended)", 409};
    if (!init.valid())
        return Error{"pidfd_open: " + errnoText(openErrno), 500};
    if (tasks::processStartTicks(target.initPid) != target.initStartTicks)
        return Error{gone + "has ended and its pid was reused)", 409};

    ChildPlan plan;
    plan.initPidfd = init.get();
    plan.nsFlags = namespaceFlags(target.initPid, plan.joinPid);

    // The cgroup files are opened here: after setns(CLONE_NEWNS), /sys/fs/cgroup is the
    // container's, or not there at all.
    std::vector<Fd> cgroupFiles;
    std::vector<int> cgroupProcs;
    Fd cgroupDir;
    if (target.cgroup.version == tasks::CgroupVersion::V1) {
        for (const auto& dir : target.cgroup.dirs) {
            const std::string path = dir + "/cgroup.procs";
            Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (!fd.valid())
                return Error{"cannot open " + path + ": " + errnoText(errno), 500};
            cgroupProcs.push_back(fd.get());
            cgroupFiles.push_back(std::move(fd));
        }
    } else if (!target.cgroup.dirs.empty()) {
        cgroupDir =
            Fd(::open(target.cgroup.dirs.front().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cgroupDir.valid())
            return Error{"cannot open " + target.cgroup.dirs.front() + ": " + errnoText(errno),
                         500};
    }
    plan.cgroupProcs = cgroupProcs.data();
    plan.cgroupProcsCount = cgroupProcs.size();
    plan.cgroupDir = cgroupDir.get();

    ExecProcess process; // the agent's ends, closed again if starting fails
    auto stdio = makeStdio(request, process);
    if (!stdio)
        return stdio.error();
    plan.tty = request.tty;
    plan.terminal = stdio->terminal.get();
    plan.stdinFd = stdio->stdinFd.get();
    plan.stdoutFd = stdio->stdoutFd.get();
    plan.stderrFd = stdio->stderrFd.get();

    std::vector<std::string> env;
    for (const auto& e : target.env)
        if (!request.tty || e.rfind("TERM=", 0) != 0)
            env.push_back(e);
    if (request.tty)
        env.emplace_back("TERM=xterm-256color");
    CStringArray argv(request.argv);
    CStringArray envp(std::move(env));
    plan.argv = argv.data();
    plan.envp = envp.data();
    const std::string workdir = target.workdir.empty() ? "/" : target.workdir;
    plan.workdir = workdir.c_str();
    plan.uid = target.uid;
    plan.gid = target.gid;
    plan.groups = target.groups.data();
    plan.groupCount = target.groups.size();

    int reportPipe[2];
    if (::pipe2(reportPipe, O_CLOEXEC) != 0)
        return Error{"pipe: " + errnoText(errno), 500};
    Fd reportRead(reportPipe[0]);
    auto reportWrite = aboveStdio(Fd(reportPipe[1]), "pipe");
    if (!reportWrite)
        return reportWrite.error();
    plan.reportFd = reportWrite->get();

    // Blocked in the helper, no handler of the agent's runs there; the process unblocks them
    // just before the exec, with every disposition back to the default.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t helper = ::fork();
    const int forkErrno = errno;
    if (helper == 0)
        runHelper(plan);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (helper < 0)
        return Error{"fork: " + errnoText(forkErrno), 500};

    // Only the children hold their ends now: EOF on the report pipe once both are done.
    reportWrite->reset();
    *stdio = Stdio{};
    cgroupFiles.clear();
    cgroupDir.reset();
    init.reset();
    pid_t pid = -1;
    std::optional<Report> failure;
    readReports(reportRead.get(), pid, failure);
    int helperStatus = 0;
    waitForPid(helper, &helperStatus);

    if (failure) {
        if (pid > 0)
            waitForPid(pid, nullptr); // it has written its report and exits
        return ExecStart{startError(*failure, request.argv.front(), workdir)};
    }
    if (pid <= 0)
        return Error{"the exec helper ended without starting the process (" +
                         describeWaitStatus(helperStatus) + ")",
                     500};
    // Safe: the process is the agent's child and nobody else reaps it.
    process.pid = pid;
    process.pidfd = pidfdOpen(pid);
    if (process.pidfd < 0) {
        const int e = errno;
        ::kill(pid, SIGKILL);
        waitForPid(pid, nullptr);
        process.pid = -1;
        return Error{"pidfd_open on the started process: " + errnoText(e), 500};
    }
    return ExecStart{std::move(process)};
}

Result<std::optional<ExecExit>> reapExec(ExecProcess& process, bool block) {
    return waitForExit(process, block, true);
}

Result<std::optional<ExecExit>> exitOf(ExecProcess& process, bool block) {
    return waitForExit(process, block, false);
}

Result<void> resize(int ptyMaster, uint16_t cols, uint16_t rows) {
    winsize size{};
    size.ws_col = cols;
    size.ws_row = rows;
    if (::ioctl(ptyMaster, TIOCSWINSZ, &size) != 0)
        return Error{"cannot set the terminal's size: " + errnoText(errno)};
    return {};
}

bool hangUp(const ExecProcess& process) {
    return signalGroup(process, SIGHUP);
}

bool kill(const ExecProcess& process) {
    if (!signalGroup(process, SIGKILL))
        return false;
    killSession(process);
    return true;
}

} // namespace day2::exec
