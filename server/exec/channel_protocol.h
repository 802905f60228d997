// The Kubernetes remotecommand channel protocol over WebSocket (v5.channel.k8s.io and
// v4.channel.k8s.io), as client-go/kubectl, the Python client's WSClient and client-node speak
// it: the exec query, client frames, resize messages, server frames and the status JSON. Pure
// functions, no I/O.
//
// Every message is [channel][payload]. Client -> agent: 0 stdin, 4 resize; v5 adds [255, c],
// the end of stream c (c = 0: stdin EOF). Agent -> client: 1 stdout, 2 stderr, 3 status (once,
// last: client-go reads channel 3 to its end and decodes everything on it as ONE JSON object, so
// a second object there makes kubectl report "error stream protocol error").
#pragma once

#include "base/result.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace day2::exec {

inline constexpr std::string_view kProtocolV5 = "v5.channel.k8s.io";
inline constexpr std::string_view kProtocolV4 = "v4.channel.k8s.io";
// What the agent speaks, preferred first (for http::chooseSubprotocol).
inline constexpr std::array<std::string_view, 2> kSubprotocols{kProtocolV5, kProtocolV4};

enum class ProtocolVersion { V4, V5 };
// V5 or V4 for the two names above, nullopt for anything else.
std::optional<ProtocolVersion> protocolVersion(std::string_view subprotocol);

enum class Channel : uint8_t { Stdin = 0, Stdout = 1, Stderr = 2, Status = 3, Resize = 4 };
inline constexpr uint8_t kCloseStreamChannel = 255; // v5, client -> agent only

// "stdin (0)", "resize (4)", "7": for messages.
std::string channelName(uint8_t channel);

// ---- The request: GET ...?command=sh&command=-c&command=...&stdin=1&stdout=1&tty=1&user=

struct ExecRequest {
    std::vector<std::string> command; // argv; argv[0] non-empty, no NUL in any
    bool useStdin = false;
    bool useStdout = false;
    bool useStderr = false; // always false with tty (one stream, as the kubelet does)
    bool tty = false;
    std::optional<std::string> user;
};

// The raw query string (without '?'). Booleans take what Go's strconv.ParseBool takes (1, t, T,
// true, True, TRUE and 0, f, F, false, False, FALSE: the Python client sends "True"), a
// repeated flag or user is refused, parameters not listed (container=, which kubectl always
// sends) are ignored. At least one of stdin, stdout, stderr must be asked for.
Result<ExecRequest> parseExecQuery(std::string_view query);

// ---- Client -> agent

struct ClientFrame {
    enum class Kind { Stdin, Resize, CloseStream };
    Kind kind = Kind::Stdin;
    // Stdin: the bytes for the process (may be empty); Resize: the JSON text for parseResize.
    // A view into the message given to parseClientFrame.
    std::string_view payload;
    // CloseStream: the stream the client has finished with (Stdin or Resize).
    Channel closed = Channel::Stdin;
};

// One WebSocket message from the client, binary or text alike (the Python client sends text
// messages whose first character is the channel: chr(0) + data). An empty message, a channel the
// client may not send on (1, 2, 3, 5..254), 255 on v4, and a 255 message other than [255, 0] or
// [255, 4] are errors, with a message for the status channel.
Result<ClientFrame> parseClientFrame(std::string_view message, ProtocolVersion version);

struct TerminalSize {
    uint16_t width = 0;  // columns
    uint16_t height = 0; // rows
    bool operator==(const TerminalSize&) const = default;
};

// A resize payload: one or more JSON objects one after another, white space around and between
// them allowed (client-go's json.Encoder ends each with a newline), e.g.
// {"Width":80,"Height":24}{"width":100,"height":30}. Keys are matched case-insensitively
// (client-go sends Width/Height, client-node width/height), other keys are ignored, both must be
// integers 1..65535. Every size in order, or an error for the payload as a whole.
Result<std::vector<TerminalSize>> parseResize(std::string_view payload);

// ---- Agent -> client (always sent as binary messages: client-go refuses text)

// [channel][data]
std::string frame(Channel channel, std::string_view data);
// The empty message that tells the client the session is up, on the lowest output channel the
// request asked for: stdout, else stderr, else status (as the kubelet does).
std::string readyFrame(const ExecRequest& request);

// ---- Status (the payload of the one message on channel 3), metav1.Status as the kubelet writes
// it. client-go turns a Failure with reason NonZeroExitCode into an exit code taken from the
// cause whose reason is ExitCode (0..255); the Python client takes details.causes[0].message.

// {"metadata":{},"status":"Success"}
std::string successStatus();
// Exited with `exitCode` (1..255; a signal-killed process reports 128 + signal); 0 gives
// successStatus(). The message is the kubelet's over containerd or CRI-O: "command terminated
// with non-zero exit code: error executing command [sh -c exit 3], exit code 3".
std::string exitStatus(std::span<const std::string> command, int exitCode);
// Could not be started (`why`: "exec: no such file or directory", say): a NonZeroExitCode
// Failure, so that every client reports `exitCode` as the command's (126 or 127, as a shell
// would; see exitCodeForExecError); the message says why.
std::string startFailureStatus(std::span<const std::string> command, std::string_view why,
                               int exitCode);
// 127 when the program is not there (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG), else 126 (EACCES,
// ENOEXEC, ...): what a POSIX shell reports.
int exitCodeForExecError(int errnoValue);
// The agent failed (apierrors.NewInternalError): reason InternalError, code 500, no exit code.
// "Internal error occurred: <message>".
std::string internalErrorStatus(std::string_view message);
// The client broke the protocol (apierrors.NewBadRequest): reason BadRequest, code 400, no exit
// code. "protocol error: <message>".
std::string protocolErrorStatus(std::string_view message);
// The session was ended from outside (its grant revoked, its token expired)
// (apierrors.NewForbidden's shape): reason Forbidden, code 403, no exit code.
std::string forbiddenStatus(std::string_view message);

} // namespace day2::exec
