#include "metrics/metrics_message.h"

#include "base/text.h"

#include <charconv>
#include <cmath>

namespace day2::metrics {

namespace {

void appendField(std::string& out, bool& first, std::string_view key, std::string_view value) {
    if (value.empty())
        return;
    if (!first)
        out += ',';
    first = false;
    appendJsonString(out, key);
    out += ':';
    appendJsonString(out, value);
}

bool selected(std::string_view name, std::string_view only) {
    if (only.empty() || name == only)
        return true;
    if (name.size() <= only.size() + 1 || name.compare(0, only.size(), only) != 0 ||
        name[only.size()] != '.')
        return false;
    // What a counter or a timer of that name becomes (statsd_aggregator.h).
    const std::string_view suffix = name.substr(only.size() + 1);
    for (std::string_view s : {"rate", "count", "min", "max", "mean", "p50", "p90", "p95", "p99"})
        if (suffix == s)
            return true;
    return false;
}

} // namespace

void appendJsonString(std::string& out, std::string_view s) {
    out += '"';
    text::appendJsonEscaped(out, s);
    out += '"';
}

void appendJsonTags(std::string& out, const Tags& tags) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : tags) {
        if (!first)
            out += ',';
        first = false;
        appendJsonString(out, k);
        out += ':';
        appendJsonString(out, v);
    }
    out += '}';
}

void appendJsonNumber(std::string& out, double value) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    char buf[32];
    // Shortest text that reads back as the same double.
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, ec == std::errc() ? end : buf);
}

std::string metricsMessageJson(const Batch& batch, const Dimensions& d, std::string_view only) {
    std::string out;
    out.reserve(64 + batch.points.size() * 120);
    out += "{\"datapoints\":[";
    std::string timestamp;
    if (batch.timestampUsec > 0)
        text::appendRfc3339Micros(timestamp, static_cast<uint64_t>(batch.timestampUsec));
    bool first = true;
    for (const auto& p : batch.points) {
        if (!selected(p.name, only))
            continue;
        if (!first)
            out += ',';
        first = false;
        out += "{\"name\":";
        appendJsonString(out, p.name);
        out += ",\"value\":";
        appendJsonNumber(out, p.value);
        out += ",\"unit\":";
        appendJsonString(out, p.unit);
        out += ",\"timestamp\":";
        appendJsonString(out, timestamp);
        out += ",\"tags\":";
        appendJsonTags(out, p.tags);
        out += '}';
    }
    out += "],\"dimensions\":{";
    bool firstDim = true;
    appendField(out, firstDim, "agent_id", d.agentId);
    appendField(out, firstDim, "hostname", d.hostname);
    appendField(out, firstDim, "container_id", d.containerId);
    appendField(out, firstDim, "executor_id", d.executorId);
    appendField(out, firstDim, "framework_id", d.frameworkId);
    appendField(out, firstDim, "framework_name", d.frameworkName);
    appendField(out, firstDim, "application_name", d.applicationName);
    if (!d.labels.empty()) {
        if (!firstDim)
            out += ',';
        out += "\"labels\":";
        appendJsonTags(out, d.labels);
    }
    out += "}}\n";
    return out;
}

} // namespace day2::metrics
