// day2-bench-journal-count: waits until a journald namespace holds `--expect` entries matching
// FIELD=VALUE, checks that their MESSAGEs are the lines of `--lines FILE` in order (nothing lost,
// nothing doubled, nothing reordered), and prints when journald received the last one:
//   count=N in_order=1 first_usec=T0 last_usec=T1      (CLOCK_REALTIME, microseconds)
// Exits 1 when the entries do not match the file or the timeout passes.
#include "bench_common.h"

#include <systemd/sd-journal.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace day2::bench {
namespace {

int run(int argc, char** argv) {
    Args args(argc, argv,
              "--namespace NS --match FIELD=VALUE --lines FILE [--timeout SECONDS]",
              {"namespace", "match", "lines", "timeout"});
    const std::string ns = args.required("namespace");
    const std::string match = args.required("match");
    const double timeout = args.getDouble("timeout", 600);
    std::vector<std::string> expected;
    {
        std::ifstream in(args.required("lines"));
        std::string line;
        while (std::getline(in, line))
            expected.push_back(line);
    }
    if (expected.empty())
        die("no lines in " + args.get("lines"));

    sd_journal* j = nullptr;
    int r = sd_journal_open_namespace(&j, ns.c_str(), SD_JOURNAL_LOCAL_ONLY);
    if (r < 0)
        die(std::string("sd_journal_open_namespace: ") + std::strerror(-r));
    if ((r = sd_journal_add_match(j, match.data(), match.size())) < 0)
        die(std::string("sd_journal_add_match: ") + std::strerror(-r));
    sd_journal_seek_head(j);
    size_t count = 0;
    bool inOrder = true;
    uint64_t first = 0, last = 0;
    const double deadline = nowSeconds() + timeout;
    while (count < expected.size()) {
        r = sd_journal_next(j);
        if (r < 0)
            die(std::string("sd_journal_next: ") + std::strerror(-r));
        if (r == 0) {
            if (nowSeconds() > deadline) {
                std::printf("count=%zu in_order=%d first_usec=0 last_usec=0 timeout=1\n", count,
                            inOrder ? 1 : 0);
                return 1;
            }
            sd_journal_wait(j, 100000);
            continue;
        }
        const void* data = nullptr;
        size_t len = 0;
        std::string_view message;
        if (sd_journal_get_data(j, "MESSAGE", &data, &len) >= 0)
            message = std::string_view(static_cast<const char*>(data), len).substr(8);
        if (inOrder && message != expected[count]) {
            inOrder = false;
            std::fprintf(stderr, "entry %zu: '%.*s', expected '%s'\n", count,
                         static_cast<int>(std::min<size_t>(message.size(), 80)), message.data(),
                         expected[count].c_str());
        }
        uint64_t usec = 0;
        sd_journal_get_realtime_usec(j, &usec);
        if (count == 0)
            first = usec;
        last = usec;
        ++count;
    }
    // Anything beyond the expected lines is a duplicate.
    while ((r = sd_journal_next(j)) > 0)
        ++count;
    sd_journal_close(j);
    const bool ok = inOrder && count == expected.size();
    std::printf("count=%zu in_order=%d first_usec=%" PRIu64 " last_usec=%" PRIu64 "\n", count,
                ok ? 1 : 0, first, last);
    return ok ? 0 : 1;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
