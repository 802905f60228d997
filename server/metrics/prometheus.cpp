#include "metrics/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace day2::metrics {

namespace {

const std::string kFlagValue = "true";

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}

bool isNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_';
}

bool isUpper(char c) {
    return c >= 'A' && c <= 'Z';
}

// Prometheus' characters (no ':', which is for recording rules), snake_case ("reqLatency" ->
// "req_latency"), no leading digit.
std::string sanitize(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 4);
    if (name.empty() || isDigit(name.front()))
        out += '_';
    char previous = 0;
    for (char c : name) {
        if (isUpper(c)) {
            if ((previous >= 'a' && previous <= 'z') || isDigit(previous))
                out += '_';
            out += static_cast<char>(c - 'A' + 'a');
        } else {
            out += isNameChar(c) ? c : '_';
        }
        previous = c;
    }
    return out;
}

bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void appendValue(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out.append(buf, ec == std::errc() ? end : buf);
    }
}

void appendLabelValue(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

void appendHelp(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

} // namespace

std::string prometheusName(std::string_view name) {
    return sanitize(name); // no ':': it is for recording rules
}

std::string prometheusFamily(std::string_view name, std::string_view unit, bool counter,
                             double& value) {
    std::string out = prometheusName(name);
    if (unit == "ms") {
        value /= 1000;
        unit = "seconds";
    }
    if (unit == "bytes" || unit == "seconds" || unit == "percent" || unit == "cores") {
        const std::string suffix = "_" + std::string(unit);
        if (!endsWith(out, suffix))
            out += suffix;
    }
    if (counter) {
        if (!endsWith(out, "_total"))
            out += "_total";
        return out;
    }
    // Suffixes Prometheus keeps for counters, histograms and summaries.
    static constexpr std::pair<std::string_view, std::string_view> kReserved[] = {
        {"_total", "_overall"},
        {"_count", "_samples"},
        {"_sum", "_summed"},
        {"_bucket", "_buckets"}};
    for (const auto& [reserved, instead] : kReserved)
        if (endsWith(out, reserved)) {
            out.resize(out.size() - reserved.size());
            out += instead;
            break;
        }
    return out;
}

std::string prometheusLabelName(std::string_view name) {
    std::string out = sanitize(name);
    if (out.rfind("__", 0) == 0)
        out.insert(out.begin(), 'x');
    return out;
}

void PrometheusWriter::add(std::string_view name, Type type, std::string_view help,
                           const Tags& identity, const Tags& tags, double value) {
    std::string family = prometheusName(name);
    auto [it, fresh] = m_families.try_emplace(std::move(family));
    if (fresh) {
        it->second.type = type;
        it->second.help = help;
    } else if (it->second.type != type) {
        ++m_conflicts;
        return;
    }
    Sample s;
    s.value = value;
    s.labels.reserve(identity.size() + tags.size());
    auto put = [&s](std::string_view key, const std::string& v) {
        std::string k = prometheusLabelName(key);
        for (const auto& [have, ignored] : s.labels)
            if (have == k)
                return; // the first of a name wins
        s.labels.emplace_back(std::move(k), v);
    };
    for (const auto& [k, v] : identity)
        put(k, v);
    for (const auto& [k, v] : tags)
        put(k, v.empty() ? kFlagValue : v);
    // Two samples with the same labels would make Prometheus refuse the whole scrape (names
    // that sanitize alike: "a.b" and "a_b"). An empty label is no label to Prometheus.
    Tags key;
    for (const auto& l : s.labels)
        if (!l.second.empty())
            key.push_back(l);
    std::sort(key.begin(), key.end());
    std::string flat;
    for (const auto& [k, v] : key) {
        flat += k;
        flat += '\0';
        flat += v;
        flat += '\0';
    }
    if (!it->second.seen.insert(std::move(flat)).second) {
        ++m_conflicts;
        return;
    }
    it->second.samples.push_back(std::move(s));
}

std::string PrometheusWriter::text() const {
    std::string out;
    for (const auto& [name, f] : m_families) {
        // The family's label names: every sample carries all of them, in one order.
        std::set<std::string> names;
        for (const auto& s : f.samples)
            for (const auto& [k, v] : s.labels)
                names.insert(k);
        out += "# HELP ";
        out += name;
        out += ' ';
        appendHelp(out, f.help);
        out += "\n# TYPE ";
        out += name;
        out += f.type == Type::Counter ? " counter\n" : " gauge\n";
        for (const auto& s : f.samples) {
            out += name;
            if (!names.empty()) {
                out += '{';
                bool first = true;
                for (const auto& label : names) {
                    if (!first)
                        out += ',';
                    first = false;
                    out += label;
                    out += "=\"";
                    for (const auto& [k, v] : s.labels)
                        if (k == label) {
                            appendLabelValue(out, v);
                            break;
                        }
                    out += '"';
                }
                out += '}';
            }
            out += ' ';
            appendValue(out, s.value);
            out += '\n';
        }
    }
    return out;
}

} // namespace day2::metrics
