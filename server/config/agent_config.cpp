#include "config/agent_config.h"

#include "base/text.h"
#include "http/forwarded.h"

#include <toml++/toml.h>

#include <limits>

namespace day2::config {

std::string AgentConfig::effectiveJournalSocket() const {
    if (!journalSocket.empty())
        return journalSocket;
    if (journalNamespace.empty())
        return "/run/systemd/journal/socket";
    return "/run/systemd/journal." + journalNamespace + "/socket";
}

Result<ListenAddress> parseListenAddress(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return Error{"listen address '" + std::string(text) + "' is not HOST:PORT"};
    std::string_view host = text.substr(0, colon);
    if (host.front() == '[') {
        if (host.back() != ']' || host.size() < 3)
            return Error{"listen address '" + std::string(text) + "' has a malformed [IPv6] host"};
        host = host.substr(1, host.size() - 2);
    }
    auto port = text::parseUnsigned(text.substr(colon + 1));
    if (!port || *port > 65535)
        return Error{"listen address '" + std::string(text) + "' has a port outside 0-65535"};
    return ListenAddress{std::string(host), static_cast<uint16_t>(*port)};
}

Result<std::pair<uint16_t, uint16_t>> parsePortRange(std::string_view text) {
    if (text.empty() || text == "0")
        return std::pair<uint16_t, uint16_t>{0, 0};
    const size_t dash = text.find('-');
    auto low = text::parseUnsigned(text.substr(0, dash));
    auto high = dash == std::string_view::npos ? low : text::parseUnsigned(text.substr(dash + 1));
    if (!low || !high || *low < 1 || *high > 65535 || *low > *high)
        return Error{"'" + std::string(text.substr(0, 40)) +
                     "' is not a port range LOW-HIGH within 1-65535 (or \"0\": any free port)"};
    return std::pair<uint16_t, uint16_t>{static_cast<uint16_t>(*low), static_cast<uint16_t>(*high)};
}

namespace {

struct Reader {
    const std::string& path;
    AgentConfig& cfg;
    std::string error;

    std::string where(const toml::node& node, std::string_view key) const {
        return path + ":" + std::to_string(node.source().begin.line) + ": " + std::string(key);
    }

    bool fail(const toml::node& node, std::string_view key, std::string_view what) {
        error = where(node, key) + ": " + std::string(what);
        return false;
    }

    bool readString(const toml::node& node, std::string_view key, std::string& out) {
        auto v = node.value<std::string>();
        if (!node.is_string() || !v)
            return fail(node, key, "must be a string");
        out = *v;
        return true;
    }

    bool readUnsigned(const toml::node& node, std::string_view key, unsigned& out, int64_t min,
                      int64_t max) {
        if (!node.is_integer())
            return fail(node, key, "must be an integer");
        int64_t v = *node.value<int64_t>();
        if (v < min || v > max)
            return fail(node, key,
                        "must be between " + std::to_string(min) + " and " + std::to_string(max));
        out = static_cast<unsigned>(v);
        return true;
    }

    bool readTable(const toml::table& root) {
        for (auto&& [sectionKey, sectionNode] : root) {
            std::string section(sectionKey.str());
            const toml::table* table = sectionNode.as_table();
            if (!table)
                return fail(sectionNode, section, "must be a table ([" + section + "])");
            if (!readSection(section, *table))
                return false;
        }
        return true;
    }

    // [section] keys; [sinks] holds tables of its own ([sinks.kafka], [sinks.statsd]).
    bool readSection(const std::string& section, const toml::table& table) {
        for (auto&& [k, node] : table) {
            std::string key = section + "." + std::string(k.str());
            if (section == "sinks") {
                const toml::table* sub = node.as_table();
                if (!sub || (k.str() != "kafka" && k.str() != "statsd"))
                    return fail(node, key, "unknown sink ([sinks.kafka] or [sinks.statsd])");
                if (!readSection(key, *sub))
                    return false;
                continue;
            }
            if (key == "sinks.kafka.properties") {
                const toml::table* props = node.as_table();
                if (!props)
                    return fail(node, key,
                                "must be a table ([sinks.kafka.properties]) of librdkafka "
                                "settings");
                cfg.kafkaProperties.clear();
                if (!readKafkaProperties("", *props))
                    return false;
                continue;
            }
            if (!readKey(key, node))
                return false;
        }
        return true;
    }

