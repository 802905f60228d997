// The agent's side of the task runtime: launches containers (cgroup + a detached supervisor that
// creates the namespaces), lists them, stops them, garbage-collects finished ones, and re-adopts
// running ones from the state directory when the agent starts again.
#pragma once

#include "base/result.h"
#include "tasks/cgroups.h"
#include "tasks/task_spec.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::tasks {

struct RuntimeOptions {
    std::string stateDir;       // containers live in <stateDir>/<container id>/
    std::string supervisorPath; // day2-task-supervisor
    std::string journalSocket;  // where task lines go
    std::string agentId;
    std::string cgroupMode = "auto";   // auto, v1, v2
    std::string cgroupParent = "day2"; // below each hierarchy's mount point
    std::string mountinfo = "/proc/self/mountinfo";
    std::string hostname;                // empty: the container id's first 12 characters
    unsigned killGraceSeconds = 10;      // SIGTERM, then SIGKILL after this long
    unsigned keepFinishedSeconds = 3600; // finished containers are listed this long
    unsigned maxContainers = 256;        // running and finished, on this node
    unsigned startTimeoutSeconds = 10;   // for the supervisor to report the task running
    std::string defaultUser = "nobody";  // a task without "user" runs as this
    std::vector<std::string> allowedUsers = {"nobody"}; // "*": any user, root included
    // How task lines reach journald (task_log_forwarder.h): "auto" (stream where log scopes can
    // be made, else native), "stream" (refuse to start without log scopes) or "native".
    std::string logTransport = "auto";
    std::string journaldUnitsDir = "/run/systemd/units";
    std::string cgroupRoot = "/sys/fs/cgroup";
};

// Called on the io thread: before a container starts (it may add environment variables, set
// the StatsD endpoint), after it ended, when start() finds it in the state directory (running
// or finished; set the hooks before start()), and when it is forgotten (removed, garbage-
// collected, or its launch failed after beforeStart). The metrics subsystem attaches here.
struct LaunchHooks {
    std::function<Result<void>(ContainerSpec&)> beforeStart;
    std::function<void(const ContainerSpec&)> afterEnd;
    std::function<void(const ContainerSpec&, bool finished)> adopted;
    std::function<void(const std::string& containerId)> removed;
};

// What an exec session needs of a running container (TaskRuntime::execContext).
struct ExecContext {
    ContainerSpec spec;
    ContainerStatus status;
    uid_t uid; // the task's user, or the one the session asked for
    gid_t gid;
    std::vector<gid_t> groups;
};

class TaskRuntime {
public:
    TaskRuntime(boost::asio::io_context& io, RuntimeOptions options);
    ~TaskRuntime();
    TaskRuntime(const TaskRuntime&) = delete;
    TaskRuntime& operator=(const TaskRuntime&) = delete;

    // Detects the cgroup hierarchies, re-adopts containers from the state directory and starts
    // the garbage collector.
    Result<void> start();
    // Stops watching. Containers keep running; the next start() adopts them.
    void stop();
    void setHooks(LaunchHooks hooks);

    // 201 + the container's JSON, or an Error with its status (400, 422, 503, 500).
    boost::asio::awaitable<Result<std::string>> launch(TaskRequest request);
    // Every container, or those whose application `visible` accepts.
    std::string listJson(const std::function<bool(const std::string&)>& visible = {}) const;
    std::optional<std::string> applicationName(std::string_view containerId) const;
    // A running container for an exec session, as `user` (a user name) when given: 404 unknown,
    // 409 not running, 400 no such user, 403 a user tasks.allowed_users does not allow.
    Result<ExecContext> execContext(std::string_view containerId,
                                    const std::optional<std::string>& user) const;
    // Calls f for every container this node knows, running or finished.
    void forEachContainer(
        const std::function<void(const ContainerSpec&, const ContainerStatus&)>& f) const;
    Result<std::string> containerJson(std::string_view containerId) const;
    // Running: asks it to stop (202). Finished: removes it and its cgroup (200), off the io
    // thread; 409 while a removal of it is under way.
    boost::asio::awaitable<Result<std::pair<unsigned, std::string>>>
    remove(std::string containerId);

    // For a container of this node (framework, executor, container): the journald units that
    // only its forwarders write as (its log scopes; none with the native transport), for the
    // logs API's per-task paths. Nothing for a container this node does not know.
    std::optional<std::vector<std::string>> trustedUnits(std::string_view frameworkId,
                                                         std::string_view executorId,
                                                         std::string_view containerId) const;
    std::string describeCgroups() const;
    // "stream (log scopes in <tree>/<slice>)" or "native (<why>)".
    std::string describeLogTransport() const;
    size_t containerCount() const;
    const HostCapacity& capacity() const;

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace day2::tasks
