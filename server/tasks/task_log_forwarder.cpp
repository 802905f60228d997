#include "tasks/task_log_forwarder.h"

#include "base/log.h"
#include "day2/wire/wire.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <poll.h>
#include <thread>
#include <unistd.h>

namespace day2::tasks {

namespace w = day2::wire;
using logs::JournalWriter;

TaskLogForwarder::TaskLogForwarder(std::string journalSocket, const TaskIdentity& id)
    : m_socket(std::move(journalSocket)) {
    for (int s = 0; s < 2; ++s) {
        std::string& p = m_prefix[s];
        const bool err = s == static_cast<int>(Stream::Stderr);
        JournalWriter::appendField(p, w::kFieldStream, err ? "STDERR" : "STDOUT");
        JournalWriter::appendField(p, w::kFieldPriority, err ? "3" : "6");
        JournalWriter::appendField(p, w::kFieldSyslogIdentifier,
                                   !id.applicationName.empty() ? id.applicationName
                                                               : id.executorId);
        const std::pair<std::string_view, const std::string&> fields[] = {
            {w::kFieldAgentId, id.agentId},
            {w::kFieldFrameworkId, id.frameworkId},
            {w::kFieldFrameworkName, id.frameworkName},
            {w::kFieldExecutorId, id.executorId},
            {w::kFieldContainerId, id.containerId},
            {w::kFieldApplicationName, id.applicationName}};
        for (const auto& [name, value] : fields)
            if (!value.empty())
                JournalWriter::appendField(p, name, value);
    }
}

Result<void> TaskLogForwarder::connect() {
    // journald may be restarting: keep trying, lines wait in the pipe meanwhile.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(m_giveUpAfterSeconds);
    bool said = false;
    for (;;) {
        auto w = JournalWriter::connect(m_socket);
        if (w) {
            m_writer = std::make_unique<JournalWriter>(std::move(*w));
            if (said)
                log::info("journald at ", m_socket, " is back; forwarding again");
            return {};
        }
        if (std::chrono::steady_clock::now() >= deadline)
            return w.error();
        if (!said)
            log::warning(w.error().message, "; holding the task's output until it answers");
        said = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

Result<void> TaskLogForwarder::sendLine(Stream stream, const LinePiece& piece) {
    std::string extra;
    if (piece.part > 0) {
        JournalWriter::appendField(extra, "LINE_PART", std::to_string(piece.part));
        if (piece.continued)
            JournalWriter::appendField(extra, "LINE_BREAK", "line-max");
    }
    if (piece.eof)
        JournalWriter::appendField(extra, "LINE_BREAK", "eof");
    for (;;) {
        auto r = m_writer->sendEncoded(
            {m_prefix[static_cast<int>(stream)], extra, "MESSAGE=", piece.text, "\n"});
        if (r) {
            ++m_lines;
            return {};
        }
        // The socket broke (journald restarted): reconnect and send the same line again.
        log::warning(r.error().message);
        if (auto c = connect(); !c)
            return c;
    }
}

Result<void> TaskLogForwarder::run(int stdoutFd, int stderrFd, unsigned giveUpAfterSeconds) {
    m_giveUpAfterSeconds = giveUpAfterSeconds;
    if (auto c = connect(); !c)
        return c;
    LineSplitter splitters[2];
    pollfd fds[2] = {{stdoutFd, POLLIN, 0}, {stderrFd, POLLIN, 0}};
    Result<void> failure;
    std::string buf(64 * 1024, '\0');
    int open = (stdoutFd >= 0) + (stderrFd >= 0);
    while (open > 0) {
        int r = ::poll(fds, 2, -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return Error{std::string("poll: ") + std::strerror(errno)};
        }
        for (int s = 0; s < 2; ++s) {
            if (fds[s].fd < 0 || !(fds[s].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = ::read(fds[s].fd, buf.data(), buf.size());
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            const auto stream = static_cast<Stream>(s);
            auto emit = [&](const LinePiece& piece) {
                if (failure)
                    if (auto e = sendLine(stream, piece); !e)
                        failure = e;
            };
            if (n <= 0) {
                splitters[s].finish(emit);
                fds[s].fd = -1;
                --open;
            } else {
                splitters[s].feed(std::string_view(buf.data(), static_cast<size_t>(n)), emit);
            }
            if (!failure)
                return failure;
        }
    }
    return {};
}

} // namespace day2::tasks
