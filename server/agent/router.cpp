#include "agent/router.h"

#include "base/text.h"
#include "day2/wire/wire.h"
#include "http/forwarded.h"
#include "http/query.h"

#include <ctime>

namespace day2::agent {

namespace asio = boost::asio;

namespace {

std::string jsonString(std::string_view s) {
    std::string out = "\"";
    text::appendJsonEscaped(out, s);
    out += '"';
    return out;
}

http::Response health(const AgentInfo& info, const logs::LogsService& logs, bool authOn) {
    http::Response r;
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.body =
        "{\"agent_id\":" + jsonString(info.agentId) + ",\"hostname\":" + jsonString(info.hostname) +
        ",\"version\":" + jsonString(info.version) +
        ",\"started_at\":" + jsonString(info.startedAt) +
        ",\"journal\":" + (logs.journalHealthy() ? "\"ok\"" : "\"error\"") +
        ",\"journal_source\":" + jsonString(info.journalSource) +
        ",\"connections\":" + std::to_string(info.connectionCount ? info.connectionCount() : 0) +
        ",\"connections_evicted\":" +
        std::to_string(info.evictedConnections ? info.evictedConnections() : 0) +
        ",\"auth\":" + (authOn ? "\"on\"" : "\"off\"") +
        ",\"tasks\":" + jsonString(info.tasksState) + ",\"cgroups\":" + jsonString(info.cgroups) +
        ",\"task_logs\":" + jsonString(info.taskLogs) + ",\"metrics\":" + jsonString(info.metrics) +
        ",\"sinks\":" + (info.sinks ? info.sinks() : std::string("{}")) + "}\n";
    return r;
}

http::Response unauthorized(const std::string& detail, bool hadToken) {
    http::Response r = http::jsonError(401, detail);
    r.headers.emplace_back("WWW-Authenticate",
                           hadToken ? "Bearer realm=\"day2\", error=\"invalid_token\""
                                    : "Bearer realm=\"day2\"");
    return r;
}

std::string whoami(const auth::Identity& who) {
    std::string out = "{\"uid\":" + jsonString(who.uid) + ",\"groups\":[";
    for (size_t i = 0; i < who.groups.size(); ++i)
        out += (i ? "," : "") + jsonString(who.groups[i]);
    return out + "]}\n";
}

http::Response prometheus(metrics::MetricsService& metrics, const http::Request& req) {
    if (req.method != "GET" && req.method != "HEAD") {
        http::Response r = http::jsonError(405, "/metrics answers GET");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    http::Response r;
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.body = metrics.prometheusText();
    return r;
}

} // namespace

http::Handler makeRouter(const AgentInfo& info, Services sv) {
    return [info, sv](const http::Request& req, http::ResponseStream& rs) -> asio::awaitable<void> {
        auto segments = http::splitPath(req.path);
        if (!segments) {
            co_await rs.send(http::jsonError(400, segments.error().message));
            co_return;
        }
        const auto& s = *segments;
        const bool api = s.size() >= 2 && s[0] == "system" && s[1] == "v1";
        if (api && s.size() == 3 && s[2] == "health") {
            if (req.method != "GET" && req.method != "HEAD")
                co_await rs.send(http::jsonError(405, "health answers GET only"));
            else
                co_await rs.send(health(info, sv.logs, sv.authority.enabled()));
            co_return;
        }
        // Everything else needs a valid token.
        const auto authorization = req.header("Authorization");
        const bool scrape = s.size() == 1 && s[0] == "metrics";
        if (scrape && sv.metrics && sv.metrics->scrapeWithoutJwt(authorization)) {
            co_await rs.send(prometheus(*sv.metrics, req));
            co_return;
        }
        // Who sent it, for the audit trail: the peer, or the client a trusted proxy names.
        const http::RequestSource from = http::requestSource(
            req.remoteAddress, req.header("X-Forwarded-For"), sv.trustedProxies);
        // The precise clock (std::time may lag by a tick), the one a stream's end is set by.
        const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        auto who = sv.authority.authenticate(authorization, static_cast<int64_t>(now));
        if (!who) {
            sv.audit.record(
                {"-",
                 "-",
                 "-",
                 "unauthenticated",
                 from.client,
                 req.method + " " + req.path.substr(0, 200) + ": " + who.error().message,
                 {},
                 from.via});
            co_await rs.send(unauthorized(who.error().message, authorization.has_value()));
            co_return;
        }
        const auth::Identity identity = *who;
        auto may = [&sv, identity](const std::string& resource, const std::string& action) {
            return sv.authority.allows(identity, resource, action);
        };
        auto refused = [&sv, &req, &from, identity](const std::string& resource,
                                                    const std::string& action) {
            sv.audit.record({identity.uid,
                             resource,
                             action,
                             "denied",
                             from.client,
                             req.method + " " + req.path.substr(0, 200),
                             {},
                             from.via});
        };
        // A stream ends with its token (through that second) and holds its grant while it runs:
        // an ACL reload that takes the grant away ends it. (A range is over before a reload
        // could matter.)
        std::optional<std::chrono::system_clock::time_point> until;
        if (identity.acceptedUntil)
            until =
                std::chrono::system_clock::from_time_t(std::time_t(*identity.acceptedUntil + 1));
        // `what` ends ("the stream", "the session") when its grant of `action` goes.
        auto holdGrant = [&sv, &from, &authorization,
                          identity](const std::string& resource, const std::string& action,
                                    const std::string& what, http::StreamStop& stop) {
            return sv.held.hold(
                std::string(authorization.value_or("")), identity.uid, resource, action,
                from.client, from.via,
                [&stop, what](const std::string& why) { stop.stop(why + ": " + what + " ends"); });
        };
        // Every metrics path, /metrics with a JWT included: day2:metrics read, and metrics on.
        auto metricsRefusal = [&]() -> std::optional<http::Response> {
            if (!may("day2:metrics", "read")) {
                refused("day2:metrics", "read");
                return http::jsonError(403, "uid '" + identity.uid + "' may not read day2:metrics");
            }
            if (!sv.metrics)
                return http::jsonError(
                    503, "metrics are off on this node (metrics.enabled = false in agent.toml)");
            return std::nullopt;
        };
        if (api && s.size() == 4 && s[2] == "auth" && s[3] == "whoami") {
            http::Response r;
            r.body = whoami(identity);
            co_await rs.send(std::move(r));
            co_return;
        }
        if (api && s.size() >= 4 && s[2] == "logs" && s[3] == "v1") {
            std::vector<std::string> rest(s.begin() + 4, s.end());
            // A task's own path needs day2:logs:task:<application>; everything else (the whole
            // journal, filters, fields) day2:logs:system.
            std::string resource = "day2:logs:system";
            if (rest.size() >= 7 && rest[1] == "framework" && rest[3] == "executor" &&
                rest[5] == "container" && sv.runtime &&
                sv.runtime->trustedUnits(rest[2], rest[4], rest[6]))
                resource = "day2:logs:task:" + sv.runtime->applicationName(rest[6]).value_or("");
            if (!may(resource, "read")) {
                refused(resource, "read");
                // A task path is refused alike whether its container exists or not (the
                // resource differs, and would tell), so that a caller learns no ids from it.
                // (Built before co_await: GCC 12 mis-evaluates a conditional operator in one.)
                std::string what = resource;
                if (rest.size() >= 7 && rest[1] == "framework")
                    what = "the logs of container '" + rest[6].substr(0, 64) + "'";
                http::Response refusal =
                    http::jsonError(403, "uid '" + identity.uid + "' may not read " + what);
                co_await rs.send(std::move(refusal));
                co_return;
            }
            http::StreamStop stop;
            auth::HeldGrants::Hold hold;
            if (!rest.empty() && rest[0] == "stream")
                hold = holdGrant(resource, "read", "the stream", stop);
            co_await sv.logs.handle(req, rest, rs, until, &stop);
            co_return;
        }
        if (api && s.size() >= 4 && s[2] == "tasks" && s[3] == "v1") {
            if (!sv.tasks) {
                co_await rs.send(http::jsonError(503, "the task runtime is not available on this "
                                                      "node: " +
                                                          info.tasksState));
                co_return;
            }
            std::vector<std::string> rest(s.begin() + 4, s.end());
            tasks::Access access{identity.uid, may, refused};
            co_await sv.tasks->handle(req, rest, rs, access);
            co_return;
        }
        if (api && s.size() >= 4 && s[2] == "metrics" && s[3] == "v0") {
            if (auto refusal = metricsRefusal()) {
                co_await rs.send(std::move(*refusal));
                co_return;
            }
            std::vector<std::string> rest(s.begin() + 4, s.end());
            http::StreamStop stop;
            auth::HeldGrants::Hold hold;
            if (rest.size() == 1 && rest[0] == "stream")
                hold = holdGrant("day2:metrics", "read", "the stream", stop);
            co_await sv.metrics->handle(req, rest, rs, until, &stop);
            co_return;
        }
        if (api && s.size() >= 4 && s[2] == "exec" && s[3] == "v1") {
            if (!sv.exec) {
                co_await rs.send(http::jsonError(
                    503, "exec needs the task runtime, which is not available on this node: " +
                             info.tasksState));
                co_return;
            }
            std::vector<std::string> rest(s.begin() + 4, s.end());
            // day2:exec:<application>, refused alike whether the container exists or not, so
            // that a caller without the grant learns no ids from it.
            std::string resource = "day2:exec:";
            if (rest.size() == 2 && rest[0] == "containers")
                resource += sv.runtime->applicationName(rest[1]).value_or("");
            if (!may(resource, "create")) {
                refused(resource, "create");
                std::string what = "exec in ";
                if (rest.size() == 2)
                    what += "container '" + rest[1].substr(0, 64) + "'";
                else
                    what += "this node's containers";
                http::Response refusal =
                    http::jsonError(403, "uid '" + identity.uid + "' may not " + what);
                co_await rs.send(std::move(refusal));
                co_return;
            }
            // A session holds its grant like a stream: a reload that takes it away ends it.
            http::StreamStop stop;
            auth::HeldGrants::Hold hold = holdGrant(resource, "create", "the session", stop);
            exec::ExecCaller caller{identity.uid, resource, from.client, from.via};
            co_await sv.exec->handle(req, rest, rs, std::move(caller), until, &stop);
            co_return;
        }
        if (scrape) {
            auto answer = metricsRefusal();
            if (!answer)
                answer = prometheus(*sv.metrics, req);
            co_await rs.send(std::move(*answer));
            co_return;
        }
        co_await rs.send(http::jsonError(404, "no such endpoint: " + req.path.substr(0, 200)));
    };
}

} // namespace day2::agent
