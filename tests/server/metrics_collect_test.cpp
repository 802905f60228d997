// HostCollector: exact values from a fake /proc written by the test, what a missing or malformed
// file does, and the real thing: this machine's /proc.
#include "metrics/host_collector.h"
#include "metrics/text_file_reader.h"
#include "metrics_collect_support.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <sys/statvfs.h>
#include <unistd.h>

using namespace day2::metrics;
using namespace day2::metrics::test;

namespace {

// Points without the filesystem ones (which come from statvfs on real paths).
std::vector<Datapoint> withoutFilesystems(std::vector<Datapoint> points) {
    std::erase_if(points, [](const Datapoint& p) { return p.name.starts_with("filesystem."); });
    return points;
}

// /proc/stat with the given aggregate jiffies (user nice system idle iowait irq softirq steal)
// and four cpuN lines.
std::string procStat(const std::string& cpuFields) {
    return "cpu  " + cpuFields + " 100 0\n" + "cpu0 1 1 1 1 1 1 1 1 0 0\n" +
           "cpu1 1 1 1 1 1 1 1 1 0 0\n" + "cpu2 1 1 1 1 1 1 1 1 0 0\n" +
           "cpu3 1 1 1 1 1 1 1 1 0 0\n" + "intr 123456 1 2 3 4\nctxt 98765\nbtime 1700000000\n" +
           "processes 5000\nprocs_running 2\nprocs_blocked 0\nsoftirq 1 2 3\n";
}

const char* const kMeminfo = "MemTotal:       16000000 kB\n"
                             "MemFree:         8000000 kB\n"
                             "MemAvailable:   12000000 kB\n"
                             "Buffers:          100000 kB\n"
                             "Cached:          2000000 kB\n"
                             "SwapCached:            0 kB\n"
                             "Active:          3000000 kB\n"
                             "SwapTotal:       4000000 kB\n"
                             "SwapFree:        3000000 kB\n"
                             "HugePages_Total:       0\n"
                             "Hugepagesize:       2048 kB\n";

const char* const kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:     999       9    0    0    0     0          0         0      999       9    0    "
    "0    0     0       0          0\n"
    "  eth0:    1000      10    1    2    0     0          0         0     2000      20    3    "
    "4    0     0       0          0\n"
    "docker0:5000000000 50 0 0 0 0 0 0 6000000000 60 0 0 0 0 0 0\n";

void writeProc(const TempTree& t) {
    t.write("proc/stat", procStat("2000 500 1000 5000 600 200 300 400"));
    t.write("proc/meminfo", kMeminfo);
    t.write("proc/loadavg", "0.50 1.25 2.00 3/456 7890\n");
    t.write("proc/uptime", "12345.67 20000.00\n");
    t.write("proc/net/dev", kNetDev);
}

std::string readText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

// ---- HostCollector on a fixture /proc ----

TEST(HostCollector, GivesEveryHostMetricWithExactValuesFromAFixtureProc) {
    TempTree t;
    writeProc(t);
    HostCollector host({t.path("proc"), {t.path()}});
    const auto all = host.collect(10);
    EXPECT_EQ(host.readErrors(), 0u);
    const auto p = withoutFilesystems(all);

    const std::multiset<std::string> expected = {
        "system.uptime",
        "process.count",
        "load.1min",
        "load.5min",
        "load.15min",
        "cpu.cores",
        "cpu.total",
        "cpu.user",
        "cpu.system",
        "cpu.idle",
        "cpu.wait",
        "memory.total",
        "memory.free",
        "memory.buffers",
        "memory.cached",
        "memory.available",
        "swap.total",
        "swap.free",
        "swap.used",
        "network.in{interface=eth0}",
        "network.out{interface=eth0}",
        "network.in.packets{interface=eth0}",
        "network.out.packets{interface=eth0}",
        "network.in.errors{interface=eth0}",
        "network.out.errors{interface=eth0}",
        "network.in.dropped{interface=eth0}",
        "network.out.dropped{interface=eth0}",
        "network.in{interface=docker0}",
        "network.out{interface=docker0}",
        "network.in.packets{interface=docker0}",
        "network.out.packets{interface=docker0}",
        "network.in.errors{interface=docker0}",
        "network.out.errors{interface=docker0}",
        "network.in.dropped{interface=docker0}",
        "network.out.dropped{interface=docker0}",
    };
    EXPECT_EQ(keys(p), expected);

    EXPECT_DOUBLE_EQ(value(p, "system.uptime"), 12345.67);
    EXPECT_EQ(unit(p, "system.uptime"), "seconds");
    EXPECT_EQ(value(p, "process.count"), 456);
    EXPECT_EQ(unit(p, "process.count"), "count");
    EXPECT_EQ(value(p, "load.1min"), 0.5);
    EXPECT_EQ(value(p, "load.5min"), 1.25);
    EXPECT_EQ(value(p, "load.15min"), 2.0);
    EXPECT_EQ(value(p, "cpu.cores"), 4);
    EXPECT_EQ(unit(p, "cpu.cores"), "count");

    // Since boot: 10,000 jiffies; user 2000 + nice 500, system 1000 + irq 200 + softirq 300,
    // idle 5000, iowait 600, steal 400 (busy); guest (100) is already in user.
    EXPECT_DOUBLE_EQ(value(p, "cpu.user"), 25);
    EXPECT_DOUBLE_EQ(value(p, "cpu.system"), 15);
    EXPECT_DOUBLE_EQ(value(p, "cpu.idle"), 50);
    EXPECT_DOUBLE_EQ(value(p, "cpu.wait"), 6);
    EXPECT_DOUBLE_EQ(value(p, "cpu.total"), 44);
    for (auto n : {"cpu.user", "cpu.system", "cpu.idle", "cpu.wait", "cpu.total"})
        EXPECT_EQ(unit(p, n), "percent") << n;

    EXPECT_EQ(value(p, "memory.total"), 16000000.0 * 1024);
    EXPECT_EQ(value(p, "memory.free"), 8000000.0 * 1024);
    EXPECT_EQ(value(p, "memory.available"), 12000000.0 * 1024);
    EXPECT_EQ(value(p, "memory.buffers"), 100000.0 * 1024);
    EXPECT_EQ(value(p, "memory.cached"), 2000000.0 * 1024);
    EXPECT_EQ(value(p, "swap.total"), 4000000.0 * 1024);
    EXPECT_EQ(value(p, "swap.free"), 3000000.0 * 1024);
    EXPECT_EQ(value(p, "swap.used"), 1000000.0 * 1024);
    for (auto n : {"memory.total", "memory.free", "memory.available", "memory.buffers",
                   "memory.cached", "swap.total", "swap.free", "swap.used"})
        EXPECT_EQ(unit(p, n), "bytes") << n;

    const Tags eth0{{"interface", "eth0"}};
    EXPECT_EQ(value(p, "network.in", eth0), 1000);
    EXPECT_EQ(value(p, "network.out", eth0), 2000);
    EXPECT_EQ(value(p, "network.in.packets", eth0), 10);
    EXPECT_EQ(value(p, "network.out.packets", eth0), 20);
    EXPECT_EQ(value(p, "network.in.errors", eth0), 1);
    EXPECT_EQ(value(p, "network.out.errors", eth0), 3);
    EXPECT_EQ(value(p, "network.in.dropped", eth0), 2);
    EXPECT_EQ(value(p, "network.out.dropped", eth0), 4);
    EXPECT_EQ(unit(p, "network.in", eth0), "bytes");
    EXPECT_EQ(unit(p, "network.out", eth0), "bytes");
    EXPECT_EQ(unit(p, "network.in.packets", eth0), "count");
    const Tags docker0{{"interface", "docker0"}};
    EXPECT_EQ(value(p, "network.in", docker0), 5000000000.0);
    EXPECT_EQ(value(p, "network.out", docker0), 6000000000.0);
    EXPECT_EQ(value(p, "network.out.packets", docker0), 60);
}

TEST(HostCollector, CpuPercentsAreOverTheJiffiesSinceThePreviousCollect) {
    TempTree t;
    writeProc(t);
    HostCollector host({t.path("proc"), {t.path()}});
    host.collect(10);

    // 2,000 jiffies later: user +300, nice +100, system +100, idle +1000, iowait +200, irq +50,
    // softirq +50, steal +200.
    t.write("proc/stat", procStat("2300 600 1100 6000 800 250 350 600"));
    auto p = host.collect(10);
    EXPECT_DOUBLE_EQ(value(p, "cpu.user"), 20);
    EXPECT_DOUBLE_EQ(value(p, "cpu.system"), 10);
    EXPECT_DOUBLE_EQ(value(p, "cpu.idle"), 50);
    EXPECT_DOUBLE_EQ(value(p, "cpu.wait"), 10);
    EXPECT_DOUBLE_EQ(value(p, "cpu.total"), 40);

    // No jiffy since: no percents (cores still), and the baseline stays.
    p = host.collect(10);
    EXPECT_FALSE(has(p, "cpu.user"));
    EXPECT_FALSE(has(p, "cpu.total"));
    EXPECT_EQ(value(p, "cpu.cores"), 4);

    // 400 jiffies after the baseline, iowait went back by 100 (it may): it counts as 0.
    t.write("proc/stat", procStat("2400 600 1100 6300 700 250 350 600"));
    p = host.collect(10);
    EXPECT_DOUBLE_EQ(value(p, "cpu.user"), 25);
    EXPECT_DOUBLE_EQ(value(p, "cpu.idle"), 75);
    EXPECT_DOUBLE_EQ(value(p, "cpu.wait"), 0);
    EXPECT_DOUBLE_EQ(value(p, "cpu.total"), 25);

    // 300 jiffies: thirds are rounded to 0.01 %, and the total from the rounded parts.
    t.write("proc/stat", procStat("2500 600 1100 6400 800 250 350 600"));
    p = host.collect(10);
    EXPECT_EQ(value(p, "cpu.user"), 33.33);
    EXPECT_EQ(value(p, "cpu.idle"), 33.33);
    EXPECT_EQ(value(p, "cpu.wait"), 33.33);
    EXPECT_EQ(value(p, "cpu.total"), 33.34);
    EXPECT_EQ(host.readErrors(), 0u);
}

TEST(HostCollector, FilesystemsAreTheConfiguredPathsAsStatvfsSeesThem) {
    TempTree t;
    writeProc(t);
    const std::string missing = t.path("no/such/dir");
    HostCollector host({t.path("proc"), {t.path(), missing}});
    const auto p = host.collect(10);
    EXPECT_EQ(host.readErrors(), 1u); // the missing path
    for (const auto& d : p) {
        if (d.name.starts_with("filesystem.")) {
            EXPECT_EQ(d.tags, (Tags{{"path", t.path()}})) << d.name;
        }
    }

    struct statvfs st {};
    ASSERT_EQ(::statvfs(t.path().c_str(), &st), 0);
    const Tags tags{{"path", t.path()}};
    // Totals do not move while the test runs; what is used and free may.
    EXPECT_EQ(value(p, "filesystem.capacity.total", tags),
              static_cast<double>(st.f_blocks) * static_cast<double>(st.f_frsize));
    EXPECT_EQ(value(p, "filesystem.inode.total", tags), static_cast<double>(st.f_files));
    const double total = value(p, "filesystem.capacity.total", tags);
    EXPECT_GT(value(p, "filesystem.capacity.used", tags), 0);
    EXPECT_LE(value(p, "filesystem.capacity.used", tags) +
                  value(p, "filesystem.capacity.free", tags),
              total);
    EXPECT_LE(value(p, "filesystem.inode.used", tags) + value(p, "filesystem.inode.free", tags),
              value(p, "filesystem.inode.total", tags));
    EXPECT_EQ(unit(p, "filesystem.capacity.free", tags), "bytes");
    EXPECT_EQ(unit(p, "filesystem.inode.free", tags), "count");

    // Without paths: "/".
    HostCollector root({t.path("proc"), {}});
    EXPECT_TRUE(has(root.collect(10), "filesystem.capacity.total", Tags{{"path", "/"}}));
}

TEST(HostCollector, AMissingOrMalformedFileLosesOnlyItsMetricsAndIsCounted) {
    TempTree t;
    t.mkdir("proc");
    HostCollector host({t.path("proc"), {t.path()}});
    auto p = host.collect(10);
    EXPECT_TRUE(withoutFilesystems(p).empty());
    EXPECT_EQ(host.readErrors(), 5u); // uptime, loadavg, stat, meminfo, net/dev
    host.collect(10);
    EXPECT_EQ(host.readErrors(), 10u);

    // Each file malformed; net/dev has a good interface before the bad line.
    t.write("proc/stat", "cpu  12 abc 3 4\ncpu0 1 2 3 4\n");
    t.write("proc/meminfo", "MemTotal: lots kB\nMemFree: 1 kB\n");
    t.write("proc/loadavg", "0.5 1.0\n");
    t.write("proc/uptime", "\n");
    t.write("proc/net/dev", std::string(kNetDev) + "  eth1: 1 2 3\n");
    HostCollector bad({t.path("proc"), {t.path()}});
    p = bad.collect(10);
    EXPECT_TRUE(withoutFilesystems(p).empty()) << describe(withoutFilesystems(p));
    EXPECT_EQ(bad.readErrors(), 5u);

    // Other shapes of malformed: no aggregate line, a cpu line too short, binary garbage, a
    // net/dev without its header.
    t.write("proc/stat", "cpu0 1 2 3 4\n");
    t.write("proc/meminfo", std::string("\0\xff\x01 garbage", 11));
    t.write("proc/loadavg", "0.5 1.0 2.0 12 3\n");
    t.write("proc/uptime", "-3 1\n");
    t.write("proc/net/dev", "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
    p = bad.collect(10);
    EXPECT_TRUE(withoutFilesystems(p).empty());
    EXPECT_EQ(bad.readErrors(), 10u);
    t.write("proc/stat", "cpu  1 2 3\n");
    p = bad.collect(10);
    EXPECT_FALSE(has(p, "cpu.cores"));
    EXPECT_EQ(bad.readErrors(), 15u);

    // One file bad, the others whole.
    writeProc(t);
    t.write("proc/loadavg", "garbage\n");
    HostCollector one({t.path("proc"), {t.path()}});
    p = one.collect(10);
    EXPECT_EQ(one.readErrors(), 1u);
    EXPECT_FALSE(has(p, "load.1min"));
    EXPECT_FALSE(has(p, "process.count"));
    EXPECT_EQ(value(p, "memory.total"), 16000000.0 * 1024);
    EXPECT_EQ(value(p, "cpu.cores"), 4);
}

TEST(HostCollector, ALongStatAndAMeminfoWithoutMemAvailable) {
    TempTree t;
    writeProc(t);
    // 300 CPUs and a 200 kB interrupt line: more than the reader's first buffer.
    std::string stat = "cpu  2000 500 1000 5000 600 200 300 400 0 0\n";
    for (int i = 0; i < 300; ++i)
        stat += "cpu" + std::to_string(i) + " 1 2 3 4 5 6 7 8 0 0\n";
    stat += "intr 1";
    for (int i = 0; i < 50000; ++i)
        stat += " 123";
    stat += "\nctxt 1\n";
    t.write("proc/stat", stat);
    std::string meminfo = kMeminfo;
    meminfo.erase(meminfo.find("MemAvailable"),
                  meminfo.find("Buffers") - meminfo.find("MemAvailable"));
    t.write("proc/meminfo", meminfo);
    HostCollector host({t.path("proc"), {t.path()}});
    for (int round = 0; round < 2; ++round) {
        const auto p = host.collect(10);
        EXPECT_EQ(value(p, "cpu.cores"), 300);
        EXPECT_FALSE(has(p, "memory.available")); // an old kernel's: left out, not an error
        EXPECT_EQ(value(p, "memory.total"), 16000000.0 * 1024);
    }
    EXPECT_EQ(host.readErrors(), 0u);
}

namespace {

// MemTotal (kB) and the cpuN lines, as this machine's /proc says them.
std::pair<uint64_t, int> memTotalKbAndCpuLines() {
    uint64_t memTotalKb = 0;
    std::istringstream meminfo(readText("/proc/meminfo"));
    std::string line;
    while (std::getline(meminfo, line))
        if (line.starts_with("MemTotal:"))
            memTotalKb = std::stoull(line.substr(9));
    int cpuLines = 0;
    std::istringstream stat(readText("/proc/stat"));
    while (std::getline(stat, line))
        if (line.size() > 3 && line.starts_with("cpu") &&
            std::isdigit(static_cast<unsigned char>(line[3])))
            ++cpuLines;
    return {memTotalKb, cpuLines};
}

} // namespace

TEST(HostCollector, TheRealProcAgreesWithWhatItsFilesSay) {
    HostCollector host;
    // Memory and CPUs can be hot-plugged here (virtio-mem): compare with what /proc said both
    // before and after the collect.
    std::vector<Datapoint> p;
    std::pair<uint64_t, int> before, after;
    for (int attempt = 0; attempt < 20; ++attempt) {
        before = memTotalKbAndCpuLines();
        p = host.collect(10);
        after = memTotalKbAndCpuLines();
        if (before == after)
            break;
    }
    ASSERT_EQ(before, after) << "MemTotal or the CPUs changed during each of 20 collects";
    EXPECT_EQ(host.readErrors(), 0u);
    ASSERT_GT(before.first, 0u);
    ASSERT_GT(before.second, 0);
    EXPECT_EQ(value(p, "memory.total"), static_cast<double>(before.first) * 1024);
    EXPECT_EQ(value(p, "cpu.cores"), before.second);
    EXPECT_GT(value(p, "system.uptime"), 0);
    EXPECT_GT(value(p, "process.count"), 0);
    EXPECT_GT(value(p, "filesystem.capacity.total", Tags{{"path", "/"}}), 0);
    for (const auto& d : p)
        EXPECT_NE(d.tags, (Tags{{"interface", "lo"}})) << d.name;
    // Each percentage is rounded to 0.01: the parts may exceed the total by 0.005 each.
    const double busy = value(p, "cpu.user") + value(p, "cpu.system");
    EXPECT_LE(busy, value(p, "cpu.total") + 0.02 + 1e-9);
    EXPECT_NEAR(value(p, "cpu.total") + value(p, "cpu.idle") + value(p, "cpu.wait"), 100, 1e-9);
}

TEST(TextFileReader, AFileKeptOpenIsReadAnewEachTimeAndReopenedWhenReplaced) {
    char dirTemplate[] = "/tmp/day2-reader-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dirTemplate), nullptr);
    const std::string dir = dirTemplate;
    const std::string path = dir + "/value";
    auto write = [&](const std::string& text) {
        FILE* f = std::fopen(path.c_str(), "w");
        std::fputs(text.c_str(), f);
        std::fclose(f);
    };
    day2::metrics::TextFileReader reader;
    write("1\n");
    EXPECT_EQ(reader.readKeepingOpen(path).value_or("?"), "1\n");
    EXPECT_EQ(reader.openFiles(), 1u);
    write("22\n"); // the same file, new text (truncated and written in place)
    EXPECT_EQ(reader.readKeepingOpen(path).value_or("?"), "22\n");
    // Replaced by another file of the same name: the kept one still reads the old text, as a
    // kept cgroup file would until its cgroup goes; the owner closes it with closeUnder().
    std::remove(path.c_str());
    write("333\n");
    reader.closeUnder(dir + "/");
    EXPECT_EQ(reader.openFiles(), 0u);
    EXPECT_EQ(reader.readKeepingOpen(path).value_or("?"), "333\n");
    std::remove(path.c_str());
    reader.closeUnder(dir + "/");
    EXPECT_FALSE(reader.readKeepingOpen(path));
    EXPECT_EQ(reader.lastError(), ENOENT);
    EXPECT_EQ(reader.openFiles(), 0u);
    ::rmdir(dir.c_str());
}
