// The agent's HTTP/1.1 server: keep-alive, header and body limits, read and write timeouts, a
// bounded number of connections, graceful stop. Beast stays inside server.cpp.
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
    std::chrono::seconds writeTimeout{60};
    unsigned headerLimitBytes = 16 * 1024;
    unsigned bodyLimitBytes = 1024 * 1024;
    std::string certificateFile; // set: HTTPS with this PEM chain and keyFile
    std::string keyFile;

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
    bool stopping() const;

    struct Impl; // public so that server.cpp's connections can name it

private:
    std::shared_ptr<Impl> m_impl;
};

} // namespace day2::http
