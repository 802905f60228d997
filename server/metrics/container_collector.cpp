#include "metrics/container_collector.h"

#include <cerrno>
#include <utility>

#include <unistd.h>

namespace day2::metrics {

namespace {

using tasks::CgroupVersion;

constexpr uint64_t kNanosPerSecond = 1000000000;
// v1 reports "no limit" as the largest page-aligned 63-bit value; anything this large is none.
constexpr uint64_t kUnlimited = uint64_t{1} << 62;

void add(std::vector<Datapoint>& out, std::string_view name, double value, std::string_view unit,
         Tags tags = {}) {
    out.push_back(Datapoint{std::string(name), value, std::string(unit), std::move(tags)});
}

double toDouble(uint64_t v) {
    return static_cast<double>(v);
}
double seconds(uint64_t nanos) {
    return toDouble(nanos) / toDouble(kNanosPerSecond);
}

// A file holding one number.
template <typename T = uint64_t> std::optional<T> single(std::string_view text) {
    return parseNumber<T>(trimSpace(text));
}

// "key value" lines: values[i] gets the value of keys[i] when the key is there. False when a
// wanted key's value is not a number or when no wanted key is there at all.
template <size_t N>
bool parseKeyed(std::string_view text, const std::string_view (&keys)[N],
                std::optional<uint64_t> (&values)[N]) {
    bool any = false;
    std::string_view line;
    while (nextLine(text, line)) {
        const std::string_view key = nextField(line);
        for (size_t i = 0; i < N; ++i) {
            if (keys[i] != key)
                continue;
            auto v = parseNumber<uint64_t>(nextField(line));
            if (!v)
                return false;
            values[i] = *v;
            any = true;
        }
    }
    return any;
}

// The lines of cgroup.procs, tasks or cgroup.threads, each a pid.
std::optional<uint64_t> countPids(std::string_view text) {
    uint64_t n = 0;
    std::string_view line;
    while (nextLine(text, line)) {
        line = trimSpace(line);
        if (line.empty())
            continue;
        if (!parseNumber<uint64_t>(line))
            return std::nullopt;
        ++n;
    }
    return n;
}

// "major:minor"
bool isDevice(std::string_view s) {
    const size_t colon = s.find(':');
    return colon != std::string_view::npos && parseNumber<uint64_t>(s.substr(0, colon)) &&
           parseNumber<uint64_t>(s.substr(colon + 1));
}

Tags deviceTags(std::string_view device) {
    return Tags{{"blkio_device", std::string(device)}};
}

} // namespace

ContainerCollector::ContainerCollector() {
    const long hz = ::sysconf(_SC_CLK_TCK);
    m_userHz = hz > 0 ? static_cast<uint64_t>(hz) : 100;
}

std::optional<std::string_view> ContainerCollector::read(const std::string& dir,
                                                         std::string_view file) {
    m_path.assign(dir);
    m_path += '/';
    m_path += file;
    auto text = m_reader.readKeepingOpen(m_path);
    if (!text)
        ++m_readErrors;
    return text;
}

std::optional<std::string_view> ContainerCollector::readIfPresent(const std::string& dir,
                                                                  std::string_view file) {
    m_path.assign(dir);
    m_path += '/';
    m_path += file;
    auto text = m_reader.readKeepingOpen(m_path);
    if (!text && m_reader.lastError() != ENOENT)
        ++m_readErrors;
    return text;
}

std::vector<Datapoint> ContainerCollector::collect(const std::string& containerId,
                                                   const tasks::CgroupSet& set,
                                                   double intervalSeconds) {
    return collect(containerId, set, intervalSeconds, std::chrono::steady_clock::now());
}

std::vector<Datapoint> ContainerCollector::collect(const std::string& containerId,
                                                   const tasks::CgroupSet& set,
                                                   double /*intervalSeconds*/,
                                                   std::chrono::steady_clock::time_point now) {
    std::vector<Datapoint> out;
    out.reserve(32);
    m_dirs.try_emplace(containerId, set.dirs); // its files stay open until forget()
    const bool v1 = set.version == CgroupVersion::V1;
    const std::string v2Dir = v1 || set.dirs.empty() ? std::string() : set.dirs.front();
    if (!v1 && v2Dir.empty()) {
        ++m_readErrors;
        return out;
    }

    const std::optional<uint64_t> cpuNanos = v1 ? collectV1Cpu(out, set) : collectV2Cpu(out, v2Dir);
    if (cpuNanos) {
        auto [it, first] = m_previous.try_emplace(containerId, CpuSample{*cpuNanos, now});
        CpuSample& previous = it->second;
        if (!first && now > previous.at) {
            if (*cpuNanos >= previous.cpuNanos) {
                const double elapsed = std::chrono::duration<double>(now - previous.at).count();
                add(out, "cpus.usage",
                    roundTo(seconds(*cpuNanos - previous.cpuNanos) / elapsed, 4), "cores");
            }
            previous = CpuSample{*cpuNanos, now};
        }
    }

    if (v1) {
        if (const std::string dir = set.dirFor("memory"); !dir.empty())
            collectV1Memory(out, dir);
        else
            ++m_readErrors;
        std::string pids = set.dirFor("pids");
        if (pids.empty() && !set.dirs.empty())
            pids = set.dirs.front();
        if (!pids.empty())
            collectCounts(out, pids, "cgroup.procs", "tasks");
        else
            ++m_readErrors;
        if (const std::string dir = set.dirFor("blkio"); !dir.empty())
            collectV1Blkio(out, dir);
        else
            ++m_readErrors;
    } else {
        collectV2Memory(out, v2Dir);
        collectCounts(out, v2Dir, "cgroup.procs", "cgroup.threads");
        collectV2Io(out, v2Dir);
    }
    return out;
}

void ContainerCollector::forget(const std::string& containerId) {
    m_previous.erase(containerId);
    if (auto it = m_dirs.find(containerId); it != m_dirs.end()) {
        for (const auto& dir : it->second)
            m_reader.closeUnder(dir + "/");
        m_dirs.erase(it);
    }
}

std::optional<uint64_t> ContainerCollector::collectV1CpuTimes(std::vector<Datapoint>& out,
                                                              const std::string& dir) {
    std::optional<uint64_t> total;
    if (auto text = read(dir, "cpuacct.usage")) {
        total = single(*text);
        if (!total)
            ++m_readErrors;
    }
    auto report = [&](uint64_t userNanos, uint64_t systemNanos) {
        add(out, "cpus.user.time", seconds(userNanos), "seconds");
        add(out, "cpus.system.time", seconds(systemNanos), "seconds");
    };
    if (auto text = readIfPresent(dir, "cpuacct.usage_user")) {
        const auto user = single(*text);
        if (!user)
            ++m_readErrors;
        else if (auto sysText = read(dir, "cpuacct.usage_sys")) {
            if (const auto sys = single(*sysText))
                report(*user, *sys);
            else
                ++m_readErrors;
        }
    } else if (m_reader.lastError() == ENOENT) {
        // Kernels before 4.7: cpuacct.stat, in USER_HZ ticks.
        if (auto statText = read(dir, "cpuacct.stat")) {
            static constexpr std::string_view kKeys[] = {"user", "system"};
            std::optional<uint64_t> ticks[2];
            const auto nanos = [&](uint64_t t) {
                return t / m_userHz * kNanosPerSecond + t % m_userHz * kNanosPerSecond / m_userHz;
            };
            if (parseKeyed(*statText, kKeys, ticks) && ticks[0] && ticks[1])
                report(nanos(*ticks[0]), nanos(*ticks[1]));
            else
                ++m_readErrors;
        }
    }
    return total;
}

std::optional<uint64_t> ContainerCollector::collectV1Cpu(std::vector<Datapoint>& out,
                                                         const tasks::CgroupSet& set) {
    std::optional<uint64_t> total;
    const std::string acct = set.dirFor("cpuacct");
    if (acct.empty())
        ++m_readErrors;
    else
        total = collectV1CpuTimes(out, acct);

    const std::string cpu = set.dirFor("cpu");
    if (cpu.empty()) {
        ++m_readErrors;
        return total;
    }
    if (auto text = read(cpu, "cpu.stat")) {
        static constexpr std::string_view kKeys[] = {"nr_periods", "nr_throttled",
                                                     "throttled_time"};
        std::optional<uint64_t> v[3];
        if (!parseKeyed(*text, kKeys, v)) {
            ++m_readErrors;
        } else {
            if (v[2])
                add(out, "cpus.throttled.time", seconds(*v[2]), "seconds");
            if (v[0])
                add(out, "cpus.nr.periods", toDouble(*v[0]), "count");
            if (v[1])
                add(out, "cpus.nr.throttled", toDouble(*v[1]), "count");
        }
    }
    if (auto text = read(cpu, "cpu.cfs_quota_us")) {
        const auto quota = single<int64_t>(*text); // -1: no limit
        if (!quota) {
            ++m_readErrors;
        } else if (*quota > 0) {
            if (auto periodText = read(cpu, "cpu.cfs_period_us")) {
                const auto period = single(*periodText);
                if (period && *period > 0)
                    add(out, "cpus.limit", static_cast<double>(*quota) / toDouble(*period),
                        "cores");
                else
                    ++m_readErrors;
            }
        }
    }
    return total;
}

void ContainerCollector::collectV1Memory(std::vector<Datapoint>& out, const std::string& dir) {
    std::optional<uint64_t> usage;
    if (auto text = read(dir, "memory.usage_in_bytes")) {
        usage = single(*text);
        if (usage)
            add(out, "mem.total", toDouble(*usage), "bytes");
        else
            ++m_readErrors;
    }
    if (auto text = read(dir, "memory.limit_in_bytes")) {
        if (const auto limit = single(*text); !limit)
            ++m_readErrors;
        else if (*limit < kUnlimited)
            add(out, "mem.limit", toDouble(*limit), "bytes");
    }
    if (auto text = read(dir, "memory.stat")) {
        static constexpr std::string_view kKeys[] = {"total_cache", "total_rss", "total_swap",
                                                     "total_inactive_file"};
        std::optional<uint64_t> v[4];
        if (!parseKeyed(*text, kKeys, v)) {
            ++m_readErrors;
            return;
        }
        if (v[0])
            add(out, "mem.cache", toDouble(*v[0]), "bytes");
        if (v[1])
            add(out, "mem.rss", toDouble(*v[1]), "bytes");
        if (v[2])
            add(out, "mem.swap", toDouble(*v[2]), "bytes");
        if (usage && v[3])
            add(out, "mem.working_set", toDouble(*usage > *v[3] ? *usage - *v[3] : 0), "bytes");
    }
}

void ContainerCollector::collectV1Blkio(std::vector<Datapoint>& out, const std::string& dir) {
    struct Source {
        std::string_view file;
        std::string_view recursiveFile;
        std::string_view read;
        std::string_view write;
        std::string_view unit;
    };
    static constexpr Source kSources[] = {
        {"blkio.throttle.io_service_bytes", "blkio.throttle.io_service_bytes_recursive",
         "blkio.io_service_bytes.read", "blkio.io_service_bytes.write", "bytes"},
        {"blkio.throttle.io_serviced", "blkio.throttle.io_serviced_recursive",
         "blkio.io_serviced.read", "blkio.io_serviced.write", "count"}};
    for (const auto& source : kSources) {
        auto text = readIfPresent(dir, source.recursiveFile);
        if (!text && m_reader.lastError() == ENOENT)
            text = read(dir, source.file);
        if (!text)
            continue;
        // "8:0 Read 4096" for each device and operation, then "Total 4096".
        const size_t mark = out.size();
        bool ok = true;
        std::string_view rest = *text;
        std::string_view line;
        while (ok && nextLine(rest, line)) {
            const std::string_view device = nextField(line);
            const std::string_view op = nextField(line);
            const std::string_view value = nextField(line);
            if (device.empty())
                continue;
            if (device == "Total") {
                ok = parseNumber<uint64_t>(op) && value.empty();
                continue;
            }
            const auto v = parseNumber<uint64_t>(value);
            ok = isDevice(device) && !op.empty() && v && nextField(line).empty();
            if (!ok)
                break;
            if (op == "Read")
                add(out, source.read, toDouble(*v), source.unit, deviceTags(device));
            else if (op == "Write")
                add(out, source.write, toDouble(*v), source.unit, deviceTags(device));
        }
        if (!ok) {
            out.erase(out.begin() + static_cast<std::ptrdiff_t>(mark), out.end());
            ++m_readErrors;
        }
    }
}

std::optional<uint64_t> ContainerCollector::collectV2Cpu(std::vector<Datapoint>& out,
                                                         const std::string& dir) {
    std::optional<uint64_t> total;
    if (auto text = read(dir, "cpu.stat")) {
        static constexpr std::string_view kKeys[] = {"usage_usec",   "user_usec",
                                                     "system_usec",  "nr_periods",
                                                     "nr_throttled", "throttled_usec"};
        std::optional<uint64_t> v[6];
        if (!parseKeyed(*text, kKeys, v)) {
            ++m_readErrors;
        } else {
            if (v[0])
                total = *v[0] * 1000;
            if (v[1])
                add(out, "cpus.user.time", seconds(*v[1] * 1000), "seconds");
            if (v[2])
                add(out, "cpus.system.time", seconds(*v[2] * 1000), "seconds");
            if (v[5])
                add(out, "cpus.throttled.time", seconds(*v[5] * 1000), "seconds");
            if (v[3])
                add(out, "cpus.nr.periods", toDouble(*v[3]), "count");
            if (v[4])
                add(out, "cpus.nr.throttled", toDouble(*v[4]), "count");
        }
    }
    if (auto text = read(dir, "cpu.max")) {
        // "max 100000" or "150000 100000"
        std::string_view rest = *text;
        const std::string_view quota = nextField(rest);
        const auto period = parseNumber<uint64_t>(trimSpace(nextField(rest)));
        const auto quotaValue = parseNumber<uint64_t>(quota);
        if (!period || *period == 0 || (quota != "max" && !quotaValue))
            ++m_readErrors;
        else if (quotaValue)
            add(out, "cpus.limit", toDouble(*quotaValue) / toDouble(*period), "cores");
    }
    return total;
}

void ContainerCollector::collectV2Memory(std::vector<Datapoint>& out, const std::string& dir) {
    std::optional<uint64_t> usage;
    if (auto text = read(dir, "memory.current")) {
        usage = single(*text);
        if (usage)
            add(out, "mem.total", toDouble(*usage), "bytes");
        else
            ++m_readErrors;
    }
    if (auto text = read(dir, "memory.max")) {
        const std::string_view value = trimSpace(*text);
        const auto limit = parseNumber<uint64_t>(value);
        if (!limit && value != "max")
            ++m_readErrors;
        else if (limit && *limit < kUnlimited)
            add(out, "mem.limit", toDouble(*limit), "bytes");
    }
    std::optional<uint64_t> inactiveFile;
    if (auto text = read(dir, "memory.stat")) {
        static constexpr std::string_view kKeys[] = {"file", "anon", "inactive_file"};
        std::optional<uint64_t> v[3];
        if (!parseKeyed(*text, kKeys, v)) {
            ++m_readErrors;
        } else {
            if (v[0])
                add(out, "mem.cache", toDouble(*v[0]), "bytes");
            if (v[1])
                add(out, "mem.rss", toDouble(*v[1]), "bytes");
            inactiveFile = v[2];
        }
    }
    if (auto text = read(dir, "memory.swap.current")) {
        if (const auto swap = single(*text))
            add(out, "mem.swap", toDouble(*swap), "bytes");
        else
            ++m_readErrors;
    }
    if (usage && inactiveFile)
        add(out, "mem.working_set", toDouble(*usage > *inactiveFile ? *usage - *inactiveFile : 0),
            "bytes");
}

void ContainerCollector::collectV2Io(std::vector<Datapoint>& out, const std::string& dir) {
    auto text = read(dir, "io.stat");
    if (!text)
        return;
    // "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0" for each device.
    struct Field {
        std::string_view key;
        std::string_view name;
        std::string_view unit;
    };
    static constexpr Field kFields[] = {{"rbytes", "blkio.io_service_bytes.read", "bytes"},
                                        {"wbytes", "blkio.io_service_bytes.write", "bytes"},
                                        {"rios", "blkio.io_serviced.read", "count"},
                                        {"wios", "blkio.io_serviced.write", "count"}};
    const size_t mark = out.size();
    std::string_view rest = *text;
    std::string_view line;
    while (nextLine(rest, line)) {
        const std::string_view device = nextField(line);
        if (device.empty())
            continue;
        if (!isDevice(device)) {
            out.erase(out.begin() + static_cast<std::ptrdiff_t>(mark), out.end());
            ++m_readErrors;
            return;
        }
        for (std::string_view kv = nextField(line); !kv.empty(); kv = nextField(line)) {
            const size_t eq = kv.find('=');
            const auto v = eq == std::string_view::npos ? std::nullopt
                                                        : parseNumber<uint64_t>(kv.substr(eq + 1));
            if (!v) {
                out.erase(out.begin() + static_cast<std::ptrdiff_t>(mark), out.end());
                ++m_readErrors;
                return;
            }
            for (const auto& f : kFields)
                if (kv.substr(0, eq) == f.key)
                    add(out, f.name, toDouble(*v), f.unit, deviceTags(device));
        }
    }
}

void ContainerCollector::collectCounts(std::vector<Datapoint>& out, const std::string& dir,
                                       std::string_view processesFile,
                                       std::string_view threadsFile) {
    if (auto text = read(dir, processesFile)) {
        if (const auto n = countPids(*text))
            add(out, "processes", toDouble(*n), "count");
        else
            ++m_readErrors;
    }
    if (auto text = read(dir, threadsFile)) {
        if (const auto n = countPids(*text))
            add(out, "threads", toDouble(*n), "count");
        else
            ++m_readErrors;
    }
}

} // namespace day2::metrics
