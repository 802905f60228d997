// The logging half of a task's supervisor: reads the task's stdout and stderr pipes, splits
// them into lines and sends each line to journald with the task's identity (docs/operations.md,
// "Journald fields"). Blocking by design: while journald is slower than the task, the
// forwarder waits in send(), stops reading, the pipe fills and the task blocks on write — so
// backpressure reaches the task and no line is dropped.
//
// Two transports:
// - native: every line is one datagram on journald's native socket carrying all the fields.
//   Works anywhere, costs journald several syscalls per line.
// - stream: the forwarder runs in the stream's log scope (log_scope.h), so journald adds the
//   identity fields itself; lines go over journald's stdout stream socket (the one next to the
//   native socket), thousands per write. A line the stream protocol would alter (empty, with
//   trailing whitespace or '\r', with a NUL byte, over 8 KiB, a part of a line over 48 KiB, a
//   last line without '\n') goes as a datagram, in order: before it, the forwarder waits until
//   journald has read the stream (SIOCOUTQ), and before the next stream bytes until journald
//   has read the datagrams. If the stream cannot be opened or breaks, the rest goes as
//   datagrams (the fields still come from the scope).
#pragma once

#include "base/result.h"
#include "logs/journal_writer.h"
#include "tasks/line_splitter.h"
#include "tasks/log_scope.h"
#include "tasks/task_spec.h"

#include <array>
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

// A container's identity as its lines carry it.
TaskIdentity taskIdentity(const ContainerSpec& spec);

// The fields of every line of `stream` but PRIORITY, SYSLOG_IDENTIFIER and MESSAGE: STREAM and
// the identity. With the stream transport they are the log scope's, added by journald.
FieldList scopeFields(const TaskIdentity& id, Stream stream);
// Both streams' ([0] stdout, [1] stderr), as createLogScopes takes them.
std::array<FieldList, 2> scopeFields(const TaskIdentity& id);

class TaskLogForwarder {
public:
    TaskLogForwarder(std::string journalSocket, const TaskIdentity& identity);

    // Native transport: forwards both descriptors until both reach end of file. Fails only
    // when journald cannot be reached for `giveUpAfterSeconds` in a row (it keeps trying until
    // then, dropping nothing).
    Result<void> run(int stdoutFd, int stderrFd, unsigned giveUpAfterSeconds = 3600);
    // Stream transport, for one stream; the calling process must be in that stream's log scope.
    Result<void> runStream(int fd, Stream stream, unsigned giveUpAfterSeconds = 3600);

    // journald's stdout stream socket beside a native socket: <dir>/stdout.
    static std::string streamSocketFor(const std::string& nativeSocket);

private:
    Result<void> sendLine(Stream stream, const LinePiece& piece);
    Result<void> connect();
    // One attempt; false: the stream is not used (every line goes as a datagram).
    bool openStream(Stream stream);
    // Sends data[sent..]; false when the stream broke (it is closed then).
    bool writeStream(std::string_view data, size_t& sent);
    bool closeStream(const std::string& why);
    Result<void> waitUntilRead(int fd);
    const std::string& identifier() const;
    // m_prefix[stream]: PRIORITY and SYSLOG_IDENTIFIER, and with `withScopeFields` the rest.
    void setPrefix(Stream stream, bool withScopeFields);

    std::string m_socket;
    TaskIdentity m_identity;
    // The native fields of each stream: everything (native), or only what is per line (stream).
    std::string m_prefix[2];
    std::unique_ptr<logs::JournalWriter> m_writer;
    int m_stream = -1;           // journald's stdout stream; -1: datagrams only
    bool m_streamUnread = false; // bytes went on the stream since journald last read it all
    unsigned m_giveUpAfterSeconds = 3600;
};

} // namespace day2::tasks
