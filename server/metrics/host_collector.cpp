#include "metrics/host_collector.h"

#include <optional>
#include <string_view>
#include <utility>

#include <sys/statvfs.h>

namespace day2::metrics {

namespace {

void add(std::vector<Datapoint>& out, std::string_view name, double value, std::string_view unit,
         Tags tags = {}) {
    out.push_back(Datapoint{std::string(name), value, std::string(unit), std::move(tags)});
}

double toDouble(uint64_t v) {
    return static_cast<double>(v);
}

bool startsWith(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

} // namespace

HostCollector::HostCollector(HostOptions options) : m_options(std::move(options)) {
    if (m_options.filesystems.empty())
        m_options.filesystems.emplace_back("/");
}

std::vector<Datapoint> HostCollector::collect(double /*intervalSeconds*/) {
    std::vector<Datapoint> out;
    out.reserve(64);
    // A source that fails gives nothing: what it added is taken back.
    auto guarded = [&](auto&& source) {
        const size_t mark = out.size();
        if (!source()) {
            out.erase(out.begin() + static_cast<std::ptrdiff_t>(mark), out.end());
            ++m_readErrors;
        }
    };
    guarded([&] { return collectUptime(out); });
    guarded([&] { return collectLoad(out); });
    guarded([&] { return collectCpu(out); });
    guarded([&] { return collectMemory(out); });
    for (const auto& path : m_options.filesystems)
        guarded([&] { return collectFilesystem(out, path); });
    guarded([&] { return collectNetwork(out); });
    return out;
}

bool HostCollector::collectUptime(std::vector<Datapoint>& out) {
    auto text = m_reader.read(m_options.procRoot + "/uptime");
    if (!text)
        return false;
    std::string_view rest = *text;
    auto uptime = parseNumber<double>(nextField(rest));
    if (!uptime || *uptime < 0)
        return false;
    add(out, "system.uptime", *uptime, "seconds");
    return true;
}

bool HostCollector::collectLoad(std::vector<Datapoint>& out) {
    auto text = m_reader.read(m_options.procRoot + "/loadavg");
    if (!text)
        return false;
    std::string_view rest = *text;
    double load[3];
    for (double& l : load) {
        auto v = parseNumber<double>(nextField(rest));
        if (!v)
            return false;
        l = *v;
    }
    // "running/total"
    const std::string_view tasks = nextField(rest);
    const size_t slash = tasks.find('/');
    if (slash == std::string_view::npos)
        return false;
    auto total = parseNumber<uint64_t>(tasks.substr(slash + 1));
    if (!total || !parseNumber<uint64_t>(tasks.substr(0, slash)))
        return false;
    add(out, "process.count", toDouble(*total), "count");
    add(out, "load.1min", load[0], "count");
    add(out, "load.5min", load[1], "count");
    add(out, "load.15min", load[2], "count");
    return true;
}

bool HostCollector::collectCpu(std::vector<Datapoint>& out) {
    auto text = m_reader.read(m_options.procRoot + "/stat", "\nintr");
    if (!text)
        return false;
    std::string_view rest = *text;
    std::string_view line;
    if (!nextLine(rest, line) || !startsWith(line, "cpu "))
        return false;
    CpuTimes now{};
    line.remove_prefix(4);
    size_t fields = 0;
    for (std::string_view f = nextField(line); !f.empty(); f = nextField(line)) {
        auto v = parseNumber<uint64_t>(f);
        if (!v)
            return false;
        if (fields < now.size())
            now[fields] = *v; // guest and guest_nice are already in user and nice
        ++fields;
    }
    if (fields < 4)
        return false;
    uint64_t cores = 0;
    while (nextLine(rest, line) && startsWith(line, "cpu")) {
        if (line.size() < 4 || line[3] < '0' || line[3] > '9')
            return false;
        ++cores;
    }

    CpuTimes delta{};
    uint64_t sum = 0;
    for (size_t i = 0; i < now.size(); ++i) {
        delta[i] = now[i] >= m_previousCpu[i] ? now[i] - m_previousCpu[i] : 0;
        sum += delta[i];
    }
    if (cores > 0)
        add(out, "cpu.cores", toDouble(cores), "count");
    if (sum == 0)
        return true; // no jiffy since the previous collect: keep its baseline
    m_previousCpu = now;
    const auto percent = [&](uint64_t jiffies) {
        return roundTo(100.0 * toDouble(jiffies) / toDouble(sum), 2);
    };
    const double idle = percent(delta[3]);
    const double wait = percent(delta[4]);
    add(out, "cpu.total", roundTo(100.0 - idle - wait, 2), "percent");
    add(out, "cpu.user", percent(delta[0] + delta[1]), "percent");
    add(out, "cpu.system", percent(delta[2] + delta[5] + delta[6]), "percent");
    add(out, "cpu.idle", idle, "percent");
    add(out, "cpu.wait", wait, "percent");
    return true;
}

bool HostCollector::collectMemory(std::vector<Datapoint>& out) {
    auto text = m_reader.read(m_options.procRoot + "/meminfo");
    if (!text)
        return false;
    struct Field {
        std::string_view key;
        std::optional<uint64_t> bytes;
    };
    Field fields[] = {{"MemTotal", {}},     {"MemFree", {}},   {"Buffers", {}}, {"Cached", {}},
                      {"MemAvailable", {}}, {"SwapTotal", {}}, {"SwapFree", {}}};
    bool any = false;
    std::string_view rest = *text;
    std::string_view line;
    while (nextLine(rest, line)) {
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        const std::string_view key = line.substr(0, colon);
        for (auto& f : fields) {
            if (f.key != key)
                continue;
            std::string_view value = line.substr(colon + 1);
            auto v = parseNumber<uint64_t>(nextField(value));
            const std::string_view unit = nextField(value);
            if (!v || (unit != "kB" && !unit.empty()) || !nextField(value).empty())
                return false;
            f.bytes = unit.empty() ? *v : *v * 1024;
            any = true;
        }
    }
    if (!any)
        return false;
    static constexpr std::string_view kNames[] = {
        "memory.total",     "memory.free", "memory.buffers", "memory.cached",
        "memory.available", "swap.total",  "swap.free"};
    for (size_t i = 0; i < std::size(fields); ++i)
        if (fields[i].bytes)
            add(out, kNames[i], toDouble(*fields[i].bytes), "bytes");
    const auto& swapTotal = fields[5].bytes;
    const auto& swapFree = fields[6].bytes;
    if (swapTotal && swapFree)
        add(out, "swap.used", toDouble(*swapTotal >= *swapFree ? *swapTotal - *swapFree : 0),
            "bytes");
    return true;
}

bool HostCollector::collectFilesystem(std::vector<Datapoint>& out, const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0)
        return false;
    const uint64_t frsize = st.f_frsize;
    const uint64_t blocks = st.f_blocks;
    const uint64_t freeBlocks = st.f_bfree;
    const uint64_t available = st.f_bavail;
    const uint64_t files = st.f_files;
    const uint64_t freeFiles = st.f_ffree;
    const auto tags = [&] { return Tags{{"path", path}}; };
    add(out, "filesystem.capacity.total", toDouble(blocks * frsize), "bytes", tags());
    add(out, "filesystem.capacity.used",
        toDouble((blocks >= freeBlocks ? blocks - freeBlocks : 0) * frsize), "bytes", tags());
    add(out, "filesystem.capacity.free", toDouble(available * frsize), "bytes", tags());
    add(out, "filesystem.inode.total", toDouble(files), "count", tags());
    add(out, "filesystem.inode.used", toDouble(files >= freeFiles ? files - freeFiles : 0), "count",
        tags());
    add(out, "filesystem.inode.free", toDouble(freeFiles), "count", tags());
    return true;
}

bool HostCollector::collectNetwork(std::vector<Datapoint>& out) {
    auto text = m_reader.read(m_options.procRoot + "/net/dev");
    if (!text)
        return false;
    // Two header lines, then "  name: 16 numbers" (receive: bytes packets errs drop fifo frame
    // compressed multicast; transmit: bytes packets errs drop fifo colls carrier compressed).
    std::string_view rest = *text;
    std::string_view line;
    for (int header = 0; header < 2; ++header)
        if (!nextLine(rest, line) || line.find('|') == std::string_view::npos)
            return false;
    while (nextLine(rest, line)) {
        if (trimSpace(line).empty())
            continue;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return false;
        const std::string_view name = trimSpace(line.substr(0, colon));
        if (name.empty())
            return false;
        std::string_view numbers = line.substr(colon + 1);
        uint64_t v[16];
        for (uint64_t& x : v) {
            auto n = parseNumber<uint64_t>(nextField(numbers));
            if (!n)
                return false;
            x = *n;
        }
        if (name == "lo")
            continue;
        const auto tags = [&] { return Tags{{"interface", std::string(name)}}; };
        add(out, "network.in", toDouble(v[0]), "bytes", tags());
        add(out, "network.out", toDouble(v[8]), "bytes", tags());
        add(out, "network.in.packets", toDouble(v[1]), "count", tags());
        add(out, "network.out.packets", toDouble(v[9]), "count", tags());
        add(out, "network.in.errors", toDouble(v[2]), "count", tags());
        add(out, "network.out.errors", toDouble(v[10]), "count", tags());
        add(out, "network.in.dropped", toDouble(v[3]), "count", tags());
        add(out, "network.out.dropped", toDouble(v[11]), "count", tags());
    }
    return true;
}

} // namespace day2::metrics
