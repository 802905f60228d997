// A real agent with the task runtime for integration tests, and the tasks API calls they share:
// launch, look at, wait for, and clear away tasks.
#pragma once

#include "agent_process.h"
#include "http_client.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace day2::test {

// Why tasks cannot run here (not root, or no private journald), or "" when they can.
std::string tasksUnavailable();

class TaskAgent {
public:
    // day2-agent on journal namespace `ns` with its state in `stateDir`, its cgroups under
    // `cgroupParent`, a kill grace of 2 s, and `config` (TOML) after its [tasks] section.
    TaskAgent(const std::string& ns, const std::string& stateDir, const std::string& cgroupParent,
              const std::string& config = {});

    uint16_t port() const { return m_process->port(); }
    AgentProcess& process() { return *m_process; }

    // POST the launch; throws unless 201.
    nlohmann::json launch(const nlohmann::json& body);
    nlohmann::json task(const std::string& cid);
    // Waits (60 s at most) until the task is no longer running; its last state.
    nlohmann::json waitFinished(const std::string& cid);
    // Stops every task and forgets it (its cgroup goes with it).
    void clear();

private:
    std::unique_ptr<AgentProcess> m_process;
};

} // namespace day2::test
