// A small blocking HTTP/1.1 client for tests, on plain sockets: it shows exactly what went over
// the wire (status, headers, chunked framing) without another HTTP library in between.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace day2::test {

struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool complete = false; // the body ended as framed (final chunk or Content-Length)
    std::optional<std::string> header(const std::string& name) const;
};

// Connects to 127.0.0.1:port; -1 on failure.
int connectLoopback(uint16_t port);

// One request on a fresh connection ("Connection: close"). Times out after `timeout`.
HttpResponse httpGet(uint16_t port, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Any method, with an optional body (sent with Content-Length, and Content-Type:
// application/json unless `headers` name another).
HttpResponse httpRequest(uint16_t port, const std::string& method, const std::string& target,
                         const std::optional<std::string>& body = std::nullopt,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Sends `bytes` as they are on a fresh connection and reads until the agent closes it or
// `timeout` passes without data. `closed` says which.
struct RawExchange {
    std::string received;
    bool closed = false;
};
RawExchange rawExchange(uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Reads a streaming response and hands each decoded body chunk to `onData`; stops when onData
// returns false, the stream ends or `timeout` passes without data.
class StreamingGet {
public:
    StreamingGet(uint16_t port, const std::string& target,
                 const std::vector<std::pair<std::string, std::string>>& headers,
                 const std::string& method = "GET",
                 const std::optional<std::string>& body = std::nullopt);
    ~StreamingGet();
    StreamingGet(const StreamingGet&) = delete;
    StreamingGet& operator=(const StreamingGet&) = delete;

    bool ok() const { return m_status > 0; }
    int status() const { return m_status; }
    const std::vector<std::pair<std::string, std::string>>& headers() const { return m_headers; }
    // Returns decoded body bytes available within `timeout` (empty on timeout or end).
    std::string readSome(std::chrono::milliseconds timeout);
    bool ended() const { return m_ended; }
    void close();

private:
    bool fill(std::chrono::milliseconds timeout);
    int m_fd = -1;
    int m_status = 0;
    std::vector<std::pair<std::string, std::string>> m_headers;
    std::string m_raw; // undecoded bytes after the headers
    bool m_chunked = false;
    bool m_ended = false;
    uint64_t m_chunkLeft = 0;
    bool m_inChunk = false;
};

// SSE events parsed from a stream (id and data; comments counted).
struct SseEvent {
    std::string id;
    std::string data;
};

class SseParser {
public:
    void feed(const std::string& bytes);
    std::vector<SseEvent> take();
    int comments() const { return m_comments; }
    std::optional<int> retry() const { return m_retry; }

private:
    std::string m_buf;
    SseEvent m_cur;
    bool m_hasData = false;
    std::vector<SseEvent> m_events;
    int m_comments = 0;
    std::optional<int> m_retry;
};

} // namespace day2::test
