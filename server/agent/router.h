// Maps request paths to the agent's services.
#pragma once

#include "http/response.h"
#include "logs/logs_service.h"
#include "tasks/tasks_service.h"

#include <cstdint>
#include <functional>
#include <string>

namespace day2::agent {

struct AgentInfo {
    std::string agentId;
    std::string hostname;
    std::string version;
    std::string startedAt; // RFC 3339
    std::string journalSource;
    std::function<size_t()> connectionCount;
    std::string tasksState; // "ok", "disabled", or why the task runtime could not start
    std::string cgroups;    // what the task runtime uses
};

// `tasks` is null when the task runtime is disabled or could not start.
http::Handler makeRouter(const AgentInfo& info, logs::LogsService& logs,
                         tasks::TasksService* tasks);

} // namespace day2::agent
