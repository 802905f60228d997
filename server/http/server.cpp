#include "http/server.h"

#include "base/log.h"
#include "base/text.h"
#include "http/websocket_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <map>
#include <malloc.h>
#include <unordered_set>

namespace day2::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

ServerOptions ServerOptions::fromConfig(const config::AgentConfig& cfg) {
    ServerOptions o;
    o.listen = cfg.listen;
    o.maxConnections = cfg.maxConnections;
    o.readTimeout = std::chrono::seconds(cfg.readTimeoutSeconds);
    o.firstRequestTimeout = std::chrono::seconds(cfg.firstRequestTimeoutSeconds);
    o.idlePerAddress = cfg.idlePerAddress;
    o.writeTimeout = std::chrono::seconds(cfg.writeTimeoutSeconds);
    o.headerLimitBytes = cfg.headerLimitBytes;
    o.bodyLimitBytes = cfg.bodyLimitBytes;
    return o;
}

class ConnectionBase {
public:
    virtual ~ConnectionBase() = default;
    virtual void serverStopping() = 0;
    // Closes a waiting connection to make room for another (see server.h).
    virtual void evict() = 0;

    asio::ip::address address; // the peer's
    bool waiting = false;      // for a request (see server.h)
    bool evicted = false;
    std::list<ConnectionBase*>::iterator waitingAt;
};

namespace {

// What makes a request's body impossible to frame safely, or its authority ambiguous: RFC 9112
// §6.1 and §6.3 (request smuggling) and doubled headers a proxy and the agent could read
// differently. Checked on the header, before any of the body is read.
std::optional<std::pair<unsigned, std::string>> refuseFraming(const bhttp::fields& fields) {
    std::string te;
    unsigned contentLengths = 0, authorizations = 0, hosts = 0;
    for (const auto& f : fields) {
        switch (f.name()) {
        case bhttp::field::transfer_encoding:
            te += (te.empty() ? "" : ",") + std::string(f.value());
            break;
        case bhttp::field::content_length:
            ++contentLengths;
            break;
        case bhttp::field::authorization:
            ++authorizations;
            break;
        case bhttp::field::host:
            ++hosts;
            break;
        default:
            break;
        }
    }
    if (authorizations > 1)
        return std::pair{400u, "the request has " + std::to_string(authorizations) +
                                   " Authorization headers: send one"};
    if (hosts > 1)
        return std::pair{400u, "the request has " + std::to_string(hosts) + " Host headers"};
    if (te.empty())
        return std::nullopt;
    const std::string shown = te.substr(0, 100);
    if (contentLengths > 0)
        return std::pair{400u, "the request has both Transfer-Encoding and Content-Length "
                               "(RFC 9112 section 6.3): send one"};
    std::vector<std::string_view> codings;
    for (std::string_view rest = te; !rest.empty();) {
        const size_t comma = rest.find(',');
        if (auto c = text::trim(rest.substr(0, comma)); !c.empty())
            codings.push_back(c);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    auto isChunked = [](std::string_view c) { return text::iequals(c, "chunked"); };
    if (codings.empty() || !isChunked(codings.back()) ||
        std::count_if(codings.begin(), codings.end(), isChunked) > 1)
        return std::pair{400u, "Transfer-Encoding '" + shown +
                                   "' does not end in chunked (once), so the body's length is "
                                   "unknown (RFC 9112 section 6.3)"};
    if (codings.size() > 1)
        return std::pair{501u, "the agent understands only the chunked transfer coding, not '" +
                                   shown + "'"};
    return std::nullopt;
}

} // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    asio::io_context& io;
    ServerOptions options;
    Handler handler;
    tcp::acceptor acceptor;
    std::unordered_set<std::shared_ptr<ConnectionBase>> connections;
    std::shared_ptr<asio::ssl::context> tls; // set: HTTPS
    bool stopping = false;
    // Waiting connections, the oldest first, and how many each address has.
    std::list<ConnectionBase*> waiting;
    std::map<asio::ip::address, unsigned> waitingByAddress;
    size_t evictedLive = 0; // evicted, still unwinding (in `connections`)
    uint64_t evictedTotal = 0;
    size_t peakSinceTrim = 0;
    unsigned rejecting = 0; // 503 answers in flight
    asio::steady_timer trimTimer{io};
    bool trimPending = false;

