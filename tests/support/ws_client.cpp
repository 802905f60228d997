#include "ws_client.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <random>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace day2::test {

namespace {

std::string base64(const unsigned char* data, size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    const int len =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<size_t>(len));
    return out;
}

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

uint16_t WsClient::Message::closeCode() const {
    if (opcode != Close || data.size() < 2)
        return 0;
    return static_cast<uint16_t>((static_cast<unsigned char>(data[0]) << 8) |
                                 static_cast<unsigned char>(data[1]));
}

std::unique_ptr<WsClient>
WsClient::connect(uint16_t port, const std::string& target,
                  const std::vector<std::string>& protocols,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  HttpResponse* refusal, const std::string& caFile) {
    const int fd = connectLoopback(port);
    if (fd < 0)
        return nullptr;
    std::unique_ptr<WsClient> c(new WsClient(fd));
    if (!caFile.empty()) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        c->m_ctx = ctx;
        if (!ctx || SSL_CTX_load_verify_locations(ctx, caFile.c_str(), nullptr) != 1)
            throw std::runtime_error("cannot load the CA " + caFile);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
        SSL* ssl = SSL_new(ctx);
        c->m_ssl = ssl;
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1)
            throw std::runtime_error(
                "the TLS handshake failed (or the certificate is not the CA's)");
    }
    unsigned char nonce[16];
    std::random_device rd;
    for (auto& b : nonce)
        b = static_cast<unsigned char>(rd());
    const std::string key = base64(nonce, sizeof nonce);
    std::string request = "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Key: " +
                          key + "\r\n";
    if (!protocols.empty()) {
        request += "Sec-WebSocket-Protocol: ";
        for (size_t i = 0; i < protocols.size(); ++i)
            request += (i ? ", " : "") + protocols[i];
        request += "\r\n";
    }
    for (const auto& [k, v] : headers)
        request += k + ": " + v + "\r\n";
    request += "\r\n";
    if (!c->sendAll(request))
        return nullptr;

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    size_t end;
    while ((end = c->m_buffer.find("\r\n\r\n")) == std::string::npos)
        if (!c->fill(c->m_buffer.size() + 1, deadline))
            return nullptr;
    const std::string head = c->m_buffer.substr(0, end + 4);
    c->m_buffer.erase(0, end + 4);
    HttpResponse response;
    response.status = std::atoi(head.substr(9, 3).c_str());
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size() - 2) {
        const size_t eol = head.find("\r\n", pos);
        const std::string line = head.substr(pos, eol - pos);
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            response.headers.emplace_back(line.substr(0, colon), value);
        }
        pos = eol + 2;
    }
    if (response.status != 101) {
        const auto length = response.header("Content-Length");
        const size_t n = length ? std::stoul(*length) : 0;
        while (c->m_buffer.size() < n && c->fill(n, deadline)) {
        }
        response.body = c->m_buffer;
        response.complete = c->m_buffer.size() >= n;
        if (refusal)
            *refusal = response;
        return nullptr;
    }
    // Sec-WebSocket-Accept = base64(SHA-1(key + GUID)).
    const std::string magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(magic.data()), magic.size(), digest);
    if (response.header("Sec-WebSocket-Accept") != base64(digest, sizeof digest))
        throw std::runtime_error("the server's Sec-WebSocket-Accept is wrong");
    if (lower(response.header("Upgrade").value_or("")) != "websocket")
        throw std::runtime_error("101 without Upgrade: websocket");
    c->m_protocol = response.header("Sec-WebSocket-Protocol").value_or("");
    if (refusal)
        *refusal = response;
    return c;
}

WsClient::~WsClient() {
    if (m_ssl)
        SSL_free(static_cast<SSL*>(m_ssl));
    if (m_ctx)
        SSL_CTX_free(static_cast<SSL_CTX*>(m_ctx));
    if (m_fd >= 0)
        ::close(m_fd);
}

