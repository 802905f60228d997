// A WebSocket session on one of the server's connections (Beast). Private to the server:
// server.cpp alone includes it, so that Beast stays in that one translation unit. What the
// session promises is said in websocket.h.
#pragma once

#include "http/websocket.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

namespace day2::http {

struct WebSocketLimits {
    size_t maxMessageBytes = 0;
    std::chrono::seconds pingInterval{30};
    std::chrono::seconds closeTimeout{10};
    std::chrono::seconds writeTimeout{60};
};

// The connection's TLS stream as the WebSocket sees it (by reference), with a teardown that
// leaves the session's outcome to its close frames: when the agent fails the connection (a
// message over the limit, say) while the peer is still sending, OpenSSL's shutdown reports
// "application data after close notify", and Beast would report that instead of the reason it
// closed with (1009).
class TlsLayer {
public:
    using Ssl = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
    using executor_type = Ssl::executor_type;

    explicit TlsLayer(Ssl& ssl) : m_ssl(ssl) {}
    // (The names Asio and Beast look for.)
    // NOLINTBEGIN(readability-identifier-naming)
    executor_type get_executor() { return m_ssl.get_executor(); }
    Ssl& next_layer() { return m_ssl; }
    template <class Buffers, class Token> auto async_read_some(const Buffers& b, Token&& token) {
        return m_ssl.async_read_some(b, std::forward<Token>(token));
    }
    template <class Buffers, class Token> auto async_write_some(const Buffers& b, Token&& token) {
        return m_ssl.async_write_some(b, std::forward<Token>(token));
    }
    // NOLINTEND(readability-identifier-naming)

private:
    Ssl& m_ssl;
};

// Found by Beast through argument-dependent lookup (its teardown customisation point).
template <class Handler>
// NOLINTNEXTLINE(readability-identifier-naming)
void async_teardown(boost::beast::role_type, TlsLayer& layer, Handler&& handler) {
    auto executor = boost::asio::get_associated_executor(handler, layer.get_executor());
    layer.next_layer().async_shutdown(boost::asio::bind_executor(
        executor,
        [h = std::decay_t<Handler>(std::forward<Handler>(handler))](
            boost::system::error_code) mutable { std::move(h)(boost::system::error_code{}); }));
}

template <class Stream> struct WebSocketLayer {
    using Type = Stream&; // tcp::socket
};
template <> struct WebSocketLayer<TlsLayer::Ssl> { using Type = TlsLayer; };

// Stream: tcp::socket or ssl::stream<tcp::socket>, owned by the connection.
template <class Stream>
class WebSocketSession final : public WebSocket,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    // `stream` is the connection's; `owner` keeps what holds it alive while the session lives.
    WebSocketSession(Stream& stream, std::shared_ptr<void> owner, std::string subprotocol,
                     const WebSocketLimits& limits)
        : m_ws(stream), m_owner(std::move(owner)), m_subprotocol(std::move(subprotocol)),
          m_limits(limits), m_wake(stream.get_executor()), m_writeDeadline(stream.get_executor()) {
        m_wake.expires_at(std::chrono::steady_clock::time_point::max());
    }

