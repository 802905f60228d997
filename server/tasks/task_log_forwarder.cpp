#include "tasks/task_log_forwarder.h"

#include "base/log.h"
#include "base/unix_socket.h"
#include "day2/wire/wire.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace day2::tasks {

namespace w = day2::wire;
using logs::JournalWriter;

namespace {

using Clock = std::chrono::steady_clock;

std::string_view streamName(Stream s) {
    return s == Stream::Stderr ? "STDERR" : "STDOUT";
}
std::string_view priorityOf(Stream s) {
    return s == Stream::Stderr ? "3" : "6";
}

// Longer lines go as datagrams, so that a journald with a LineMax= below the default (48 KiB)
// does not split them. They are rare, and large enough that the datagram costs little.
constexpr size_t kMaxStreamLine = 8 * 1024;

// Lines journald's stdout stream would not store as they are: it ends a line at a NUL byte,
// drops an empty line, strips trailing whitespace (a CRLF line's '\r' too), and marks its own
// splits and last lines differently from ours.
bool needsDatagram(const LinePiece& piece) {
    const std::string_view t = piece.text;
    if (piece.part > 0 || piece.eof || t.empty() || t.size() > kMaxStreamLine)
        return true;
    switch (t.back()) {
    case ' ':
    case '\t':
    case '\r':
    case '\v':
    case '\f':
        return true;
    default:
        return std::memchr(t.data(), '\0', t.size()) != nullptr;
    }
}

} // namespace

TaskLogForwarder::TaskLogForwarder(std::string journalSocket, const TaskIdentity& id)
    : m_socket(std::move(journalSocket)), m_identity(id) {}

const std::string& TaskLogForwarder::identifier() const {
    return !m_identity.applicationName.empty() ? m_identity.applicationName : m_identity.executorId;
}

void TaskLogForwarder::setPrefix(Stream stream, bool withScopeFields) {
    std::string& p = m_prefix[static_cast<int>(stream)];
    p.clear();
    JournalWriter::appendField(p, w::kFieldPriority, priorityOf(stream));
    JournalWriter::appendField(p, w::kFieldSyslogIdentifier, identifier());
    if (withScopeFields)
        for (const auto& [name, value] : scopeFields(m_identity, stream))
            JournalWriter::appendField(p, name, value);
}

TaskIdentity taskIdentity(const ContainerSpec& spec) {
    return {spec.agentId,      spec.request.frameworkId, spec.request.frameworkName,
            spec.executorId(), spec.containerId,         spec.request.applicationName};
}

FieldList scopeFields(const TaskIdentity& id, Stream stream) {
    FieldList out;
    out.emplace_back(w::kFieldStream, streamName(stream));
    const std::pair<std::string_view, const std::string&> fields[] = {
        {w::kFieldAgentId, id.agentId},
        {w::kFieldFrameworkId, id.frameworkId},
        {w::kFieldFrameworkName, id.frameworkName},
        {w::kFieldExecutorId, id.executorId},
        {w::kFieldContainerId, id.containerId},
        {w::kFieldApplicationName, id.applicationName}};
    for (const auto& [name, value] : fields)
        if (!value.empty())
            out.emplace_back(name, value);
    return out;
}

std::array<FieldList, 2> scopeFields(const TaskIdentity& id) {
    return {scopeFields(id, Stream::Stdout), scopeFields(id, Stream::Stderr)};
}

std::string TaskLogForwarder::streamSocketFor(const std::string& nativeSocket) {
    const auto slash = nativeSocket.rfind('/');
    return (slash == std::string::npos ? std::string(".") : nativeSocket.substr(0, slash)) +
           "/stdout";
}

Result<void> TaskLogForwarder::connect() {
    // journald may be restarting: keep trying, lines wait in the pipe meanwhile.
    const auto deadline = Clock::now() + std::chrono::seconds(m_giveUpAfterSeconds);
    bool said = false;
    for (;;) {
        auto w = JournalWriter::connect(m_socket);
        if (w) {
            m_writer = std::make_unique<JournalWriter>(std::move(*w));
            if (said)
                log::info("journald at ", m_socket, " is back; forwarding again");
            return {};
        }
        if (Clock::now() >= deadline)
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
        if (r)
            return {};
        // The socket broke (journald restarted): reconnect and send the same line again.
        log::warning(r.error().message);
        if (auto c = connect(); !c)
            return c;
    }
}

Result<void> TaskLogForwarder::run(int stdoutFd, int stderrFd, unsigned giveUpAfterSeconds) {
    m_giveUpAfterSeconds = giveUpAfterSeconds;
    setPrefix(Stream::Stdout, true);
    setPrefix(Stream::Stderr, true);
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

// --- stream transport ---

bool TaskLogForwarder::openStream(Stream stream) {
    const std::string path = streamSocketFor(m_socket);
    auto connected = connectUnixSocket(path, SOCK_STREAM);
    if (!connected) {
        log::warning("cannot connect to journald's stdout stream at ", path, ": ",
                     connected.error().message, "; sending every line as a datagram");
        return false;
    }
    const int fd = *connected;
    ::shutdown(fd, SHUT_RD);
    // Every write must carry this process's credentials: journald finds the log scope (and so
    // the fields) from the pid in them. The kernel attaches them when either end asks; relying
    // on journald's end, about 1 task in 300 here (Linux 6.18) had its first line stored without
    // _PID, unit or fields. With this end asking too: none in 1,200.
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
        ::close(fd);
        log::warning("SO_PASSCRED on journald's stdout stream: ", std::strerror(errno),
                     "; sending every line as a datagram");
        return false;
    }
    m_stream = fd;
    // What journald's stdout stream protocol expects first: identifier, unit (empty), priority,
    // level prefix (off: a task's "<3>" is text), forward to syslog, kmsg, console.
    const std::string header =
        identifier() + "\n\n" + std::string(priorityOf(stream)) + "\n0\n0\n0\n0\n";
    size_t sent = 0;
    return writeStream(header, sent);
}

