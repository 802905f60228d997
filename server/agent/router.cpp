#include "agent/router.h"

#include "base/text.h"
#include "day2/wire/wire.h"
#include "http/query.h"

namespace day2::agent {

namespace asio = boost::asio;

namespace {

std::string jsonString(std::string_view s) {
    std::string out = "\"";
    text::appendJsonEscaped(out, s);
    out += '"';
    return out;
}

http::Response health(const AgentInfo& info, const logs::LogsService& logs) {
    http::Response r;
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.body =
        "{\"agent_id\":" + jsonString(info.agentId) + ",\"hostname\":" + jsonString(info.hostname) +
        ",\"version\":" + jsonString(info.version) +
        ",\"started_at\":" + jsonString(info.startedAt) +
        ",\"journal\":" + (logs.journalHealthy() ? "\"ok\"" : "\"error\"") +
        ",\"journal_source\":" + jsonString(info.journalSource) +
        ",\"connections\":" + std::to_string(info.connectionCount ? info.connectionCount() : 0) +
        ",\"tasks\":" + jsonString(info.tasksState) + ",\"cgroups\":" + jsonString(info.cgroups) +
        "}\n";
    return r;
}

} // namespace

http::Handler makeRouter(const AgentInfo& info, logs::LogsService& logs,
                         tasks::TasksService* tasks) {
    return [info, &logs, tasks](const http::Request& req,
                         http::ResponseStream& rs) -> asio::awaitable<void> {
        auto segments = http::splitPath(req.path);
        if (!segments) {
            co_await rs.send(http::jsonError(400, segments.error().message));
            co_return;
        }
        const auto& s = *segments;
        if (s.size() == 3 && s[0] == "system" && s[1] == "v1" && s[2] == "health") {
            if (req.method != "GET" && req.method != "HEAD")
                co_await rs.send(http::jsonError(405, "health answers GET only"));
            else
                co_await rs.send(health(info, logs));
            co_return;
        }
        if (s.size() >= 4 && s[0] == "system" && s[1] == "v1" && s[2] == "logs" && s[3] == "v1") {
            std::vector<std::string> rest(s.begin() + 4, s.end());
            co_await logs.handle(req, rest, rs);
            co_return;
        }
        if (s.size() >= 4 && s[0] == "system" && s[1] == "v1" && s[2] == "tasks" && s[3] == "v1") {
            if (!tasks) {
                co_await rs.send(http::jsonError(503, "the task runtime is not available on this "
                                                      "node: " + info.tasksState));
                co_return;
            }
            std::vector<std::string> rest(s.begin() + 4, s.end());
            co_await tasks->handle(req, rest, rs);
            co_return;
        }
        co_await rs.send(http::jsonError(404, "no such endpoint: " + req.path.substr(0, 200)));
    };
}

} // namespace day2::agent