    size_t liveConnections() const { return connections.size() - evictedLive; }
    void startWaiting(ConnectionBase& c) {
        if (c.waiting || c.evicted)
            return;
        c.waitingAt = waiting.insert(waiting.end(), &c);
        c.waiting = true;
        ++waitingByAddress[c.address];
    }
    void stopWaiting(ConnectionBase& c) {
        if (!c.waiting)
            return;
        waiting.erase(c.waitingAt);
        c.waiting = false;
        auto it = waitingByAddress.find(c.address);
        if (it != waitingByAddress.end() && --it->second == 0)
            waitingByAddress.erase(it);
    }
    // What every evict() does first: it no longer waits, and is counted until it has gone.
    void countEvicted(ConnectionBase& c) {
        stopWaiting(c);
        c.evicted = true;
        ++evictedLive;
        ++evictedTotal;
    }
    // Closes the oldest waiting connection (of `address`, when given); false if there is none.
    bool evictOldest(const asio::ip::address* address) {
        for (ConnectionBase* c : waiting)
            if (!address || c->address == *address) {
                c->evict();
                return true;
            }
        return false;
    }
    void finished(const std::shared_ptr<ConnectionBase>& c) {
        stopWaiting(*c);
        if (c->evicted)
            --evictedLive;
        connections.erase(c);
        // After a burst of connections (a flood of idle ones, most likely), give the memory
        // they took back to the system once they are gone: glibc keeps freed heap for reuse,
        // and one flood would otherwise leave the agent's resident size at its peak for good.
        if (peakSinceTrim >= 256 && connections.size() <= peakSinceTrim / 8 && !trimPending) {
            trimPending = true;
            trimTimer.expires_after(std::chrono::seconds(1));
            trimTimer.async_wait([this, keep = weak_from_this()](error_code ec) {
                auto alive = keep.lock();
                if (ec || !alive)
                    return;
                trimPending = false;
                peakSinceTrim = connections.size();
                ::malloc_trim(0);
            });
        }
    }

    Impl(asio::io_context& ctx, ServerOptions opts, Handler h)
        : io(ctx), options(std::move(opts)), handler(std::move(h)), acceptor(ctx) {}

    asio::awaitable<void> acceptLoop();
    asio::awaitable<void> reject(tcp::socket socket);
};

