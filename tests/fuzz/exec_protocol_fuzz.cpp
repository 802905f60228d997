// Fuzzes what an exec client sends: each input is read as a WebSocket message (v5 and v4), a
// resize message's payload as sizes, and as an exec query string. Nothing may crash, and what
// parses must keep the parser's promises (a close names stdin or resize, every size is 1..65535
// and there is at least one, a command has a non-empty program and no NUL).
#include "exec/channel_protocol.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace day2::exec;

namespace {

void checkSizes(std::string_view payload) {
    const auto sizes = parseResize(payload);
    if (!sizes.ok())
        return;
    if (sizes->empty())
        std::abort();
    for (const auto& s : *sizes)
        if (s.width == 0 || s.height == 0)
            std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (const auto version : {ProtocolVersion::V5, ProtocolVersion::V4}) {
        const auto f = parseClientFrame(input, version);
        if (!f.ok())
            continue;
        if (input.empty())
            std::abort();
        switch (f->kind) {
        case ClientFrame::Kind::Stdin:
        case ClientFrame::Kind::Resize:
            if (f->payload != input.substr(1))
                std::abort();
            break;
        case ClientFrame::Kind::CloseStream:
            if (version != ProtocolVersion::V5 || input.size() != 2 ||
                (f->closed != Channel::Stdin && f->closed != Channel::Resize))
                std::abort();
            break;
        }
    }
    checkSizes(input);
    const auto query = parseExecQuery(input);
    if (query.ok()) {
        if (query->command.empty() || query->command.front().empty())
            std::abort();
        for (const auto& arg : query->command)
            if (arg.find('\0') != std::string::npos)
                std::abort();
        if (!query->useStdin && !query->useStdout && !query->useStderr)
            std::abort();
    }
    return 0;
}
