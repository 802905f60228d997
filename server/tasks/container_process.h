// Starts a container's processes, from the supervisor: an init process that is pid 1 of new
// pid, mount (with its own /proc), uts and ipc namespaces, placed in the container's cgroup, and
// under it the task's command in its own session. The init forwards stop signals to the task's
// process group, reaps orphans, and reports the task's wait status when the task ends; when the
// init exits the kernel kills whatever is left in the pid namespace.
#pragma once

#include "base/result.h"
#include "tasks/task_spec.h"

#include <string>

#include <sys/types.h>

namespace day2::tasks {

// Where starting failed before the command ran.
enum class StartStage { None = 0, Namespaces = 1, Mounts = 2, Hostname = 3, User = 4, Workdir = 5,
                        Exec = 6 };

struct StartFailure {
    StartStage stage = StartStage::None;
    int error = 0; // errno
    // "command not found", "permission denied", "cannot enter namespaces: ...".
    std::string reason(const std::string& program) const;
};

struct ContainerProcess {
    pid_t init = -1;     // host pid of the container's pid 1
    int reportFd = -1;   // the init writes the task's wait status here before it exits
    StartFailure failure; // stage None: the command is running
};

// Forks the init; `stdoutFd`/`stderrFd` become the task's stdout and stderr (the caller closes
// its copies afterwards). `namespaces` false runs the command without new namespaces (plain
// mode, for tools and benchmarks). Returns once the command was exec'd or failed to start.
Result<ContainerProcess> startContainerProcess(const ContainerSpec& spec, int stdoutFd,
                                               int stderrFd, bool namespaces);

// After the init exits: the task's wait status as the init reported it, or the init's own.
int taskWaitStatus(const ContainerProcess& process, int initWaitStatus);

} // namespace day2::tasks
