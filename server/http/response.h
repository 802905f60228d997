// What a handler answers with, and the stream it writes a long answer to. No Beast types here.
#pragma once

#include "http/request.h"
#include "http/websocket.h"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace day2::http {

struct Response {
    unsigned status = 200;
    std::string contentType = "application/json";
    Headers headers;
    std::string body;
};

// {"code": status, "error": reason phrase, "detail": detail}
Response jsonError(unsigned status, std::string_view detail);
std::string_view reasonPhrase(unsigned status);

// The response side of one request. A handler either calls send() once, or begin(), any number
// of write()s and end(), or acceptWebSocket() once. write() returns false once the peer is gone
// or the agent stops; the handler then returns.
class ResponseStream {
public:
    virtual ~ResponseStream() = default;
    virtual boost::asio::awaitable<void> send(Response response) = 0;
    virtual boost::asio::awaitable<bool> begin(unsigned status, std::string_view contentType,
                                               Headers headers) = 0;
    virtual boost::asio::awaitable<bool> write(std::string_view data) = 0;
    virtual boost::asio::awaitable<void> end() = 0;
    // True once the peer closed its side or the agent is shutting down.
    virtual bool closing() const = 0;
    // Called (once) when closing() becomes true while the handler waits for something else.
    virtual void onClosing(std::function<void()> callback) = 0;

    // Upgrades the connection to a WebSocket (check isWebSocketUpgrade and choose the
    // subprotocol first, see websocket_upgrade.h): answers 101 with `subprotocol` (none if
    // empty) and returns the session, whose messages may be up to `maxMessageBytes`. nullptr
    // when the handshake failed (a malformed upgrade is answered 400 or 426 by the server) or
    // a response was already begun. The connection then serves no more requests, and send(),
    // begin(), write() and end() do nothing. See websocket.h.
    virtual boost::asio::awaitable<std::unique_ptr<WebSocket>>
    acceptWebSocket(std::string_view subprotocol, size_t maxMessageBytes) = 0;
};

using Handler = std::function<boost::asio::awaitable<void>(const Request&, ResponseStream&)>;

} // namespace day2::http
