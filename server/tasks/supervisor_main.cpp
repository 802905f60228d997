// day2-task-supervisor: runs one task and sends every line of its stdout and stderr to journald
// with the task's fields (the role of Mesos's journald logger or podman's conmon). The agent
// starts one per container, detached, so that the task and its logging outlive an agent restart.
//
// Container mode (what the agent uses):
//   day2-task-supervisor --spec <state>/tasks/<cid>/container.json
//       --status-file <state>/tasks/<cid>/status.json [--ready-fd 3]
// Plain mode (no namespaces, no cgroup; for tools and benchmarks):
//   day2-task-supervisor --journal-socket /run/systemd/journal/socket --container-id C
//       [--framework-id F --framework-name N --executor-id E --application-name A
//        --agent-id ID --status-file FILE --log-slice S.slice] -- COMMAND [ARGS...]
//   (--log-slice: the stream transport, with log scopes made in that slice and removed at the
//   end; root only. Without it, native datagrams.)
//
// SIGTERM asks the task to stop: it is forwarded to the task's process group, and after the
// spec's grace period the whole container is killed.
#include "base/command_line.h"
#include "base/log.h"
#include "tasks/container_process.h"
#include "tasks/task_log_forwarder.h"
#include "tasks/task_spec.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <tuple>
#include <unistd.h>

using namespace day2;

