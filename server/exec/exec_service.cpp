#include "exec/exec_service.h"

#include "base/log.h"
#include "base/text.h"
#include "exec/channel_protocol.h"
#include "exec/exec_process.h"
#include "http/websocket.h"
#include "http/websocket_upgrade.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <utility>
#include <variant>

namespace day2::exec {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::string joinCommand(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty())
            out += ' ';
        out += a;
    }
    return out.substr(0, 1000);
}

// One session: shared by its coroutines, which all end before handle() returns.
struct Session {
    Session(asio::io_context& context, std::unique_ptr<http::WebSocket> socket)
        : ws(std::move(socket)), wake(context) {}

    std::unique_ptr<http::WebSocket> ws;
    ExecRequest request;
    ProtocolVersion version = ProtocolVersion::V5;
    ExecProcess process;
    std::optional<asio::posix::stream_descriptor> terminal; // the pty's master
    std::optional<asio::posix::stream_descriptor> input;    // stdin pipe, without tty
    std::optional<asio::posix::stream_descriptor> output;   // stdout pipe, without tty
    std::optional<asio::posix::stream_descriptor> errors;   // stderr pipe, without tty
    std::optional<asio::posix::stream_descriptor> pidfd;

    // Wakes handle()'s loop: cancelled whenever something below changes.
    asio::steady_timer wake;
    unsigned running = 0; // coroutines not yet ended (pumps, the exit watch, the input)
    bool clientGone = false;
    bool closing = false; // the agent is closing: the input's end is not the client going
    std::optional<ExecExit> exit;

    uint64_t bytesIn = 0;  // stdin bytes from the client
    uint64_t bytesOut = 0; // output bytes to the client
    uint64_t malformed = 0;

    void changed() { wake.cancel(); }

    // A message to the client (the WebSocket sends concurrent writes in the order of the calls);
    // a failed one means the client is gone.
    asio::awaitable<bool> send(std::string_view message) {
        const bool ok = co_await ws->write(message, true);
        if (!ok && !clientGone) {
            clientGone = true;
            changed();
        }
        co_return ok;
    }
};

