// A blocking WebSocket client for tests, written against the bytes of RFC 6455 on a plain
// socket (no WebSocket library in between): the upgrade, masked client frames, the server's
// frames as they come (pings answered), the close handshake. With the Kubernetes channel
// protocol on top: send on a channel, collect a session's stdout, stderr and status.
#pragma once

#include "http_client.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace day2::test {

class WsClient {
public:
    enum Opcode : uint8_t { Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };
    struct Message {
        uint8_t opcode = Binary;
        std::string data; // for Close: the code (2 bytes) and the reason
        uint16_t closeCode() const;
    };

    // Upgrades GET `target` on 127.0.0.1:port offering `protocols`; over TLS when `caFile` is
    // given (the server's certificate verified against it, for IP 127.0.0.1). Not upgraded:
    // nullptr, and the answer in `refusal` when given.
    static std::unique_ptr<WsClient>
    connect(uint16_t port, const std::string& target, const std::vector<std::string>& protocols,
            const std::vector<std::pair<std::string, std::string>>& headers = {},
            HttpResponse* refusal = nullptr, const std::string& caFile = {});
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    const std::string& protocol() const { return m_protocol; }

    // A frame with this opcode and payload (masked, FIN set). False when the socket failed.
    bool sendFrame(uint8_t opcode, std::string_view payload);
    // [channel][data], binary (or text, as the Python client sends).
    bool sendChannel(uint8_t channel, std::string_view data, bool text = false);
    // The next data or close message (pings are answered and skipped); nullopt on timeout or
    // when the connection ended without a close frame.
    std::optional<Message> read(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Output (channels 1 and 2, without their channel bytes) until it holds `needle`; false when
    // the session closed or `timeout` passed first. What was read goes to `out`.
    bool readUntil(const std::string& needle, std::string& out,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Sends a close frame with `code` (if the server's has not come yet, waits for it).
    void close(uint16_t code = 1000);
    // Shuts the socket without a close handshake (a client killed mid-session).
    void drop();

    // A channel-protocol session read to its end: everything on stdout (1) and stderr (2), the
    // status (3), the close code, and whether the first message was an empty one (ready).
    struct Session {
        std::string out;
        std::string err;
        std::string status;
        int statusMessages = 0;
        bool ready = false;
        uint16_t closeCode = 0;
        bool closed = false; // a close frame came (else timed out or the connection ended)
    };
    Session readSession(std::chrono::milliseconds timeout = std::chrono::seconds(60));

private:
    explicit WsClient(int fd) : m_fd(fd) {}
    bool fill(size_t n, std::chrono::steady_clock::time_point deadline);
    bool sendAll(std::string_view data);
    ssize_t receive(char* buffer, size_t size);

    int m_fd = -1;
    void* m_ctx = nullptr; // SSL_CTX*, SSL* over TLS
    void* m_ssl = nullptr;
    std::string m_protocol;
    std::string m_buffer; // received, not yet parsed
    bool m_closeSent = false;
};

} // namespace day2::test
