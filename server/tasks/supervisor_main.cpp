// day2-task-supervisor: runs one task command with its stdout and stderr on pipes and sends
// every line to journald with the task's fields (the role of Mesos's journald logger or
// podman's conmon). The agent starts one per task; it outlives an agent restart.
//
//   day2-task-supervisor --journal-socket /run/systemd/journal/socket --container-id C \
//       [--framework-id F --framework-name N --executor-id E --application-name A
//        --agent-id ID --status-file FILE] -- COMMAND [ARGS...]
#include "base/command_line.h"
#include "base/log.h"
#include "tasks/task_log_forwarder.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace day2;

namespace {

void writeStatus(const std::string& file, int status) {
    if (file.empty())
        return;
    const std::string tmp = file + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (WIFEXITED(status))
            out << "{\"exit_code\":" << WEXITSTATUS(status) << "}\n";
        else if (WIFSIGNALED(status))
            out << "{\"signal\":" << WTERMSIG(status) << "}\n";
    }
    std::rename(tmp.c_str(), file.c_str());
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"day2-task-supervisor: runs a task and sends each line of its stdout and stderr "
                 "to journald with the task's fields."};
    tasks::TaskIdentity id;
    std::string socket = "/run/systemd/journal/socket";
    std::string statusFile;
    std::vector<std::string> command;
    app.add_option("--journal-socket", socket, "journald's native socket");
    app.add_option("--agent-id", id.agentId, "AGENT_ID field");
    app.add_option("--framework-id", id.frameworkId, "FRAMEWORK_ID field");
    app.add_option("--framework-name", id.frameworkName, "FRAMEWORK_NAME field");
    app.add_option("--executor-id", id.executorId, "EXECUTOR_ID field");
    app.add_option("--container-id", id.containerId, "CONTAINER_ID field")->required();
    app.add_option("--application-name", id.applicationName, "APPLICATION_NAME field");
    app.add_option("--status-file", statusFile, "where to write the exit status as JSON");
    app.add_option("command", command, "the task's command and arguments (after --)")->required();
    if (auto exitCode = parseCommandLine(app, argc, argv))
        return *exitCode;

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
        log::error("pipe: ", std::strerror(errno));
        return 1;
    }
    pid_t child = ::fork();
    if (child < 0) {
        log::error("fork: ", std::strerror(errno));
        return 1;
    }
    if (child == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(err[1], STDERR_FILENO);
        std::vector<char*> args;
        for (auto& a : command)
            args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        const int e = errno;
        const std::string msg = "day2: cannot run '" + command[0] + "': " + std::strerror(e) + "\n";
        (void)!::write(STDERR_FILENO, msg.data(), msg.size());
        ::_exit(e == ENOENT ? 127 : 126);
    }
    ::close(out[1]);
    ::close(err[1]);
    // The task's lines are what matter: a dying supervisor must not take them down with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);

    tasks::TaskLogForwarder forwarder(socket, id);
    auto r = forwarder.run(out[0], err[0]);
    if (!r)
        log::error("forwarding the task's output failed: ", r.error().message);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    writeStatus(statusFile, status);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
