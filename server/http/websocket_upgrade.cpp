#include "http/websocket_upgrade.h"

#include "base/text.h"

namespace day2::http {

namespace {

// Calls `f` with each token of every `name` header (comma-separated lists, RFC 9110 section
// 5.6.1), trimmed, skipping empty ones; stops when `f` returns true. True if it did.
template <class F> bool anyToken(const Request& request, std::string_view name, F&& f) {
    for (const auto& [k, v] : request.headers) {
        if (!text::iequals(k, name))
            continue;
        for (std::string_view rest = v; !rest.empty();) {
            const size_t comma = rest.find(',');
            const std::string_view token = text::trim(rest.substr(0, comma));
            if (!token.empty() && f(token))
                return true;
            if (comma == std::string_view::npos)
                break;
            rest = rest.substr(comma + 1);
        }
    }
    return false;
}

} // namespace

bool isWebSocketUpgrade(const Request& request) {
    if (request.method != "GET")
        return false;
    const bool upgrade = anyToken(request, "Upgrade",
                                  [](std::string_view t) { return text::iequals(t, "websocket"); });
    return upgrade && anyToken(request, "Connection",
                               [](std::string_view t) { return text::iequals(t, "upgrade"); });
}

std::optional<std::string> chooseSubprotocol(const Request& request,
                                             std::span<const std::string_view> preferred) {
    for (std::string_view want : preferred) {
        // Subprotocol names are tokens compared exactly (RFC 6455 section 11.3.4).
        if (anyToken(request, "Sec-WebSocket-Protocol",
                     [want](std::string_view t) { return t == want; }))
            return std::string(want);
    }
    return std::nullopt;
}

} // namespace day2::http
