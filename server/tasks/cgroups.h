// The cgroups of a task: found from the host's mounts (v1 hierarchies or the v2 unified tree),
// created under a configurable parent, limited, emptied and removed. Used by the agent (create,
// remove) and by the supervisor (join, count OOM kills, empty).
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace day2::tasks {

enum class CgroupVersion { V1 = 1, V2 = 2 };

// Zero means "no limit".
struct CgroupLimits {
    double cpus = 0;       // CFS quota of this many CPUs, and a proportional weight
    uint64_t memBytes = 0; // memory limit; swap is not allowed beyond it
    uint64_t pids = 0;     // number of processes and threads
};

// One container's cgroup: one directory per v1 hierarchy, or the one v2 directory.
struct CgroupSet {
    CgroupVersion version = CgroupVersion::V1;
    std::vector<std::string> dirs;
    std::vector<std::string> controllers; // parallel to dirs: "cpu", "memory", "cpu,cpuacct"

    // The directory whose files belong to `controller` (empty when none does).
    std::string dirFor(std::string_view controller) const;
};

struct CgroupHierarchy {
    std::string mountPoint;
    std::vector<std::string> controllers; // v1: as mounted; v2: as offered by cgroup.controllers
};

class Cgroups {
public:
    // mode: "auto" (v2 when the host has no v1 controller hierarchies, else v1), "v1" or "v2".
    // `mountinfo` is normally /proc/self/mountinfo.
    static Result<Cgroups> detect(std::string_view mode, const std::string& mountinfo);
    Cgroups(CgroupVersion version, std::vector<CgroupHierarchy> hierarchies);

    CgroupVersion version() const { return m_version; }
    const std::vector<CgroupHierarchy>& hierarchies() const { return m_hierarchies; }
    std::string describe() const;

    // An error (status 422) naming what this node cannot enforce, if anything.
    Result<void> checkLimits(const CgroupLimits& limits) const;
    // Creates `<mount>/<parent>/<name>` in every hierarchy and writes the limits. On failure
    // nothing it created remains.
    Result<CgroupSet> create(const std::string& parent, const std::string& name,
                             const CgroupLimits& limits) const;
    // The set a container named `name` would have (to clean up after a crash).
    CgroupSet setFor(const std::string& parent, const std::string& name) const;

private:
    bool hasController(std::string_view controller) const;
    CgroupVersion m_version;
    std::vector<CgroupHierarchy> m_hierarchies;
};

// Operations on one container's set.
Result<void> cgroupAddProcess(const CgroupSet& set, pid_t pid);
std::vector<pid_t> cgroupProcesses(const CgroupSet& set);
bool cgroupIsEmpty(const CgroupSet& set);
// How many times the kernel's OOM killer killed a process of this cgroup.
uint64_t cgroupOomKills(const CgroupSet& set);
// SIGKILLs every process (v2: cgroup.kill; v1: freeze, kill, thaw) and waits, up to a few
// seconds, until none is left. True when the cgroup is empty.
bool cgroupKillAll(const CgroupSet& set);
// Empties and removes the directories. Missing ones are not an error.
Result<void> cgroupRemove(const CgroupSet& set);

// Parses mountinfo text into cgroup hierarchies (exposed for tests).
struct MountedCgroups {
    std::vector<CgroupHierarchy> v1;
    std::string v2MountPoint;
};
MountedCgroups parseCgroupMounts(std::string_view mountinfo);

} // namespace day2::tasks
