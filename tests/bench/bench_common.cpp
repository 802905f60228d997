#include "bench_common.h"

#include <fstream>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <numeric>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace day2::bench {

namespace {

constexpr size_t kBufferBytes = 1024 * 1024;
constexpr size_t kMinFreeBytes = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return std::string(s);
}

} // namespace

uint64_t nowNanos() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

double nowSeconds() {
    return static_cast<double>(nowNanos()) / 1e9;
}

void die(const std::string& message) {
    std::cerr << "error: " << message << std::endl;
    std::exit(1);
}

Args::Args(int argc, char** argv, std::string usage, std::vector<std::string> known)
    : m_program(argc > 0 ? argv[0] : "bench"), m_usage(std::move(usage)) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << "usage: " << m_program << " " << m_usage << "\n";
            std::exit(0);
        }
        if (arg.rfind("--", 0) != 0)
            this->usage("unexpected argument '" + arg + "'");
        std::string name = arg.substr(2);
        std::string value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        } else if (i + 1 < argc && std::string_view(argv[i + 1]).rfind("--", 0) != 0) {
            value = argv[++i];
        }
        if (std::find(known.begin(), known.end(), name) == known.end())
            this->usage("unknown option --" + name);
        m_values[name] = value;
    }
}

void Args::usage(const std::string& problem) const {
    std::cerr << m_program << ": " << problem << "\nusage: " << m_program << " " << m_usage
              << std::endl;
    std::exit(2);
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = m_values.find(name);
    return it == m_values.end() ? fallback : it->second;
}

std::string Args::required(const std::string& name) const {
    auto it = m_values.find(name);
    if (it == m_values.end() || it->second.empty())
        usage("--" + name + " is required");
    return it->second;
}

uint64_t Args::getCount(const std::string& name, uint64_t fallback) const {
    auto it = m_values.find(name);
    if (it == m_values.end())
        return fallback;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || errno != 0)
        usage("--" + name + " must be a whole number");
    return v;
}

double Args::getDouble(const std::string& name, double fallback) const {
    auto it = m_values.find(name);
    if (it == m_values.end())
        return fallback;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0' || !std::isfinite(v))
        usage("--" + name + " must be a number");
    return v;
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty())
        return 0;
    auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

long rssKiB() {
    std::ifstream in("/proc/self/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            in >> kib;
            return kib;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

Url parseUrl(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme)
        die("only http:// URLs are supported: " + std::string(url));
    url.remove_prefix(scheme.size());
    size_t slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    Url out;
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) {
        out.host = std::string(authority);
    } else {
        out.host = std::string(authority.substr(0, colon));
        out.port =
            static_cast<uint16_t>(std::atoi(std::string(authority.substr(colon + 1)).c_str()));
    }
    return out;
}