// One client connection over Stream: tcp::socket (HTTP) or ssl::stream<tcp::socket> (HTTPS).
template <class Stream>
class Connection final : public ResponseStream,
                         public ConnectionBase,
                         public std::enable_shared_from_this<Connection<Stream>> {
public:
    // `firstDeadline`: when its first request (handshake included) must be complete.
    Connection(Stream stream, Server::Impl& server, Clock::time_point firstDeadline)
        : m_socket(std::move(stream)), m_deadline(m_socket.get_executor()), m_server(server),
          m_firstDeadline(firstDeadline) {}

    asio::awaitable<void> run();
    asio::awaitable<void> lingeringClose();

    // ResponseStream
    asio::awaitable<void> send(Response response) override;
    asio::awaitable<bool> begin(unsigned status, std::string_view contentType,
                                Headers headers) override;
    asio::awaitable<bool> write(std::string_view data) override;
    asio::awaitable<void> end() override;
    bool closing() const override { return m_peerGone || m_server.stopping; }
    void onClosing(std::function<void()> callback) override {
        m_onClosing = std::move(callback);
        if (closing())
            fireClosing();
        else if (!m_webSocket) // (a WebSocket session tells when its peer goes)
            watchPeer();
    }
    asio::awaitable<std::unique_ptr<WebSocket>> acceptWebSocket(std::string_view subprotocol,
                                                                size_t maxMessageBytes) override;

    void evict() override {
        m_server.countEvicted(*this);
        m_deadline.cancel();
        // Closed now, so that its descriptor and slot are free at once; the coroutine sees its
        // read fail and unwinds.
        error_code ignored;
        beast::get_lowest_layer(m_socket).close(ignored);
    }

    void serverStopping() override {
        if (m_idle) {
            error_code ignored;
            beast::get_lowest_layer(m_socket).cancel(ignored);
        } else {
            if (m_webSocket)
                m_webSocket->stop();
            fireClosing();
        }
    }

private:
    void arm(Clock::duration d) { armUntil(Clock::now() + d); }
    void armUntil(Clock::time_point t) {
        m_timedOut = false;
        m_deadline.expires_at(t);
        m_deadline.async_wait([weak = this->weak_from_this()](error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->m_deadline.expiry() > Clock::now())
                return;
            self->m_timedOut = true;
            error_code ignored;
            beast::get_lowest_layer(self->m_socket).cancel(ignored);
        });
    }
    void disarm() { m_deadline.expires_at(Clock::time_point::max()); }

    void fireClosing() {
        if (auto cb = std::exchange(m_onClosing, nullptr))
            cb();
    }

    // A long-lived response: a read on the idle request side tells when the peer goes away.
    // Bytes the peer sends meanwhile are read and ignored; EOF or an error means it has gone.
    void watchPeer() {
        if (m_watching)
            return;
        m_watching = true;
        m_socket.async_read_some(asio::buffer(m_peerBytes),
                                 [weak = this->weak_from_this()](error_code ec, size_t) {
                                     auto self = weak.lock();
                                     if (!self)
                                         return;
                                     self->m_watching = false;
                                     if (!ec && !self->m_peerGone) {
                                         self->watchPeer();
                                         return;
                                     }
                                     self->m_peerGone = true;
                                     self->m_keepAlive = false;
                                     self->fireClosing();
                                 });
    }

    asio::awaitable<bool> writeBuffers(auto&& buffers) {
        error_code ec;
        arm(m_server.options.writeTimeout);
        co_await asio::async_write(m_socket, buffers,
                                   asio::redirect_error(asio::use_awaitable, ec));
        disarm();
        if (ec) {
            m_keepAlive = false;
            m_peerGone = true;
            fireClosing();
            co_return false;
        }
        co_return true;
    }

    Stream m_socket;
    asio::steady_timer m_deadline;
    Server::Impl& m_server;
    Clock::time_point m_firstDeadline;
    std::function<void()> m_onClosing;
    // While the handler runs: the request as Beast parsed it (for a WebSocket upgrade).
    const bhttp::request<bhttp::string_body>* m_request = nullptr;
    // After an upgrade, until the handler has returned and the session is closed.
    std::shared_ptr<WebSocketSession<Stream>> m_webSocket;
    char m_peerBytes[512] = {};
    unsigned m_version = 11;
    bool m_idle = true;
    bool m_timedOut = false;
    bool m_peerGone = false;
    bool m_keepAlive = false;
    bool m_chunked = true;
    bool m_began = false;
    bool m_finished = false;
    bool m_watching = false;
    bool m_head = false;     // HEAD: headers only, never a body
    bool m_streamed = false; // a streamed response was started on this connection
};

// A TLS connection until its first byte comes: only the socket. The TLS state (OpenSSL's and
// Asio's record buffers, about 80 KiB) is made when there is a handshake to read, so that
// connections that send nothing cost what plain ones do.
class TlsGreeting final : public ConnectionBase,
                          public std::enable_shared_from_this<TlsGreeting> {
public:
    TlsGreeting(tcp::socket socket, Server::Impl& server)
        : m_socket(std::move(socket)), m_deadline(m_socket.get_executor()), m_server(server) {}

    asio::awaitable<void> run();

    void evict() override {
        m_server.countEvicted(*this);
        m_deadline.cancel();
        error_code ignored;
        m_socket.close(ignored);
    }
    void serverStopping() override {
        error_code ignored;
        m_socket.cancel(ignored);
    }

private:
    tcp::socket m_socket;
    asio::steady_timer m_deadline;
    Server::Impl& m_server;
};

