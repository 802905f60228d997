// Wire constants of ../shared/design/docs/api.md, defined once for the agent and the clients.
#pragma once

#include <string_view>

namespace day2::wire {

// Paths (the agent's own; through Adminrouter they sit under /system/v1/agent/<agent_id>/).
inline constexpr std::string_view kHealthPath = "/system/v1/health";
inline constexpr std::string_view kLogsPrefix = "/system/v1/logs/v1/";

// Journald fields written on every task line (docs/operations.md, the fields day2 writes).
inline constexpr std::string_view kFieldAgentId = "AGENT_ID";
inline constexpr std::string_view kFieldFrameworkId = "FRAMEWORK_ID";
inline constexpr std::string_view kFieldFrameworkName = "FRAMEWORK_NAME";
inline constexpr std::string_view kFieldExecutorId = "EXECUTOR_ID";
inline constexpr std::string_view kFieldContainerId = "CONTAINER_ID";
inline constexpr std::string_view kFieldApplicationName = "APPLICATION_NAME";
inline constexpr std::string_view kFieldStream = "STREAM";
inline constexpr std::string_view kFieldMessage = "MESSAGE";
inline constexpr std::string_view kFieldPriority = "PRIORITY";
inline constexpr std::string_view kFieldSyslogIdentifier = "SYSLOG_IDENTIFIER";
inline constexpr std::string_view kFieldPid = "_PID";
inline constexpr std::string_view kFieldSystemdUnit = "_SYSTEMD_UNIT";
// Set by journald from the sender's credentials: a process cannot claim another uid. Task lines
// and audit lines are written by root (the task's forwarder, the agent).
inline constexpr std::string_view kFieldUid = "_UID";
inline constexpr std::string_view kFieldUnit = "UNIT";

// Metric tags that say where a datapoint comes from (docs/api.md, Metrics): set by the agent, never
// by what a task sends.
inline constexpr std::string_view kTagAgentId = "agent_id";
inline constexpr std::string_view kTagHostname = "hostname";
inline constexpr std::string_view kTagContainerId = "container_id";
inline constexpr std::string_view kTagExecutorId = "executor_id";
inline constexpr std::string_view kTagFrameworkId = "framework_id";
inline constexpr std::string_view kTagFrameworkName = "framework_name";
inline constexpr std::string_view kTagApplicationName = "application_name";
inline constexpr std::string_view kIdentityTags[] = {kTagAgentId,     kTagHostname,
                                                     kTagContainerId, kTagExecutorId,
                                                     kTagFrameworkId, kTagFrameworkName,
                                                     kTagApplicationName};

// Query parameters of the logs API.
inline constexpr std::string_view kParamFilter = "filter";
inline constexpr std::string_view kParamLimit = "limit";
inline constexpr std::string_view kParamSkipPrev = "skip_prev";
inline constexpr std::string_view kParamSkipNext = "skip_next";
inline constexpr std::string_view kParamCursor = "cursor";
inline constexpr std::string_view kParamReadReverse = "read_reverse";
inline constexpr std::string_view kParamUnit = "unit";
inline constexpr std::string_view kParamPriority = "priority";
inline constexpr std::string_view kParamSince = "since";
inline constexpr std::string_view kParamUntil = "until";
inline constexpr std::string_view kParamGrep = "grep";

// Headers.
inline constexpr std::string_view kHeaderSkipNext = "X-Journal-Skip-Next";
inline constexpr std::string_view kHeaderSkipPrev = "X-Journal-Skip-Prev";
inline constexpr std::string_view kHeaderLastEventId = "Last-Event-ID";
// On a stream resumed with Last-Event-ID: "exact" (nothing missed) or "gap" (that entry is gone
// from the journal), "gap; up-to=N" when N journal entries at most were lost in between.
inline constexpr std::string_view kHeaderResume = "X-Journal-Resume";
// On a stream: the seconds between ": ping" comments when nothing else is sent, so that a
// client can tell a dead connection from a quiet one.
inline constexpr std::string_view kHeaderPing = "X-Journal-Ping";
inline constexpr std::string_view kHeaderAccelBuffering = "X-Accel-Buffering";

// Media types.
inline constexpr std::string_view kMediaText = "text/plain";
inline constexpr std::string_view kMediaJson = "application/json";
inline constexpr std::string_view kMediaEventStream = "text/event-stream";
inline constexpr std::string_view kMediaGzip = "application/gzip";

// JSON keys of a log entry.
inline constexpr std::string_view kEntryFields = "fields";
inline constexpr std::string_view kEntryFieldsB64 = "fields_b64";
inline constexpr std::string_view kEntryCursor = "cursor";
inline constexpr std::string_view kEntryMonotonic = "monotonic_timestamp";
inline constexpr std::string_view kEntryRealtime = "realtime_timestamp";

// Ports.
inline constexpr unsigned short kAgentHttpPort = 61001;
inline constexpr unsigned short kAgentHttpsPort = 61002;

} // namespace day2::wire
