// What the metrics collection tests share: a temp tree for fixture files, and looking up the
// datapoints a collector gave.
#pragma once

#include "metrics/datapoint.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace day2::metrics::test {

namespace fs = std::filesystem;

inline constexpr double kMiB = 1024.0 * 1024.0;

// A directory under the system's temp directory, removed with everything in it.
class TempTree {
public:
    TempTree() {
        static std::atomic<int> counter{0};
        m_root = fs::temp_directory_path() / ("day2-metrics-collect-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(++counter));
        fs::remove_all(m_root);
        fs::create_directories(m_root);
    }
    ~TempTree() {
        std::error_code ec;
        fs::remove_all(m_root, ec);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;

    std::string path(const std::string& rel = "") const { return (m_root / rel).string(); }
    void write(const std::string& rel, const std::string& text) const {
        const fs::path p = m_root / rel;
        fs::create_directories(p.parent_path());
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << text;
        ASSERT_TRUE(out.good()) << p;
    }
    void mkdir(const std::string& rel) const { fs::create_directories(m_root / rel); }

private:
    fs::path m_root;
};

inline const Datapoint* find(const std::vector<Datapoint>& points, std::string_view name,
                             const Tags& tags = {}) {
    for (const auto& p : points)
        if (p.name == name && p.tags == tags)
            return &p;
    return nullptr;
}

inline bool has(const std::vector<Datapoint>& points, std::string_view name,
                const Tags& tags = {}) {
    return find(points, name, tags) != nullptr;
}

// The value of a point that must be there (NaN and a failure when it is not).
inline double value(const std::vector<Datapoint>& points, std::string_view name,
                    const Tags& tags = {}) {
    const Datapoint* p = find(points, name, tags);
    if (!p) {
        ADD_FAILURE() << "no datapoint " << name;
        return std::numeric_limits<double>::quiet_NaN();
    }
    return p->value;
}

inline std::string unit(const std::vector<Datapoint>& points, std::string_view name,
                        const Tags& tags = {}) {
    const Datapoint* p = find(points, name, tags);
    return p ? p->unit : "(none)";
}

// Each point as "name{tag=value}", sorted.
inline std::multiset<std::string> keys(const std::vector<Datapoint>& points) {
    std::multiset<std::string> out;
    for (const auto& p : points) {
        std::string k = p.name;
        for (const auto& [tk, tv] : p.tags) {
            k += '{';
            k += tk;
            k += '=';
            k += tv;
            k += '}';
        }
        out.insert(k);
    }
    return out;
}

inline std::string describe(const std::vector<Datapoint>& points) {
    std::string out;
    for (const auto& k : keys(points))
        out += k + " ";
    return out;
}

} // namespace day2::metrics::test