namespace {

constexpr int kPipeBytes = 1024 * 1024;

volatile sig_atomic_t g_stopRequested = 0;
volatile sig_atomic_t g_killed = 0;
volatile pid_t g_init = -1;
unsigned g_graceSeconds = 10;

void onStopSignal(int) {
    if (g_stopRequested)
        return;
    g_stopRequested = 1;
    if (g_init > 0) {
        ::kill(g_init, SIGTERM);
        if (g_graceSeconds == 0) {
            g_killed = 1;
            ::kill(g_init, SIGKILL);
        } else {
            ::alarm(g_graceSeconds);
        }
    }
}

void onAlarm(int) {
    if (g_init > 0) {
        g_killed = 1;
        ::kill(g_init, SIGKILL);
    }
}

void installHandlers() {
    struct sigaction sa {};
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = onStopSignal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    sa.sa_handler = onAlarm;
    ::sigaction(SIGALRM, &sa, nullptr);
    // The task's lines are what matter: a vanished reader must not take us down with SIGPIPE.
    sa.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
}

std::string signalName(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

void saveStatus(const std::string& file, const tasks::ContainerStatus& status) {
    if (file.empty())
        return;
    if (auto r = tasks::writeFileAtomically(file, tasks::toJson(status)); !r)
        log::error(r.error().message);
}

void signalReady(int& readyFd) {
    if (readyFd >= 0) {
        (void)!::write(readyFd, "1", 1);
        ::close(readyFd);
        readyFd = -1;
    }
}

// True when a child of this process is in this process's pid namespace, not the container's
// (startContainerProcess returns to it after forking the init).
bool childrenStayOutside() {
    char own[64] = {}, children[64] = {};
    return ::readlink("/proc/self/ns/pid", own, sizeof own - 1) > 0 &&
           ::readlink("/proc/self/ns/pid_for_children", children, sizeof children - 1) > 0 &&
           std::string_view(own) == std::string_view(children);
}

// Forwards the task's output until both pipes end; closes both. With log scopes, stderr's
// forwarder is a child process in the stderr scope and this process forwards stdout from the
// stdout scope: journald tells the two streams' fields apart by the sender's cgroup.
void forwardOutput(const tasks::ContainerSpec& spec, const tasks::TaskIdentity& id, int outFd,
                   int errFd) {
    using tasks::Stream;
    auto native = [&](int out, int err) {
        tasks::TaskLogForwarder forwarder(spec.journalSocket, id);
        if (auto r = forwarder.run(out, err); !r)
            log::error("forwarding the task's output failed: ", r.error().message);
    };
    auto streamed = [&](int fd, Stream stream) {
        const auto& scope = spec.logScopes.streams[static_cast<size_t>(stream)];
        if (auto j = tasks::joinLogScope(scope); !j) {
            log::error(j.error().message, "; sending this stream as native datagrams");
            native(stream == Stream::Stdout ? fd : -1, stream == Stream::Stderr ? fd : -1);
            return true;
        }
        tasks::TaskLogForwarder forwarder(spec.journalSocket, id);
        auto r = forwarder.runStream(fd, stream);
        if (!r)
            log::error("forwarding the task's ", stream == Stream::Stdout ? "stdout" : "stderr",
                       " failed: ", r.error().message);
        return static_cast<bool>(r);
    };
    if (spec.logScopes.empty()) {
        native(outFd, errFd);
    } else if (!childrenStayOutside()) {
        log::error("this process's children would be in the container's pid namespace; sending "
                   "the output as native datagrams");
        native(outFd, errFd);
    } else if (pid_t child = ::fork(); child < 0) {
        log::error("fork: ", std::strerror(errno), "; sending the output as native datagrams");
        native(outFd, errFd);
    } else if (child == 0) {
        g_init = -1; // stop signals are the supervisor's business, not this forwarder's
        ::close(outFd);
        const bool ok = streamed(errFd, Stream::Stderr);
        ::close(errFd);
        ::_exit(ok ? 0 : 1);
    } else {
        ::close(errFd);
        errFd = -1;
        streamed(outFd, Stream::Stdout);
        int st = 0;
        while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
        }
    }
    ::close(outFd);
    if (errFd >= 0)
        ::close(errFd);
}

// Runs the container to its end; returns the supervisor's exit code (the task's).
int supervise(const tasks::ContainerSpec& spec, const std::string& statusFile, bool namespaces,
              int readyFd) {
    tasks::ContainerStatus status;
    status.supervisorPid = ::getpid();
    status.supervisorStartTicks = tasks::processStartTicks(::getpid());
    status.startedAtUsec = tasks::nowMicros();
    g_graceSeconds = spec.killGraceSeconds;
    installHandlers();

    auto fail = [&](const std::string& reason) {
        log::error(spec.containerId, ": ", reason);
        status.state = tasks::ContainerState::Failed;
        status.reason = reason;
        status.endedAtUsec = tasks::nowMicros();
        if (!spec.cgroup.dirs.empty())
            (void)tasks::cgroupKillAll(spec.cgroup);
        saveStatus(statusFile, status);
        signalReady(readyFd);
        return 1;
    };

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        return fail(std::string("pipe: ") + std::strerror(errno));
    // Larger than the 64 KiB default: fewer wake-ups of the task and the forwarder per line.
    // Pages are taken only as the pipe fills (it holds at most this much of a blocked task).
    for (int fd : {out[0], err[0]})
        (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
    // The write ends stay close-on-exec: the task gets them as its stdout and stderr by dup2,
    // and no other descriptor of ours reaches it.
    auto started = tasks::startContainerProcess(spec, out[1], err[1], namespaces);
    ::close(out[1]);
    ::close(err[1]);
    if (!started) {
        ::close(out[0]);
        ::close(err[0]);
        return fail(started.error().message);
    }
    g_init = started->init;
    status.pid = started->init;
    const bool startFailed = started->failure.stage != tasks::StartStage::None;
    if (!startFailed) {
        saveStatus(statusFile, status);
        signalReady(readyFd);
    }
    // A stop requested before the init's pid was known is carried out now.
    if (g_stopRequested) {
        g_stopRequested = 0;
        onStopSignal(SIGTERM);
    }

    const tasks::TaskIdentity id = tasks::taskIdentity(spec);
    int initStatus = 0;
    auto reapInit = [&] {
        while (::waitpid(started->init, &initStatus, 0) < 0 && errno == EINTR) {
        }
    };
    if (startFailed) {
        // The command never ran: say so at once. Its "cannot run" line is forwarded after,
        // even while journald is away.
        reapInit();
    } else {
        forwardOutput(spec, id, out[0], err[0]);
        reapInit();
    }
    ::alarm(0);
    const int taskStatus = tasks::taskWaitStatus(*started, initStatus);
    if (started->reportFd >= 0)
        ::close(started->reportFd);
    if (!spec.cgroup.dirs.empty()) {
        if (!tasks::cgroupKillAll(spec.cgroup))
            log::error(spec.containerId, ": processes survived SIGKILL in ", spec.cgroup.dirs[0]);
        status.oomKills = tasks::cgroupOomKills(spec.cgroup);
    }
    status.endedAtUsec = tasks::nowMicros();
    status.pid = 0;
    int exitCode = 0;
    if (WIFEXITED(taskStatus)) {
        exitCode = WEXITSTATUS(taskStatus);
        status.exitCode = exitCode;
    } else if (WIFSIGNALED(taskStatus)) {
        status.signal = WTERMSIG(taskStatus);
        exitCode = 128 + *status.signal;
    }
    using tasks::ContainerState;
    if (startFailed) {
        status.state = ContainerState::Failed;
        status.reason = started->failure.reason(spec.argv.empty() ? "" : spec.argv[0]);
    } else if (g_stopRequested) {
        status.state = ContainerState::Killed;
        const bool graceRanOut = g_killed && status.signal && *status.signal == SIGKILL;
        status.reason = graceRanOut ? "stopped by request (SIGKILL after " +
                                          std::to_string(spec.killGraceSeconds) + " s)"
                                    : "stopped by request";
    } else if (status.oomKills > 0) {
        status.state = ContainerState::Failed;
        status.reason = "oom";
    } else if (status.exitCode && *status.exitCode == 0) {
        status.state = ContainerState::Exited;
    } else if (status.exitCode) {
        status.state = ContainerState::Failed;
        status.reason = "exit status " + std::to_string(*status.exitCode);
    } else {
        status.state = ContainerState::Failed;
        status.reason = "killed by signal " + std::to_string(status.signal.value_or(0)) + " (" +
                        signalName(status.signal.value_or(0)) + ")";
    }
    if (startFailed) {
        saveStatus(statusFile, status);
        signalReady(readyFd);
        forwardOutput(spec, id, out[0], err[0]);
    }
    saveStatus(statusFile, status);
    signalReady(readyFd);
    return exitCode;
}

} // namespace

int main(int argc, char** argv) {
    log::setProgramName("day2-task-supervisor");
    CLI::App app{"day2-task-supervisor: runs a task and sends each line of its stdout and stderr "
                 "to journald with the task's fields.\n\nThe agent runs it with --spec; the plain "
                 "mode (a command after --) runs without namespaces or cgroups."};
    tasks::TaskIdentity id;
    std::string socket = "/run/systemd/journal/socket";
    std::string statusFile, specFile;
    int readyFd = -1;
    std::vector<std::string> command;
    app.add_option("--spec", specFile, "container.json written by the agent (container mode)");
    app.add_option("--ready-fd", readyFd,
                   "descriptor to write one byte to once the task runs or has failed to start");
    app.add_option("--journal-socket", socket, "journald's native socket (plain mode)");
    app.add_option("--agent-id", id.agentId, "AGENT_ID field (plain mode)");
    app.add_option("--framework-id", id.frameworkId, "FRAMEWORK_ID field (plain mode)");
    app.add_option("--framework-name", id.frameworkName, "FRAMEWORK_NAME field (plain mode)");
    app.add_option("--executor-id", id.executorId, "EXECUTOR_ID field (plain mode)");
    app.add_option("--container-id", id.containerId, "CONTAINER_ID field (plain mode)");
    app.add_option("--application-name", id.applicationName, "APPLICATION_NAME field (plain mode)");
    std::string logSlice;
    app.add_option("--log-slice", logSlice,
                   "plain mode: send the lines over journald's stdout stream, with the fields "
                   "from log scopes made in this cgroup slice (e.g. day2-tools.slice; root)");
    app.add_option("--status-file", statusFile, "where to write the container's status as JSON");
    app.add_option("command", command, "the task's command and arguments, after -- (plain mode)");
    if (auto exitCode = parseCommandLine(app, argc, argv))
        return *exitCode;

    // The ready descriptor is ours alone: the task must not inherit it.
    if (readyFd >= 0)
        ::fcntl(readyFd, F_SETFD, FD_CLOEXEC);
    if (!specFile.empty()) {
        auto text = tasks::readWholeFile(specFile);
        if (!text) {
            log::error("cannot read ", specFile, ": ", std::strerror(errno));
            return 1;
        }
        auto spec = tasks::containerSpecFromJson(*text);
        if (!spec) {
            log::error(specFile, ": ", spec.error().message);
            return 1;
        }
        return supervise(*spec, statusFile, true, readyFd);
    }
    if (command.empty() || id.containerId.empty()) {
        std::cerr << "day2-task-supervisor: give --spec FILE, or --container-id and a command "
                     "after --\nRun with --help for more information.\n";
        return kExitUsage;
    }
    // The ids become journal fields and, with --log-slice, unit and file names and the stream's
    // header: they are checked as a launch request's are.
    for (const auto& [value, name, slash] :
         {std::tuple{&id.containerId, "--container-id", false},
          std::tuple{&id.executorId, "--executor-id", false},
          std::tuple{&id.frameworkId, "--framework-id", false},
          std::tuple{&id.applicationName, "--application-name", false}})
        if (!value->empty())
            if (auto r = tasks::checkTaskId(*value, name, slash); !r) {
                std::cerr << "day2-task-supervisor: " << r.error().message << "\n";
                return kExitUsage;
            }
    if (id.executorId.empty())
        id.executorId = id.containerId;
    tasks::ContainerSpec spec;
    spec.containerId = id.containerId;
    spec.agentId = id.agentId;
    spec.request.frameworkId = id.frameworkId;
    spec.request.frameworkName = id.frameworkName;
    spec.request.executorId = id.executorId.empty() ? id.containerId : id.executorId;
    spec.request.applicationName = id.applicationName;
    spec.argv = command;
    for (char** e = environ; *e; ++e)
        spec.env.emplace_back(*e);
    spec.uid = ::geteuid();
    spec.gid = ::getegid();
    spec.journalSocket = socket;
    spec.killGraceSeconds = 10;
    if (logSlice.empty())
        return supervise(spec, statusFile, false, readyFd);
    if (logSlice.size() < 7 || logSlice.compare(logSlice.size() - 6, 6, ".slice") != 0 ||
        tasks::logSliceFor(logSlice.substr(0, logSlice.size() - 6)) != logSlice) {
        std::cerr << "day2-task-supervisor: --log-slice must be a slice name like "
                     "day2-tools.slice (letters, digits, '-', '_', ':')\n";
        return kExitUsage;
    }
    auto tree = tasks::journaldCgroupTree();
    auto scopes = tree ? tasks::createLogScopes(*tree, tasks::kJournaldUnitsDir, logSlice,
                                                id.containerId, tasks::scopeFields(id))
                       : Result<tasks::LogScopes>(tree.error());
    if (!scopes) {
        log::error("--log-slice: ", scopes.error().message);
        return 1;
    }
    spec.logScopes = *scopes;
    const int rc = supervise(spec, statusFile, false, readyFd);
    // This process leaves the stdout scope first, so that the scope can go.
    if (auto r = tasks::joinLogScope({*tree + "/" + logSlice, "", ""}); !r)
        log::warning(r.error().message);
    if (auto r = tasks::removeLogScopes(spec.logScopes); !r)
        log::warning(r.error().message);
    return rc;
}