    // librdkafka's property names have dots: "security.protocol" = "SSL" and security.protocol =
    // "SSL" (a table in TOML) are the same. Strings, integers and booleans, as librdkafka reads
    // them. What the sink sets itself is refused, not silently overridden.
    bool readKafkaProperties(const std::string& prefix, const toml::table& table) {
        static const char* const kOwn[] = {"bootstrap.servers",
                                           "metadata.broker.list",
                                           "compression.codec",
                                           "compression.type",
                                           "client.id",
                                           "enable.idempotence",
                                           "retries",
                                           "message.send.max.retries",
                                           "queue.buffering.max.kbytes",
                                           "queue.buffering.max.messages",
                                           "message.timeout.ms",
                                           "delivery.timeout.ms",
                                           "log.queue"};
        for (auto&& [k, node] : table) {
            const std::string name = prefix + std::string(k.str());
            const std::string key = "sinks.kafka.properties." + name;
            if (const toml::table* sub = node.as_table()) {
                if (!readKafkaProperties(name + ".", *sub))
                    return false;
                continue;
            }
            for (const char* own : kOwn)
                if (name == own)
                    return fail(node, key,
                                "day2 sets this one itself (brokers, compression, buffer_mb and "
                                "the idempotent producer: see docs/configuration.md)");
            std::string value;
            if (auto s = node.value<std::string>(); s && node.is_string())
                value = *s;
            else if (node.is_integer())
                value = std::to_string(*node.value<int64_t>());
            else if (node.is_boolean())
                value = *node.value<bool>() ? "true" : "false";
            else
                return fail(node, key, "must be a string, an integer or a boolean");
            cfg.kafkaProperties.emplace_back(name, value);
        }
        return true;
    }

