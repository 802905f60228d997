#include "tasks/container_process.h"

#include "base/signals.h"

#include "base/c_string_array.h"
#include "base/log.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace day2::tasks {

namespace {

struct FailureRecord {
    int stage;
    int error;
};

// Between fork and exec: only async-signal-safe calls from here on.
[[noreturn]] void failStart(int errFd, StartStage stage, int error, const char* what,
                            const char* program) {
    FailureRecord rec{static_cast<int>(stage), error};
    (void)!::write(errFd, &rec, sizeof rec);
    // The same words on the task's stderr, so they are in its log.
    const char* prefix = "day2: ";
    (void)!::write(STDERR_FILENO, prefix, std::strlen(prefix));
    (void)!::write(STDERR_FILENO, what, std::strlen(what));
    if (program) {
        (void)!::write(STDERR_FILENO, " '", 2);
        (void)!::write(STDERR_FILENO, program, std::strlen(program));
        (void)!::write(STDERR_FILENO, "'", 1);
    }
    const char* sep = ": ";
    const char* msg = strerrordesc_np(error);
    (void)!::write(STDERR_FILENO, sep, 2);
    (void)!::write(STDERR_FILENO, msg ? msg : "error", std::strlen(msg ? msg : "error"));
    (void)!::write(STDERR_FILENO, "\n", 1);
    ::_exit(stage == StartStage::Exec && error == ENOENT ? 127 : 126);
}

void writeProcFile(const char* path, const char* value) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!::write(fd, value, std::strlen(value));
        ::close(fd);
    }
}

} // namespace

std::string StartFailure::reason(const std::string& program) const {
    const std::string err = std::strerror(error);
    switch (stage) {
    case StartStage::None:
        return {};
    case StartStage::Namespaces:
        return "cannot create the container's namespaces: " + err;
    case StartStage::Mounts:
        return "cannot mount the container's /proc: " + err;
    case StartStage::Hostname:
        return "cannot set the container's hostname: " + err;
    case StartStage::User:
        return "cannot switch to the task's user: " + err;
    case StartStage::Workdir:
        return "cannot enter the working directory: " + err;
    case StartStage::Exec:
        if (error == ENOENT)
            return "command not found";
        if (error == EACCES)
            return "permission denied: " + program;
        return "cannot run " + program + ": " + err;
    }
    return err;
}

