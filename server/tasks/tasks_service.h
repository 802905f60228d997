// The Tasks section of docs/api.md over HTTP: POST/GET /system/v1/tasks/v1/, GET/DELETE
// /system/v1/tasks/v1/{container_id}.
#pragma once

#include "http/response.h"
#include "tasks/task_runtime.h"

#include <functional>
#include <string>
#include <vector>

namespace day2::tasks {

// What the caller may do: `may` answers silently (a list shows only what may be read);
// `refused` records a refusal (audit) before the 403.
struct Access {
    std::string uid;
    std::function<bool(const std::string& resource, const std::string& action)> may;
    std::function<void(const std::string& resource, const std::string& action)> refused;
};

// The ACL resource of an application's tasks: day2:tasks:<application_name>.
std::string tasksResource(const std::string& applicationName);

class TasksService {
public:
    explicit TasksService(TaskRuntime& runtime) : m_runtime(runtime) {}

    // `segments`: the path below /system/v1/tasks/v1/, decoded.
    boost::asio::awaitable<void> handle(const http::Request& request,
                                        const std::vector<std::string>& segments,
                                        http::ResponseStream& response, const Access& access);

private:
    TaskRuntime& m_runtime;
};

} // namespace day2::tasks
