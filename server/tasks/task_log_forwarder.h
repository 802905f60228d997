// The logging half of a task's supervisor: reads the task's stdout and stderr pipes, splits
// them into lines and sends each line to journald with the task's identity (ARCHITECTURE.md,
// "Journald fields"). Blocking by design: while journald is slower than the task, the
// forwarder waits in send(), stops reading, the pipe fills and the task blocks on write — so
// backpressure reaches the task and no line is dropped.
#pragma once

#include "base/result.h"
#include "logs/journal_writer.h"
#include "tasks/line_splitter.h"

#include <cstdint>
#include <memory>
#include <string>

namespace day2::tasks {

struct TaskIdentity {
    std::string agentId;
    std::string frameworkId;
    std::string frameworkName;
    std::string executorId;
    std::string containerId;
    std::string applicationName;
};

enum class Stream { Stdout = 0, Stderr = 1 };

class TaskLogForwarder {
public:
    TaskLogForwarder(std::string journalSocket, const TaskIdentity& identity);

    // Forwards until both descriptors reach end of file. Fails only when journald cannot be
    // reached for `giveUpAfterSeconds` in a row (it keeps trying until then, dropping nothing).
    Result<void> run(int stdoutFd, int stderrFd, unsigned giveUpAfterSeconds = 3600);
    uint64_t linesSent() const { return m_lines; }

    // The native-protocol fields every line of `stream` carries (exposed for tests).
    std::string encodedPrefix(Stream stream) const { return m_prefix[static_cast<int>(stream)]; }

private:
    Result<void> sendLine(Stream stream, const LinePiece& piece);
    Result<void> connect();

    std::string m_socket;
    std::string m_prefix[2];
    std::unique_ptr<logs::JournalWriter> m_writer;
    unsigned m_giveUpAfterSeconds = 3600;
    uint64_t m_lines = 0;
};

} // namespace day2::tasks
