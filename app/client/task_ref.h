// What an operator types for a task (`day2 task log web`) and what it means: a container id, a
// unique prefix of one, or an application name, looked up across every agent of the cluster.
#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

namespace day2::client {

struct ContainerRef {
    QString agentId, hostname /* the agent's */, containerId, frameworkId, frameworkName,
        executorId, applicationName, state;
    bool running() const { return state == QLatin1String("running"); }
    // The per-task part of a logs path: "framework/<fw>/executor/<ex>/container/<cid>", each
    // percent-encoded (appended to "logs/v1/range/" or "logs/v1/stream/").
    QString logPathSuffix() const;
    // From one entry of an agent's tasks list (GET /system/v1/tasks/v1/); `hostname` is left
    // to the caller (the entry's own is the container's uts name).
    static ContainerRef fromJson(const QJsonObject& o, const QString& agentId);
};

struct TaskResolution {
    std::optional<ContainerRef> match;
    QList<ContainerRef> candidates; // when ambiguous: every container the name could mean
    QString error;                  // set when there is no match
};

// The rules, in order: an exact container id; a unique prefix (of at least kMinPrefix
// characters) of container ids; an application name (with or without its leading "/"), where
// the one running container wins if there is exactly one, else the only container of that
// name. A text that is both a prefix and a name, or means several containers, is ambiguous (the
// candidates are listed); anything else is unknown.
inline constexpr qsizetype kMinPrefix = 4;
TaskResolution resolveTask(const QList<ContainerRef>& all, const QString& what);

} // namespace day2::client
