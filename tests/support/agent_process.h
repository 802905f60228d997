// Runs the real day2-agent binary for a test and stops it by pid.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace day2::test {

class AgentProcess {
public:
    // Starts day2-agent with `args` plus --listen 127.0.0.1:0 (unless `args` has a --listen: a
    // restarted agent takes its predecessor's port), a fresh state dir (unless `args` has a
    // --state-dir) and `configToml` (with [auth] enabled = false added unless it has an [auth]
    // section), and waits until it says where it listens; throws on failure.
    explicit AgentProcess(std::vector<std::string> args, const std::string& configToml = {});
    ~AgentProcess();
    AgentProcess(const AgentProcess&) = delete;
    AgentProcess& operator=(const AgentProcess&) = delete;

    uint16_t port() const { return m_port; }
    pid_t pid() const { return m_pid; }
    bool running();
    // SIGTERM, then waits (SIGKILL after 90 s); returns the exit status (or -1 if it was killed).
    int stop();
    // SIGKILL, as a crash would: nothing is cleaned up.
    void kill9();
    // Everything the agent wrote to stderr so far.
    std::string log();

private:
    pid_t m_pid = -1;
    int m_stderr = -1;
    uint16_t m_port = 0;
    std::string m_dir;
    std::string m_log;
};

std::string agentBinary();

// Removes the (empty by then) cgroup parent directories a test's agent used, in every v1
// hierarchy the agent joins, and the slice of its log scopes.
void removeCgroupParent(const std::string& parent);

} // namespace day2::test
