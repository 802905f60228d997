#include "http_client.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace day2::test {

namespace {

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string buildRequest(const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         bool close, const std::string& method = "GET",
                         const std::string* body = nullptr) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers)
        req += k + ": " + v + "\r\n";
    if (close)
        req += "Connection: close\r\n";
    if (body) {
        req += "Content-Length: " + std::to_string(body->size()) + "\r\n";
        bool typed = false;
        for (const auto& h : headers)
            typed = typed || lower(h.first) == "content-type";
        if (!typed)
            req += "Content-Type: application/json\r\n";
    }
    req += "\r\n";
    if (body)
        req += *body;
    return req;
}

bool sendAll(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

// Reads into `buf`; false on EOF, error or timeout.
bool readMore(int fd, std::string& buf, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0)
        return false;
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0)
        return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
}

bool parseHead(const std::string& head, int& status,
               std::vector<std::pair<std::string, std::string>>& headers) {
    size_t lineEnd = head.find("\r\n");
    std::string statusLine = head.substr(0, lineEnd);
    if (statusLine.rfind("HTTP/1.", 0) != 0 || statusLine.size() < 12)
        return false;
    status = std::stoi(statusLine.substr(9, 3));
    size_t pos = lineEnd + 2;
    while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos)
            e = head.size();
        std::string line = head.substr(pos, e - pos);
        pos = e + 2;
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ')
            v.erase(0, 1);
        headers.emplace_back(line.substr(0, colon), v);
    }
    return true;
}

} // namespace

std::optional<std::string> HttpResponse::header(const std::string& name) const {
    for (const auto& [k, v] : headers)
        if (lower(k) == lower(name))
            return v;
    return std::nullopt;
}

int connectLoopback(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        ::close(fd);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

HttpResponse httpGet(uint16_t port, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     std::chrono::milliseconds timeout) {
    return httpRequest(port, "GET", target, std::nullopt, headers, timeout);
}

HttpResponse httpRequest(uint16_t port, const std::string& method, const std::string& target,
                         const std::optional<std::string>& body,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::chrono::milliseconds timeout) {
    HttpResponse res;
    StreamingGet s(port, target, headers, method, body);
    if (!s.ok())
        return res;
    res.status = s.status();
    res.headers = s.headers();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!s.ended() && std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        std::string more = s.readSome(std::max(left, std::chrono::milliseconds(1)));
        if (more.empty() && !s.ended())
            break;
        res.body += more;
    }
    res.complete = s.ended();
    return res;
}

RawExchange rawExchange(uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds timeout) {
    RawExchange out;
    int fd = connectLoopback(port);
    if (fd < 0)
        return out;
    if (sendAll(fd, bytes)) {
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
                break;
            char tmp[65536];
            ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0) {
                out.closed = true;
                break;
            }
            out.received.append(tmp, static_cast<size_t>(n));
        }
    }
    ::close(fd);
    return out;
}

StreamingGet::StreamingGet(uint16_t port, const std::string& target,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& method, const std::optional<std::string>& body) {
    m_fd = connectLoopback(port);
    if (m_fd < 0 ||
        !sendAll(m_fd, buildRequest(target, headers, true, method, body ? &*body : nullptr)))
        return;
    std::string buf;
    size_t headEnd;
    while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos)
        if (!readMore(m_fd, buf, std::chrono::seconds(30)))
            return;
    if (!parseHead(buf.substr(0, headEnd), m_status, m_headers))
        return;
    m_raw = buf.substr(headEnd + 4);
    std::optional<uint64_t> contentLength;
    for (const auto& [k, v] : m_headers) {
        if (lower(k) == "transfer-encoding" && lower(v).find("chunked") != std::string::npos)
            m_chunked = true;
        if (lower(k) == "content-length")
            contentLength = std::stoull(v);
    }
    if (!m_chunked && contentLength) {
        m_chunkLeft = *contentLength;
        m_inChunk = true;
    }
}

StreamingGet::~StreamingGet() {
    close();
}

void StreamingGet::close() {
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

bool StreamingGet::fill(std::chrono::milliseconds timeout) {
    if (m_fd < 0)
        return false;
    return readMore(m_fd, m_raw, timeout);
}

std::string StreamingGet::readSome(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (m_ended)
            return out;
        if (!m_chunked) {
            // Content-Length body, or a body that ends when the server closes.
            if (m_inChunk) {
                size_t take = static_cast<size_t>(std::min<uint64_t>(m_chunkLeft, m_raw.size()));
                out += m_raw.substr(0, take);
                m_raw.erase(0, take);
                m_chunkLeft -= take;
                if (m_chunkLeft == 0) {
                    m_ended = true;
                    return out;
                }
            } else {
                out += m_raw;
                m_raw.clear();
            }
        } else {
            // Decode as many whole pieces of chunked framing as are buffered.
            for (;;) {
                if (m_inChunk) {
                    size_t take =
                        static_cast<size_t>(std::min<uint64_t>(m_chunkLeft, m_raw.size()));
                    out += m_raw.substr(0, take);
                    m_raw.erase(0, take);
                    m_chunkLeft -= take;
                    if (m_chunkLeft > 0)
                        break;
                    if (m_raw.size() < 2)
                        break;
                    m_raw.erase(0, 2); // CRLF after the chunk
                    m_inChunk = false;
                }
                size_t e = m_raw.find("\r\n");
                if (e == std::string::npos)
                    break;
                uint64_t size = std::stoull(m_raw.substr(0, e), nullptr, 16);
                m_raw.erase(0, e + 2);
                if (size == 0) {
                    m_ended = true;
                    return out;
                }
                m_chunkLeft = size;
                m_inChunk = true;
            }
        }
        if (!out.empty())
            return out;
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return out;
        if (!fill(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now))) {
            // EOF (or timeout): a close-delimited body ends here; a framed one is cut short.
            if (!m_chunked && !m_inChunk && m_fd >= 0) {
                pollfd p{m_fd, POLLIN, 0};
                if (::poll(&p, 1, 0) > 0)
                    m_ended = true;
            }
            return out;
        }
    }
}

void SseParser::feed(const std::string& bytes) {
    m_buf += bytes;
    size_t pos;
    while ((pos = m_buf.find('\n')) != std::string::npos) {
        std::string line = m_buf.substr(0, pos);
        m_buf.erase(0, pos + 1);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty()) {
            if (m_hasData)
                m_events.push_back(m_cur);
            m_cur = {};
            m_hasData = false;
        } else if (line[0] == ':') {
            ++m_comments;
        } else if (line.rfind("id: ", 0) == 0) {
            m_cur.id = line.substr(4);
        } else if (line.rfind("data: ", 0) == 0) {
            if (m_hasData)
                m_cur.data += "\n";
            m_cur.data += line.substr(6);
            m_hasData = true;
        } else if (line.rfind("retry: ", 0) == 0) {
            m_retry = std::stoi(line.substr(7));
        }
    }
}

std::vector<SseEvent> SseParser::take() {
    return std::exchange(m_events, {});
}

} // namespace day2::test
