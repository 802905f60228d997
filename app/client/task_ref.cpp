#include "client/task_ref.h"

#include <QUrl>

namespace day2::client {

ContainerRef ContainerRef::fromJson(const QJsonObject& o, const QString& agentId) {
    ContainerRef c;
    c.agentId = o.value(QStringLiteral("agent_id")).toString(agentId);
    if (c.agentId.isEmpty())
        c.agentId = agentId;
    c.containerId = o.value(QStringLiteral("container_id")).toString();
    c.frameworkId = o.value(QStringLiteral("framework_id")).toString();
    c.frameworkName = o.value(QStringLiteral("framework_name")).toString();
    c.executorId = o.value(QStringLiteral("executor_id")).toString();
    c.applicationName = o.value(QStringLiteral("application_name")).toString();
    c.state = o.value(QStringLiteral("state")).toString();
    return c;
}

QString ContainerRef::logPathSuffix() const {
    return QStringLiteral("framework/%1/executor/%2/container/%3")
        .arg(QString::fromUtf8(QUrl::toPercentEncoding(frameworkId)),
             QString::fromUtf8(QUrl::toPercentEncoding(executorId)),
             QString::fromUtf8(QUrl::toPercentEncoding(containerId)));
}

TaskResolution resolveTask(const QList<ContainerRef>& all, const QString& what) {
    TaskResolution r;
    if (what.isEmpty()) {
        r.error = QStringLiteral("no task given");
        return r;
    }
    for (const auto& c : all)
        if (c.containerId == what) {
            r.match = c;
            return r;
        }
    QList<ContainerRef> prefixed;
    if (what.size() >= kMinPrefix)
        for (const auto& c : all)
            if (c.containerId.startsWith(what))
                prefixed.append(c);
    // A name matches with or without its leading "/", on either side: "web" and "/web" mean the
    // application "web" as well as "/web" (both, if both exist: then it is ambiguous).
    const auto bare = [](const QString& name) {
        return name.startsWith(QLatin1Char('/')) ? QStringView(name).mid(1) : QStringView(name);
    };
    QList<ContainerRef> named, running;
    for (const auto& c : all)
        if (!bare(what).isEmpty() && bare(c.applicationName) == bare(what)) {
            named.append(c);
            if (c.running())
                running.append(c);
        }
    if (!prefixed.isEmpty() && !named.isEmpty()) {
        // "cafe": the application /cafe, or the container cafe12…? Not guessed.
        r.candidates = named + prefixed;
        r.error = QStringLiteral("'%1' is both an application name and a container id prefix: "
                                 "give the full container id or '/%1'")
                      .arg(what);
        return r;
    }
    if (prefixed.size() == 1) {
        r.match = prefixed.first();
        return r;
    }
    if (running.size() == 1) {
        r.match = running.first();
        return r;
    }
    if (running.isEmpty() && named.size() == 1) {
        r.match = named.first();
        return r;
    }
    r.candidates = !running.isEmpty() ? running : !named.isEmpty() ? named : prefixed;
    if (r.candidates.isEmpty())
        r.error = QStringLiteral("no container id, id prefix or application name '%1' on any "
                                 "agent (day2 task list --all shows them)")
                      .arg(what);
    else
        r.error = QStringLiteral("'%1' is ambiguous: %2 containers match; give a container id "
                                 "(or a longer prefix)")
                      .arg(what)
                      .arg(r.candidates.size());
    return r;
}

} // namespace day2::client
