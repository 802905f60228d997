// day2-bench-journald-keepalive: keeps a namespace journald from exiting when idle (a namespace
// instance exits after ~30 s without clients) by holding a stdout stream open on it until SIGTERM
// or SIGINT. Waits up to 10 s for the socket to appear, then prints "connected".
#include "bench_common.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace day2::bench {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void onSignal(int) {
    g_stop = 1;
}

int connectStream(const std::string& path) {
    sockaddr_un a{};
    if (path.size() >= sizeof a.sun_path)
        die("socket path too long: " + path);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(std::string("socket: ") + std::strerror(errno));
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int run(int argc, char** argv) {
    Args args(argc, argv, "--namespace NS", {"namespace"});
    const std::string path = namespaceStdoutSocket(args.required("namespace"));
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    int fd = -1;
    const double deadline = nowSeconds() + 10;
    while ((fd = connectStream(path)) < 0) {
        if (nowSeconds() > deadline || g_stop)
            die("cannot connect to " + path);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // The stdout-stream header: identifier, unit, priority, level_prefix, forward_to_syslog,
    // forward_to_kmsg, forward_to_console.
    const std::string header = "day2-bench-keepalive\n\n6\n0\n0\n0\n0\n";
    if (::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()))
        die(std::string("writing the stream header: ") + std::strerror(errno));
    std::printf("connected\n");
    std::fflush(stdout);
    while (!g_stop)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::close(fd);
    return 0;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