HttpGet::HttpGet(const Url& url, const std::vector<std::string>& headerLines)
    : m_buf(kBufferBytes) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(url.port);
    if (int r = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res); r != 0)
        die("cannot resolve " + url.host + ": " + ::gai_strerror(r));
    for (addrinfo* ai = res; ai && m_fd < 0; ai = ai->ai_next) {
        m_fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (m_fd >= 0 && ::connect(m_fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }
    ::freeaddrinfo(res);
    if (m_fd < 0)
        die("cannot connect to " + url.host + ":" + port + ": " + std::strerror(errno));
    int one = 1;
    ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.host + ":" + port +
                          "\r\nConnection: close\r\n";
    for (const auto& h : headerLines)
        request += h + "\r\n";
    request += "\r\n";
    size_t off = 0;
    while (off < request.size()) {
        ssize_t n = ::send(m_fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die(std::string("sending the request: ") + std::strerror(errno));
        off += static_cast<size_t>(n);
    }
}

HttpGet::~HttpGet() {
    if (m_fd >= 0)
        ::close(m_fd);
}

HttpGet::Fill HttpGet::fill(double timeoutSeconds) {
    if (m_begin == m_end) {
        m_begin = m_end = 0;
    } else if (m_buf.size() - m_end < kMinFreeBytes) {
        std::memmove(m_buf.data(), m_buf.data() + m_begin, m_end - m_begin);
        m_end -= m_begin;
        m_begin = 0;
        if (m_buf.size() - m_end < kMinFreeBytes)
            m_buf.resize(m_buf.size() * 2);
    }
    pollfd p{m_fd, POLLIN, 0};
    int timeoutMs = timeoutSeconds < 0 ? -1 : static_cast<int>(timeoutSeconds * 1000);
    for (;;) {
        int r = ::poll(&p, 1, timeoutMs);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die(std::string("poll: ") + std::strerror(errno));
        if (r == 0)
            return Fill::Timeout;
        ssize_t n = ::recv(m_fd, m_buf.data() + m_end, m_buf.size() - m_end, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die(std::string("recv: ") + std::strerror(errno));
        if (n == 0)
            return Fill::Eof;
        m_end += static_cast<size_t>(n);
        return Fill::Ok;
    }
}

int HttpGet::readHead(double timeoutSeconds) {
    const double deadline = nowSeconds() + timeoutSeconds;
    size_t headEnd;
    while ((headEnd = buffered().find("\r\n\r\n")) == std::string_view::npos) {
        double left = deadline - nowSeconds();
        Fill f = left > 0 ? fill(left) : Fill::Timeout;
        if (f == Fill::Timeout)
            die("no response head within " + std::to_string(timeoutSeconds) + " s");
        if (f == Fill::Eof)
            die("connection closed before the response head");
    }
    m_head.assign(m_buf.data() + m_begin, headEnd + 2);
    m_begin += headEnd + 4;
    if (m_head.size() < 12 || m_head.compare(0, 5, "HTTP/") != 0)
        die("not an HTTP response: " + m_head.substr(0, 80));
    const int status = std::atoi(m_head.c_str() + 9);
    const std::string te = header("Transfer-Encoding");
    const std::string cl = header("Content-Length");
    if (iequals(te, "chunked")) {
        m_chunked = true;
        m_state = State::ChunkSize;
    } else if (!cl.empty()) {
        m_remaining = std::strtoull(cl.c_str(), nullptr, 10);
        m_state = m_remaining ? State::Data : State::Done;
    } else {
        m_untilClose = true;
        m_state = State::Data;
    }
    return status;
}

std::string HttpGet::header(std::string_view name) const {
    std::string_view rest = m_head;
    size_t eol = rest.find("\r\n");
    while (eol != std::string_view::npos) {
        rest.remove_prefix(eol + 2);
        eol = rest.find("\r\n");
        std::string_view line = rest.substr(0, eol);
        size_t colon = line.find(':');
        if (colon != std::string_view::npos && iequals(line.substr(0, colon), name))
            return trim(line.substr(colon + 1));
    }
    return {};
}

HttpGet::Read HttpGet::readBody(const Sink& sink, double timeoutSeconds) {
    for (;;) {
        std::string_view have = buffered();
        switch (m_state) {
        case State::Done:
            return Read::End;
        case State::Data:
            if (!have.empty()) {
                size_t n = m_untilClose
                               ? have.size()
                               : static_cast<size_t>(std::min<uint64_t>(have.size(), m_remaining));
                sink(have.substr(0, n));
                m_begin += n;
                if (!m_untilClose && (m_remaining -= n) == 0)
                    m_state = m_chunked ? State::ChunkEnd : State::Done;
                return Read::Data;
            }
            break;
        case State::ChunkSize:
            if (size_t eol = have.find("\r\n"); eol != std::string_view::npos) {
                std::string line(have.substr(0, eol));
                char* end = nullptr;
                unsigned long long size = std::strtoull(line.c_str(), &end, 16);
                if (end == line.c_str())
                    die("malformed chunk size line: " + line.substr(0, 40));
                m_begin += eol + 2;
                m_remaining = size;
                m_state = size ? State::Data : State::Trailer;
                continue;
            }
            break;
        case State::ChunkEnd:
            if (have.size() >= 2) {
                if (have.substr(0, 2) != "\r\n")
                    die("chunk not followed by CRLF");
                m_begin += 2;
                m_state = State::ChunkSize;
                continue;
            }
            break;
        case State::Trailer:
            if (size_t eol = have.find("\r\n"); eol != std::string_view::npos) {
                m_begin += eol + 2;
                if (eol == 0)
                    m_state = State::Done;
                continue;
            }
            break;
        }
        Fill f = fill(timeoutSeconds);
        if (f == Fill::Timeout)
            return Read::Timeout;
        if (f == Fill::Eof) {
            if (m_untilClose && m_state == State::Data) {
                m_state = State::Done;
                return Read::End;
            }
            die("the connection closed in the middle of the body");
        }
    }
}

void appendField(std::string& payload, std::string_view name, std::string_view value) {
    payload.append(name);
    if (value.find('\n') == std::string_view::npos) {
        payload += '=';
        payload.append(value);
    } else {
        payload += '\n';
        uint64_t n = value.size();
        for (int i = 0; i < 8; ++i)
            payload += static_cast<char>((n >> (8 * i)) & 0xFF);
        payload.append(value);
    }
    payload += '\n';
}

JournalSocket::JournalSocket(const std::string& path) : m_path(path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        die("socket path too long: " + path);
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0)
        die(std::string("socket: ") + std::strerror(errno));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        die("cannot connect to journald at " + path + ": " + std::strerror(errno));
    int size = 8 * 1024 * 1024;
    ::setsockopt(m_fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
}

JournalSocket::~JournalSocket() {
    if (m_fd >= 0)
        ::close(m_fd);
}

void JournalSocket::send(std::string_view payload) {
    for (;;) {
        ssize_t n = ::send(m_fd, payload.data(), payload.size(), MSG_NOSIGNAL);
        if (n >= 0)
            return;
        if (errno == EINTR)
            continue;
        if (errno == ENOBUFS || errno == EAGAIN) {
            ::usleep(200);
            continue;
        }
        die("sending to journald at " + m_path + ": " + std::strerror(errno));
    }
}

std::string namespaceSocket(const std::string& nameSpace) {
    return "/run/systemd/journal." + nameSpace + "/socket";
}

std::string namespaceStdoutSocket(const std::string& nameSpace) {
    return "/run/systemd/journal." + nameSpace + "/stdout";
}

std::vector<std::string> statsdDatagrams(uint64_t names, uint64_t perDatagram) {
    const uint64_t count = std::lcm(names, perDatagram) / perDatagram;
    std::vector<std::string> out;
    out.reserve(count);
    uint64_t k = 0;
    for (uint64_t d = 0; d < count; ++d) {
        std::string datagram;
        for (uint64_t i = 0; i < perDatagram; ++i) {
            if (i > 0)
                datagram += '\n';
            datagram += "bench.m" + std::to_string(k) + ":1|c|#env:bench";
            k = (k + 1) % names;
        }
        out.push_back(std::move(datagram));
    }
    return out;
}

void pinToCpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0)
        die("cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(errno));
}

} // namespace day2::bench
