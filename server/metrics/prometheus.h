// The Prometheus text exposition (format 0.0.4) of an agent's metrics, written so that a scrape
// is never rejected for what a task sent (what took down DC/OS's scrapes: a duplicate
// `container_id` label, names starting with a digit):
// - names: every character outside [a-zA-Z0-9_] becomes '_' (':' is for recording rules), camelCase
// becomes snake_case, a
//   leading digit gets a '_' before it; label names likewise, and a label name starting with "__"
//   (Prometheus' own) gets an "x" before it;
// - one family per name, HELP and TYPE once, all of its samples together;
// - every sample of a family has the same label names (a label a sample lacks is written empty,
//   which Prometheus reads as absent), and no label twice: the first of a name wins, and the
//   caller's identity labels come first;
// - a name already taken by a family of another type, or a second sample with the same labels
//   (names that sanitize alike): the sample is left out and counted;
// - a DogStatsD flag tag (no value) is written as the label `flag="true"`.
#pragma once

#include "metrics/datapoint.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace day2::metrics {

std::string prometheusName(std::string_view name);
// A datapoint's family name, by the conventions promtool checks: the unit as a suffix (bytes,
// seconds, percent, cores; milliseconds become seconds, and `value` with them), "_total" for a
// counter and never for a gauge ("_total" -> "_overall"), and not a histogram's or summary's
// suffix for a gauge ("_count" -> "_samples", "_sum" -> "_summed", "_bucket" -> "_buckets").
std::string prometheusFamily(std::string_view name, std::string_view unit, bool counter,
                             double& value);
std::string prometheusLabelName(std::string_view name);

class PrometheusWriter {
public:
    enum class Type { Gauge, Counter };

    // One sample. `identity` labels first, then the point's own `tags`.
    void add(std::string_view name, Type type, std::string_view help, const Tags& identity,
             const Tags& tags, double value);
    // The exposition, families in name order.
    std::string text() const;
    uint64_t conflicts() const { return m_conflicts; }

private:
    struct Sample {
        Tags labels; // sanitized, unique names
        double value;
    };
    struct Family {
        Type type;
        std::string help;
        std::vector<Sample> samples;
        std::set<std::string> seen; // label sets, to refuse a duplicate sample
    };
    std::map<std::string, Family> m_families;
    uint64_t m_conflicts = 0;
};

} // namespace day2::metrics
