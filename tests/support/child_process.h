// A helper process for a test (nginx, ...): started with fork/exec, killed with the test
// (PR_SET_PDEATHSIG), stopped by pid.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace day2::test {

class ChildProcess {
public:
    // Runs argv[0] with argv; stdout and stderr go to `logFile`. Throws when fork fails.
    ChildProcess(std::vector<std::string> argv, const std::string& logFile);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return m_pid; }
    bool running();
    // SIGTERM, up to 10 s, then SIGKILL.
    void stop();

private:
    pid_t m_pid = -1;
};

} // namespace day2::test
