// What a client asks for (TaskRequest, validated from the POST body), what the agent hands the
// supervisor (ContainerSpec, <state>/tasks/<cid>/container.json) and what the supervisor reports
// (ContainerStatus, <state>/tasks/<cid>/status.json). The files are how a container survives an
// agent restart.
#pragma once

#include "base/result.h"
#include "tasks/cgroups.h"
#include "tasks/log_scope.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace day2::tasks {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct TaskRequest {
    std::string frameworkId;
    std::string frameworkName;
    std::string executorId; // empty: the container id
    std::string applicationName;
    std::vector<std::string> command; // argv, or empty when `shell` is given
    std::string shell;
    StringPairs env;
    StringPairs labels;
    double cpus = 0;    // 0: no limit
    uint64_t memMb = 0; // 0: no limit
    uint64_t pids = 0;  // 0: no limit
    std::string user;   // empty: the agent's user
};

// What this node has: requests beyond it are refused as absurd.
struct HostCapacity {
    double cpus = 1;
    uint64_t memMb = 1024;
    uint64_t pidMax = 32768;
    static HostCapacity probe(); // from sysconf and /proc/sys/kernel/pid_max
};

// Validates a POST body. Errors carry status 400 and say which field is wrong and why.
Result<TaskRequest> parseTaskRequest(std::string_view body, const HostCapacity& host);

bool isValidEnvName(std::string_view name);
// Names the agent sets itself (DAY2_*, STATSD_UDP_HOST, STATSD_UDP_PORT).
bool isReservedEnvName(std::string_view name);
// Container ids are lowercase UUIDs.
bool isValidContainerId(std::string_view id);
std::string newContainerId();

struct ContainerSpec {
    std::string containerId;
    std::string agentId;
    TaskRequest request;
    std::vector<std::string> argv; // what is executed (`shell` becomes /bin/sh -c)
    std::vector<std::string> env;  // "NAME=value", complete
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string workdir;
    std::string hostname;
    CgroupSet cgroup;
    unsigned killGraceSeconds = 10;
    std::string journalSocket;
    LogScopes logScopes;    // empty: the native transport (task_log_forwarder.h)
    std::string statsdHost; // empty until a metrics listener is attached
    uint16_t statsdPort = 0;
    uint64_t createdAtUsec = 0;

    const std::string& executorId() const {
        return request.executorId.empty() ? containerId : request.executorId;
    }
};

// An id of a launch request (framework_id, executor_id; application_name with `slash`): 1 to
// 128 letters, digits, '.', '_', '-' (and '/'), not "." or ".."; 400 naming `field` otherwise.
Result<void> checkTaskId(const std::string& value, std::string_view field, bool slash);

// The format of a container's state files (container.json, status.json), written into both as
// "format". A file without it is format 1: the agents before it wrote none. An agent does not
// adopt a container whose files are of a newer format (after a downgrade): it leaves them, and
// the container, as they are, for an agent that reads them.
constexpr int kStateFormat = 1;
// The "format" of a state file; 1 when it has none; nothing when the file is not a JSON object
// or its format not a positive integer.
std::optional<int> stateFormatOf(std::string_view json);

std::string toJson(const ContainerSpec& spec);
Result<ContainerSpec> containerSpecFromJson(std::string_view json);

enum class ContainerState { Running, Exited, Killed, Failed };
std::string_view toString(ContainerState state);

struct ContainerStatus {
    ContainerState state = ContainerState::Running;
    pid_t supervisorPid = 0;
    uint64_t supervisorStartTicks = 0; // /proc/<pid>/stat field 22: tells a reused pid apart
    pid_t pid = 0;                     // the container's init (pid 1 inside), as the host sees it
    uint64_t startedAtUsec = 0;
    uint64_t endedAtUsec = 0;
    std::optional<int> exitCode;
    std::optional<int> signal;
    std::string reason; // "oom", "command not found", "exit status 3", ...
    uint64_t oomKills = 0;
    bool finished() const { return state != ContainerState::Running; }
};

std::string toJson(const ContainerStatus& status);
Result<ContainerStatus> containerStatusFromJson(std::string_view json);

// The container as GET shows it (docs/api.md, Tasks).
std::string containerJson(const ContainerSpec& spec, const ContainerStatus& status, bool stopping);

// Writes `content` to `path` through a temporary file and rename(), so a reader sees the old or
// the new file, never half of one.
Result<void> writeFileAtomically(const std::string& path, std::string_view content,
                                 mode_t mode = 0644);
std::optional<std::string> readWholeFile(const std::string& path);
uint64_t nowMicros();
// Field 22 of /proc/<pid>/stat, 0 when the process does not exist.
uint64_t processStartTicks(pid_t pid);

} // namespace day2::tasks