asio::awaitable<void> TlsGreeting::run() {
    auto self = shared_from_this();
    const auto firstDeadline = Clock::now() + m_server.options.firstRequestTimeout;
    m_deadline.expires_at(firstDeadline);
    m_deadline.async_wait([weak = weak_from_this()](error_code ec) {
        if (auto me = weak.lock(); me && !ec) {
            error_code ignored;
            me->m_socket.cancel(ignored);
        }
    });
    error_code ec;
    co_await m_socket.async_wait(tcp::socket::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
    m_deadline.cancel();
    if (ec || evicted || m_server.stopping) {
        error_code ignored;
        m_socket.close(ignored);
        m_server.finished(self);
        co_return;
    }
    // Bytes (or the end) are there: the connection takes this one's place.
    using TlsStream = asio::ssl::stream<tcp::socket>;
    auto conn = std::make_shared<Connection<TlsStream>>(
        TlsStream(std::move(m_socket), *m_server.tls), m_server, firstDeadline);
    conn->address = address;
    m_server.finished(self);
    m_server.connections.insert(conn);
    m_server.startWaiting(*conn);
    asio::co_spawn(m_server.io, conn->run(), asio::detached);
}

namespace {

void setCommonHeaders(bhttp::fields& f, std::string_view contentType, const Headers& headers) {
    f.set(bhttp::field::server, "day2-agent");
    if (!contentType.empty())
        f.set(bhttp::field::content_type,
              beast::string_view(contentType.data(), contentType.size()));
    for (const auto& [k, v] : headers)
        f.set(k, v);
}

} // namespace

template <class Stream>
asio::awaitable<void> Connection<Stream>::send(Response response) {
    if (m_webSocket) // upgraded: no HTTP response any more
        co_return;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), m_version};
    setCommonHeaders(res, response.contentType, response.headers);
    res.body() = std::move(response.body);
    res.keep_alive(m_keepAlive);
    res.prepare_payload();
    m_began = true;
    error_code ec;
    arm(m_server.options.writeTimeout);
    if (m_head) {
        // The same headers (Content-Length included), no body.
        bhttp::response_serializer<bhttp::string_body> sr{res};
        co_await bhttp::async_write_header(m_socket, sr,
                                           asio::redirect_error(asio::use_awaitable, ec));
    } else {
        co_await bhttp::async_write(m_socket, res, asio::redirect_error(asio::use_awaitable, ec));
    }
    disarm();
    if (ec)
        m_keepAlive = false;
    m_finished = true;
}

template <class Stream>
asio::awaitable<bool> Connection<Stream>::begin(unsigned status, std::string_view contentType,
                                                Headers headers) {
    if (m_webSocket)
        co_return false;
    if (m_version < 11) {
        // Without chunked framing a body ends when the connection closes, so a read that fails
        // half-way would look complete. Streamed answers need HTTP/1.1.
        m_keepAlive = false;
        co_await send(jsonError(505, "this response is streamed with chunked encoding; "
                                     "send the request as HTTP/1.1"));
        co_return false;
    }
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), m_version};
    setCommonHeaders(res, contentType, headers);
    m_chunked = true;
    res.chunked(true);
    res.keep_alive(m_keepAlive);
    m_began = true;
    m_streamed = true;
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    error_code ec;
    arm(m_server.options.writeTimeout);
    co_await bhttp::async_write_header(m_socket, sr, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) {
        m_keepAlive = false;
        m_peerGone = true;
        co_return false;
    }
    co_return true;
}

template <class Stream>
asio::awaitable<bool> Connection<Stream>::write(std::string_view data) {
    if (m_peerGone || m_webSocket)
        co_return false;
    if (data.empty() || m_head)
        co_return true;
    if (m_chunked)
        co_return co_await writeBuffers(bhttp::make_chunk(asio::buffer(data.data(), data.size())));
    co_return co_await writeBuffers(asio::buffer(data.data(), data.size()));
}

template <class Stream>
asio::awaitable<void> Connection<Stream>::end() {
    if (m_webSocket || m_head) {
        // Upgraded (the session's now), or headers only: nothing to end.
    } else if (m_chunked && !m_peerGone) {
        co_await writeBuffers(bhttp::make_chunk_last());
    } else {
        m_keepAlive = false;
    }
    m_finished = true;
}