    // Answers `request` with 101 and starts reading; false if the handshake failed (Beast has
    // then answered 400 or 426).
    boost::asio::awaitable<bool> accept(const Request& request) {
        namespace websocket = boost::beast::websocket;
        auto self = this->shared_from_this();
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = m_limits.closeTimeout; // the upgrade's 101, and close()
        timeouts.idle_timeout = 2 * m_limits.pingInterval;  // a ping half-way, then the drop
        timeouts.keep_alive_pings = true;
        m_ws.set_option(timeouts);
        m_ws.read_message_max(std::max<size_t>(m_limits.maxMessageBytes, 1)); // (0: no limit)
        m_ws.auto_fragment(false); // one frame a message, written from the caller's buffer
        m_ws.set_option(websocket::stream_base::decorator(
            [subprotocol = m_subprotocol](websocket::response_type& res) {
                res.set(boost::beast::http::field::server, "day2-agent");
                if (!subprotocol.empty())
                    res.set(boost::beast::http::field::sec_websocket_protocol, subprotocol);
            }));
        boost::system::error_code ec;
        co_await m_ws.async_accept(request,
                                   boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        if (ec) {
            m_ended = m_closed = m_closing = true;
            m_closeCode = kCloseAbnormal;
            co_return false;
        }
        startRead();
        co_return true;
    }

    // Called once when the read side ends (the peer closed, the connection failed or timed
    // out, a message was over the limit).
    void onEnd(std::function<void()> callback) { m_onEnd = std::move(callback); }

    // The agent stops: read() returns nullopt from now on.
    void stop() {
        m_stopping = true;
        if (m_closeCode == 0)
            m_closeCode = kCloseGoingAway;
        notify();
    }

    boost::asio::awaitable<std::optional<Message>> read() override {
        auto self = this->shared_from_this();
        for (;;) {
            if (m_stopping)
                co_return std::nullopt;
            if (!m_received.empty()) {
                std::optional<Message> m(std::move(m_received.front()));
                m_received.pop_front();
                startRead();
                co_return m;
            }
            if (m_ended || m_closed)
                co_return std::nullopt;
            startRead();
            co_await waitForChange();
        }
    }

    boost::asio::awaitable<bool> write(std::string_view data, bool binary) override {
        auto self = this->shared_from_this();
        const uint64_t ticket = m_nextTicket++;
        while (ticket != m_serving && !m_writeFailed)
            co_await waitForChange();
        if (m_writeFailed)
            co_return false;
        m_ws.binary(binary);
        armWriteDeadline();
        boost::system::error_code ec;
        co_await m_ws.async_write(boost::asio::buffer(data.data(), data.size()),
                                  boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        m_writeDeadline.cancel();
        ++m_serving;
        if (ec) {
            m_writeFailed = true;
            if (m_closeCode == 0 && !m_closing)
                m_closeCode = kCloseAbnormal;
        }
        notify();
        co_return !ec;
    }

    boost::asio::awaitable<void> close(uint16_t code, std::string_view reason) override {
        namespace websocket = boost::beast::websocket;
        auto self = this->shared_from_this();
        if (m_closing) {
            while (!m_closed)
                co_await waitForChange();
            co_return;
        }
        m_closing = true;
        if (m_closeCode == 0)
            m_closeCode = code;
        websocket::close_reason why;
        why.code = code;
        // A close frame holds 123 bytes of reason; cut it where a UTF-8 character starts.
        size_t n = std::min(reason.size(), why.reason.max_size());
        while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
            --n;
        why.reason.assign(reason.data(), n);
        boost::system::error_code ec;
        co_await m_ws.async_close(why, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        // Beast has torn the connection down after a clean close; after a failed one, drop it.
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(m_ws).close(ignored);
        m_closed = true;
        notify();
    }

    uint16_t closeCode() const override { return m_closeCode; }
    const std::string& subprotocol() const override { return m_subprotocol; }

private:
    // Every waiter (reader, writers, closers) waits on one timer that never expires and checks
    // its own condition again when notify() cancels the wait.
    void notify() { m_wake.cancel(); }
    boost::asio::awaitable<void> waitForChange() {
        boost::system::error_code ignored;
        co_await m_wake.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }

    // A read of the connection stays under way while fewer than two messages wait for the
    // reader, so that control frames are answered even while the reader is busy.
    void startRead() {
        if (m_reading || m_ended || m_closing || m_received.size() >= 2)
            return;
        m_reading = true;
        m_ws.async_read(m_buffer,
                        [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                            self->readDone(ec);
                        });
    }

    void readDone(boost::system::error_code ec) {
        namespace websocket = boost::beast::websocket;
        m_reading = false;
        if (ec) {
            m_ended = true;
            m_buffer.clear();
            if (m_closeCode == 0) {
                if (ec == websocket::error::closed)
                    m_closeCode = m_ws.reason().code == websocket::close_code::none
                                      ? kCloseNoStatus
                                      : m_ws.reason().code;
                else if (ec == websocket::error::message_too_big)
                    m_closeCode = kCloseMessageTooBig;
                else
                    m_closeCode = kCloseAbnormal;
            }
            notify();
            if (auto callback = std::exchange(m_onEnd, nullptr))
                callback();
            return;
        }
        const auto bytes = m_buffer.cdata();
        m_received.push_back(Message{
            std::string(static_cast<const char*>(bytes.data()), bytes.size()), m_ws.got_binary()});
        m_buffer.consume(m_buffer.size());
        notify();
        startRead();
    }

    void armWriteDeadline() {
        m_writeDeadline.expires_after(m_limits.writeTimeout);
        m_writeDeadline.async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self)
                return;
            // The peer takes nothing: drop the connection; every operation fails.
            if (self->m_closeCode == 0)
                self->m_closeCode = kCloseAbnormal;
            boost::system::error_code ignored;
            boost::beast::get_lowest_layer(self->m_ws).close(ignored);
        });
    }

    boost::beast::websocket::stream<typename WebSocketLayer<Stream>::Type> m_ws;
    std::shared_ptr<void> m_owner;
    std::string m_subprotocol;
    WebSocketLimits m_limits;
    boost::asio::steady_timer m_wake;
    boost::asio::steady_timer m_writeDeadline;
    boost::beast::flat_buffer m_buffer;
    std::deque<Message> m_received;
    std::function<void()> m_onEnd;
    uint64_t m_nextTicket = 0; // writes, in the order they were called
    uint64_t m_serving = 0;
    uint16_t m_closeCode = 0;
    bool m_reading = false;  // a read of the connection is under way
    bool m_ended = false;    // the read side is over
    bool m_stopping = false; // the agent stops
    bool m_closing = false;  // close() began
    bool m_closed = false;   // close() ended
    bool m_writeFailed = false;
};

// What a handler holds: the session stays the connection's too, so that the server can close it
// when the handler returns without having done so.
class WebSocketHandle final : public WebSocket {
public:
    explicit WebSocketHandle(std::shared_ptr<WebSocket> session) : m_session(std::move(session)) {}
    boost::asio::awaitable<std::optional<Message>> read() override { return m_session->read(); }
    boost::asio::awaitable<bool> write(std::string_view data, bool binary) override {
        return m_session->write(data, binary);
    }
    boost::asio::awaitable<void> close(uint16_t code, std::string_view reason) override {
        return m_session->close(code, reason);
    }
    uint16_t closeCode() const override { return m_session->closeCode(); }
    const std::string& subprotocol() const override { return m_session->subprotocol(); }

private:
    std::shared_ptr<WebSocket> m_session;
};

} // namespace day2::http