    bool readKey(const std::string& key, const toml::node& node) {
        constexpr int64_t kMaxU = std::numeric_limits<int32_t>::max();
        if (key == "http.listen") {
            std::string s;
            if (!readString(node, key, s))
                return false;
            auto addr = parseListenAddress(s);
            if (!addr)
                return fail(node, key, addr.error().message);
            cfg.listen = *addr;
            return true;
        }
        if (key == "https.listen") {
            std::string v;
            if (!readString(node, key, v))
                return false;
            if (v.empty()) {
                cfg.httpsListen.reset();
                return true;
            }
            auto addr = parseListenAddress(v);
            if (!addr)
                return fail(node, key, addr.error().message);
            cfg.httpsListen = *addr;
            return true;
        }
        if (key == "https.certificate")
            return readString(node, key, cfg.httpsCertificate);
        if (key == "https.key")
            return readString(node, key, cfg.httpsKey);
        if (key == "http.trusted_proxies") {
            if (!readStringList(node, key, cfg.trustedProxies))
                return false;
            for (std::string& proxy : cfg.trustedProxies) {
                auto ip = http::canonicalIp(proxy);
                if (!ip)
                    return fail(node, key,
                                "'" + proxy.substr(0, 64) +
                                    "' is not an IP address (list the addresses Adminrouter "
                                    "connects from, e.g. \"127.0.0.1\")");
                proxy = *ip;
            }
            return true;
        }
        if (key == "http.max_connections")
            return readUnsigned(node, key, cfg.maxConnections, 1, 1000000);
        if (key == "http.read_timeout_seconds")
            return readUnsigned(node, key, cfg.readTimeoutSeconds, 1, 86400);
        if (key == "http.first_request_timeout_seconds")
            return readUnsigned(node, key, cfg.firstRequestTimeoutSeconds, 1, 3600);
        if (key == "http.idle_per_address")
            return readUnsigned(node, key, cfg.idlePerAddress, 1, 1000000);
        if (key == "http.write_timeout_seconds")
            return readUnsigned(node, key, cfg.writeTimeoutSeconds, 1, 86400);
        if (key == "http.header_limit_bytes")
            return readUnsigned(node, key, cfg.headerLimitBytes, 1024, 1024 * 1024);
        if (key == "http.body_limit_bytes")
            return readUnsigned(node, key, cfg.bodyLimitBytes, 0, kMaxU);
        if (key == "http.shutdown_grace_seconds")
            return readUnsigned(node, key, cfg.shutdownGraceSeconds, 0, 3600);
        if (key == "agent.state_dir")
            return readString(node, key, cfg.stateDir);
        if (key == "agent.log_level") {
            std::string s;
            if (!readString(node, key, s))
                return false;
            if (!log::parseLevel(s, cfg.logLevel))
                return fail(node, key, "must be one of debug, info, warning, error");
            return true;
        }
        if (key == "journal.namespace")
            return readString(node, key, cfg.journalNamespace);
        if (key == "journal.socket")
            return readString(node, key, cfg.journalSocket);
        if (key == "journal.directory")
            return readString(node, key, cfg.journalDirectory);
        if (key == "logs.sse_ping_seconds")
            return readUnsigned(node, key, cfg.ssePingSeconds, 1, 3600);
        if (key == "logs.sse_retry_millis")
            return readUnsigned(node, key, cfg.sseRetryMillis, 0, 3600000);
        if (key == "logs.follow_poll_millis")
            return readUnsigned(node, key, cfg.followPollMillis, 0, 10000);
        if (key == "logs.parallel_range") {
            if (!node.is_boolean())
                return fail(node, key, "must be true or false");
            cfg.parallelRange = *node.value<bool>();
            return true;
        }
        if (key == "logs.follow_release_seconds")
            return readUnsigned(node, key, cfg.followReleaseSeconds, 0, 86400);
        if (key == "logs.follow_busy_seconds")
            return readUnsigned(node, key, cfg.followBusySeconds, 0, 3600);
        if (key == "tasks.enabled") {
            if (!node.is_boolean())
                return fail(node, key, "must be true or false");
            cfg.tasksEnabled = *node.value<bool>();
            return true;
        }
        if (key == "tasks.supervisor")
            return readString(node, key, cfg.taskSupervisor);
        if (key == "tasks.cgroup_mode") {
            if (!readString(node, key, cfg.cgroupMode))
                return false;
            if (cfg.cgroupMode != "auto" && cfg.cgroupMode != "v1" && cfg.cgroupMode != "v2")
                return fail(node, key, "must be auto, v1 or v2");
            return true;
        }
        if (key == "tasks.cgroup_parent") {
            if (!readString(node, key, cfg.cgroupParent))
                return false;
            const auto& p = cfg.cgroupParent;
            if (p.empty() || p.front() == '/' || p.back() == '/' ||
                p.find("..") != std::string::npos)
                return fail(node, key, "must be a relative path like \"day2\" (no '..')");
            return true;
        }
        if (key == "tasks.cgroup_mountinfo")
            return readString(node, key, cfg.cgroupMountinfo);
        if (key == "tasks.hostname") {
            if (!readString(node, key, cfg.taskHostname))
                return false;
            if (cfg.taskHostname.size() > 64)
                return fail(node, key, "must be at most 64 characters");
            return true;
        }
        if (key == "tasks.kill_grace_seconds")
            return readUnsigned(node, key, cfg.killGraceSeconds, 0, 3600);
        if (key == "tasks.keep_finished_seconds")
            return readUnsigned(node, key, cfg.keepFinishedSeconds, 1, 30 * 86400);
        if (key == "tasks.max_containers")
            return readUnsigned(node, key, cfg.maxContainers, 1, 100000);
        if (key == "tasks.default_user")
            return readString(node, key, cfg.taskDefaultUser);
        if (key == "tasks.allowed_users")
            return readStringList(node, key, cfg.taskAllowedUsers);
        if (key == "tasks.log_transport") {
            if (!readString(node, key, cfg.taskLogTransport))
                return false;
            const auto& t = cfg.taskLogTransport;
            if (t != "auto" && t != "stream" && t != "native")
                return fail(node, key, "must be auto, stream or native");
            return true;
        }
        if (key == "tasks.start_timeout_seconds")
            return readUnsigned(node, key, cfg.taskStartTimeoutSeconds, 1, 600);
        if (key == "metrics.enabled")
            return readBool(node, key, cfg.metricsEnabled);
        if (key == "metrics.interval_seconds")
            return readUnsigned(node, key, cfg.metricsIntervalSeconds, 1, 3600);
        if (key == "metrics.statsd_host") {
            if (!readString(node, key, cfg.statsdHost))
                return false;
            if (!http::canonicalIp(cfg.statsdHost))
                return fail(node, key, "must be an IP address (tasks reach it as STATSD_UDP_HOST)");
            return true;
        }
        if (key == "metrics.statsd_port_range") {
            std::string s;
            if (!readString(node, key, s))
                return false;
            auto range = parsePortRange(s);
            if (!range)
                return fail(node, key, range.error().message);
            cfg.statsdPortLow = range->first;
            cfg.statsdPortHigh = range->second;
            return true;
        }
        if (key == "metrics.max_series_per_task")
            return readUnsigned(node, key, cfg.maxSeriesPerTask, 1, 1000000);
        if (key == "exec.max_sessions")
            return readUnsigned(node, key, cfg.execMaxSessions, 1, 10000);
        if (key == "metrics.history_max_series")
            return readUnsigned(node, key, cfg.historyMaxSeries, 100, 1000000);
        if (key == "metrics.proc_root")
            return readString(node, key, cfg.metricsProcRoot);
        if (key == "metrics.filesystems")
            return readStringList(node, key, cfg.metricsFilesystems);
        if (key == "metrics.prometheus_open")
            return readBool(node, key, cfg.prometheusOpen);
        if (key == "metrics.prometheus_token") {
            if (!readString(node, key, cfg.prometheusToken))
                return false;
            if (!cfg.prometheusToken.empty() && cfg.prometheusToken.size() < 16)
                return fail(node, key, "must be at least 16 characters (or empty: none)");
            return true;
        }
        if (key == "sinks.kafka.brokers")
            return readString(node, key, cfg.kafkaBrokers);
        if (key == "sinks.kafka.topic")
            return readString(node, key, cfg.kafkaTopic);
        if (key == "sinks.kafka.compression") {
            if (!readString(node, key, cfg.kafkaCompression))
                return false;
            for (const char* c : {"none", "gzip", "snappy", "lz4", "zstd"})
                if (cfg.kafkaCompression == c)
                    return true;
            return fail(node, key, "must be none, gzip, snappy, lz4 or zstd");
        }
        if (key == "sinks.kafka.buffer_mb")
            return readUnsigned(node, key, cfg.kafkaBufferMb, 1, 2048);
        if (key == "sinks.statsd.address")
            return readString(node, key, cfg.statsdSinkAddress);
        if (key == "sinks.statsd.format") {
            if (!readString(node, key, cfg.statsdSinkFormat))
                return false;
            if (cfg.statsdSinkFormat != "dogstatsd" && cfg.statsdSinkFormat != "plain")
                return fail(node, key, "must be dogstatsd or plain");
            return true;
        }
        if (key == "sinks.statsd.mtu")
            return readUnsigned(node, key, cfg.statsdSinkMtu, 64, 65507);
        if (key == "auth.enabled")
            return readBool(node, key, cfg.authEnabled);
        if (key == "auth.public_keys")
            return readStringList(node, key, cfg.authPublicKeys);
        if (key == "auth.acl_file")
            return readString(node, key, cfg.aclFile);
        if (key == "auth.clock_skew_seconds")
            return readUnsigned(node, key, cfg.clockSkewSeconds, 0, 3600);
        if (key == "auth.allow_non_expiring_tokens")
            return readBool(node, key, cfg.allowNonExpiringTokens);
        if (key == "auth.issuer")
            return readString(node, key, cfg.authIssuer);
        if (key == "auth.audience")
            return readString(node, key, cfg.authAudience);
        return fail(node, key, "unknown key");
    }

