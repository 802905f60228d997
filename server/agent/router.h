// Maps request paths to the agent's services, after authentication (JWT) and authorization (ACL)
// of every request but /system/v1/health.
#pragma once

#include "auth/audit_log.h"
#include "auth/authority.h"
#include "auth/held_grants.h"
#include "exec/exec_service.h"
#include "http/response.h"
#include "logs/logs_service.h"
#include "metrics/metrics_service.h"
#include "tasks/task_runtime.h"
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
    // Waiting connections closed to make room for others (a flood of idle ones), since start.
    std::function<uint64_t()> evictedConnections;
    std::string tasksState;             // "ok", "disabled", or why the task runtime could not start
    std::string cgroups;                // what the task runtime uses
    std::string taskLogs;               // how task lines reach journald
    std::string metrics;                // "off", or what is collected how often
    std::function<std::string()> sinks; // a JSON object: each sink and how it delivers
};

struct Services {
    logs::LogsService& logs;
    tasks::TasksService* tasks;       // null when the task runtime is disabled or could not start
    tasks::TaskRuntime* runtime;      // likewise
    metrics::MetricsService* metrics; // null when metrics are off
    exec::ExecService* exec;          // null without the task runtime
    auth::Authority& authority;
    auth::AuditLog& audit;
    auth::HeldGrants& held; // streams (and exec sessions) hold their grant here
    // Whose X-Forwarded-For names the client in the audit trail (http.trusted_proxies).
    std::vector<std::string> trustedProxies;
};

http::Handler makeRouter(const AgentInfo& info, Services services);

} // namespace day2::agent
