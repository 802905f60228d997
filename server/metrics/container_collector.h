// A container's resource use from its cgroup (docs/api.md, Metrics: the container list), for cgroup
// v1 (a directory per hierarchy) and v2 (one directory). Only the files reported are read, each
// once, from the container's own directories (never the root's).
//
// Names, units and sources (v1 | v2):
// - cpus.user.time, cpus.system.time (seconds): cpuacct.usage_user, cpuacct.usage_sys (ns), or
//   cpuacct.stat (USER_HZ) where those are absent | cpu.stat user_usec, system_usec;
// - cpus.usage (cores): the CPU seconds used since the previous collect of this container,
//   divided by the seconds of the steady clock between the two; left out at a container's first
//   collect, after forget(), and when the CPU time went backwards. The CPU seconds are
//   cpuacct.usage (ns) | cpu.stat usage_usec, which the scheduler measures exactly (v1's user
//   and system times are sampled at each tick);
// - cpus.throttled.time (seconds), cpus.nr.periods, cpus.nr.throttled (count): cpu.stat
//   throttled_time (ns), nr_periods, nr_throttled | cpu.stat throttled_usec, nr_periods,
//   nr_throttled (v2 has them only with the cpu controller enabled);
// - cpus.limit (cores): cpu.cfs_quota_us / cpu.cfs_period_us | cpu.max; left out without a limit;
// - mem.total (bytes, the usage): memory.usage_in_bytes | memory.current;
// - mem.limit (bytes): memory.limit_in_bytes | memory.max; left out when unlimited ("max", or
//   v1's "unlimited" of 2^63 rounded down to a page, anything at or above 2^62);
// - mem.cache, mem.rss, mem.swap (bytes): memory.stat total_cache, total_rss, total_swap (the
//   hierarchy's totals; total_swap only exists with swap accounting) | memory.stat file, anon,
//   and memory.swap.current;
// - mem.working_set (bytes): usage - inactive file, 0 when that is negative, as the kubelet
//   computes it (v1's total_inactive_file | v2's inactive_file);
// - processes, threads (count): the lines of cgroup.procs and tasks | cgroup.procs and
//   cgroup.threads (v1: of the pids hierarchy, or of the set's first when it has none);
// - blkio.io_service_bytes.read|write (bytes), blkio.io_serviced.read|write (count), tag
//   `blkio_device` = "major:minor", one of each per device listed: blkio.throttle.io_service_bytes
//   and blkio.throttle.io_serviced (their _recursive variants when present) | io.stat rbytes,
//   wbytes, rios, wios.
// readErrors() counts, once per collect, each file that is missing or malformed and each
// controller the set has no directory for; their metrics are left out, nothing throws. A field
// absent from a file that is read (v2's nr_periods without the cpu controller) is left out
// without counting. A container's files stay open from one collect to the next (read again
// from their start, TextFileReader::readKeepingOpen) until forget(). Not thread-safe: one caller.
#pragma once

#include "metrics/datapoint.h"
#include "metrics/text_file_reader.h"
#include "tasks/cgroups.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace day2::metrics {

class ContainerCollector {
public:
    ContainerCollector();

    // Every container metric above for the container `containerId` whose cgroups are `set`.
    // `intervalSeconds` is the configured collection interval; cpus.usage is measured over the
    // steady clock instead, so a late collect is still right.
    std::vector<Datapoint> collect(const std::string& containerId, const tasks::CgroupSet& set,
                                   double intervalSeconds);
    // The same at a given time of the steady clock (tests give it to know cpus.usage exactly).
    std::vector<Datapoint> collect(const std::string& containerId, const tasks::CgroupSet& set,
                                   double intervalSeconds,
                                   std::chrono::steady_clock::time_point now);
    // Drops what is kept of the container (its previous CPU time), when it is gone.
    void forget(const std::string& containerId);

    uint64_t readErrors() const { return m_readErrors; }

private:
    struct CpuSample {
        uint64_t cpuNanos = 0;
        std::chrono::steady_clock::time_point at;
    };

    // The text of `dir`/`file`; nullopt (counted) when unreadable.
    std::optional<std::string_view> read(const std::string& dir, std::string_view file);
    // As read(), but nullopt without counting when the file does not exist.
    std::optional<std::string_view> readIfPresent(const std::string& dir, std::string_view file);

    // These return the CPU time used (ns) when they could read it, for cpus.usage.
    std::optional<uint64_t> collectV1Cpu(std::vector<Datapoint>& out, const tasks::CgroupSet& set);
    std::optional<uint64_t> collectV1CpuTimes(std::vector<Datapoint>& out, const std::string& dir);
    void collectV1Memory(std::vector<Datapoint>& out, const std::string& dir);
    void collectV1Blkio(std::vector<Datapoint>& out, const std::string& dir);
    std::optional<uint64_t> collectV2Cpu(std::vector<Datapoint>& out, const std::string& dir);
    void collectV2Memory(std::vector<Datapoint>& out, const std::string& dir);
    void collectV2Io(std::vector<Datapoint>& out, const std::string& dir);
    void collectCounts(std::vector<Datapoint>& out, const std::string& dir,
                       std::string_view processesFile, std::string_view threadsFile);

    TextFileReader m_reader;
    std::string m_path; // scratch
    uint64_t m_userHz;  // v1 cpuacct.stat's ticks per second
    std::unordered_map<std::string, CpuSample> m_previous;
    std::unordered_map<std::string, std::vector<std::string>> m_dirs; // of each container seen
    uint64_t m_readErrors = 0;
};

} // namespace day2::metrics
