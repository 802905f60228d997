#include "task_agent.h"

#include "journal_namespace.h"
#include "task_gate.h"

#include <unistd.h>

#include <stdexcept>

namespace day2::test {

namespace {
const std::string kTasks = "/system/v1/tasks/v1/";
}

std::string tasksUnavailable() {
    if (::geteuid() != 0)
        return "needs root (cgroups and namespaces for the tasks)";
    std::string why;
    if (!JournalNamespace::available(&why))
        return why;
    return {};
}

TaskAgent::TaskAgent(const std::string& ns, const std::string& stateDir,
                     const std::string& cgroupParent, const std::string& config) {
    std::vector<std::string> args{"--journal-namespace", ns, "--state-dir", stateDir};
    m_process = std::make_unique<AgentProcess>(args, "[tasks]\ncgroup_parent = \"" + cgroupParent +
                                                         "\"\nkill_grace_seconds = 2\n" + config);
}

nlohmann::json TaskAgent::launch(const nlohmann::json& body) {
    auto r = httpRequest(port(), "POST", kTasks, body.dump());
    if (r.status != 201)
        throw std::runtime_error("launch failed: " + std::to_string(r.status) + " " + r.body);
    return nlohmann::json::parse(r.body);
}

nlohmann::json TaskAgent::task(const std::string& cid) {
    return nlohmann::json::parse(httpGet(port(), kTasks + cid).body);
}

nlohmann::json TaskAgent::waitFinished(const std::string& cid) {
    nlohmann::json c;
    waitUntil(
        [&] {
            c = task(cid);
            return c.value("state", "") != "running";
        },
        std::chrono::seconds(60));
    return c;
}

void TaskAgent::clear() {
    const nlohmann::json list = nlohmann::json::parse(httpGet(port(), kTasks).body)["containers"];
    for (const auto& c : list) {
        const std::string cid = c["container_id"];
        httpRequest(port(), "DELETE", kTasks + cid);
        waitFinished(cid);
        httpRequest(port(), "DELETE", kTasks + cid);
    }
}

} // namespace day2::test
