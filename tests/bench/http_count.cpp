// day2-bench-http-count: fetches a URL and counts the lines of its body, timing the whole
// exchange by the wall clock (connect to last byte). "objects" counts the lines that start with
// '{' (entries of a JSON-lines body). With --stdin it counts what arrives on stdin instead (for
// `journalctl -o json | day2-bench-http-count --stdin`). --free-port prints a free TCP port of
// 127.0.0.1 and exits.
#include "bench_common.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace day2::bench {
namespace {

class LineCounter {
public:
    void add(std::string_view data) {
        m_bytes += data.size();
        const char* p = data.data();
        const char* end = p + data.size();
        while (p < end) {
            if (m_atLineStart) {
                m_objects += *p == '{';
                m_atLineStart = false;
            }
            const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
            if (!nl)
                break;
            ++m_lines;
            p = static_cast<const char*>(nl) + 1;
            m_atLineStart = true;
        }
    }
    uint64_t lines() const { return m_lines; }
    uint64_t objects() const { return m_objects; }
    uint64_t bytes() const { return m_bytes; }

private:
    uint64_t m_lines = 0;
    uint64_t m_objects = 0;
    uint64_t m_bytes = 0;
    bool m_atLineStart = true;
};

void report(const LineCounter& c, double seconds, int status, bool complete, double firstByte) {
    std::printf("status=%d complete=%d lines=%" PRIu64 " objects=%" PRIu64 " bytes=%" PRIu64
                " seconds=%.3f first_byte=%.3f rate=%.0f\n",
                status, complete ? 1 : 0, c.lines(), c.objects(), c.bytes(), seconds, firstByte,
                static_cast<double>(c.objects() ? c.objects() : c.lines()) / seconds);
}

int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0)
        die(std::string("finding a free port: ") + std::strerror(errno));
    ::close(fd);
    std::printf("%u\n", ntohs(a.sin_port));
    return 0;
}

int countStdin() {
    LineCounter counter;
    std::vector<char> buf(1024 * 1024);
    const double start = nowSeconds();
    double firstByte = -1;
    for (;;) {
        ssize_t n = ::read(0, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die(std::string("read: ") + std::strerror(errno));
        if (n == 0)
            break;
        if (firstByte < 0)
            firstByte = nowSeconds() - start;
        counter.add({buf.data(), static_cast<size_t>(n)});
    }
    report(counter, nowSeconds() - start, 0, true, firstByte);
    return 0;
}

int run(int argc, char** argv) {
    Args args(argc, argv,
              "--url URL [--accept TYPE] [--header 'Name: value'] [--max-seconds S]\n"
              "       | --stdin | --free-port",
              {"url", "accept", "header", "max-seconds", "stdin", "free-port"});
    if (args.has("free-port"))
        return freePort();
    if (args.has("stdin"))
        return countStdin();
    const Url url = parseUrl(args.required("url"));
    const double maxSeconds = args.getDouble("max-seconds", 3600);
    std::vector<std::string> headers;
    if (args.has("accept"))
        headers.push_back("Accept: " + args.get("accept"));
    if (args.has("header"))
        headers.push_back(args.get("header"));

    const double start = nowSeconds();
    HttpGet get(url, headers);
    const int status = get.readHead(60);
    LineCounter counter;
    double firstByte = -1;
    bool complete = false;
    const HttpGet::Sink sink = [&](std::string_view data) {
        if (firstByte < 0)
            firstByte = nowSeconds() - start;
        counter.add(data);
    };
    for (;;) {
        const double left = start + maxSeconds - nowSeconds();
        if (left <= 0)
            break;
        auto r = get.readBody(sink, std::min(left, 60.0));
        if (r == HttpGet::Read::End) {
            complete = true;
            break;
        }
        if (r == HttpGet::Read::Timeout && left > 60)
            die("the body stalled for 60 s after " + std::to_string(counter.lines()) + " lines");
    }
    report(counter, nowSeconds() - start, status, complete, firstByte);
    if (status != 200)
        std::fprintf(stderr, "%s\n", get.rawHead().c_str());
    return status == 200 ? 0 : 1;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