template <class Stream>
asio::awaitable<std::unique_ptr<WebSocket>>
Connection<Stream>::acceptWebSocket(std::string_view subprotocol, size_t maxMessageBytes) {
    if (m_began || !m_request || m_webSocket) {
        log::error("acceptWebSocket after the response began, or twice: not upgraded");
        co_return nullptr;
    }
    // From here the connection is the session's: no HTTP response, never reused.
    m_began = m_finished = true;
    m_keepAlive = false;
    WebSocketLimits limits;
    limits.maxMessageBytes = maxMessageBytes;
    limits.pingInterval = m_server.options.webSocketPingInterval;
    limits.closeTimeout = m_server.options.webSocketCloseTimeout;
    limits.writeTimeout = m_server.options.writeTimeout;
    auto session = std::make_shared<WebSocketSession<Stream>>(
        m_socket, this->shared_from_this(), std::string(subprotocol), limits);
    m_webSocket = session; // (so that a stop during the handshake reaches it)
    session->onEnd([weak = this->weak_from_this()] {
        if (auto self = weak.lock()) {
            self->m_peerGone = true;
            self->fireClosing();
        }
    });
    if (!co_await session->accept(*m_request)) {
        log::debug("WebSocket handshake with ", address.to_string(), " failed");
        co_return nullptr;
    }
    if (m_server.stopping)
        session->stop();
    co_return std::make_unique<WebSocketHandle>(std::move(session));
}

