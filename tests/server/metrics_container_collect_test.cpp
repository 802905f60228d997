// ContainerCollector: exact values from a cgroup v1 and a cgroup v2 tree written by the test,
// what a missing or malformed file does, and, as root on a cgroup v1 host, a real cgroup with a
// child that burns CPU and touches 64 MiB.
#include "metrics/container_collector.h"
#include "metrics_collect_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

using namespace day2::metrics;
using namespace day2::metrics::test;
using day2::tasks::CgroupSet;
using day2::tasks::CgroupVersion;
using namespace std::chrono_literals;

namespace {

// A v1 container "day2/c1" in hierarchies cpu, cpuacct, memory, pids, blkio, with a decoy of
// different numbers at each hierarchy's root.
CgroupSet writeV1(const TempTree& t) {
    CgroupSet set;
    set.version = CgroupVersion::V1;
    for (auto c : {"cpu", "cpuacct", "memory", "pids", "blkio"}) {
        set.dirs.push_back(t.path(std::string(c) + "/day2/c1"));
        set.controllers.emplace_back(c);
    }
    t.write("cpuacct/day2/c1/cpuacct.usage", "2000000000\n");
    t.write("cpuacct/day2/c1/cpuacct.usage_user", "1500000000\n");
    t.write("cpuacct/day2/c1/cpuacct.usage_sys", "500000000\n");
    t.write("cpuacct/day2/c1/cpuacct.stat", "user 9999\nsystem 9999\n"); // not used
    t.write("cpu/day2/c1/cpu.stat", "nr_periods 100\nnr_throttled 7\nthrottled_time 250000000\n"
                                    "nr_bursts 0\nburst_time 0\n");
    t.write("cpu/day2/c1/cpu.cfs_quota_us", "150000\n");
    t.write("cpu/day2/c1/cpu.cfs_period_us", "100000\n");
    t.write("memory/day2/c1/memory.usage_in_bytes", "104857600\n");
    t.write("memory/day2/c1/memory.limit_in_bytes", "268435456\n");
    t.write("memory/day2/c1/memory.stat",
            "cache 1\nrss 2\nswap 3\ninactive_file 4\nhierarchical_memory_limit 268435456\n"
            "total_cache 41943040\ntotal_rss 52428800\ntotal_rss_huge 0\ntotal_swap 1048576\n"
            "total_inactive_anon 0\ntotal_inactive_file 20971520\ntotal_active_file 1\n");
    t.write("pids/day2/c1/cgroup.procs", "12\n34\n");
    t.write("pids/day2/c1/tasks", "12\n13\n34\n");
    t.write("blkio/day2/c1/blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n"
            "8:0 Total 12288\n8:16 Read 1024\n8:16 Write 0\n8:16 Sync 0\n8:16 Async 1024\n"
            "8:16 Discard 0\n8:16 Total 1024\nTotal 13312\n");
    t.write("blkio/day2/c1/blkio.throttle.io_service_bytes", "8:0 Read 1\n8:0 Write 1\nTotal 2\n");
    t.write("blkio/day2/c1/blkio.throttle.io_serviced_recursive",
            "8:0 Read 3\n8:0 Write 5\n8:0 Sync 8\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 8\n"
            "8:16 Read 1\n8:16 Write 0\n8:16 Sync 0\n8:16 Async 1\n8:16 Discard 0\n"
            "8:16 Total 1\nTotal 9\n");
    t.write("blkio/day2/c1/blkio.throttle.io_serviced", "Total 0\n");
    for (auto c : {"cpu", "cpuacct", "memory", "pids", "blkio"})
        for (auto f : {"cpuacct.usage", "cpuacct.usage_user", "cpu.stat", "memory.stat",
                       "memory.usage_in_bytes", "cgroup.procs", "tasks"})
            t.write(std::string(c) + "/" + f, "77777777777\n");
    return set;
}

CgroupSet writeV2(const TempTree& t) {
    CgroupSet set;
    set.version = CgroupVersion::V2;
    set.dirs.push_back(t.path("v2/day2/c1"));
    set.controllers.emplace_back("cpu,memory,pids,io");
    t.write("v2/day2/c1/cpu.stat", "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n"
                                   "nr_periods 100\nnr_throttled 7\nthrottled_usec 250000\n"
                                   "nr_bursts 0\nburst_usec 0\n");
    t.write("v2/day2/c1/cpu.max", "150000 100000\n");
    t.write("v2/day2/c1/memory.current", "104857600\n");
    t.write("v2/day2/c1/memory.max", "max\n");
    t.write("v2/day2/c1/memory.stat",
            "anon 52428800\nfile 41943040\nkernel 1000\nkernel_stack 16384\nshmem 0\n"
            "file_mapped 4096\nfile_dirty 0\nfile_writeback 0\ninactive_anon 0\n"
            "active_anon 52428800\ninactive_file 20971520\nactive_file 20971520\n"
            "unevictable 0\n");
    t.write("v2/day2/c1/memory.swap.current", "1048576\n");
    t.write("v2/day2/c1/cgroup.procs", "12\n34\n");
    t.write("v2/day2/c1/cgroup.threads", "12\n13\n34\n");
    t.write("v2/day2/c1/io.stat", "8:0 rbytes=4096 wbytes=8192 rios=3 wios=5 dbytes=0 dios=0\n"
                                  "8:16 rbytes=1024 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    t.write("v2/memory.stat", "anon 1\nfile 1\ninactive_file 1\n"); // the root's: not used
    t.write("v2/cpu.stat", "usage_usec 1\n");
    return set;
}

// What both fixtures hold, but for cpus.usage and mem.limit.
void expectFixtureValues(const std::vector<Datapoint>& p) {
    EXPECT_DOUBLE_EQ(value(p, "cpus.user.time"), 1.5);
    EXPECT_DOUBLE_EQ(value(p, "cpus.system.time"), 0.5);
    EXPECT_DOUBLE_EQ(value(p, "cpus.throttled.time"), 0.25);
    EXPECT_EQ(value(p, "cpus.nr.periods"), 100);
    EXPECT_EQ(value(p, "cpus.nr.throttled"), 7);
    EXPECT_DOUBLE_EQ(value(p, "cpus.limit"), 1.5);
    EXPECT_EQ(value(p, "mem.total"), 100 * kMiB);
    EXPECT_EQ(value(p, "mem.cache"), 40 * kMiB);
    EXPECT_EQ(value(p, "mem.rss"), 50 * kMiB);
    EXPECT_EQ(value(p, "mem.swap"), 1 * kMiB);
    EXPECT_EQ(value(p, "mem.working_set"), 80 * kMiB); // 100 MiB used - 20 MiB inactive file
    EXPECT_EQ(value(p, "processes"), 2);
    EXPECT_EQ(value(p, "threads"), 3);
    const Tags sda{{"blkio_device", "8:0"}};
    const Tags sdb{{"blkio_device", "8:16"}};
    EXPECT_EQ(value(p, "blkio.io_service_bytes.read", sda), 4096);
    EXPECT_EQ(value(p, "blkio.io_service_bytes.write", sda), 8192);
    EXPECT_EQ(value(p, "blkio.io_serviced.read", sda), 3);
    EXPECT_EQ(value(p, "blkio.io_serviced.write", sda), 5);
    EXPECT_EQ(value(p, "blkio.io_service_bytes.read", sdb), 1024);
    EXPECT_EQ(value(p, "blkio.io_service_bytes.write", sdb), 0);
    EXPECT_EQ(value(p, "blkio.io_serviced.read", sdb), 1);
    EXPECT_EQ(value(p, "blkio.io_serviced.write", sdb), 0);

    for (auto n : {"cpus.user.time", "cpus.system.time", "cpus.throttled.time"})
        EXPECT_EQ(unit(p, n), "seconds") << n;
    for (auto n : {"cpus.nr.periods", "cpus.nr.throttled", "processes", "threads"})
        EXPECT_EQ(unit(p, n), "count") << n;
    EXPECT_EQ(unit(p, "cpus.limit"), "cores");
    for (auto n : {"mem.total", "mem.cache", "mem.rss", "mem.swap", "mem.working_set"})
        EXPECT_EQ(unit(p, n), "bytes") << n;
    EXPECT_EQ(unit(p, "blkio.io_service_bytes.read", sda), "bytes");
    EXPECT_EQ(unit(p, "blkio.io_serviced.write", sda), "count");
}

const std::multiset<std::string> kFixtureKeys = {
    "cpus.user.time",
    "cpus.system.time",
    "cpus.throttled.time",
    "cpus.nr.periods",
    "cpus.nr.throttled",
    "cpus.limit",
    "mem.total",
    "mem.cache",
    "mem.rss",
    "mem.swap",
    "mem.working_set",
    "processes",
    "threads",
    "blkio.io_service_bytes.read{blkio_device=8:0}",
    "blkio.io_service_bytes.write{blkio_device=8:0}",
    "blkio.io_serviced.read{blkio_device=8:0}",
    "blkio.io_serviced.write{blkio_device=8:0}",
    "blkio.io_service_bytes.read{blkio_device=8:16}",
    "blkio.io_service_bytes.write{blkio_device=8:16}",
    "blkio.io_serviced.read{blkio_device=8:16}",
    "blkio.io_serviced.write{blkio_device=8:16}",
};

std::multiset<std::string> plus(std::multiset<std::string> s,
                                std::initializer_list<const char*> more) {
    for (auto m : more)
        s.insert(m);
    return s;
}

} // namespace

TEST(ContainerCollector, V1GivesEveryMetricFromTheContainersOwnDirectories) {
    TempTree t;
    const CgroupSet set = writeV1(t);
    ContainerCollector c;
    const auto t0 = std::chrono::steady_clock::time_point(100s);
    auto p = c.collect("c1", set, 10, t0);
    EXPECT_EQ(c.readErrors(), 0u);
    EXPECT_EQ(keys(p), plus(kFixtureKeys, {"mem.limit"})); // no cpus.usage at the first collect
    expectFixtureValues(p);
    EXPECT_EQ(value(p, "mem.limit"), 256 * kMiB);
    EXPECT_EQ(unit(p, "mem.limit"), "bytes");

    // 0.4 s of CPU in 2 s: 0.2 cores.
    t.write("cpuacct/day2/c1/cpuacct.usage", "2400000000\n");
    p = c.collect("c1", set, 10, t0 + 2s);
    EXPECT_DOUBLE_EQ(value(p, "cpus.usage"), 0.2);
    EXPECT_EQ(unit(p, "cpus.usage"), "cores");
    EXPECT_EQ(keys(p), plus(kFixtureKeys, {"mem.limit", "cpus.usage"}));

    // Another container has its own baseline; a forgotten one starts again.
    EXPECT_FALSE(has(c.collect("other", set, 10, t0 + 3s), "cpus.usage"));
    c.forget("c1");
    EXPECT_FALSE(has(c.collect("c1", set, 10, t0 + 4s), "cpus.usage"));
    t.write("cpuacct/day2/c1/cpuacct.usage", "3400000000\n");
    EXPECT_DOUBLE_EQ(value(c.collect("c1", set, 10, t0 + 8s), "cpus.usage"), 0.25);
    EXPECT_EQ(c.readErrors(), 0u);
}

TEST(ContainerCollector, V1WithoutLimitsWithCpuacctStatAndCombinedHierarchies) {
    TempTree t;
    // cpu and cpuacct mounted together, no pids hierarchy, blkio without the recursive files, a
    // kernel without cpuacct.usage_user, no swap accounting.
    CgroupSet set;
    set.version = CgroupVersion::V1;
    set.dirs = {t.path("cpu,cpuacct/c2"), t.path("memory/c2"), t.path("blkio/c2")};
    set.controllers = {"cpu,cpuacct", "memory", "blkio"};
    t.write("cpu,cpuacct/c2/cpuacct.usage", "3000000000\n");
    t.write("cpu,cpuacct/c2/cpuacct.stat", "user 150\nsystem 50\n");
    t.write("cpu,cpuacct/c2/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
    t.write("cpu,cpuacct/c2/cpu.cfs_quota_us", "-1\n");
    t.write("cpu,cpuacct/c2/cgroup.procs", "5\n");
    t.write("cpu,cpuacct/c2/tasks", "5\n6\n");
    t.write("memory/c2/memory.usage_in_bytes", "1000\n");
    t.write("memory/c2/memory.limit_in_bytes", "9223372036854771712\n");
    t.write("memory/c2/memory.stat", "total_cache 3000\ntotal_rss 500\ntotal_inactive_file 3000\n");
    t.write("blkio/c2/blkio.throttle.io_service_bytes", "8:0 Read 10\n8:0 Write 20\nTotal 30\n");
    t.write("blkio/c2/blkio.throttle.io_serviced", "Total 0\n");

    ContainerCollector c;
    const auto p = c.collect("c2", set, 10, std::chrono::steady_clock::time_point(1s));
    EXPECT_EQ(c.readErrors(), 0u);
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    EXPECT_DOUBLE_EQ(value(p, "cpus.user.time"), 150 / hz);
    EXPECT_DOUBLE_EQ(value(p, "cpus.system.time"), 50 / hz);
    EXPECT_FALSE(has(p, "cpus.limit"));        // quota -1
    EXPECT_FALSE(has(p, "mem.limit"));         // v1's "unlimited"
    EXPECT_FALSE(has(p, "mem.swap"));          // no total_swap without swap accounting
    EXPECT_EQ(value(p, "mem.working_set"), 0); // inactive file above usage: 0, not negative
    EXPECT_EQ(value(p, "processes"), 1);       // from the first hierarchy
    EXPECT_EQ(value(p, "threads"), 2);
    const Tags sda{{"blkio_device", "8:0"}};
    EXPECT_EQ(value(p, "blkio.io_service_bytes.read", sda), 10);
    EXPECT_EQ(value(p, "blkio.io_service_bytes.write", sda), 20);
    EXPECT_FALSE(has(p, "blkio.io_serviced.read", sda));
}

TEST(ContainerCollector, V2GivesEveryMetricFromTheOneDirectory) {
    TempTree t;
    const CgroupSet set = writeV2(t);
    ContainerCollector c;
    const auto t0 = std::chrono::steady_clock::time_point(100s);
    auto p = c.collect("c1", set, 10, t0);
    EXPECT_EQ(c.readErrors(), 0u);
    EXPECT_EQ(keys(p), kFixtureKeys); // memory.max is "max": no mem.limit
    expectFixtureValues(p);

    // 0.6 s of CPU in 3 s: 0.2 cores.
    t.write("v2/day2/c1/cpu.stat", "usage_usec 2600000\nuser_usec 2000000\nsystem_usec 600000\n"
                                   "nr_periods 100\nnr_throttled 7\nthrottled_usec 250000\n");
    p = c.collect("c1", set, 10, t0 + 3s);
    EXPECT_DOUBLE_EQ(value(p, "cpus.usage"), 0.2);
    EXPECT_DOUBLE_EQ(value(p, "cpus.user.time"), 2.0);

    // No CPU limit, a memory limit, and a cpu.stat without the cpu controller's fields.
    t.write("v2/day2/c1/cpu.max", "max 100000\n");
    t.write("v2/day2/c1/memory.max", "536870912\n");
    t.write("v2/day2/c1/cpu.stat", "usage_usec 2600000\nuser_usec 2000000\nsystem_usec 600000\n");
    p = c.collect("c1", set, 10, t0 + 4s);
    EXPECT_FALSE(has(p, "cpus.limit"));
    EXPECT_EQ(value(p, "mem.limit"), 512 * kMiB);
    EXPECT_FALSE(has(p, "cpus.nr.periods"));
    EXPECT_FALSE(has(p, "cpus.throttled.time"));
    EXPECT_EQ(value(p, "cpus.usage"), 0);
    EXPECT_EQ(c.readErrors(), 0u);

    // CPU time that went backwards (a new cgroup of the same name): no usage, a new baseline.
    t.write("v2/day2/c1/cpu.stat", "usage_usec 1000\nuser_usec 1000\nsystem_usec 0\n");
    EXPECT_FALSE(has(c.collect("c1", set, 10, t0 + 5s), "cpus.usage"));
    t.write("v2/day2/c1/cpu.stat", "usage_usec 501000\nuser_usec 501000\nsystem_usec 0\n");
    EXPECT_DOUBLE_EQ(value(c.collect("c1", set, 10, t0 + 6s), "cpus.usage"), 0.5);
}

TEST(ContainerCollector, MissingAndMalformedFilesAreSkippedAndCounted) {
    TempTree t;
    // v1: no cpuacct hierarchy in the set, an empty cpu directory, garbage in memory, a bad pid
    // line, a bad blkio line and no io_serviced file.
    CgroupSet set;
    set.version = CgroupVersion::V1;
    set.dirs = {t.path("cpu/c"), t.path("memory/c"), t.path("pids/c"), t.path("blkio/c")};
    set.controllers = {"cpu", "memory", "pids", "blkio"};
    t.mkdir("cpu/c");
    t.write("memory/c/memory.usage_in_bytes", "lots\n");
    t.write("memory/c/memory.stat", "garbage\n\n\xff\n");
    t.write("pids/c/cgroup.procs", "12\nabc\n");
    t.write("blkio/c/blkio.throttle.io_service_bytes_recursive", "8:0 Read xyz\nTotal 0\n");
    ContainerCollector c;
    auto p = c.collect("c", set, 10);
    EXPECT_TRUE(p.empty()) << describe(p);
    // cpuacct (1); cpu.stat, cpu.cfs_quota_us (2); memory.usage_in_bytes, memory.limit_in_bytes,
    // memory.stat (3); cgroup.procs, tasks (2); io_service_bytes, io_serviced (2).
    EXPECT_EQ(c.readErrors(), 10u);

    // v2: no directory at all, a directory that does not exist, a bad io.stat.
    ContainerCollector c2;
    CgroupSet none;
    none.version = CgroupVersion::V2;
    EXPECT_TRUE(c2.collect("x", none, 10).empty());
    EXPECT_EQ(c2.readErrors(), 1u);
    CgroupSet gone;
    gone.version = CgroupVersion::V2;
    gone.dirs = {t.path("v2/gone")};
    gone.controllers = {""};
    EXPECT_TRUE(c2.collect("x", gone, 10).empty());
    EXPECT_EQ(c2.readErrors(), 10u); // cpu.stat, cpu.max, memory.{current,max,stat,swap.current},
                                     // cgroup.procs, cgroup.threads, io.stat

    const CgroupSet v2 = writeV2(t);
    t.write("v2/day2/c1/io.stat", "8:0 rbytes=1 wbytes=x\n");
    t.write("v2/day2/c1/cpu.max", "lots\n");
    t.write("v2/day2/c1/memory.max", "-1\n");
    ContainerCollector c3;
    p = c3.collect("c1", v2, 10);
    EXPECT_EQ(c3.readErrors(), 3u);
    EXPECT_FALSE(has(p, "blkio.io_service_bytes.read", Tags{{"blkio_device", "8:0"}}));
    EXPECT_FALSE(has(p, "cpus.limit"));
    EXPECT_FALSE(has(p, "mem.limit"));
    EXPECT_EQ(value(p, "mem.rss"), 50 * kMiB);
}

// ---- ContainerCollector on a real cgroup v1 ----

namespace {

bool hasV1Controller(const day2::tasks::Cgroups& cg, std::string_view controller) {
    for (const auto& h : cg.hierarchies())
        if (std::find(h.controllers.begin(), h.controllers.end(), controller) !=
            h.controllers.end())
            return true;
    return false;
}

// Burns 300 ms of its own CPU time, touches 64 MiB, says so on `ready`, then waits to be
// killed. Only after a byte on `go` (once it is in the cgroup).
[[noreturn]] void burnAndAllocate(int go, int ready) {
    char c = 0;
    if (::read(go, &c, 1) != 1)
        ::_exit(1);
    timespec ts{};
    volatile uint64_t sink = 0;
    do {
        for (uint64_t i = 0; i < 1000000; ++i) // user time: the clock below is a system call
            sink = sink + i;
        ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec == 0 && ts.tv_nsec < 300000000);
    const size_t size = 64u << 20;
    void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        ::_exit(2);
    std::memset(mem, 1, size);
    if (::write(ready, "r", 1) != 1)
        ::_exit(3);
    while (::read(go, &c, 1) != 0) {
    }
    ::_exit(0);
}

} // namespace

TEST(ContainerCollector, ARealV1CgroupSeesItsProcessBurnCpuAndTouchMemory) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "creating cgroups needs root";
    auto cg = day2::tasks::Cgroups::detect("v1", "/proc/self/mountinfo");
    if (!cg)
        GTEST_SKIP() << "no cgroup v1 here: " << cg.error().message;
    for (auto controller : {"cpu", "cpuacct", "memory"})
        if (!hasV1Controller(*cg, controller))
            GTEST_SKIP() << "the v1 " << controller << " controller is not mounted ("
                         << cg->describe() << ")";

    const std::string name = "day2-collect-test-" + std::to_string(::getpid());
    auto created = cg->create("", name, {});
    ASSERT_TRUE(created) << created.error().message;
    const CgroupSet set = *created;

    int go[2] = {-1, -1};
    int ready[2] = {-1, -1};
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0) << std::strerror(errno);
    if (child == 0) {
        ::close(go[1]);
        ::close(ready[0]);
        burnAndAllocate(go[0], ready[1]);
    }
    ::close(go[0]);
    ::close(ready[1]);
    // Whatever happens below: the child killed and reaped, the cgroups removed.
    struct Cleanup {
        pid_t child;
        int go, ready;
        const CgroupSet& set;
        ~Cleanup() {
            ::kill(child, SIGKILL);
            ::waitpid(child, nullptr, 0);
            ::close(go);
            ::close(ready);
            auto r = day2::tasks::cgroupRemove(set);
            EXPECT_TRUE(r) << r.error().message;
        }
    } cleanup{child, go[1], ready[0], set};

