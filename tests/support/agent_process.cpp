#include "agent_process.h"

#include "tasks/log_scope.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace day2::test {

std::string agentBinary() {
    return DAY2_AGENT_BINARY;
}

AgentProcess::AgentProcess(std::vector<std::string> args, const std::string& configToml) {
    char tmpl[] = "/tmp/day2-agent-test-XXXXXX";
    if (!::mkdtemp(tmpl))
        throw std::runtime_error("mkdtemp failed");
    m_dir = tmpl;
    // Tasks run as nobody: their sandboxes, below the state directory, must be reachable.
    ::chmod(m_dir.c_str(), 0711);
    std::vector<std::string> argv{agentBinary()};
    if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
        argv.push_back("--listen");
        argv.push_back("127.0.0.1:0");
    }
    if (std::find(args.begin(), args.end(), "--state-dir") == args.end()) {
        argv.push_back("--state-dir");
        argv.push_back(m_dir + "/state");
    }
    // Tests that are not about authentication run the agent with it off, which the agent only
    // allows when the configuration says so.
    std::ofstream(m_dir + "/agent.toml")
        << configToml
        << (configToml.find("[auth]") == std::string::npos ? "\n[auth]\nenabled = false\n" : "");
    argv.push_back("--config");
    argv.push_back(m_dir + "/agent.toml");
    argv.insert(argv.end(), args.begin(), args.end());
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    m_pid = ::fork();
    if (m_pid == 0) {
        // The agent goes when the test goes, however the test ends; its stdout must not keep
        // CTest's output pipe open either.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 1);
        ::dup2(pipeFds[1], 2);
        std::vector<char*> cargv;
        for (auto& a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(pipeFds[1]);
    m_stderr = pipeFds[0];
    const std::string marker = " on http://127.0.0.1:";
    // Generous: a loaded machine (or a sanitizer build) may take long to start it; a working
    // agent says where it listens long before, and a failing one exits, which ends the wait.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        auto pos = m_log.find(marker);
        if (pos != std::string::npos) {
            auto end = m_log.find('\n', pos);
            if (end != std::string::npos) {
                m_port = static_cast<uint16_t>(
                    std::stoi(m_log.substr(pos + marker.size(), end - pos - marker.size())));
                return;
            }
        }
        pollfd p{m_stderr, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            char buf[4096];
            ssize_t n = ::read(m_stderr, buf, sizeof buf);
            if (n <= 0)
                break;
            m_log.append(buf, static_cast<size_t>(n));
        }
    }
    stop();
    throw std::runtime_error("day2-agent did not start:\n" + m_log);
}

AgentProcess::~AgentProcess() {
    stop();
    if (m_stderr >= 0)
        ::close(m_stderr);
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
}

bool AgentProcess::running() {
    if (m_pid <= 0)
        return false;
    int status;
    return ::waitpid(m_pid, &status, WNOHANG) == 0;
}

int AgentProcess::stop() {
    if (m_pid <= 0)
        return -1;
    ::kill(m_pid, SIGTERM);
    int status = 0;
    // Well past any shutdown grace a test configures (the default is 5 s), so that only an
    // agent that does not stop is killed, however loaded the machine.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    pid_t r;
    while ((r = ::waitpid(m_pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        log();
        ::usleep(10000);
    }
    if (r == 0) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
        return -1;
    }
    m_pid = -1;
    log();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void AgentProcess::kill9() {
    if (m_pid <= 0)
        return;
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    log();
}

std::string AgentProcess::log() {
    if (m_stderr >= 0) {
        pollfd p{m_stderr, POLLIN, 0};
        while (::poll(&p, 1, 0) > 0) {
            char buf[4096];
            ssize_t n = ::read(m_stderr, buf, sizeof buf);
            if (n <= 0)
                break;
            m_log.append(buf, static_cast<size_t>(n));
        }
    }
    return m_log;
}

void removeCgroupParent(const std::string& parent) {
    for (const char* h : {"cpu", "cpuacct", "memory", "pids", "blkio", "freezer"})
        ::rmdir(("/sys/fs/cgroup/" + std::string(h) + "/" + parent).c_str());
    // The agent's log scopes (tasks.log_transport): what a killed agent left behind.
    if (auto tree = tasks::journaldCgroupTree())
        (void)tasks::removeLogSlice(*tree, tasks::kJournaldUnitsDir, tasks::logSliceFor(parent));
}

} // namespace day2::test
