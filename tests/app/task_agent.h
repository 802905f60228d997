// A real day2-agent that runs tasks, for the client library's and the console's tests: a
// private journald namespace, the agent on loopback with its own cgroup parent and state
// directory, and the tasks launched through its API. Needs root (cgroups and namespaces).
#pragma once

#include "client/api_client.h"

#include "agent_process.h"
#include "journal_namespace.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QTest>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

namespace day2::test {

class TaskAgent {
public:
    // Why a test cannot run here (empty: it can).
    static std::string unavailable() {
        if (::geteuid() != 0)
            return "needs root (the task's cgroups and namespaces)";
        std::string why;
        if (!JournalNamespace::available(&why))
            return why;
        if (!std::filesystem::exists("/sys/fs/cgroup/memory/cgroup.procs") &&
            !std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers"))
            return "no cgroup hierarchy with the memory controller is mounted";
        return {};
    }

    // `tag` names the journal namespace, the cgroup parent and the state directory.
    explicit TaskAgent(const std::string& tag)
        : m_ns(std::make_unique<JournalNamespace>("day2" + tag)),
          m_parent("day2-test-" + tag + "-" + std::to_string(::getpid())),
          m_state("/tmp/day2-" + tag + "-test-" + std::to_string(::getpid())),
          m_gates("/tmp/day2-" + tag + "-gates-" + std::to_string(::getpid())) {
        std::filesystem::create_directories(m_state);
        // Tasks run as nobody: they may look into the gates' directory, not write to it.
        std::filesystem::create_directories(m_gates);
        std::filesystem::permissions(m_gates, std::filesystem::perms(0755));
        start("127.0.0.1:0");
    }

    ~TaskAgent() {
        if (m_agent) {
            // Finished containers go with their cgroups when deleted.
            client::ApiClient api(endpoint());
            api.init(nullptr);
            const auto list = api.call("GET", client::agentPath({}, QStringLiteral("tasks/v1/")));
            const auto containers =
                QJsonDocument::fromJson(list.body).object()["containers"].toArray();
            for (const auto& c : containers) {
                const QString cid = c.toObject()["container_id"].toString();
                const QString path = client::agentPath({}, QStringLiteral("tasks/v1/") + cid);
                api.call("DELETE", path);
                for (int i = 0; i < 100 && api.call("GET", path).status == 200; ++i) {
                    QTest::qWait(100);
                    api.call("DELETE", path);
                }
            }
        }
        m_agent.reset();
        removeCgroupParent(m_parent);
        std::error_code ec;
        std::filesystem::remove_all(m_state, ec);
        std::filesystem::remove_all(m_gates, ec);
    }

    AgentProcess& process() { return *m_agent; }
    JournalNamespace& journal() { return *m_ns; }

    // Gates put an order between a task and the test on purpose instead of hoping for one: a
    // task's shell runs waitFor("name") where it must wait, the test calls open("name") when
    // what has to come first has happened. (A stuck task is stopped when the agent goes.)
    QString waitFor(const QString& gate) const {
        return QStringLiteral("while [ ! -e %1/%2 ]; do sleep 0.02; done")
            .arg(QString::fromStdString(m_gates), gate);
    }
    void open(const QString& gate) const {
        const std::string path = m_gates + "/" + gate.toStdString();
        FILE* f = std::fopen(path.c_str(), "w");
        QVERIFY2(f, path.c_str());
        std::fclose(f);
    }
    // The entries of a container (its id: the last segment of launch()'s path) in the journal,
    // read without the agent, e.g. while it is down.
    size_t journalLines(const QString& path) const {
        return m_ns->count("CONTAINER_ID=" + path.section('/', -1).toStdString());
    }
    uint16_t port() const { return m_agent->port(); }
    client::Endpoint endpoint() const {
        return {QUrl(QStringLiteral("http://127.0.0.1:%1").arg(m_agent->port())), {}, {}};
    }
    const std::string& stateDir() const { return m_state; }

    // Starts the agent (again, after kill9() or stop: pass the old port to keep it).
    void start(const std::string& listen) {
        m_agent.reset();
        m_agent = std::make_unique<AgentProcess>(
            std::vector<std::string>{"--journal-namespace", m_ns->name(), "--state-dir", m_state,
                                     "--listen", listen},
            "[tasks]\ncgroup_parent = \"" + m_parent + "\"\nkill_grace_seconds = 2\n");
    }
    void restartOnSamePort() {
        const uint16_t port = m_agent->port();
        start("127.0.0.1:" + std::to_string(port));
    }

    // Launches `shell` as application `app` of framework `framework`; returns its logs stream
    // path (empty, with the reason in `error`, on failure).
    QString launch(client::ApiClient& api, const QString& framework, const QString& app,
                   const QString& shell, QString* error = nullptr) {
        const QByteArray body = QJsonDocument(QJsonObject{{"framework_id", framework},
                                                          {"framework_name", "marathon"},
                                                          {"application_name", app},
                                                          {"shell", shell}})
                                    .toJson(QJsonDocument::Compact);
        auto r = api.call("POST", client::agentPath({}, QStringLiteral("tasks/v1/")), {}, body);
        if (!r.ok()) {
            if (error)
                *error = r.error;
            return {};
        }
        const QJsonObject c = QJsonDocument::fromJson(r.body).object();
        return client::agentPath({}, QStringLiteral("logs/v1/stream/framework/%1/executor/%2/"
                                                    "container/%3")
                                         .arg(framework, c.value("executor_id").toString(),
                                              c.value("container_id").toString()));
    }

private:
    std::unique_ptr<JournalNamespace> m_ns;
    std::unique_ptr<AgentProcess> m_agent;
    std::string m_parent, m_state, m_gates;
};

} // namespace day2::test
