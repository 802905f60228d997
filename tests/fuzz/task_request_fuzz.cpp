// Fuzzes what a client and the state directory hand the task runtime: launch request bodies
// (parseTaskRequest) and the state files (containerSpecFromJson, containerStatusFromJson). An
// accepted request must survive the trip through container.json unchanged.
#include "tasks/task_spec.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace day2::tasks;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)containerStatusFromJson(input);
    (void)containerSpecFromJson(input);
    static const HostCapacity host{4, 8192, 32768};
    auto request = parseTaskRequest(input, host);
    if (!request) {
        if (request.error().status != 400 || request.error().message.empty())
            std::abort();
        return 0;
    }
    ContainerSpec spec;
    spec.containerId = "00000000-0000-4000-8000-000000000000";
    spec.request = *request;
    spec.argv = request->command.empty() ? std::vector<std::string>{"/bin/sh", "-c", request->shell}
                                         : request->command;
    auto back = containerSpecFromJson(toJson(spec));
    if (!back || back->request.frameworkId != request->frameworkId ||
        back->request.applicationName != request->applicationName ||
        back->request.command != request->command || back->request.shell != request->shell ||
        back->request.env != request->env || back->request.labels != request->labels ||
        back->request.memMb != request->memMb || back->request.pids != request->pids ||
        back->request.user != request->user)
        std::abort();
    (void)containerJson(spec, ContainerStatus{}, false);
    return 0;
}
