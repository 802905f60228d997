// The host's metrics (docs/api.md, Metrics: the host list), from files under a configurable /proc
// and from statvfs(2) on configured paths.
//
// Each collect reads /proc/uptime, /proc/loadavg, /proc/stat (up to the end of its cpu lines),
// /proc/meminfo and /proc/net/dev once, and calls statvfs once per path; nothing else, so its
// cost does not grow with the number of processes. What it gives:
// - system.uptime (seconds); process.count (count: the total of /proc/loadavg's fourth field,
//   every thread the kernel knows); load.1min|5min|15min (count);
// - cpu.cores (count: the cpuN lines of /proc/stat);
// - cpu.user, cpu.system, cpu.idle, cpu.wait, cpu.total (percent, 0 to 100 for the whole host,
//   whatever the number of cores), from the aggregate "cpu" line, over the jiffies since the
//   previous collect (since boot at the first): user = user + nice (guest time is already in
//   them), system = system + irq + softirq, idle = idle, wait = iowait, and total = 100 - idle
//   - wait (so steal counts as busy). When no jiffy passed since the previous collect the
//   percents are left out and the next collect measures from the same baseline; a counter that
//   went backwards (iowait may) counts as 0;
// - memory.total|free|buffers|cached|available and swap.total|free|used (bytes; /proc/meminfo's
//   kB are KiB);
// - filesystem.capacity.total|used|free (bytes) and filesystem.inode.total|used|free (count),
//   tag `path`, as df computes them: total = blocks, free = blocks available to unprivileged
//   users, used = blocks - free blocks (so used + free may be less than total);
// - network.in|out (bytes), network.in|out.packets|errors|dropped (count), cumulative since the
//   interface appeared, tag `interface`, every interface of <procRoot>/net/dev but `lo`.
// A file that is missing or malformed gives none of its metrics and adds one to readErrors(), as
// does a path statvfs refuses; collect never throws for them. Not thread-safe: one caller.
#pragma once

#include "metrics/datapoint.h"
#include "metrics/text_file_reader.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace day2::metrics {

struct HostOptions {
    std::string procRoot = "/proc";
    std::vector<std::string> filesystems; // statvfs paths; empty = "/" only
};

class HostCollector {
public:
    explicit HostCollector(HostOptions options = {});

    // Every host metric above. `intervalSeconds` is the configured collection interval; no
    // host metric needs it (the CPU percents come from jiffy counters, the rest are levels or
    // cumulative counters), and it is taken so that every collector is called alike.
    std::vector<Datapoint> collect(double intervalSeconds);

    // Files (and statvfs paths) that could not be read or parsed, summed over every collect.
    uint64_t readErrors() const { return m_readErrors; }

private:
    // user, nice, system, idle, iowait, irq, softirq, steal (jiffies)
    using CpuTimes = std::array<uint64_t, 8>;

    bool collectUptime(std::vector<Datapoint>& out);
    bool collectLoad(std::vector<Datapoint>& out);
    bool collectCpu(std::vector<Datapoint>& out);
    bool collectMemory(std::vector<Datapoint>& out);
    bool collectNetwork(std::vector<Datapoint>& out);
    bool collectFilesystem(std::vector<Datapoint>& out, const std::string& path);

    HostOptions m_options;
    TextFileReader m_reader;
    CpuTimes m_previousCpu{};
    uint64_t m_readErrors = 0;
};

} // namespace day2::metrics
