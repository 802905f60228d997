// Settings of day2-agent: defaults, /etc/day2/agent.toml, then command-line overrides.
#pragma once

#include "base/log.h"
#include "base/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace day2::config {

inline constexpr const char* kDefaultConfigPath = "/etc/day2/agent.toml";

struct ListenAddress {
    std::string host;
    uint16_t port = 0;
};

struct AgentConfig {
    // [http]
    ListenAddress listen{"127.0.0.1", 61001};
    unsigned maxConnections = 1024;
    // Peers whose X-Forwarded-For names the client in the audit trail (Adminrouter's addresses;
    // canonical). Empty: the TCP peer is the client.
    std::vector<std::string> trustedProxies;
    unsigned readTimeoutSeconds = 30;
    // A new connection's first request (its TLS handshake included) must be complete by then.
    unsigned firstRequestTimeoutSeconds = 10;
    // Connections from one address that wait for a request (none complete yet, or idle between
    // two); a new one beyond that closes the oldest of them.
    unsigned idlePerAddress = 64;
    unsigned writeTimeoutSeconds = 60; // a client that takes no data for this long is dropped
    unsigned headerLimitBytes = 64 * 1024;
    unsigned bodyLimitBytes = 1024 * 1024;
    unsigned shutdownGraceSeconds = 5;
    // [https]: a second listener with TLS (port 61002 by convention)
    std::optional<ListenAddress> httpsListen;
    std::string httpsCertificate; // PEM chain
    std::string httpsKey;         // PEM private key
    // [agent]
    std::string stateDir = "/var/lib/day2";
    log::Level logLevel = log::Level::Info;
    // [journal]
    std::string journalNamespace; // empty: the system journal
    std::string journalSocket;    // empty: derived from the namespace
    std::string journalDirectory; // non-empty: read journal files from this directory
    // [logs]
    unsigned ssePingSeconds = 15;
    unsigned sseRetryMillis = 3000;
    unsigned followPollMillis = 2;     // tail check while a followed journal is busy
    unsigned followBusySeconds = 2;    // how long "busy" lasts after the last new entry
    unsigned followReleaseSeconds = 5; // an idle follower closes its journal after this
    bool parallelRange = true;         // large range reads format on two threads
    // [tasks]
    bool tasksEnabled = true;
    std::string taskSupervisor;        // empty: next to the agent, or ../libexec/day2/
    std::string cgroupMode = "auto";   // auto, v1, v2
    std::string cgroupParent = "day2"; // task cgroups are <mount>/<parent>/<container id>
    std::string cgroupMountinfo = "/proc/self/mountinfo";
    std::string taskHostname; // empty: the container id's first 12 characters
    unsigned killGraceSeconds = 10;
    unsigned keepFinishedSeconds = 3600;
    unsigned maxContainers = 256;
    unsigned taskStartTimeoutSeconds = 10;
    std::string taskDefaultUser = "nobody";                 // a task without "user" runs as this
    std::vector<std::string> taskAllowedUsers = {"nobody"}; // "user" may name these; "*": any
    std::string taskLogTransport = "auto"; // auto, stream, native (task_log_forwarder.h)
    // [exec]
    unsigned execMaxSessions = 64; // open exec sessions of the node; more are refused (503)
    // [metrics]
    bool metricsEnabled = true;
    unsigned metricsIntervalSeconds = 1;  // collection and StatsD flush
    std::string statsdHost = "127.0.0.1"; // where tasks send StatsD (STATSD_UDP_HOST)
    uint16_t statsdPortLow = 0;           // statsd_port_range "LOW-HIGH"; 0: any free port
    uint16_t statsdPortHigh = 0;
    unsigned maxSeriesPerTask = 1000;
    unsigned historyMaxSeries = 10000;     // history series of the node (~12-75 KB each for a day)
    std::string metricsProcRoot = "/proc"; // host metrics come from here
    std::vector<std::string> metricsFilesystems = {"/"}; // filesystem.* for these mount points
    bool prometheusOpen = false; // GET /metrics without any token (said at start and in health)
    std::string prometheusToken; // or with "Authorization: Bearer <this>"
    // [sinks.kafka]: on when brokers is set
    std::string kafkaBrokers;
    std::string kafkaTopic = "metrics";
    std::string kafkaCompression = "lz4";
    unsigned kafkaBufferMb = 64;
    // [sinks.kafka.properties]: more librdkafka settings (security.protocol, ssl.*, sasl.*)
    std::vector<std::pair<std::string, std::string>> kafkaProperties;
    // [sinks.statsd]: on when address is set
    std::string statsdSinkAddress;
    std::string statsdSinkFormat = "dogstatsd";
    unsigned statsdSinkMtu = 1432;
    // [auth]
    bool authEnabled = true;
    std::vector<std::string> authPublicKeys;
    std::string aclFile = "/etc/day2/acl.json";
    unsigned clockSkewSeconds = 60;
    bool allowNonExpiringTokens = false;
    std::string authIssuer;   // tokens' `iss` must be this; empty: not checked
    std::string authAudience; // tokens' `aud` must name this; empty: not checked

    // The native-protocol socket of the configured journal.
    std::string effectiveJournalSocket() const;
};

// "HOST:PORT", "[v6]:PORT". Port 0 asks the kernel for a free one.
Result<ListenAddress> parseListenAddress(std::string_view text);

// "LOW-HIGH" (within 1-65535, LOW <= HIGH, or one port), or "" / "0": ports the kernel picks
// ({0, 0}).
Result<std::pair<uint16_t, uint16_t>> parsePortRange(std::string_view text);

// Reads `path` over `base`. Errors name the file, the line and the key.
Result<AgentConfig> loadConfigFile(const std::string& path, AgentConfig base);

} // namespace day2::config