    bool readStringList(const toml::node& node, std::string_view key,
                        std::vector<std::string>& out) {
        const toml::array* a = node.as_array();
        if (!a)
            return fail(node, key, "must be a list of strings");
        out.clear();
        for (const auto& item : *a) {
            auto v = item.value<std::string>();
            if (!item.is_string() || !v || v->empty())
                return fail(node, key, "must be a list of non-empty strings");
            out.push_back(*v);
        }
        return true;
    }

    bool readBool(const toml::node& node, std::string_view key, bool& out) {
        if (!node.is_boolean())
            return fail(node, key, "must be true or false");
        out = *node.value<bool>();
        return true;
    }
};

} // namespace

Result<AgentConfig> loadConfigFile(const std::string& path, AgentConfig base) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& src = e.source();
        std::string msg = path;
        if (src.begin.line)
            msg += ":" + std::to_string(src.begin.line);
        msg += ": " + std::string(e.description());
        return Error{msg};
    }
    Reader reader{path, base, {}};
    if (!reader.readTable(root))
        return Error{reader.error};
    if (base.httpsListen && (base.httpsCertificate.empty() || base.httpsKey.empty()))
        return Error{path +
                     ": https.listen is set: https.certificate and https.key are needed too"};
    return base;
}

} // namespace day2::config