bool TaskLogForwarder::writeStream(std::string_view data, size_t& sent) {
    while (sent < data.size()) {
        ssize_t n = ::send(m_stream, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0)
            sent += static_cast<size_t>(n);
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return closeStream(std::string("journald's stdout stream broke: ") +
                               (n < 0 ? std::strerror(errno) : "closed"));
    }
    m_streamUnread = true;
    return true;
}

bool TaskLogForwarder::closeStream(const std::string& why) {
    log::warning(why, "; sending the rest of this stream as datagrams");
    if (m_stream >= 0)
        ::close(m_stream);
    m_stream = -1;
    m_streamUnread = false;
    return false;
}

// Waits until journald has read everything sent on `fd` (SIOCOUTQ is 0), polling.
Result<void> TaskLogForwarder::waitUntilRead(int fd) {
    const auto deadline = Clock::now() + std::chrono::seconds(m_giveUpAfterSeconds);
    auto pause = std::chrono::microseconds(20);
    for (;;) {
        int queued = 0;
        if (::ioctl(fd, SIOCOUTQ, &queued) != 0)
            return Error{std::string("SIOCOUTQ: ") + std::strerror(errno)};
        if (queued == 0)
            return {};
        if (Clock::now() >= deadline)
            return Error{"journald did not read " + std::to_string(queued) + " bytes for " +
                         std::to_string(m_giveUpAfterSeconds) + " s"};
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(2000));
    }
}

Result<void> TaskLogForwarder::runStream(int fd, Stream stream, unsigned giveUpAfterSeconds) {
    m_giveUpAfterSeconds = giveUpAfterSeconds;
    // Datagrams carry only what is per line: the identity comes from the log scope for them too.
    setPrefix(stream, false);
    if (auto c = connect(); !c)
        return c;
    openStream(stream);
    struct Closer {
        int& fd;
        ~Closer() {
            if (fd >= 0)
                ::close(fd);
            fd = -1;
        }
    } closer{m_stream};

    // Order between the two sockets: before bytes go on the stream, journald has read every
    // datagram sent before them; before a datagram goes, journald has read the stream. journald
    // handles what one read brings before it reads anything else, so what it has read is in
    // the journal before what it reads next. A run of datagrams or of stream lines waits for
    // nothing.
    bool datagramUnread = false;
    LineSplitter splitter;
    Result<void> failure;
    std::string buf(256 * 1024, '\0');
    std::string out; // stream lines not sent yet
    out.reserve(buf.size() + 1024);
    auto sendDatagram = [&](const LinePiece& piece) -> Result<void> {
        if (m_streamUnread) {
            if (auto r = waitUntilRead(m_stream); !r)
                closeStream("journald's stdout stream: " + r.error().message);
            m_streamUnread = false;
        }
        datagramUnread = true;
        return sendLine(stream, piece);
    };
    auto flush = [&]() -> Result<void> {
        if (out.empty())
            return {};
        size_t sent = 0;
        if (m_stream >= 0 && writeStream(out, sent)) {
            out.clear();
            return {};
        }
        // The stream broke (journald restarted, or refused it): what it had not read yet is
        // gone with it, as queued datagrams would be. The rest goes as datagrams, from the
        // start of the line that was cut.
        const size_t cut = sent == 0 ? std::string::npos : out.rfind('\n', sent - 1);
        size_t at = cut == std::string::npos ? 0 : cut + 1;
        Result<void> r;
        while (r && at < out.size()) {
            const size_t nl = out.find('\n', at);
            r = sendDatagram(LinePiece{std::string_view(out).substr(at, nl - at)});
            at = nl + 1;
        }
        out.clear();
        return r;
    };
    auto emit = [&](const LinePiece& piece) {
        if (!failure)
            return;
        if (m_stream >= 0 && !needsDatagram(piece)) {
            if (datagramUnread) {
                if (auto r = waitUntilRead(m_writer->fd()); !r)
                    failure = r;
                datagramUnread = false;
            }
            out.append(piece.text).push_back('\n');
            return;
        }
        if (auto r = flush(); !r)
            failure = r;
        else if (auto r2 = sendDatagram(piece); !r2)
            failure = r2;
    };
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            splitter.finish(emit);
            break;
        }
        splitter.feed(std::string_view(buf.data(), static_cast<size_t>(n)), emit);
        if (failure)
            failure = flush();
        if (!failure)
            return failure;
    }
    if (failure)
        failure = flush();
    // Stay (in the scope) until journald has handled every line: it looks this process's cgroup
    // up to find the fields. An empty datagram, which makes no entry, is read after everything
    // sent before it was handled.
    if (failure && m_stream >= 0 && m_streamUnread)
        if (auto r = waitUntilRead(m_stream); !r)
            closeStream("journald's stdout stream: " + r.error().message);
    if (failure)
        failure = m_writer->sendEncoded({std::string_view()});
    if (failure)
        failure = waitUntilRead(m_writer->fd());
    return failure;
}

} // namespace day2::tasks
