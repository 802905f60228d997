// day2-bench-bare-loop: the ceiling for reading a journal. Opens a directory (or a namespace) and
// walks every entry with sd_journal_next + sd_journal_enumerate_data, touching each field's bytes
// and nothing else, then prints entries/s. --with-cursor also asks for what every JSON line of the
// logs API carries besides the fields (sd_journal_get_cursor, the realtime and monotonic
// timestamps): the floor of the agent's own work.
#include "bench_common.h"

#include <systemd/sd-journal.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace day2::bench {
namespace {

int run(int argc, char** argv) {
    Args args(argc, argv, "(--directory DIR | --namespace NS) [--with-cursor]",
              {"directory", "namespace", "with-cursor"});
    const bool withCursor = args.has("with-cursor");
    sd_journal* j = nullptr;
    const double start = nowSeconds();
    int r;
    if (args.has("directory"))
        r = sd_journal_open_directory(&j, args.required("directory").c_str(), 0);
    else
        r = sd_journal_open_namespace(&j, args.required("namespace").c_str(), 0);
    if (r < 0)
        die(std::string("opening the journal: ") + std::strerror(-r));
    // As the agent does: whole values, however large.
    sd_journal_set_data_threshold(j, 0);
    uint64_t entries = 0;
    uint64_t fields = 0;
    uint64_t bytes = 0;
    unsigned checksum = 0;
    while ((r = sd_journal_next(j)) > 0) {
        const void* data;
        size_t len;
        SD_JOURNAL_FOREACH_DATA(j, data, len) {
            ++fields;
            bytes += len;
            checksum += static_cast<const unsigned char*>(data)[len - 1];
        }
        if (withCursor) {
            char* cursor = nullptr;
            if ((r = sd_journal_get_cursor(j, &cursor)) < 0)
                die(std::string("sd_journal_get_cursor: ") + std::strerror(-r));
            checksum += static_cast<unsigned char>(cursor[0]);
            std::free(cursor);
            uint64_t realtime = 0;
            uint64_t monotonic = 0;
            sd_id128_t boot;
            sd_journal_get_realtime_usec(j, &realtime);
            sd_journal_get_monotonic_usec(j, &monotonic, &boot);
            checksum += static_cast<unsigned>(realtime + monotonic);
        }
        ++entries;
    }
    if (r < 0)
        die(std::string("sd_journal_next: ") + std::strerror(-r));
    const double seconds = nowSeconds() - start;
    sd_journal_close(j);
    std::printf("entries=%" PRIu64 " fields=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f rate=%.0f "
                "checksum=%u\n",
                entries, fields, bytes, seconds, static_cast<double>(entries) / seconds, checksum);
    return 0;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
