// MetricsMessage, the JSON of the metrics API, the stream and the Kafka sink (docs/api.md, Metrics):
// {"datapoints": [{"name", "value", "unit", "timestamp", "tags"}], "dimensions": {...}}.
// Hand-written: every source of every node is written once an interval.
#pragma once

#include "metrics/datapoint.h"

#include <string>
#include <string_view>

namespace day2::metrics {

// Who a message is about. Empty fields are left out.
struct Dimensions {
    std::string agentId;
    std::string hostname;
    std::string containerId;
    std::string executorId;
    std::string frameworkId;
    std::string frameworkName;
    std::string applicationName;
    Tags labels;
};

// A JSON string, escaped; tags as an object {"k": "v", ...}.
void appendJsonString(std::string& out, std::string_view s);
void appendJsonTags(std::string& out, const Tags& tags);
// A value JSON can carry: a finite number; NaN and infinities are written as null.
void appendJsonNumber(std::string& out, double value);

// The message of `batch`; with `onlyName`, only the datapoints named so and what a counter or a
// timer of that name becomes (n.rate; n.count, n.min, n.max, n.mean, n.p50 ... n.p99).
std::string metricsMessageJson(const Batch& batch, const Dimensions& dimensions,
                               std::string_view onlyName = {});

} // namespace day2::metrics
