#include "exec/channel_protocol.h"

#include "base/text.h"
#include "http/query.h"

#include <nlohmann/json.hpp>

#include <cerrno>

namespace day2::exec {

namespace {

using Json = nlohmann::ordered_json; // metav1.Status's field order, as Go writes it

Error badRequest(std::string message) {
    return Error{std::move(message), 400};
}

// What Go's strconv.ParseBool takes: the apiserver reads these flags with it.
std::optional<bool> parseBool(std::string_view v) {
    for (std::string_view t : {"1", "t", "T", "true", "True", "TRUE"})
        if (v == t)
            return true;
    for (std::string_view f : {"0", "f", "F", "false", "False", "FALSE"})
        if (v == f)
            return false;
    return std::nullopt;
}

std::string dump(const Json& j) {
    // A command line need not be UTF-8: such bytes become U+FFFD rather than an exception.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Go's %v of a []string: "[sh -c exit 3]".
std::string commandLine(std::span<const std::string> command) {
    std::string out = "[";
    for (size_t i = 0; i < command.size(); ++i) {
        if (i > 0)
            out += ' ';
        out += command[i];
    }
    return out + "]";
}

Json failure(std::string message, std::string_view reason) {
    Json j;
    j["metadata"] = Json::object();
    j["status"] = "Failure";
    j["message"] = std::move(message);
    j["reason"] = reason;
    return j;
}

Json exitCodeCause(int exitCode) {
    Json cause;
    cause["reason"] = "ExitCode";
    cause["message"] = std::to_string(exitCode);
    Json details;
    details["causes"] = Json::array({std::move(cause)});
    return details;
}

bool isJsonSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The end (one past the closing brace) of the JSON object starting at payload[start] == '{', or
// an error. Only brackets and strings are followed here; the parser checks the rest.
Result<size_t> objectEnd(std::string_view payload, size_t start) {
    constexpr int kMaxDepth = 8; // a size is flat; this keeps a hostile payload from nesting deep
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    for (size_t i = start; i < payload.size(); ++i) {
        const char c = payload[i];
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '{' || c == '[') {
            if (++depth > kMaxDepth)
                return Error{"resize: JSON nested more than " + std::to_string(kMaxDepth) +
                             " levels deep at offset " + std::to_string(i)};
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return Error{"resize: the JSON object at offset " + std::to_string(start) +
                 " is not terminated"};
}

Result<TerminalSize> sizeFromObject(const nlohmann::json& object, size_t offset) {
    const std::string where = "resize: the object at offset " + std::to_string(offset);
    if (!object.is_object())
        return Error{where + " is not a JSON object"};
    std::optional<uint16_t> width;
    std::optional<uint16_t> height;
    for (const auto& [key, value] : object.items()) {
        std::optional<uint16_t>* slot = nullptr;
        if (text::iequals(key, "width"))
            slot = &width;
        else if (text::iequals(key, "height"))
            slot = &height;
        else
            continue;              // as Go's decoder does
        std::string error = where; // (appended to: clang-tidy's performance check)
        if (slot->has_value())
            return Error{error.append(" gives '").append(key).append("' twice")};
        // (nlohmann reads 80 as unsigned, -1 as signed, 80.0 and 1e2 as floating point.)
        const bool inRange = value.is_number_unsigned() && value.get<uint64_t>() >= 1 &&
                             value.get<uint64_t>() <= 65535;
        if (!inRange)
            return Error{
                error.append(": '")
                    .append(key)
                    .append("' must be an integer from 1 to 65535, not ")
                    .append(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))};
        *slot = static_cast<uint16_t>(value.get<uint64_t>());
    }
    if (!width)
        return Error{where + " has no Width"};
    if (!height)
        return Error{where + " has no Height"};
    return TerminalSize{*width, *height};
}

} // namespace

std::optional<ProtocolVersion> protocolVersion(std::string_view subprotocol) {
    if (subprotocol == kProtocolV5)
        return ProtocolVersion::V5;
    if (subprotocol == kProtocolV4)
        return ProtocolVersion::V4;
    return std::nullopt;
}

std::string channelName(uint8_t channel) {
    constexpr std::array<std::string_view, 5> kNames{"stdin (0)", "stdout (1)", "stderr (2)",
                                                     "status (3)", "resize (4)"};
    if (channel < kNames.size())
        return std::string(kNames[channel]);
    if (channel == kCloseStreamChannel)
        return "close (255)";
    return std::to_string(channel);
}

Result<ExecRequest> parseExecQuery(std::string_view query) {
    auto params = http::parseQueryString(query);
    if (!params)
        return badRequest(params.error().message);
    ExecRequest req;
    struct Flag {
        std::string_view name;
        bool* value;
        bool seen = false;
    };
    Flag flags[] = {{"stdin", &req.useStdin},
                    {"stdout", &req.useStdout},
                    {"stderr", &req.useStderr},
                    {"tty", &req.tty}};
    for (auto& [key, value] : *params) {
        if (key == "command") {
            if (value.find('\0') != std::string::npos)
                return badRequest("command argument " + std::to_string(req.command.size()) +
                                  " contains a NUL byte");
            req.command.push_back(std::move(value));
            continue;
        }
        if (key == "user") {
            if (req.user)
                return badRequest("user= is given twice");
            if (value.empty())
                return badRequest("user= is empty: leave it out to run as the task's user");
            if (value.find('\0') != std::string::npos)
                return badRequest("user= contains a NUL byte");
            req.user = std::move(value);
            continue;
        }
        for (auto& flag : flags) {
            if (key != flag.name)
                continue;
            if (flag.seen)
                return badRequest(key + "= is given twice");
            const auto b = parseBool(value);
            if (!b)
                return badRequest(key + "=" + value.substr(0, 32) +
                                  ": expected 1, true, 0 or false");
            flag.seen = true;
            *flag.value = *b;
        }
        // Anything else (container=, which kubectl always sends) is not ours to refuse.
    }
    if (req.command.empty())
        return badRequest("no command: give the program and each of its arguments as a "
                          "command= parameter of its own (command=ls&command=-l)");
    if (req.command.front().empty())
        return badRequest("the first command= (the program to run) is empty");
    if (req.tty)
        req.useStderr = false; // a terminal has one output stream (the kubelet does the same)
    if (!req.useStdin && !req.useStdout && !req.useStderr)
        return badRequest("you must specify at least 1 of stdin, stdout, stderr");
    return req;
}

Result<ClientFrame> parseClientFrame(std::string_view message, ProtocolVersion version) {
    if (message.empty())
        return Error{"an empty message: each message starts with its channel byte"};
    const auto channel = static_cast<uint8_t>(message.front());
    ClientFrame f;
    f.payload = message.substr(1);
    switch (channel) {
    case static_cast<uint8_t>(Channel::Stdin):
        f.kind = ClientFrame::Kind::Stdin;
        return f;
    case static_cast<uint8_t>(Channel::Resize):
        f.kind = ClientFrame::Kind::Resize;
        return f;
    case static_cast<uint8_t>(Channel::Stdout):
    case static_cast<uint8_t>(Channel::Stderr):
    case static_cast<uint8_t>(Channel::Status):
        return Error{"a message on channel " + channelName(channel) +
                     ": the client sends only on stdin (0) and resize (4)"};
    case kCloseStreamChannel:
        break;
    default:
        return Error{"a message on unknown channel " + channelName(channel)};
    }
    if (version == ProtocolVersion::V4)
        return Error{"a close message (channel 255) is v5.channel.k8s.io only; this session "
                     "speaks v4.channel.k8s.io"};
    if (f.payload.size() != 1)
        return Error{"a close message is [255, channel]; this one has " +
                     std::to_string(f.payload.size()) + " bytes after 255"};
    const auto closed = static_cast<uint8_t>(f.payload.front());
    if (closed != static_cast<uint8_t>(Channel::Stdin) &&
        closed != static_cast<uint8_t>(Channel::Resize))
        return Error{"a close message for channel " + channelName(closed) +
                     ": the client can close only stdin (0) and resize (4)"};
    f.kind = ClientFrame::Kind::CloseStream;
    f.closed = static_cast<Channel>(closed);
    f.payload = {};
    return f;
}

Result<std::vector<TerminalSize>> parseResize(std::string_view payload) {
    std::vector<TerminalSize> sizes;
    size_t pos = 0;
    for (;;) {
        while (pos < payload.size() && isJsonSpace(payload[pos]))
            ++pos;
        if (pos == payload.size())
            break;
        if (payload[pos] != '{')
            return Error{
                "resize: expected a JSON object ({\"Width\":80,\"Height\":24}) at offset " +
                std::to_string(pos)};
        auto end = objectEnd(payload, pos);
        if (!end)
            return end.error();
        auto object = nlohmann::json::parse(payload.substr(pos, *end - pos), nullptr, false);
        if (object.is_discarded())
            return Error{"resize: the object at offset " + std::to_string(pos) +
                         " is not valid JSON"};
        auto size = sizeFromObject(object, pos);
        if (!size)
            return size.error();
        sizes.push_back(*size);
        pos = *end;
    }
    if (sizes.empty())
        return Error{"resize: the message has no size ({\"Width\":80,\"Height\":24})"};
    return sizes;
}

std::string frame(Channel channel, std::string_view data) {
    std::string out;
    out.reserve(data.size() + 1);
    out += static_cast<char>(channel);
    out += data;
    return out;
}

std::string readyFrame(const ExecRequest& request) {
    if (request.useStdout)
        return frame(Channel::Stdout, {});
    if (request.useStderr)
        return frame(Channel::Stderr, {});
    return frame(Channel::Status, {});
}

std::string successStatus() {
    Json j;
    j["metadata"] = Json::object();
    j["status"] = "Success";
    return dump(j);
}

std::string exitStatus(std::span<const std::string> command, int exitCode) {
    if (exitCode == 0)
        return successStatus();
    Json j = failure("command terminated with non-zero exit code: error executing command " +
                         commandLine(command) + ", exit code " + std::to_string(exitCode),
                     "NonZeroExitCode");
    j["details"] = exitCodeCause(exitCode);
    return dump(j);
}

std::string startFailureStatus(std::span<const std::string> command, std::string_view why,
                               int exitCode) {
    Json j = failure("cannot start command " + commandLine(command) + ": " + std::string(why) +
                         ", exit code " + std::to_string(exitCode),
                     "NonZeroExitCode");
    j["details"] = exitCodeCause(exitCode);
    return dump(j);
}

int exitCodeForExecError(int errnoValue) {
    switch (errnoValue) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
        return 127;
    default:
        return 126;
    }
}

std::string internalErrorStatus(std::string_view message) {
    Json j = failure("Internal error occurred: " + std::string(message), "InternalError");
    Json cause;
    cause["message"] = message;
    j["details"]["causes"] = Json::array({std::move(cause)});
    j["code"] = 500;
    return dump(j);
}

std::string protocolErrorStatus(std::string_view message) {
    Json j = failure("protocol error: " + std::string(message), "BadRequest");
    j["code"] = 400;
    return dump(j);
}

std::string forbiddenStatus(std::string_view message) {
    Json j = failure(std::string(message), "Forbidden");
    j["code"] = 403;
    return dump(j);
}

} // namespace day2::exec
