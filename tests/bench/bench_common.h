// Helpers shared by the logs benchmark tools (tests/bench): option parsing, clocks, a blocking
// HTTP/1.1 client that decodes chunked bodies without copying them, and a sender for journald's
// native protocol. The tools depend on nothing of the agent, so they measure it from outside.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace day2::bench {

// CLOCK_MONOTONIC, in nanoseconds and in seconds.
uint64_t nowNanos();
double nowSeconds();

[[noreturn]] void die(const std::string& message);

// `--name value` pairs and bare `--flag`s; anything else, or an unknown name, is a usage error.
class Args {
public:
    Args(int argc, char** argv, std::string usage, std::vector<std::string> known);

    bool has(const std::string& name) const { return m_values.count(name) > 0; }
    std::string get(const std::string& name, const std::string& fallback = {}) const;
    std::string required(const std::string& name) const;
    uint64_t getCount(const std::string& name, uint64_t fallback) const;
    double getDouble(const std::string& name, double fallback) const;

private:
    [[noreturn]] void usage(const std::string& problem) const;

    std::string m_program;
    std::string m_usage;
    std::map<std::string, std::string> m_values;
};

// The p-th percentile (0..100) of sorted values, nearest rank; 0 for none.
double percentile(const std::vector<double>& sorted, double p);

// This process's resident memory (VmRSS), in KiB.
long rssKiB();

struct Url {
    std::string host;
    uint16_t port = 80;
    std::string target; // path and query
};

// http://HOST:PORT/path?query (IPv4 literal or a name resolvable by getaddrinfo).
Url parseUrl(std::string_view url);

// One HTTP/1.1 GET on its own connection (Connection: close).
class HttpGet {
public:
    enum class Read { Data, Timeout, End };
    using Sink = std::function<void(std::string_view)>;

    HttpGet(const Url& url, const std::vector<std::string>& headerLines);
    ~HttpGet();
    HttpGet(const HttpGet&) = delete;
    HttpGet& operator=(const HttpGet&) = delete;

    // Reads the status line and headers; returns the status code. Dies on a timeout.
    int readHead(double timeoutSeconds);
    // The value of a response header (case-insensitive name), or empty.
    std::string header(std::string_view name) const;
    const std::string& rawHead() const { return m_head; }

    // Hands the next decoded piece(s) of the body to `sink`: Data when something was handed over,
    // Timeout when nothing arrived in time, End at the end of the body.
    Read readBody(const Sink& sink, double timeoutSeconds);

    int fd() const { return m_fd; }

private:
    enum class State { Data, ChunkSize, ChunkEnd, Trailer, Done };
    enum class Fill { Ok, Timeout, Eof };

    Fill fill(double timeoutSeconds);
    std::string_view buffered() const { return {m_buf.data() + m_begin, m_end - m_begin}; }

    int m_fd = -1;
    std::vector<char> m_buf;
    size_t m_begin = 0;
    size_t m_end = 0;
    std::string m_head;
    State m_state = State::Data;
    bool m_chunked = false;
    bool m_untilClose = false;
    uint64_t m_remaining = 0;
};

// Appends one field in journald's native format: NAME=value, or the length-prefixed form when the
// value holds a newline.
void appendField(std::string& payload, std::string_view name, std::string_view value);

// A connected datagram socket to a journald native socket. send() blocks while journald is
// behind, so nothing is dropped on the writer's side.
class JournalSocket {
public:
    explicit JournalSocket(const std::string& path);
    ~JournalSocket();
    JournalSocket(const JournalSocket&) = delete;
    JournalSocket& operator=(const JournalSocket&) = delete;

    void send(std::string_view payload);

private:
    int m_fd = -1;
    std::string m_path;
};

// The StatsD benchmark's datagrams: lines `bench.m<k>:1|c|#env:bench`, k cycling over `names`
// metric names, `perDatagram` lines to a datagram, '\n' between them; every distinct datagram of
// the cycle (lcm(names, perDatagram) / perDatagram of them), in the order they are sent.
std::vector<std::string> statsdDatagrams(uint64_t names, uint64_t perDatagram);

// Pins the calling thread (and what it starts later) to one CPU; dies if it cannot.
void pinToCpu(int cpu);

// The native and stdout sockets of a journald namespace.
std::string namespaceSocket(const std::string& nameSpace);
std::string namespaceStdoutSocket(const std::string& nameSpace);

} // namespace day2::bench
