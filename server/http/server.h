// The agent's HTTP/1.1 server: keep-alive, header and body limits, read and write timeouts, a
// bounded number of connections, graceful stop. Beast stays inside server.cpp.
//
// Connections that have not sent a complete request cannot starve those that have. A
// connection *waits* from its accept (its TLS handshake included) until its first request is
// read, and again between two requests on a kept-alive connection; while it is serving a request
// (a stream may last hours) it is never closed to make room. A new connection
// - beyond `idlePerAddress` waiting connections from its address closes that address's oldest
//   waiting one (one client flooding the agent competes with itself, not with others);
// - at `maxConnections` closes the oldest waiting connection of any address, and is refused
//   (503 on plain HTTP, closed on TLS) only when every connection is serving a request;
// and the first request must be complete within `firstRequestTimeout` (handshake included).
#pragma once

#include "base/result.h"
#include "config/agent_config.h"
#include "http/response.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace day2::http {

struct ServerOptions {
    config::ListenAddress listen;
    unsigned maxConnections = 1024;
    std::chrono::seconds readTimeout{30};
    std::chrono::seconds firstRequestTimeout{10};
    unsigned idlePerAddress = 64;
    std::chrono::seconds writeTimeout{60};
    unsigned headerLimitBytes = 64 * 1024;
    unsigned bodyLimitBytes = 1024 * 1024;
    std::string certificateFile; // set: HTTPS with this PEM chain and keyFile
    std::string keyFile;
    // WebSocket sessions: a ping after this long with nothing from the peer, and the peer
    // dropped when another as long passes with nothing (see websocket.h).
    std::chrono::seconds webSocketPingInterval{30};
    // How long close() waits for the peer's close frame (and the upgrade for its 101 to go).
    std::chrono::seconds webSocketCloseTimeout{10};

    static ServerOptions fromConfig(const config::AgentConfig& cfg);
};

class Server {
public:
    Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and listens; returns the port actually bound (useful with port 0).
    Result<uint16_t> bind();
    void start();
    // Stops accepting, closes idle connections and tells running responses to finish.
    void stop();
    size_t connectionCount() const;
    // Waiting connections closed to make room, since the start.
    uint64_t evictedCount() const;
    bool stopping() const;

    struct Impl; // public so that server.cpp's connections can name it

private:
    std::shared_ptr<Impl> m_impl;
};

} // namespace day2::http
