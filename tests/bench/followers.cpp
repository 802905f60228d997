// day2-bench-followers: opens N SSE streams on the agent and holds them, idle, until SIGTERM or
// SIGINT. Prints "ready N" on stdout once every stream has its head and first bytes, so a script
// can then read the agent's memory. Pings and any entries are read and discarded; on exit it
// prints how many streams the agent closed in the meantime.
#include "bench_common.h"

#include <csignal>
#include <cstdio>
#include <memory>
#include <poll.h>
#include <sys/resource.h>

namespace day2::bench {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void onSignal(int) {
    g_stop = 1;
}

int run(int argc, char** argv) {
    Args args(argc, argv,
              "--url http://HOST:PORT [--count N] [--filter FIELD:VALUE]\n"
              "Holds N (default 200) idle followers of /system/v1/logs/v1/stream/.",
              {"url", "count", "filter"});
    Url url = parseUrl(args.required("url"));
    const uint64_t count = args.getCount("count", 200);
    url.target = "/system/v1/logs/v1/stream/";
    if (args.has("filter"))
        url.target += "?filter=" + args.get("filter");

    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);

    std::vector<std::unique_ptr<HttpGet>> streams;
    const auto discard = [](std::string_view) {};
    for (uint64_t i = 0; i < count && !g_stop; ++i) {
        auto s =
            std::make_unique<HttpGet>(url, std::vector<std::string>{"Accept: text/event-stream"});
        if (int status = s->readHead(10); status != 200)
            die("stream " + std::to_string(i) + " answered " + std::to_string(status));
        if (s->readBody(discard, 10) != HttpGet::Read::Data)
            die("stream " + std::to_string(i) + " sent nothing after its head");
        streams.push_back(std::move(s));
    }
    std::printf("ready %zu\n", streams.size());
    std::fflush(stdout);

    std::vector<pollfd> fds;
    for (const auto& s : streams)
        fds.push_back({s->fd(), POLLIN, 0});
    size_t closed = 0;
    while (!g_stop) {
        int r = ::poll(fds.data(), fds.size(), 500);
        if (r <= 0)
            continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (streams[i]->readBody(discard, 0) == HttpGet::Read::End) {
                fds[i].fd = -1;
                ++closed;
            }
        }
    }
    std::printf("closed_by_agent=%zu\n", closed);
    return 0;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