Result<ContainerProcess> startContainerProcess(const ContainerSpec& spec, int stdoutFd,
                                               int stderrFd, bool namespaces) {
    // Everything the children need is built before fork.
    CStringArray argvStore(spec.argv);
    CStringArray envStore(spec.env);
    char** argv = argvStore.data();
    char** envp = envStore.data();
    const std::string hostname = spec.hostname;
    const std::string workdir = spec.workdir;
    const bool switchUser = spec.uid != ::geteuid() || spec.gid != ::getegid();
    const std::vector<gid_t> groups = spec.groups;

    int sync[2], errPipe[2], report[2];
    if (::pipe2(sync, O_CLOEXEC) != 0)
        return Error{std::string("pipe: ") + std::strerror(errno)};
    if (::pipe2(errPipe, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) {
        const int e = errno;
        ::close(sync[0]);
        ::close(sync[1]);
        return Error{std::string("pipe: ") + std::strerror(e)};
    }
    // unshare(CLONE_NEWPID) moves only our next child (the init) into the new namespace; the
    // supervisor's own namespace is restored for its later children (the stderr forwarder),
    // which must neither live in the container nor die with it.
    int ownPidNs = -1;
    if (namespaces) {
        ownPidNs = ::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (ownPidNs < 0 || ::unshare(CLONE_NEWPID) != 0) {
            const int e = errno;
            for (int fd :
                 {sync[0], sync[1], errPipe[0], errPipe[1], report[0], report[1], ownPidNs})
                if (fd >= 0)
                    ::close(fd);
            return Error{std::string("cannot create a pid namespace: ") + std::strerror(e)};
        }
    }
    const pid_t supervisor = ::getpid();
    const pid_t init = ::fork();
    const int forkErrno = errno;
    if (init != 0 && ownPidNs >= 0) {
        if (::setns(ownPidNs, CLONE_NEWPID) != 0)
            log::warning("cannot return to the supervisor's pid namespace: ", std::strerror(errno));
        ::close(ownPidNs);
    }
    if (init < 0) {
        const int e = forkErrno;
        for (int fd : {sync[0], sync[1], errPipe[0], errPipe[1], report[0], report[1]})
            ::close(fd);
        return Error{std::string("fork: ") + std::strerror(e)};
    }
    if (init == 0) {
        // ---- the container's init ----
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (ownPidNs >= 0)
            ::close(ownPidNs);
        ::close(sync[1]);
        ::close(errPipe[0]);
        ::close(report[0]);
        char go = 0;
        if (::read(sync[0], &go, 1) != 1 || (!namespaces && ::getppid() != supervisor))
            ::_exit(125); // the supervisor could not place us in the cgroup, or died
        ::close(sync[0]);
        if (namespaces) {
            if (::unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) != 0)
                failStart(errPipe[1], StartStage::Namespaces, errno, "cannot create namespaces",
                          nullptr);
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
                failStart(errPipe[1], StartStage::Mounts, errno, "cannot mount /proc", nullptr);
            if (::sethostname(hostname.data(), hostname.size()) != 0)
                failStart(errPipe[1], StartStage::Hostname, errno, "cannot set the hostname",
                          nullptr);
        }
        // The OOM killer should pick the task, not its init.
        writeProcFile("/proc/self/oom_score_adj", "-1000");
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, nullptr);
        const pid_t task = ::fork();
        if (task < 0)
            failStart(errPipe[1], StartStage::Exec, errno, "cannot fork", nullptr);
        if (task == 0) {
            // ---- the task ----
            ::setsid();
            if (::dup2(stdoutFd, STDOUT_FILENO) < 0 || ::dup2(stderrFd, STDERR_FILENO) < 0)
                ::_exit(126);
            int devnull = ::open("/dev/null", O_RDONLY);
            if (devnull >= 0 && devnull != STDIN_FILENO) {
                ::dup2(devnull, STDIN_FILENO);
                ::close(devnull);
            }
            writeProcFile("/proc/self/oom_score_adj", "0");
            resetSignalDispositions();
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            if (switchUser) {
                if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(spec.gid) != 0 ||
                    ::setuid(spec.uid) != 0)
                    failStart(errPipe[1], StartStage::User, errno, "cannot switch to uid/gid",
                              nullptr);
            }
            if (!workdir.empty() && ::chdir(workdir.c_str()) != 0)
                failStart(errPipe[1], StartStage::Workdir, errno, "cannot enter", workdir.c_str());
            environ = envp;
            ::execvp(argv[0], argv);
            failStart(errPipe[1], StartStage::Exec, errno, "cannot run", argv[0]);
        }
        // Only the task (and its children) hold the output pipes and the failure pipe now.
        ::close(stdoutFd);
        ::close(stderrFd);
        ::close(errPipe[1]);
        for (;;) {
            siginfo_t info{};
            const int sig = ::sigwaitinfo(&all, &info);
            if (sig < 0)
                continue;
            if (sig == SIGCHLD) {
                int status = 0;
                pid_t p;
                while ((p = ::waitpid(-1, &status, WNOHANG)) > 0) {
                    if (p == task) {
                        (void)!::write(report[1], &status, sizeof status);
                        ::_exit(0);
                    }
                }
                continue;
            }
            if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT ||
                sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGWINCH || sig == SIGCONT) {
                if (::kill(-task, sig) != 0)
                    ::kill(task, sig);
            }
        }
    }
    // ---- the supervisor ----
    ::close(sync[0]);
    ::close(errPipe[1]);
    ::close(report[1]);
    ContainerProcess cp;
    cp.init = init;
    cp.reportFd = report[0];
    if (!spec.cgroup.dirs.empty()) {
        if (auto r = cgroupAddProcess(spec.cgroup, init); !r) {
            ::close(sync[1]);
            ::kill(init, SIGKILL);
            int st = 0;
            ::waitpid(init, &st, 0);
            ::close(errPipe[0]);
            ::close(report[0]);
            return Error{"cannot place the container in its cgroup: " + r.error().message};
        }
    }
    (void)!::write(sync[1], "1", 1);
    ::close(sync[1]);
    // EOF once the task exec'd (the pipe is close-on-exec) or a start step failed.
    FailureRecord rec{};
    ssize_t n;
    size_t got = 0;
    while (got < sizeof rec &&
           ((n = ::read(errPipe[0], reinterpret_cast<char*>(&rec) + got, sizeof rec - got)) > 0 ||
            (n < 0 && errno == EINTR)))
        if (n > 0)
            got += static_cast<size_t>(n);
    ::close(errPipe[0]);
    if (got == sizeof rec) {
        cp.failure.stage = static_cast<StartStage>(rec.stage);
        cp.failure.error = rec.error;
    }
    return cp;
}

int taskWaitStatus(const ContainerProcess& process, int initWaitStatus) {
    int status = 0;
    if (process.reportFd >= 0) {
        ssize_t n;
        while ((n = ::read(process.reportFd, &status, sizeof status)) < 0 && errno == EINTR) {
        }
        if (n == sizeof status)
            return status;
    }
    return initWaitStatus;
}

} // namespace day2::tasks
