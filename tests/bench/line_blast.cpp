// day2-bench-line-blast: sends each line of a file to a journald namespace as one native-protocol
// entry with the fields a day2 task line carries, from memory, encoded in advance, as fast as
// journald takes them. No task, no pipe: what journald itself can ingest (the ceiling).
#include "bench_common.h"

#include <fstream>
#include <string>
#include <vector>

namespace day2::bench {
namespace {

int run(int argc, char** argv) {
    Args args(argc, argv, "--namespace NS --lines FILE --application NAME",
              {"namespace", "lines", "application"});
    const std::string app = args.required("application");
    std::string prefix;
    appendField(prefix, "AGENT_ID", "00000000-0000-4000-8000-00000000a9e7");
    appendField(prefix, "FRAMEWORK_ID", "bench");
    appendField(prefix, "FRAMEWORK_NAME", "bench");
    appendField(prefix, "EXECUTOR_ID", "bench-executor");
    appendField(prefix, "CONTAINER_ID", "00000000-0000-4000-8000-00000000c0de");
    appendField(prefix, "APPLICATION_NAME", app);
    appendField(prefix, "STREAM", "STDOUT");
    appendField(prefix, "SYSLOG_IDENTIFIER", app);
    appendField(prefix, "PRIORITY", "6");
    std::vector<std::string> payloads;
    std::ifstream in(args.required("lines"));
    std::string line;
    while (std::getline(in, line)) {
        std::string p = prefix;
        appendField(p, "MESSAGE", line);
        payloads.push_back(std::move(p));
    }
    JournalSocket socket(namespaceSocket(args.required("namespace")));
    for (const auto& p : payloads)
        socket.send(p);
    std::printf("sent=%zu\n", payloads.size());
    return 0;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
