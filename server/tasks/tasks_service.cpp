#include "tasks/tasks_service.h"

#include "base/text.h"

namespace day2::tasks {

namespace asio = boost::asio;

namespace {

http::Response json(unsigned status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

http::Response error(const Error& e, unsigned fallback) {
    return http::jsonError(e.status ? e.status : fallback, e.message);
}

http::Response notAllowed(std::string_view allow, std::string_view what) {
    http::Response r = http::jsonError(405, std::string(what) + " answers " + std::string(allow));
    r.headers.emplace_back("Allow", std::string(allow));
    return r;
}

http::Response forbidden(const Access& access, const std::string& resource,
                         const std::string& action) {
    access.refused(resource, action);
    return http::jsonError(403, "uid '" + access.uid + "' may not " + action + " " + resource);
}

// The same answer whether the container does not exist or the caller may not see it, so that a
// caller without a grant cannot learn which container ids exist (the refusal is audited).
http::Response noContainerFor(const Access& access, const std::string& id,
                              const std::string& action) {
    return http::jsonError(404, "no container '" + id.substr(0, 64) + "' on this node that uid '" +
                                    access.uid + "' may " + action);
}

// application/json, with parameters (charset) or not.
bool isJson(std::optional<std::string_view> contentType) {
    return contentType &&
           text::iequals(text::trim(contentType->substr(0, contentType->find(';'))),
                         "application/json");
}

} // namespace

std::string tasksResource(const std::string& applicationName) {
    return "day2:tasks:" + applicationName;
}

asio::awaitable<void> TasksService::handle(const http::Request& req,
                                           const std::vector<std::string>& seg,
                                           http::ResponseStream& rs, const Access& access) {
    const bool read = req.method == "GET" || req.method == "HEAD";
    if (!req.query.empty()) {
        co_await rs.send(http::jsonError(400, "the tasks API takes no query parameters"));
        co_return;
    }
    if (seg.empty()) {
        if (read) {
            co_await rs.send(json(200, m_runtime.listJson([&](const std::string& app) {
                return access.may(tasksResource(app), "read");
            })));
        } else if (req.method == "POST") {
            if (!isJson(req.header("Content-Type"))) {
                co_await rs.send(http::jsonError(
                    415, "a task is launched with a JSON body: send Content-Type: "
                         "application/json (got '" +
                             std::string(req.header("Content-Type").value_or("")).substr(0, 100) +
                             "'; with curl: --json or -H 'Content-Type: application/json')"));
                co_return;
            }
            auto request = parseTaskRequest(req.body, m_runtime.capacity());
            if (!request) {
                co_await rs.send(error(request.error(), 400));
                co_return;
            }
            const std::string resource = tasksResource(request->applicationName);
            if (!access.may(resource, "create")) {
                co_await rs.send(forbidden(access, resource, "create"));
                co_return;
            }
            auto launched = co_await m_runtime.launch(std::move(*request));
            if (!launched) {
                co_await rs.send(error(launched.error(), 500));
                co_return;
            }
            http::Response r = json(201, std::move(*launched) + "\n");
            co_await rs.send(std::move(r));
        } else {
            co_await rs.send(notAllowed("GET, HEAD, POST", "/system/v1/tasks/v1/"));
        }
        co_return;
    }
    if (seg.size() == 1) {
        const std::string& id = seg[0];
        if (!isValidContainerId(id)) {
            co_await rs.send(http::jsonError(
                404, "no container '" + id.substr(0, 64) +
                         "' on this node (container ids are lowercase UUIDs)"));
            co_return;
        }
        const std::string action = read ? "read" : req.method == "DELETE" ? "delete" : "";
        if (!action.empty()) {
            auto app = m_runtime.applicationName(id);
            if (!app) {
                co_await rs.send(noContainerFor(access, id, action));
                co_return;
            }
            if (!access.may(tasksResource(*app), action)) {
                access.refused(tasksResource(*app), action);
                co_await rs.send(noContainerFor(access, id, action));
                co_return;
            }
        }
        if (read) {
            // No conditional operator inside co_await: GCC 12 evaluates it wrongly in coroutines.
            auto c = m_runtime.containerJson(id);
            http::Response response = c.ok() ? json(200, std::move(c.value())) : error(c.error(), 404);
            co_await rs.send(std::move(response));
        } else if (req.method == "DELETE") {
            auto r = co_await m_runtime.remove(id);
            http::Response response =
                r.ok() ? json(r->first, std::move(r->second)) : error(r.error(), 500);
            co_await rs.send(std::move(response));
        } else {
            co_await rs.send(notAllowed("GET, HEAD, DELETE", "/system/v1/tasks/v1/{container_id}"));
        }
        co_return;
    }
    co_await rs.send(http::jsonError(404, "no such tasks endpoint: " + req.path.substr(0, 200) +
                                              " (see /system/v1/tasks/v1/ and "
                                              "/system/v1/tasks/v1/{container_id})"));
}

} // namespace day2::tasks
