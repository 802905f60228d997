#include "tasks/cgroups.h"

#include "tasks/task_spec.h" // readWholeFile

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cctype>
#include <cmath>
#include <optional>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace day2::tasks {

namespace {

// The v1 controllers a task's cgroup joins (cpuset and devices need more setup than a limit
// and are left to the host).
constexpr std::string_view kV1Controllers[] = {"cpu", "cpuacct", "memory", "pids", "blkio",
                                               "freezer"};
constexpr std::string_view kV2Controllers[] = {"cpu", "memory", "pids", "io"};
constexpr uint64_t kCfsPeriodUs = 100000;

std::string errnoText(int e) { return std::strerror(e); }

Result<void> writeFile(const std::string& path, std::string_view value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return Error{"cannot open " + path + ": " + errnoText(errno)};
    ssize_t n = ::write(fd, value.data(), value.size());
    const int e = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(value.size()))
        return Error{"cannot write '" + std::string(value) + "' to " + path + ": " +
                     (n < 0 ? errnoText(e) : "short write")};
    return {};
}


bool exists(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> splitWords(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i <= s.size()) {
        size_t j = s.find(sep, i);
        if (j == std::string_view::npos)
            j = s.size();
        if (j > i)
            out.emplace_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountPath(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// "key value" lines (memory.events, memory.oom_control, cgroup.events).
std::optional<uint64_t> keyedValue(const std::string& text, std::string_view key) {
    std::istringstream in(text);
    std::string k;
    uint64_t v = 0;
    while (in >> k >> v)
        if (k == key)
            return v;
    return std::nullopt;
}

Result<void> makeDirs(const std::string& base, const std::string& rel) {
    std::string path = base;
    for (const auto& part : splitWords(rel, '/')) {
        path += "/" + part;
        if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
            return Error{"cannot create cgroup " + path + ": " + errnoText(errno)};
    }
    return {};
}

} // namespace

std::string CgroupSet::dirFor(std::string_view controller) const {
    if (version == CgroupVersion::V2)
        return dirs.empty() ? std::string() : dirs.front();
    for (size_t i = 0; i < dirs.size() && i < controllers.size(); ++i)
        for (const auto& c : splitWords(controllers[i], ','))
            if (c == controller)
                return dirs[i];
    return {};
}

MountedCgroups parseCgroupMounts(std::string_view mountinfo) {
    MountedCgroups out;
    for (const auto& line : splitWords(mountinfo, '\n')) {
        const size_t dash = line.find(" - ");
        if (dash == std::string::npos)
            continue;
        auto pre = splitWords(std::string_view(line).substr(0, dash), ' ');
        auto post = splitWords(std::string_view(line).substr(dash + 3), ' ');
        if (pre.size() < 5 || post.size() < 3)
            continue;
        const std::string mountPoint = unescapeMountPath(pre[4]);
        if (post[0] == "cgroup2") {
            if (out.v2MountPoint.empty())
                out.v2MountPoint = mountPoint;
        } else if (post[0] == "cgroup") {
            CgroupHierarchy h{mountPoint, {}};
            for (const auto& opt : splitWords(post[2], ','))
                if (std::find(std::begin(kV1Controllers), std::end(kV1Controllers), opt) !=
                    std::end(kV1Controllers))
                    h.controllers.push_back(opt);
            if (!h.controllers.empty())
                out.v1.push_back(std::move(h));
        }
    }
    return out;
}

Cgroups::Cgroups(CgroupVersion version, std::vector<CgroupHierarchy> hierarchies)
    : m_version(version), m_hierarchies(std::move(hierarchies)) {}

Result<Cgroups> Cgroups::detect(std::string_view mode, const std::string& mountinfo) {
    auto text = readWholeFile(mountinfo);
    if (!text)
        return Error{"cannot read " + mountinfo + ": " + errnoText(errno)};
    auto mounted = parseCgroupMounts(*text);
    bool useV2;
    if (mode == "v1")
        useV2 = false;
    else if (mode == "v2")
        useV2 = true;
    else if (mode == "auto")
        useV2 = mounted.v1.empty();
    else
        return Error{"cgroup mode must be auto, v1 or v2 (got '" + std::string(mode) + "')"};
    if (useV2) {
        if (mounted.v2MountPoint.empty())
            return Error{"no cgroup2 file system is mounted (see " + mountinfo + ")"};
        CgroupHierarchy h{mounted.v2MountPoint, {}};
        if (auto c = readWholeFile(mounted.v2MountPoint + "/cgroup.controllers"))
            for (const auto& w : splitWords(*c, ' '))
                for (const auto& name : splitWords(w, '\n'))
                    h.controllers.push_back(name);
        return Cgroups(CgroupVersion::V2, {std::move(h)});
    }
    if (mounted.v1.empty())
        return Error{"no cgroup v1 hierarchy with cpu, memory, pids, blkio or freezer is mounted "
                     "(see " + mountinfo + ")"};
    return Cgroups(CgroupVersion::V1, std::move(mounted.v1));
}

std::string Cgroups::describe() const {
    std::string out = m_version == CgroupVersion::V2 ? "cgroup v2 at " : "cgroup v1 (";
    bool first = true;
    for (const auto& h : m_hierarchies) {
        if (!first)
            out += ", ";
        first = false;
        out += h.mountPoint;
        if (m_version == CgroupVersion::V2) {
            out += " with controllers:";
            for (const auto& c : h.controllers)
                out += " " + c;
            if (h.controllers.empty())
                out += " none";
        }
    }
    if (m_version == CgroupVersion::V1)
        out += ")";
    return out;
}

bool Cgroups::hasController(std::string_view controller) const {
    for (const auto& h : m_hierarchies)
        if (std::find(h.controllers.begin(), h.controllers.end(), controller) !=
            h.controllers.end())
            return true;
    return false;
}

Result<void> Cgroups::checkLimits(const CgroupLimits& limits) const {
    std::string missing;
    auto need = [&](bool wanted, std::string_view controller, std::string_view what) {
        if (wanted && !hasController(controller))
            missing += std::string(missing.empty() ? "" : "; ") + std::string(what) + " needs the " +
                       std::string(controller) + " controller";
    };
    need(limits.cpus > 0, "cpu", "resources.cpus");
    need(limits.memBytes > 0, "memory", "resources.mem_mb");
    need(limits.pids > 0, "pids", "resources.pids");
    if (missing.empty())
        return {};
    return Error{"this node cannot enforce the requested limits: " + missing + " (" + describe() +
                     ")",
                 422};
}

CgroupSet Cgroups::setFor(const std::string& parent, const std::string& name) const {
    CgroupSet set;
    set.version = m_version;
    for (const auto& h : m_hierarchies) {
        set.dirs.push_back(h.mountPoint + "/" + parent + "/" + name);
        std::string names;
        for (const auto& c : h.controllers)
            names += (names.empty() ? "" : ",") + c;
        set.controllers.push_back(names);
    }
    return set;
}

Result<CgroupSet> Cgroups::create(const std::string& parent, const std::string& name,
                                  const CgroupLimits& limits) const {
    if (auto r = checkLimits(limits); !r)
        return r.error();
    CgroupSet set = setFor(parent, name);
    auto fail = [&](Error e) -> Result<CgroupSet> {
        (void)cgroupRemove(set);
        return e;
    };
    const uint64_t quota =
        std::max<uint64_t>(1000, static_cast<uint64_t>(std::llround(limits.cpus * kCfsPeriodUs)));
    if (m_version == CgroupVersion::V2) {
        const auto& h = m_hierarchies.front();
        if (auto r = makeDirs(h.mountPoint, parent); !r)
            return r.error();
        // Offer the controllers we use to the parent and to the container, from the top.
        std::string enable;
        for (auto c : kV2Controllers)
            if (hasController(c))
                enable += std::string(enable.empty() ? "+" : " +") + std::string(c);
        if (!enable.empty()) {
            std::string dir = h.mountPoint;
            if (auto r = writeFile(dir + "/cgroup.subtree_control", enable); !r)
                return r.error();
            for (const auto& part : splitWords(parent, '/')) {
                dir += "/" + part;
                if (auto r = writeFile(dir + "/cgroup.subtree_control", enable); !r)
                    return r.error();
            }
        }
        const std::string& dir = set.dirs.front();
        if (::mkdir(dir.c_str(), 0755) != 0)
            return Error{"cannot create cgroup " + dir + ": " + errnoText(errno)};
        if (limits.cpus > 0) {
            if (auto r = writeFile(dir + "/cpu.max",
                                   std::to_string(quota) + " " + std::to_string(kCfsPeriodUs));
                !r)
                return fail(r.error());
            const auto weight = std::clamp<long long>(std::llround(limits.cpus * 100), 1, 10000);
            if (auto r = writeFile(dir + "/cpu.weight", std::to_string(weight)); !r)
                return fail(r.error());
        }
        if (limits.memBytes > 0) {
            if (auto r = writeFile(dir + "/memory.max", std::to_string(limits.memBytes)); !r)
                return fail(r.error());
            if (exists(dir + "/memory.swap.max"))
                if (auto r = writeFile(dir + "/memory.swap.max", "0"); !r)
                    return fail(r.error());
        }
        if (limits.pids > 0)
            if (auto r = writeFile(dir + "/pids.max", std::to_string(limits.pids)); !r)
                return fail(r.error());
        return set;
    }
    for (size_t i = 0; i < m_hierarchies.size(); ++i) {
        if (auto r = makeDirs(m_hierarchies[i].mountPoint, parent); !r)
            return fail(r.error());
        if (::mkdir(set.dirs[i].c_str(), 0755) != 0) {
            const int e = errno;
            // Only what this call made is removed: an existing directory is not ours.
            set.dirs.resize(i);
            set.controllers.resize(i);
            return fail(Error{"cannot create cgroup " + setFor(parent, name).dirs[i] + ": " +
                              errnoText(e)});
        }
    }
    if (limits.cpus > 0) {
        const std::string dir = set.dirFor("cpu");
        if (auto r = writeFile(dir + "/cpu.cfs_period_us", std::to_string(kCfsPeriodUs)); !r)
            return fail(r.error());
        if (auto r = writeFile(dir + "/cpu.cfs_quota_us", std::to_string(quota)); !r)
            return fail(r.error());
        const auto shares = std::max<long long>(2, std::llround(limits.cpus * 1024));
        if (auto r = writeFile(dir + "/cpu.shares", std::to_string(shares)); !r)
            return fail(r.error());
    }
    if (limits.memBytes > 0) {
        const std::string dir = set.dirFor("memory");
        if (auto r = writeFile(dir + "/memory.limit_in_bytes", std::to_string(limits.memBytes)); !r)
            return fail(r.error());
        // memory+swap at the same limit: the task cannot escape into swap.
        if (exists(dir + "/memory.memsw.limit_in_bytes"))
            if (auto r = writeFile(dir + "/memory.memsw.limit_in_bytes",
                                   std::to_string(limits.memBytes));
                !r)
                return fail(r.error());
    }
    if (limits.pids > 0)
        if (auto r = writeFile(set.dirFor("pids") + "/pids.max", std::to_string(limits.pids)); !r)
            return fail(r.error());
    return set;
}

Result<void> cgroupAddProcess(const CgroupSet& set, pid_t pid) {
    const std::string p = std::to_string(pid);
    for (const auto& d : set.dirs)
        if (auto r = writeFile(d + "/cgroup.procs", p); !r)
            return r;
    return {};
}

std::vector<pid_t> cgroupProcesses(const CgroupSet& set) {
    std::vector<pid_t> out;
    for (const auto& d : set.dirs) {
        auto text = readWholeFile(d + "/cgroup.procs");
        if (!text)
            continue;
        std::istringstream in(*text);
        long pid = 0;
        while (in >> pid)
            if (std::find(out.begin(), out.end(), pid) == out.end())
                out.push_back(static_cast<pid_t>(pid));
    }
    return out;
}

bool cgroupIsEmpty(const CgroupSet& set) {
    if (set.version == CgroupVersion::V2 && !set.dirs.empty()) {
        if (auto ev = readWholeFile(set.dirs.front() + "/cgroup.events"))
            if (auto populated = keyedValue(*ev, "populated"))
                return *populated == 0;
    }
    return cgroupProcesses(set).empty();
}

uint64_t cgroupOomKills(const CgroupSet& set) {
    const std::string dir = set.dirFor("memory");
    if (dir.empty())
        return 0;
    auto text = readWholeFile(dir + (set.version == CgroupVersion::V2 ? "/memory.events"
                                                                  : "/memory.oom_control"));
    if (!text)
        return 0;
    return keyedValue(*text, "oom_kill").value_or(0);
}

bool cgroupKillAll(const CgroupSet& set) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(5);
    if (set.version == CgroupVersion::V2 && !set.dirs.empty() &&
        exists(set.dirs.front() + "/cgroup.kill"))
        (void)writeFile(set.dirs.front() + "/cgroup.kill", "1");
    const std::string freezer = set.version == CgroupVersion::V1 ? set.dirFor("freezer") : "";
    while (!cgroupIsEmpty(set)) {
        if (clock::now() > deadline)
            return false;
        // Frozen, nothing can fork between reading the list and the kill.
        bool frozen = false;
        if (!freezer.empty() && writeFile(freezer + "/freezer.state", "FROZEN")) {
            for (int i = 0; i < 100; ++i) {
                auto s = readWholeFile(freezer + "/freezer.state");
                if (s && s->rfind("FROZEN", 0) == 0) {
                    frozen = true;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        for (pid_t pid : cgroupProcesses(set))
            ::kill(pid, SIGKILL);
        if (!freezer.empty())
            (void)writeFile(freezer + "/freezer.state", "THAWED");
        (void)frozen;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

Result<void> cgroupRemove(const CgroupSet& set) {
    if (!cgroupKillAll(set))
        return Error{"processes of " + (set.dirs.empty() ? std::string("?") : set.dirs.front()) +
                     " survived SIGKILL for 5 s"};
    std::string failed;
    for (const auto& d : set.dirs) {
        for (int attempt = 0; attempt < 50; ++attempt) {
            if (::rmdir(d.c_str()) == 0 || errno == ENOENT)
                break;
            if (errno != EBUSY || attempt == 49) {
                failed += (failed.empty() ? "" : "; ") + d + ": " + errnoText(errno);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    if (!failed.empty())
        return Error{"cannot remove cgroup " + failed};
    return {};
}

} // namespace day2::tasks
