// The Exec section of docs/api.md: GET /system/v1/exec/v1/containers/{cid}?command=... upgraded to
// a WebSocket that speaks the Kubernetes channel protocol (channel_protocol.h), with a process
// inside the container (exec_process.h) at the other end.
//
// A session, once upgraded:
// - sends the ready frame, starts the process (off the io thread: a fork takes a few ms), and
//   reports a command that cannot start as a Failure status (126, 127);
// - copies the process's output to the client as it comes, one read of at most `readChunk`
//   bytes in flight per stream and one message in flight to the client: a slow client makes the
//   agent stop reading the pty or pipes (the process blocks), memory per session is bounded;
// - copies stdin (channel 0) to the process, resizes its terminal (channel 4), ends its stdin on
//   v5's [255, 0]; a malformed message is said on stderr when the session has it (never on the
//   status channel: clients read exactly one status) and the session goes on;
// - when the process has exited and every byte it wrote is sent (output still held open by a
//   background child gets `drain`, then the process group is killed), sends the status exactly
//   once and closes with 1000;
// - when the client goes (or its grant is revoked, or its token expires): SIGHUP to the
//   process group, SIGKILL after `hangUpGrace`; the process is always reaped.
// Every session is audited in journald at its start and its end (uid, container, application,
// command, tty, exit code, bytes each way, duration).
//
// Single-threaded: runs on the agent's event loop.
#pragma once

#include "auth/audit_log.h"
#include "http/response.h"
#include "http/stream_stop.h"
#include "tasks/task_runtime.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace day2::exec {

struct ExecServiceOptions {
    unsigned maxSessions = 64;             // more are refused with 503
    size_t maxMessageBytes = 1 << 20;      // a bigger client message closes the session (1009)
    size_t readChunk = 64 * 1024;          // the most read from the process at once
    std::chrono::milliseconds drain{2000}; // see above
    std::chrono::milliseconds hangUpGrace{5000}; // see above
};

// Who asks: the router has authorized `resource` (day2:exec:<application>, create) already.
struct ExecCaller {
    std::string uid;
    std::string resource;
    std::string source; // the client's address
    std::string via;    // the proxy it came through, if any
};

class ExecService {
public:
    ExecService(boost::asio::io_context& io, tasks::TaskRuntime& runtime, auth::AuditLog& audit,
                ExecServiceOptions options = {});
    ~ExecService();
    ExecService(const ExecService&) = delete;
    ExecService& operator=(const ExecService&) = delete;

    // `segments`: the path below /system/v1/exec/v1/, decoded ("containers", "<cid>").
    // `until`: the end of the caller's token; `stop`: ends the session from outside.
    boost::asio::awaitable<void> handle(const http::Request& request,
                                        const std::vector<std::string>& segments,
                                        http::ResponseStream& response, ExecCaller caller,
                                        std::optional<std::chrono::system_clock::time_point> until,
                                        http::StreamStop* stop);

    size_t openSessions() const;
    uint64_t startedSessions() const;

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace day2::exec
