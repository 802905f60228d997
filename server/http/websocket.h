// One WebSocket connection after an upgrade (ResponseStream::acceptWebSocket). No Beast types.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace day2::http {

// Close codes (RFC 6455 section 7.4.1) the agent sends or reports.
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001; // the agent stops
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseNoStatus = 1005; // the peer's close frame had no code
inline constexpr uint16_t kCloseAbnormal = 1006; // no close frame: failed or timed out
inline constexpr uint16_t kCloseMessageTooBig = 1009;
inline constexpr uint16_t kCloseInternalError = 1011;

// All calls on the agent's io thread. One reader and one writer may be under way at the same
// time (a coroutine reading the client's messages and another writing output): read() takes one
// caller at a time; write() may be called from several coroutines at once and sends their
// messages one after another, in the order of the calls.
//
// From the upgrade until the session ends a read of the connection is kept under way, with at
// most two messages read ahead of the reader, so that pings, pongs and the peer's close are
// seen even while the reader is busy. The agent pings after `webSocketPingInterval` (30 s)
// with nothing from the peer, and drops a peer that then sends nothing (not even the pong) for
// another interval. A write that takes longer than the server's write timeout drops the
// connection. Server::stop() makes read() return nullopt (closeCode() 1001) and fires
// ResponseStream::onClosing; the handler may still write (a last status) and then close().
//
// When the handler returns, the server closes a session that is still open (1000, or 1011 if
// the handler threw, 1001 if the agent stops) and then the connection: it is never reused for
// HTTP. A WebSocket kept past that only fails.
class WebSocket {
public:
    struct Message {
        std::string data;
        bool binary = true; // false: a text message
    };

    virtual ~WebSocket() = default;

    // The next message; nullopt once the peer closed, the connection failed or timed out, the
    // session was closed, or the agent stops: closeCode() then says which. A message over the
    // limit given to acceptWebSocket closes the connection with 1009.
    virtual boost::asio::awaitable<std::optional<Message>> read() = 0;
    // False once the connection failed, timed out or is closing.
    virtual boost::asio::awaitable<bool> write(std::string_view data, bool binary = true) = 0;
    // Sends a close frame with `code` and `reason` (cut to the 123 bytes a close frame holds) and
    // waits for the peer's close, at most the server's webSocketCloseTimeout, then drops the
    // connection. Once closing, later calls only wait for that close to end.
    virtual boost::asio::awaitable<void> close(uint16_t code, std::string_view reason = {}) = 0;

    // Why the session ended (0 while it has not): the code of the peer's close frame (1005 if
    // it had none), the code this side closed with, 1001 when the agent stops, 1006 when the
    // connection failed or timed out, 1009 when a message was over the limit.
    virtual uint16_t closeCode() const = 0;
    // The subprotocol the upgrade agreed on ("" for none).
    virtual const std::string& subprotocol() const = 0;
};

} // namespace day2::http
