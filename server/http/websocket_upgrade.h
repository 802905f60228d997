// Pure helpers for a WebSocket upgrade request (RFC 6455 section 4.2.1), before it is accepted.
#pragma once

#include "http/request.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace day2::http {

// GET with "Upgrade: websocket" and a Connection header that has the "upgrade" token (both
// lists, matched case-insensitively, in one header or several).
bool isWebSocketUpgrade(const Request& request);

// The first of `preferred` (the server's order of preference) that the client offers in its
// Sec-WebSocket-Protocol header(s) (comma-separated, possibly several headers); nullopt when
// none is offered.
std::optional<std::string> chooseSubprotocol(const Request& request,
                                             std::span<const std::string_view> preferred);

} // namespace day2::http