// Output of one stream to one channel until end of file (EIO on a pty whose every other end
// is closed), an error, or the client gone.
asio::awaitable<void> pump(std::shared_ptr<Session> s, asio::posix::stream_descriptor& from,
                           Channel channel, size_t chunk) {
    std::string buffer(chunk + 1, '\0');
    buffer[0] = static_cast<char>(channel);
    for (;;) {
        boost::system::error_code ec;
        const size_t n = co_await from.async_read_some(
            asio::buffer(buffer.data() + 1, chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec || n == 0)
            break;
        s->bytesOut += n;
        if (!co_await s->send(std::string_view(buffer.data(), n + 1)))
            break;
    }
    boost::system::error_code ignored;
    from.close(ignored);
    --s->running;
    s->changed();
}

asio::awaitable<void> watchExit(std::shared_ptr<Session> s) {
    boost::system::error_code ec;
    co_await s->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
    // Readable: it has ended. Left a zombie until the session ends, so that what it left
    // holding its output can still be killed by its group and session id.
    auto ended = exitOf(s->process, true);
    if (ended && *ended)
        s->exit = **ended;
    else
        s->exit = ExecExit{255, 0};
    --s->running;
    s->changed();
}

asio::awaitable<void> say(std::shared_ptr<Session> s, std::string text) {
    if (!s->request.useStderr)
        co_return;
    const std::string message = frame(Channel::Stderr, "day2: " + text + "\r\n");
    co_await s->send(message);
}

// The client's messages, until it closes or goes.
asio::awaitable<void> readInput(std::shared_ptr<Session> s) {
    for (;;) {
        auto message = co_await s->ws->read();
        if (!message)
            break;
        auto parsed = parseClientFrame(message->data, s->version);
        if (!parsed) {
            ++s->malformed;
            std::string why = parsed.error().message;
            co_await say(s, std::move(why));
            continue;
        }
        const ClientFrame& f = *parsed;
        if (f.kind == ClientFrame::Kind::Stdin) {
            asio::posix::stream_descriptor* to = s->terminal ? &*s->terminal
                                                 : s->input  ? &*s->input
                                                             : nullptr;
            if (!to || !to->is_open() || f.payload.empty())
                continue;
            boost::system::error_code ec;
            co_await asio::async_write(*to, asio::buffer(f.payload.data(), f.payload.size()),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (!ec)
                s->bytesIn += f.payload.size();
        } else if (f.kind == ClientFrame::Kind::Resize) {
            auto sizes = parseResize(f.payload);
            if (!sizes) {
                ++s->malformed;
                std::string why = "resize: " + sizes.error().message;
                co_await say(s, std::move(why));
                continue;
            }
            if (s->terminal && s->terminal->is_open() && !sizes->empty())
                (void)resize(s->terminal->native_handle(), sizes->back().width,
                             sizes->back().height);
        } else if (f.closed == Channel::Stdin) {
            // End of stdin: the pipe closed, or ^D on the terminal (in canonical mode, what a
            // shell or cat reads as the end).
            if (s->input) {
                boost::system::error_code ignored;
                s->input->close(ignored);
            } else if (s->terminal && s->terminal->is_open()) {
                boost::system::error_code ec;
                co_await asio::async_write(*s->terminal, asio::buffer("\x04", 1),
                                           asio::redirect_error(asio::use_awaitable, ec));
            }
        }
    }
    if (!s->closing)
        s->clientGone = true;
    --s->running;
    s->changed();
}

asio::posix::stream_descriptor adopt(asio::io_context& io, int& fd) {
    return asio::posix::stream_descriptor(io, std::exchange(fd, -1));
}

} // namespace

struct ExecService::Impl {
    Impl(asio::io_context& context, tasks::TaskRuntime& tasks, auth::AuditLog& log,
         ExecServiceOptions o)
        : io(context), runtime(tasks), audit(log), options(o) {}

    asio::io_context& io;
    tasks::TaskRuntime& runtime;
    auth::AuditLog& audit;
    ExecServiceOptions options;
    asio::thread_pool starter{1}; // forks off the io thread
    size_t open = 0;
    uint64_t started = 0;
};

ExecService::ExecService(asio::io_context& io, tasks::TaskRuntime& runtime, auth::AuditLog& audit,
                         ExecServiceOptions options)
    : m_impl(std::make_shared<Impl>(io, runtime, audit, options)) {}

ExecService::~ExecService() {
    m_impl->starter.join();
}

size_t ExecService::openSessions() const {
    return m_impl->open;
}

uint64_t ExecService::startedSessions() const {
    return m_impl->started;
}

asio::awaitable<void>
ExecService::handle(const http::Request& req, const std::vector<std::string>& segments,
                    http::ResponseStream& rs, ExecCaller caller,
                    std::optional<std::chrono::system_clock::time_point> until,
                    http::StreamStop* stop) {
    Impl& d = *m_impl;
    if (segments.size() != 2 || segments[0] != "containers") {
        co_await rs.send(http::jsonError(404, "no such endpoint: " + req.path.substr(0, 200)));
        co_return;
    }
    if (req.method != "GET") {
        http::Response r = http::jsonError(405, "exec answers GET with Upgrade: websocket");
        r.headers.emplace_back("Allow", "GET");
        co_await rs.send(std::move(r));
        co_return;
    }
    const std::string& containerId = segments[1];
    auto query = parseExecQuery(req.query);
    if (!query) {
        co_await rs.send(http::jsonError(400, query.error().message));
        co_return;
    }
    auto context = d.runtime.execContext(containerId, query->user);
    if (!context) {
        co_await rs.send(http::jsonError(context.error().status, context.error().message));
        co_return;
    }
    if (!http::isWebSocketUpgrade(req)) {
        co_await rs.send(http::jsonError(
            400, "exec is a WebSocket: send Upgrade: websocket with Sec-WebSocket-Protocol " +
                     std::string(kProtocolV5) + " or " + std::string(kProtocolV4)));
        co_return;
    }
    const auto subprotocol = http::chooseSubprotocol(req, kSubprotocols);
    if (!subprotocol) {
        std::string offered(req.header("Sec-WebSocket-Protocol").value_or("none"));
        co_await rs.send(http::jsonError(
            400,
            "no subprotocol this agent speaks was offered (offered: " + offered.substr(0, 200) +
                "; spoken: " + std::string(kProtocolV5) + ", " + std::string(kProtocolV4) + ")"));
        co_return;
    }
    if (d.open >= d.options.maxSessions) {
        co_await rs.send(
            http::jsonError(503, "this node has " + std::to_string(d.open) +
                                     " exec sessions open, the most it takes (exec.max_sessions)"));
        co_return;
    }

    ExecTarget target;
    target.initPid = context->status.pid;
    target.initStartTicks = tasks::processStartTicks(context->status.pid);
    target.cgroup = context->spec.cgroup;
    target.env = context->spec.env;
    target.uid = context->uid;
    target.gid = context->gid;
    target.groups = context->groups;
    target.workdir = context->spec.workdir;
    const std::string application = context->spec.request.applicationName;
    const std::string command = joinCommand(query->command);

    auto socket = co_await rs.acceptWebSocket(*subprotocol, d.options.maxMessageBytes);
    if (!socket)
        co_return;
    auto s = std::make_shared<Session>(d.io, std::move(socket));
    s->request = *query;
    s->version = protocolVersion(*subprotocol).value_or(ProtocolVersion::V4);
    ++d.open;
    ++d.started;
    struct Open {
        size_t& n;
        ~Open() { --n; }
    } open{d.open};

    const auto startedAt = Clock::now();
    std::vector<std::pair<std::string, std::string>> fields = {
        {"DAY2_EXEC_CONTAINER_ID", containerId},
        {"DAY2_EXEC_APPLICATION", application},
        {"DAY2_EXEC_COMMAND", command},
        {"DAY2_EXEC_TTY", query->tty ? "1" : "0"},
        {"DAY2_EXEC_PROTOCOL", *subprotocol}};
    d.audit.record({caller.uid, caller.resource, "create", "allowed", caller.source,
                    "exec session in container " + containerId + ": " + command, fields,
                    caller.via});

    // Start it off the io thread.
    ProcessRequest startRequest;
    startRequest.argv = query->command;
    startRequest.tty = query->tty;
    startRequest.stdinOpen = query->useStdin;
    co_await asio::post(d.starter, asio::use_awaitable);
    Result<ExecStart> start = startExec(target, startRequest);
    co_await asio::post(d.io, asio::use_awaitable);

    co_await s->send(readyFrame(*query));
    std::string status;
    std::string endReason;
    int exitCode = -1;
    if (!start) {
        endReason = start.error().message;
        status = internalErrorStatus(start.error().message);
    } else if (auto* failed = std::get_if<ExecStartError>(&*start)) {
        endReason = failed->reason;
        exitCode = failed->exitCode;
        status = startFailureStatus(query->command, failed->reason, failed->exitCode);
    } else {
        s->process = std::move(std::get<ExecProcess>(*start));
        ExecProcess& p = s->process;
        if (p.ptyMaster >= 0)
            s->terminal.emplace(adopt(d.io, p.ptyMaster));
        if (p.stdinFd >= 0)
            s->input.emplace(adopt(d.io, p.stdinFd));
        if (p.stdoutFd >= 0)
            s->output.emplace(adopt(d.io, p.stdoutFd));
        if (p.stderrFd >= 0)
            s->errors.emplace(adopt(d.io, p.stderrFd));
        // The pidfd stays the process's (reapExec waits on it): watched through a duplicate.
        s->pidfd.emplace(d.io, ::fcntl(p.pidfd, F_DUPFD_CLOEXEC, 3));

        const size_t chunk = d.options.readChunk;
        auto spawn = [&](asio::awaitable<void> a) {
            ++s->running;
            asio::co_spawn(d.io, std::move(a), asio::detached);
        };
        if (s->terminal)
            spawn(pump(s, *s->terminal, Channel::Stdout, chunk));
        if (s->output)
            spawn(pump(s, *s->output, Channel::Stdout, chunk));
        if (s->errors)
            spawn(pump(s, *s->errors, Channel::Stderr, chunk));
        spawn(watchExit(s));
    }
    ++s->running;
    asio::co_spawn(d.io, readInput(s), asio::detached);
    if (stop)
        stop->onStop([s] { s->changed(); });

    // Until the process has ended and its output is sent, or the session must end first.
    std::optional<Clock::time_point> tokenEnd;
    if (until)
        tokenEnd = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      *until - std::chrono::system_clock::now());
    std::optional<Clock::time_point> killAt;    // after the hang-up, or the drain
    std::optional<Clock::time_point> abandonAt; // output still held open after the kill
    bool hungUp = false;
    bool killed = false;
    const bool hasProcess = s->pidfd.has_value();
    auto pumpsOpen = [&] {
        return (s->terminal && s->terminal->is_open()) || (s->output && s->output->is_open()) ||
               (s->errors && s->errors->is_open());
    };
    while (hasProcess) {
        const auto now = Clock::now();
        if (s->exit && !pumpsOpen())
            break;
        std::string why;
        if (stop && stop->stopped())
            why = stop->reason();
        else if (tokenEnd && now >= *tokenEnd)
            why = "the token has expired";
        else if (s->clientGone)
            why = "the client went away";
        if (!why.empty() && endReason.empty())
            endReason = why;
        if (!endReason.empty() && !hungUp && !s->exit) {
            hungUp = true;
            hangUp(s->process);
            killAt = now + d.options.hangUpGrace;
        }
        if (s->exit && !killAt)
            killAt = now + d.options.drain; // background children holding its output
        if (!killed && killAt && now >= *killAt) {
            // What is left of the process group goes; the output it wrote is still read.
            killed = true;
            kill(s->process);
            abandonAt = now + d.options.drain;
        }
        if (abandonAt && now >= *abandonAt && s->exit) {
            // Held open by a process outside its group (one that made a session of its own):
            // the session does not wait for it.
            boost::system::error_code ignored;
            for (auto* stream : {&s->terminal, &s->output, &s->errors})
                if (*stream)
                    (*stream)->close(ignored);
            break;
        }
        auto next = Clock::time_point::max();
        for (const auto& t : {killed ? std::nullopt : killAt, abandonAt,
                              endReason.empty() ? tokenEnd : std::nullopt})
            if (t)
                next = std::min(next, *t);
        s->wake.expires_at(next);
        boost::system::error_code ec;
        co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (s->exit) {
        exitCode = s->exit->exitCode;
        if (status.empty())
            status = hungUp && !s->clientGone && !endReason.empty()
                         ? forbiddenStatus("the session ended: " + endReason)
                         : exitStatus(query->command, exitCode);
    }

    // The status, exactly once, after every byte of output; then the close handshake.
    s->closing = true;
    if (!s->clientGone) {
        co_await s->send(frame(Channel::Status, status));
        co_await s->ws->close(1000, "");
    } else {
        co_await s->ws->close(1001, "");
    }
    // The coroutines end now (the socket is closed, the process reaped) and must, before the
    // connection they use goes.
    while (s->running > 0) {
        s->wake.expires_at(Clock::time_point::max());
        boost::system::error_code ec;
        co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (s->pidfd) {
        boost::system::error_code ignored;
        s->pidfd->close(ignored);
    }

    fields.emplace_back("DAY2_EXEC_EXIT_CODE", std::to_string(exitCode));
    fields.emplace_back("DAY2_EXEC_BYTES_IN", std::to_string(s->bytesIn));
    fields.emplace_back("DAY2_EXEC_BYTES_OUT", std::to_string(s->bytesOut));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - startedAt);
    fields.emplace_back("DAY2_EXEC_DURATION_MS", std::to_string(ms.count()));
    if (s->malformed)
        fields.emplace_back("DAY2_EXEC_MALFORMED_MESSAGES", std::to_string(s->malformed));
    std::string detail = "exec session in container " + containerId + " ended";
    if (exitCode >= 0)
        detail += " with exit code " + std::to_string(exitCode);
    if (!endReason.empty())
        detail += ": " + endReason;
    d.audit.record({caller.uid, caller.resource, "create", "ended", caller.source, detail, fields,
                    caller.via});
}

} // namespace day2::exec