    auto added = day2::tasks::cgroupAddProcess(set, child);
    ASSERT_TRUE(added) << added.error().message;

    ContainerCollector c;
    const auto before = c.collect("real", set, 1);
    const double userBefore = value(before, "cpus.user.time");
    EXPECT_EQ(value(before, "processes"), 1);
    EXPECT_EQ(value(before, "threads"), 1);

    ASSERT_EQ(::write(go[1], "g", 1), 1);
    pollfd pfd{ready[0], POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 120000), 1) << "the child never said it had allocated";
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child died early";

    // The kernel folds per-CPU memory statistics into memory.stat lazily (at most every 2 s):
    // wait for the condition, with a generous limit, on another collector so that `c`'s next
    // cpus.usage is over the whole burn.
    ContainerCollector poller;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
        const auto now = poller.collect("real", set, 1);
        const Datapoint* rss = find(now, "mem.rss");
        const Datapoint* user = find(now, "cpus.user.time");
        if ((rss && user && rss->value >= 64 * kMiB && user->value > userBefore) ||
            std::chrono::steady_clock::now() > deadline)
            break;
        std::this_thread::sleep_for(20ms);
    }
    const auto after = c.collect("real", set, 1);
    EXPECT_GT(value(after, "cpus.user.time"), userBefore);
    EXPECT_GT(value(after, "cpus.user.time"), 0);
    EXPECT_GE(value(after, "mem.rss"), 64 * kMiB);
    EXPECT_GE(value(after, "mem.total"), 64 * kMiB);
    EXPECT_GE(value(after, "mem.working_set"), 64 * kMiB);
    EXPECT_GT(value(after, "cpus.usage"), 0);
    EXPECT_FALSE(has(after, "cpus.limit"));
    EXPECT_FALSE(has(after, "mem.limit"));
    EXPECT_EQ(value(after, "processes"), 1);
}