template <class Stream>
asio::awaitable<void> Connection<Stream>::lingeringClose() {
    // Half-close, then read what the client still sends for a moment: closing with unread
    // bytes would reset the connection, and the client could lose the error just sent.
    auto& tcpSocket = beast::get_lowest_layer(m_socket);
    error_code ec;
    tcpSocket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
        co_return;
    arm(std::chrono::seconds(2));
    size_t discarded = 0;
    while (discarded < 256 * 1024) {
        const size_t n = co_await tcpSocket.async_read_some(
            asio::buffer(m_peerBytes), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            break;
        discarded += n;
    }
    disarm();
}

template <class Stream>
asio::awaitable<void> Connection<Stream>::run() {
    auto self = this->shared_from_this();
    beast::flat_buffer buffer;
    std::string remote;
    auto& tcpSocket = beast::get_lowest_layer(m_socket);
    {
        error_code ec;
        auto ep = tcpSocket.remote_endpoint(ec);
        if (!ec)
            remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    // The first request, the TLS handshake included, has its own (short) deadline.
    const auto firstDeadline = m_firstDeadline;
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
        error_code ec;
        armUntil(firstDeadline);
        co_await m_socket.async_handshake(asio::ssl::stream_base::server,
                                          asio::redirect_error(asio::use_awaitable, ec));
        disarm();
        if (ec) {
            if (!evicted)
                log::debug("TLS handshake with ", remote, " failed: ", ec.message());
            error_code ignored;
            m_deadline.cancel();
            tcpSocket.close(ignored);
            m_server.finished(self);
            co_return;
        }
    }
    bool lingering = false;
    for (bool first = true;; first = false) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(m_server.options.headerLimitBytes);
        parser.body_limit(m_server.options.bodyLimitBytes);
        m_idle = true;
        if (m_server.stopping || evicted)
            break;
        m_server.startWaiting(*this); // (from its accept, for the first)
        error_code ec;
        if (first)
            armUntil(firstDeadline);
        else
            arm(m_server.options.readTimeout);
        co_await bhttp::async_read_header(m_socket, buffer, parser,
                                          asio::redirect_error(asio::use_awaitable, ec));
        std::optional<std::pair<unsigned, std::string>> refused;
        if (!ec)
            refused = refuseFraming(parser.get().base());
        if (!ec && !refused && !parser.is_done())
            co_await bhttp::async_read(m_socket, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
        disarm();
        m_server.stopWaiting(*this);
        m_idle = false;
        m_version = 11;
        m_keepAlive = false;
        m_began = m_finished = m_peerGone = false;
        if (evicted)
            break;
        if (refused) {
            co_await send(jsonError(refused->first, refused->second));
            lingering = true;
            break;
        }
        if (ec) {
            if (m_timedOut) {
                // (No conditional operator inside co_await: GCC 12 mis-evaluates it.)
                auto limit = m_server.options.readTimeout;
                if (first)
                    limit = m_server.options.firstRequestTimeout;
                if (parser.got_some() || buffer.size() > 0)
                    co_await send(jsonError(408, "the request was not complete after " +
                                                     std::to_string(limit.count()) + " s"));
                break;
            }
            if (m_server.stopping || ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
                ec == bhttp::error::partial_message)
                break;
            if (ec == bhttp::error::header_limit)
                co_await send(jsonError(431, "the request line and headers (the query string "
                                             "included) exceed " +
                                                 std::to_string(m_server.options.headerLimitBytes) +
                                                 " bytes"));
            else if (ec == bhttp::error::body_limit)
                co_await send(jsonError(413, "the request body exceeds " +
                                                 std::to_string(m_server.options.bodyLimitBytes) +
                                                 " bytes"));
            else
                co_await send(jsonError(400, "malformed HTTP request: " + ec.message()));
            lingering = true;
            break;
        }
        auto& msg = parser.get();
        Request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        auto q = req.target.find('?');
        req.path = req.target.substr(0, q);
        if (q != std::string::npos)
            req.query = req.target.substr(q + 1);
        for (const auto& field : msg)
            req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        req.body = std::move(msg.body());
        req.remoteAddress = remote;
        m_version = msg.version();
        m_keepAlive = msg.keep_alive() && !m_server.stopping;
        m_head = msg.method() == bhttp::verb::head;

        bool failed = false;
        m_request = &msg;
        try {
            co_await m_server.handler(req, *this);
        } catch (const std::exception& e) {
            log::error("request ", req.method, " ", req.path, " from ", remote,
                       " failed: ", e.what());
            failed = true;
        }
        m_request = nullptr;
        m_onClosing = nullptr;
        if (auto session = std::move(m_webSocket)) {
            // Upgraded: close the session if the handler has not, then the connection.
            uint16_t code = kCloseNormal;
            std::string why;
            if (failed) {
                code = kCloseInternalError;
                why = "internal error";
            }
            if (m_server.stopping) {
                code = kCloseGoingAway;
                why = "the agent is stopping";
            }
            co_await session->close(code, why);
            break;
        }
        if (failed && !m_began)
            co_await send(jsonError(500, "internal error while serving the request"));
        else if (failed)
            m_keepAlive = false;
        if (!m_began)
            co_await send(jsonError(500, "the request produced no response"));
        if (!m_finished || !m_keepAlive || m_peerGone || m_watching)
            break;
    }
    if (lingering && !evicted && !m_server.stopping)
        co_await lingeringClose();
    error_code ignored;
    m_deadline.cancel();
    tcpSocket.shutdown(tcp::socket::shutdown_both, ignored);
    tcpSocket.close(ignored);
    m_server.finished(self);
}

asio::awaitable<void> Server::Impl::reject(tcp::socket plain) {
    ++rejecting;
    auto socket = std::make_shared<tcp::socket>(std::move(plain));
    auto r = jsonError(503, "the agent is serving its maximum of " +
                                std::to_string(options.maxConnections) +
                                " connections; try again shortly");
    bhttp::response<bhttp::string_body> res{bhttp::status::service_unavailable, 11};
    setCommonHeaders(res, r.contentType, {{"Retry-After", "1"}});
    res.body() = std::move(r.body);
    res.keep_alive(false);
    res.prepare_payload();
    asio::steady_timer timer(io);
    timer.expires_after(std::chrono::seconds(2));
    timer.async_wait([socket](error_code ec) {
        if (!ec) {
            error_code ignored;
            socket->cancel(ignored);
        }
    });
    error_code ec;
    co_await bhttp::async_write(*socket, res, asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    // Half-close, so the 503 is not lost to a reset if the client's request is still unread.
    socket->shutdown(tcp::socket::shutdown_send, ec);
    socket->close(ec);
    --rejecting;
}

asio::awaitable<void> Server::Impl::acceptLoop() {
    auto self = shared_from_this();
    for (;;) {
        tcp::socket socket(io);
        error_code ec;
        co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
        if (stopping || ec == asio::error::operation_aborted)
            break;
        if (ec) {
            // Out of descriptors and the like: say so, breathe, keep serving.
            log::warning("accept failed: ", ec.message());
            asio::steady_timer pause(io, std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        const asio::ip::address address = socket.remote_endpoint(ec).address();
        const uint64_t evictedBefore = evictedTotal;
        // One address's waiting connections make room for its own new one; at the limit, the
        // oldest waiting connection of anyone makes room. Serving connections are never closed.
        if (auto it = waitingByAddress.find(address);
            it != waitingByAddress.end() && it->second >= options.idlePerAddress)
            evictOldest(&address);
        if (liveConnections() >= options.maxConnections && !evictOldest(nullptr)) {
            if (tls || rejecting >= 64) {
                // No handshake for a connection that will not be served, and no more answers
                // in flight than that: closed at once.
                socket.close(ec);
                continue;
            }
            asio::co_spawn(io, reject(std::move(socket)), asio::detached);
            continue;
        }
        // Said at the first and then every 1,000th: a flood must not flood the log too.
        if (evictedTotal != evictedBefore && (evictedTotal == 1 || evictedTotal % 1000 == 0))
            log::warning("closed ", evictedTotal, " waiting connection(s) so far to make room (",
                         liveConnections(), " open; ", address.to_string(), " has ",
                         waitingByAddress[address], " waiting)");
        socket.set_option(tcp::no_delay(true), ec);
        std::shared_ptr<ConnectionBase> conn;
        std::function<asio::awaitable<void>()> run;
        if (tls) {
            auto c = std::make_shared<TlsGreeting>(std::move(socket), *this);
            run = [c] { return c->run(); };
            conn = std::move(c);
        } else {
            auto c = std::make_shared<Connection<tcp::socket>>(
                std::move(socket), *this, Clock::now() + options.firstRequestTimeout);
            run = [c] { return c->run(); };
            conn = std::move(c);
        }
        conn->address = address;
        connections.insert(conn);
        peakSinceTrim = std::max(peakSinceTrim, connections.size());
        startWaiting(*conn);
        asio::co_spawn(io, run(), asio::detached);
    }
}

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : m_impl(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

Server::~Server() {
    stop();
}

Result<uint16_t> Server::bind() {
    error_code ec;
    if (!m_impl->options.certificateFile.empty()) {
        auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
        // TLS 1.2 and 1.3 only.
        ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
        // OpenSSL's record buffers (about 34 KiB) only while a connection has data in flight,
        // not for every idle or waiting one.
        SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
        ctx->use_certificate_chain_file(m_impl->options.certificateFile, ec);
        if (ec)
            return Error{"https.certificate " + m_impl->options.certificateFile + ": " +
                         ec.message()};
        ctx->use_private_key_file(m_impl->options.keyFile, asio::ssl::context::pem, ec);
        if (ec)
            return Error{"https.key " + m_impl->options.keyFile + ": " + ec.message()};
        m_impl->tls = std::move(ctx);
    }
    auto address = asio::ip::make_address(m_impl->options.listen.host, ec);
    if (ec)
        return Error{"listen address '" + m_impl->options.listen.host +
                     "' is not an IP address: " + ec.message()};
    tcp::endpoint ep(address, m_impl->options.listen.port);
    auto& acc = m_impl->acceptor;
    acc.open(ep.protocol(), ec);
    if (!ec)
        acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        acc.bind(ep, ec);
    if (!ec)
        acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return Error{"cannot listen on " + m_impl->options.listen.host + ":" +
                     std::to_string(m_impl->options.listen.port) + ": " + ec.message()};
    return acc.local_endpoint().port();
}

void Server::start() {
    asio::co_spawn(m_impl->io, m_impl->acceptLoop(), asio::detached);
}

void Server::stop() {
    if (m_impl->stopping)
        return;
    m_impl->stopping = true;
    error_code ignored;
    m_impl->acceptor.close(ignored);
    m_impl->trimTimer.cancel();
    auto conns = m_impl->connections;
    for (const auto& c : conns)
        c->serverStopping();
}

size_t Server::connectionCount() const {
    return m_impl->liveConnections();
}

uint64_t Server::evictedCount() const {
    return m_impl->evictedTotal;
}

bool Server::stopping() const {
    return m_impl->stopping;
}

} // namespace day2::http
