// What a handler answers with, and the stream it writes a long answer to. No Beast types here.
#pragma once

#include "http/request.h"

#include <boost/asio/awaitable.hpp>

#include <functional>
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
// of write()s and end(). write() returns false once the peer is gone or the agent stops; the
// handler then returns.
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
};

using Handler = std::function<boost::asio::awaitable<void>(const Request&, ResponseStream&)>;

} // namespace day2::http
