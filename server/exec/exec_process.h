// Starts a process inside a running task's container (`day2 exec`, like `kubectl exec`). The
// process joins the container's cgroups and every namespace of the container's init, sees the
// task's root, runs as the task's user with the task's environment and working directory, and
// is the agent's own child, reaped through a pidfd. With a terminal it leads a session on a new
// pty; without one it has separate stdout and stderr pipes. Either way it is the leader of its
// own session and process group, which hangUp() and kill() signal.
//
// Needs root and Linux >= 5.8 (setns on a pidfd). Safe to call from any thread of the agent:
// between fork and exec its children make only async-signal-safe calls. The agent must leave
// SIGCHLD's disposition alone and never wait for any child (waitpid(-1)): the process is
// reaped by reapExec only.
#pragma once

#include "base/result.h"
#include "tasks/cgroups.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <sys/types.h>

namespace day2::exec {

// The running container, as the task runtime knows it.
struct ExecTarget {
    pid_t initPid = 0;            // the container's init, host pid
    uint64_t initStartTicks = 0;  // its /proc/<pid>/stat field 22 (tasks::processStartTicks)
    tasks::CgroupSet cgroup;      // the container's cgroups (empty: none joined)
    std::vector<std::string> env; // "NAME=value", the task's; its PATH finds argv[0]
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string workdir; // inside the container; empty: "/"
};

struct ProcessRequest {
    std::vector<std::string> argv;
    bool tty = false;       // a pty (TERM=xterm-256color is added to the environment)
    bool stdinOpen = false; // without tty: a stdin pipe; otherwise stdin is /dev/null
    uint16_t cols = 80, rows = 24;
};

// A started process. Owns its descriptors, all close-on-exec; the ones the caller reads and
// writes (ptyMaster, stdinFd, stdoutFd, stderrFd) are nonblocking, the pidfd is readable once
// the process ended. To hand a descriptor to something that closes it (an Asio
// stream_descriptor), take it with std::exchange(process.stdoutFd, -1). Destroying a process
// that was not reaped SIGKILLs its process group and reaps it, so nothing is left a zombie.
struct ExecProcess {
    pid_t pid = -1;     // host pid; the agent is its parent
    int pidfd = -1;     // reapExec() waits on it
    int ptyMaster = -1; // tty: output is read and input written here
    int stdinFd = -1;   // no tty: -1 unless stdinOpen; close it for the process to read EOF
    int stdoutFd = -1;
    int stderrFd = -1;
    bool reaped = false; // set by reapExec; from then on the pid may belong to another process

    ExecProcess() = default;
    ExecProcess(ExecProcess&& other) noexcept;
    ExecProcess& operator=(ExecProcess&& other) noexcept;
    ExecProcess(const ExecProcess&) = delete;
    ExecProcess& operator=(const ExecProcess&) = delete;
    ~ExecProcess();
};

// A command that could not start; the caller reports it as the session's status.
struct ExecStartError {
    int exitCode = 1;   // 127: not found; 126: not executable; 1: failed before the exec
    std::string reason; // "command not found: foo", "cannot enter the container's namespaces: ..."
};

using ExecStart = std::variant<ExecProcess, ExecStartError>;

// Starts request.argv in the target's container. Returns once the command was exec'd (the
// running process) or could not be (ExecStartError). An Error is the agent's own failure (no
// pty, fork failed, status 500), a container whose init is gone or whose pid was reused (409),
// or an empty argv (400). Blocks for a few milliseconds: run it off the io thread.
Result<ExecStart> startExec(const ExecTarget& target, const ProcessRequest& request);

// How a process ended.
struct ExecExit {
    int exitCode = 0; // its exit status, or 128 + the signal that ended it (as shells say)
    int signal = 0;   // that signal; 0 when it exited
};

// Reaps the process (waitid on its pidfd). With `block` false, std::nullopt while it still
// runs. An Error when it was reaped already or waitid failed.
Result<std::optional<ExecExit>> reapExec(ExecProcess& process, bool block);

// How it ended, without reaping it: a zombie until reapExec or the destructor, so its pid (its
// group's and session's id) cannot be reused and kill() still reaches what it left running.
Result<std::optional<ExecExit>> exitOf(ExecProcess& process, bool block);

// Sets the terminal's size (the process's foreground process group gets SIGWINCH).
Result<void> resize(int ptyMaster, uint16_t cols, uint16_t rows);

// SIGHUP, or SIGKILL, to the process (through its pidfd) and to its process group: with a tty
// the session leader's group, without one the group the process leads. kill() also reaches
// every process of the session it leads (jobs in groups of their own). False when the process
// was reaped already: its pid, and so its group id, may have been reused.
bool hangUp(const ExecProcess& process);
bool kill(const ExecProcess& process);

} // namespace day2::exec
