// The Tasks section of API.md over HTTP: POST/GET /system/v1/tasks/v1/, GET/DELETE
// /system/v1/tasks/v1/{container_id}.
#pragma once

#include "http/response.h"
#include "tasks/task_runtime.h"

#include <string>
#include <vector>

namespace day2::tasks {

class TasksService {
public:
    explicit TasksService(TaskRuntime& runtime) : m_runtime(runtime) {}

    // `segments`: the path below /system/v1/tasks/v1/, decoded.
    boost::asio::awaitable<void> handle(const http::Request& request,
                                        const std::vector<std::string>& segments,
                                        http::ResponseStream& response);

private:
    TaskRuntime& m_runtime;
};

} // namespace day2::tasks