bool WsClient::sendAll(std::string_view data) {
    while (!data.empty()) {
        const ssize_t n =
            m_ssl ? SSL_write(static_cast<SSL*>(m_ssl), data.data(), static_cast<int>(data.size()))
                  : ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

ssize_t WsClient::receive(char* buffer, size_t size) {
    if (m_ssl)
        return SSL_read(static_cast<SSL*>(m_ssl), buffer, static_cast<int>(size));
    return ::recv(m_fd, buffer, size, 0);
}

bool WsClient::fill(size_t n, std::chrono::steady_clock::time_point deadline) {
    char chunk[65536];
    while (m_buffer.size() < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        // Bytes TLS has decrypted already are not on the socket any more.
        if (!(m_ssl && SSL_pending(static_cast<SSL*>(m_ssl)) > 0)) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return false;
        }
        const ssize_t got = receive(chunk, sizeof chunk);
        if (got <= 0)
            return false;
        m_buffer.append(chunk, static_cast<size_t>(got));
    }
    return true;
}

bool WsClient::sendFrame(uint8_t opcode, std::string_view payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    const size_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(0x80 | n);
    } else if (n <= 0xffff) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xff);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            f += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
    }
    static std::mt19937 rng{std::random_device{}()};
    char mask[4];
    for (char& m : mask)
        m = static_cast<char>(rng());
    f.append(mask, 4);
    for (size_t i = 0; i < n; ++i)
        f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return sendAll(f);
}

bool WsClient::sendChannel(uint8_t channel, std::string_view data, bool text) {
    std::string payload(1, static_cast<char>(channel));
    payload += data;
    return sendFrame(text ? Text : Binary, payload);
}

std::optional<WsClient::Message> WsClient::read(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Message message;
    bool started = false;
    for (;;) {
        if (!fill(2, deadline))
            return std::nullopt;
        const auto b0 = static_cast<unsigned char>(m_buffer[0]);
        const auto b1 = static_cast<unsigned char>(m_buffer[1]);
        if (b1 & 0x80)
            throw std::runtime_error("a masked frame from the server");
        size_t header = 2;
        uint64_t n = b1 & 0x7f;
        if (n == 126) {
            if (!fill(4, deadline))
                return std::nullopt;
            n = (static_cast<uint64_t>(static_cast<unsigned char>(m_buffer[2])) << 8) |
                static_cast<unsigned char>(m_buffer[3]);
            header = 4;
        } else if (n == 127) {
            if (!fill(10, deadline))
                return std::nullopt;
            n = 0;
            for (int i = 0; i < 8; ++i)
                n = (n << 8) | static_cast<unsigned char>(m_buffer[2 + static_cast<size_t>(i)]);
            header = 10;
        }
        if (!fill(header + n, deadline))
            return std::nullopt;
        const uint8_t opcode = b0 & 0x0f;
        std::string payload = m_buffer.substr(header, n);
        m_buffer.erase(0, header + n);
        if (opcode == Ping) {
            sendFrame(Pong, payload);
            continue;
        }
        if (opcode == Pong)
            continue;
        if (opcode == Close) {
            if (!m_closeSent) {
                sendFrame(Close, payload.substr(0, 2));
                m_closeSent = true;
            }
            return Message{Close, payload};
        }
        if (!started && opcode != 0) {
            message.opcode = opcode;
            started = true;
        }
        message.data += payload;
        if (b0 & 0x80)
            return message;
    }
}

bool WsClient::readUntil(const std::string& needle, std::string& out,
                         std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.find(needle) == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto m = left.count() > 0 ? read(left) : std::nullopt;
        if (!m || m->opcode == Close)
            return false;
        if (m->data.size() > 1 && (m->data[0] == 1 || m->data[0] == 2))
            out += m->data.substr(1);
    }
    return true;
}

void WsClient::close(uint16_t code) {
    if (m_closeSent)
        return;
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xff);
    sendFrame(Close, payload);
    m_closeSent = true;
    // The server's close frame ends it.
    for (int i = 0; i < 1000; ++i) {
        auto m = read(std::chrono::seconds(10));
        if (!m || m->opcode == Close)
            break;
    }
}

void WsClient::drop() {
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_fd = -1;
}

WsClient::Session WsClient::readSession(std::chrono::milliseconds timeout) {
    Session s;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool first = true;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return s;
        auto m = read(left);
        if (!m)
            return s;
        if (m->opcode == Close) {
            s.closed = true;
            s.closeCode = m->closeCode();
            return s;
        }
        if (first && m->data.size() == 1)
            s.ready = true;
        first = false;
        if (m->data.empty())
            continue;
        const auto channel = static_cast<unsigned char>(m->data[0]);
        const std::string_view data = std::string_view(m->data).substr(1);
        if (channel == 1)
            s.out += data;
        else if (channel == 2)
            s.err += data;
        else if (channel == 3) {
            s.status += data;
            ++s.statusMessages;
        }
    }
}

} // namespace day2::test
