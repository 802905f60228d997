// day2-bench-exec: an exec client for exec_bench.sh (the raw-bytes WebSocket client of the
// tests), against an agent directly or through Adminrouter over TLS. One measurement a run,
// printed as key=value:
//   --mode bulk:  one session of `head -c BYTES /dev/zero`; bytes received and MB/s from the
//                 upgrade request to the status;
//   --mode echo:  one session of `cat` (pipes); COUNT round trips of one byte in, one byte out;
//                 p50 and p99 in microseconds;
//   --mode start: COUNT sessions of `echo x`, one after another; from the upgrade request to the
//                 first byte of output, p50 and p99 in microseconds.
//
//   day2-bench-exec --port P --path /system/v1/[agent/ID/]exec/v1/containers/CID
//                   --mode bulk|echo|start [--bytes N] [--count N] [--ca FILE] [--token T]
#include "bench_common.h"
#include "ws_client.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

using day2::test::WsClient;

namespace {

std::vector<std::pair<std::string, std::string>> g_headers;
std::string g_ca;
uint16_t g_port = 0;

std::unique_ptr<WsClient> open(const std::string& target) {
    day2::test::HttpResponse refusal;
    auto c = WsClient::connect(g_port, target, {"v5.channel.k8s.io"}, g_headers, &refusal, g_ca);
    if (!c)
        day2::bench::die("not upgraded: " + std::to_string(refusal.status) + " " + refusal.body);
    return c;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

} // namespace

int main(int argc, char** argv) {
    day2::bench::Args args(
        argc, argv,
        "--port P --path PATH --mode bulk|echo|start [--bytes N] [--count N] [--ca FILE] "
        "[--token T]",
        {"port", "path", "mode", "bytes", "count", "ca", "token"});
    g_port = static_cast<uint16_t>(args.getCount("port", 0));
    const std::string path = args.get("path");
    const std::string mode = args.get("mode");
    g_ca = args.get("ca");
    if (args.has("token"))
        g_headers.emplace_back("Authorization", "Bearer " + args.get("token"));
    if (g_port == 0 || path.empty())
        day2::bench::die("--port and --path are needed");

    if (mode == "bulk") {
        const uint64_t bytes = args.getCount("bytes", uint64_t{1} << 30);
        const uint64_t start = day2::bench::nowNanos();
        auto c = open(path + "?command=head&command=-c&command=" + std::to_string(bytes) +
                      "&command=/dev/zero&stdout=1&stderr=1");
        uint64_t got = 0;
        std::string status;
        for (;;) {
            auto m = c->read(std::chrono::seconds(60));
            if (!m || m->opcode == WsClient::Close)
                break;
            if (m->data.size() > 1 && m->data[0] == 1)
                got += m->data.size() - 1;
            else if (!m->data.empty() && m->data[0] == 3)
                status = m->data.substr(1);
        }
        const double seconds = static_cast<double>(day2::bench::nowNanos() - start) / 1e9;
        std::printf("mode=bulk bytes=%" PRIu64 " seconds=%.3f mb_per_s=%.1f status_ok=%d\n", got,
                    seconds, static_cast<double>(got) / 1e6 / seconds,
                    status.find("Success") != std::string::npos && got == bytes);
        return got == bytes ? 0 : 1;
    }
    const auto count = static_cast<size_t>(args.getCount("count", 1000));
    std::vector<double> micros;
    if (mode == "echo") {
        auto c = open(path + "?command=cat&stdin=1&stdout=1&stderr=1");
        c->read(); // ready
        for (size_t i = 0; i < count; ++i) {
            const uint64_t t = day2::bench::nowNanos();
            c->sendChannel(0, "x");
            auto m = c->read(std::chrono::seconds(10));
            if (!m || m->data != "\x01x")
                day2::bench::die("echo " + std::to_string(i) + " did not come back whole");
            micros.push_back(static_cast<double>(day2::bench::nowNanos() - t) / 1e3);
        }
        c->sendFrame(WsClient::Binary, std::string("\xff\x00", 2));
        c->readSession();
    } else if (mode == "start") {
        for (size_t i = 0; i < count; ++i) {
            const uint64_t t = day2::bench::nowNanos();
            auto c = open(path + "?command=echo&command=x&stdout=1&stderr=1");
            for (;;) {
                auto m = c->read(std::chrono::seconds(10));
                if (!m || m->opcode == WsClient::Close)
                    day2::bench::die("session " + std::to_string(i) + " ended without output");
                if (m->data.size() > 1 && m->data[0] == 1)
                    break;
            }
            micros.push_back(static_cast<double>(day2::bench::nowNanos() - t) / 1e3);
            c->readSession();
        }
    } else {
        day2::bench::die("--mode is bulk, echo or start");
    }
    std::printf("mode=%s count=%zu p50_us=%.0f p99_us=%.0f\n", mode.c_str(), count,
                percentile(micros, 0.50), percentile(micros, 0.99));
    return 0;
}
