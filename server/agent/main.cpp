// day2-agent: serves this node's logs (and, as day2 grows, metrics, tasks and exec) over HTTP.
#include "agent/agent_identity.h"
#include "agent/router.h"
#include "auth/audit_log.h"
#include "auth/authority.h"
#include "base/command_line.h"
#include "base/log.h"
#include "base/text.h"
#include "config/agent_config.h"
#include "exec/exec_service.h"
#include "http/server.h"
#include "logs/logs_service.h"
#include "metrics/metrics_service.h"
#include "tasks/task_runtime.h"
#include "tasks/tasks_service.h"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sys/resource.h>
#include <unistd.h>

#ifndef DAY2_VERSION
#define DAY2_VERSION "dev"
#endif

namespace {

using namespace day2;

void raiseFileLimit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// day2-task-supervisor: configured, else next to this binary, else in ../libexec/day2/.
std::string findSupervisor(const std::string& configured) {
    if (!configured.empty())
        return configured;
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return "/usr/libexec/day2/day2-task-supervisor";
    const auto dir = exe.parent_path();
    for (auto candidate : {dir / "day2-task-supervisor",
                           dir.parent_path() / "libexec" / "day2" / "day2-task-supervisor"})
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
    return (dir.parent_path() / "libexec" / "day2" / "day2-task-supervisor").string();
}

std::string hostName() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0)
        return "unknown";
    return buf;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"day2-agent " DAY2_VERSION " - this node's logs, metrics, tasks and exec APIs of "
                 "day2 (docs/api.md; every setting: docs/configuration.md).\n\nSettings come from "
                 "the config file "
                 "(default /etc/day2/agent.toml, if present), then from these options."};
    app.get_formatter()->column_width(34);
    std::string configPath;
    std::string listen, stateDir, journalNamespace, journalSocket, journalDirectory, logLevel;
    bool showVersion = false;
    app.add_option("-c,--config", configPath,
                   "TOML config file; without it /etc/day2/agent.toml is read when it exists");
    app.add_option("-l,--listen", listen,
                   "HOST:PORT to serve HTTP on (default 127.0.0.1:61001; "
                   "port 0 picks a free one)");
    app.add_option("-s,--state-dir", stateDir,
                   "directory for the agent id and task state (default /var/lib/day2)");
    app.add_option("-n,--journal-namespace", journalNamespace,
                   "journald namespace to serve (default: the system journal)");
    app.add_option("--journal-socket", journalSocket,
                   "journald native socket for writing task lines (default: derived from the "
                   "namespace, /run/systemd/journal[.NS]/socket)");
    app.add_option("--journal-directory", journalDirectory,
                   "read journal files from this directory instead of a namespace");
    app.add_option("--log-level", logLevel, "debug, info, warning or error (default info)");
    app.add_flag("-V,--version", showVersion, "print the version and exit");
    if (auto exitCode = parseCommandLine(app, argc, argv))
        return *exitCode;
    if (showVersion) {
        std::cout << "day2-agent " << DAY2_VERSION << "\n";
        return 0;
    }

    config::AgentConfig cfg;
    std::string fileToRead = configPath;
    if (fileToRead.empty() && std::filesystem::exists(config::kDefaultConfigPath))
        fileToRead = config::kDefaultConfigPath;
    if (!fileToRead.empty()) {
        auto loaded = config::loadConfigFile(fileToRead, cfg);
        if (!loaded) {
            std::cerr << "day2-agent: bad configuration: " << loaded.error().message << "\n";
            return kExitUsage;
        }
        cfg = *loaded;
    }
    if (!listen.empty()) {
        auto addr = config::parseListenAddress(listen);
        if (!addr) {
            std::cerr << "day2-agent: --listen: " << addr.error().message << "\n";
            return kExitUsage;
        }
        cfg.listen = *addr;
    }
    if (!stateDir.empty())
        cfg.stateDir = stateDir;
    if (!journalNamespace.empty())
        cfg.journalNamespace = journalNamespace;
    if (!journalSocket.empty())
        cfg.journalSocket = journalSocket;
    if (!journalDirectory.empty())
        cfg.journalDirectory = journalDirectory;
    if (!logLevel.empty() && !log::parseLevel(logLevel, cfg.logLevel)) {
        std::cerr << "day2-agent: --log-level must be debug, info, warning or error\n";
        return kExitUsage;
    }
    log::setLevel(cfg.logLevel);

    std::signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();

    auth::AuthOptions authOptions;
    authOptions.enabled = cfg.authEnabled;
    authOptions.publicKeys = cfg.authPublicKeys;
    authOptions.aclFile = cfg.aclFile;
    authOptions.verify.clockSkewSeconds = cfg.clockSkewSeconds;
    authOptions.verify.allowNonExpiring = cfg.allowNonExpiringTokens;
    authOptions.verify.issuer = cfg.authIssuer;
    authOptions.verify.audience = cfg.authAudience;
    auto authority = auth::Authority::load(authOptions);
    if (!authority) {
        std::cerr << "day2-agent: " << authority.error().message << "\n";
        return kExitUsage;
    }
    if (authority->enabled())
        log::info("auth: ", authority->describe());
    else
        log::warning(authority->describe());
    auth::AuditLog audit(cfg.effectiveJournalSocket());

    auto agentId = agent::loadOrCreateAgentId(cfg.stateDir);
    if (!agentId) {
        log::error(agentId.error().message);
        return 1;
    }

    // Connections, kept cgroup files and StatsD sockets all take descriptors: the soft limit
    // goes up to the hard one (at most 65,536), as systemd's LimitNOFILE would set it.
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 &&
                        limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 65536);
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
            log::warning("could not raise the open file limit: ", std::strerror(errno));
    }

    boost::asio::io_context io(1);

    logs::LogsOptions logsOptions;
    logsOptions.source = {cfg.journalNamespace, cfg.journalDirectory};
    logsOptions.ssePing = std::chrono::seconds(cfg.ssePingSeconds);
    logsOptions.sseRetry = std::chrono::milliseconds(cfg.sseRetryMillis);
    logsOptions.watch.pollInterval = std::chrono::milliseconds(cfg.followPollMillis);
    logsOptions.watch.busyWindow = std::chrono::seconds(cfg.followBusySeconds);
    logsOptions.followRelease = std::chrono::seconds(cfg.followReleaseSeconds);
    logsOptions.agentId = *agentId;
    logsOptions.parallelRange = cfg.parallelRange;

    std::unique_ptr<metrics::MetricsService> metrics;
    if (cfg.metricsEnabled) {
        metrics::MetricsOptions mo;
        mo.agentId = *agentId;
        mo.hostname = hostName();
        mo.intervalSeconds = cfg.metricsIntervalSeconds;
        mo.keepFinishedSeconds = cfg.keepFinishedSeconds;
        mo.historyMaxSeries = cfg.historyMaxSeries;
        mo.procRoot = cfg.metricsProcRoot;
        mo.filesystems = cfg.metricsFilesystems;
        mo.statsdHost = cfg.statsdHost;
        mo.statsdPortLow = cfg.statsdPortLow;
        mo.statsdPortHigh = cfg.statsdPortHigh;
        mo.maxSeriesPerTask = cfg.maxSeriesPerTask;
        mo.prometheusOpen = cfg.prometheusOpen;
        mo.prometheusToken = cfg.prometheusToken;
        mo.kafkaBrokers = cfg.kafkaBrokers;
        mo.kafkaTopic = cfg.kafkaTopic;
        mo.kafkaCompression = cfg.kafkaCompression;
        mo.kafkaBufferBytes = size_t{cfg.kafkaBufferMb} << 20;
        mo.kafkaProperties = cfg.kafkaProperties;
        mo.statsdSinkAddress = cfg.statsdSinkAddress;
        mo.statsdSinkFormat = cfg.statsdSinkFormat;
        mo.statsdSinkMtu = cfg.statsdSinkMtu;
        metrics = std::make_unique<metrics::MetricsService>(io, mo);
    }
    std::unique_ptr<tasks::TaskRuntime> runtime;
    std::unique_ptr<tasks::TasksService> tasksService;
    std::string tasksState = "disabled";
    if (cfg.tasksEnabled) {
        tasks::RuntimeOptions ro;
        ro.stateDir = cfg.stateDir + "/tasks";
        ro.supervisorPath = findSupervisor(cfg.taskSupervisor);
        ro.journalSocket = cfg.effectiveJournalSocket();
        ro.agentId = *agentId;
        ro.cgroupMode = cfg.cgroupMode;
        ro.cgroupParent = cfg.cgroupParent;
        ro.mountinfo = cfg.cgroupMountinfo;
        ro.hostname = cfg.taskHostname;
        ro.killGraceSeconds = cfg.killGraceSeconds;
        ro.keepFinishedSeconds = cfg.keepFinishedSeconds;
        ro.maxContainers = cfg.maxContainers;
        ro.startTimeoutSeconds = cfg.taskStartTimeoutSeconds;
        ro.defaultUser = cfg.taskDefaultUser;
        ro.allowedUsers = cfg.taskAllowedUsers;
        ro.logTransport = cfg.taskLogTransport;
        runtime = std::make_unique<tasks::TaskRuntime>(io, ro);
        if (metrics)
            runtime->setHooks(metrics->launchHooks()); // before start: it re-adopts
        if (auto r = runtime->start(); !r) {
            tasksState = r.error().message;
            log::error(tasksState, " (the tasks API answers 503)");
            runtime.reset();
        } else {
            tasksState = "ok";
            tasksService = std::make_unique<tasks::TasksService>(*runtime);
            log::info("tasks: ", runtime->describeCgroups(), ", ", runtime->containerCount(),
                      " container(s) in ", ro.stateDir);
            log::info("task lines go to journald as ", runtime->describeLogTransport());
            logsOptions.containerUnits = [rt = runtime.get()](const std::string& fw,
                                                              const std::string& ex,
                                                              const std::string& cid) {
                return rt->trustedUnits(fw, ex, cid);
            };
        }
    }
    if (metrics) {
        metrics->attach(runtime.get());
        if (auto r = metrics->start(); !r) {
            log::error(r.error().message);
            return 1;
        }
        if (cfg.prometheusOpen)
            log::warning("metrics: /metrics is open to anyone who reaches this agent "
                         "(metrics.prometheus_open = true)");
        log::info("metrics: ", metrics->describe());
    }
    logs::LogsService logsService(io, logsOptions);
    if (auto r = logsService.start(); !r)
        log::error(r.error().message, " (serving anyway; /system/v1/health says journal: error)");

    agent::AgentInfo info;
    info.agentId = *agentId;
    info.hostname = hostName();
    info.version = DAY2_VERSION;
    info.startedAt = text::rfc3339Seconds(static_cast<uint64_t>(std::time(nullptr)));
    info.journalSource = logsOptions.source.describe();
    info.tasksState = tasksState;
    info.cgroups = runtime ? runtime->describeCgroups() : "";
    info.taskLogs = runtime ? runtime->describeLogTransport() : "";
    info.metrics = metrics ? metrics->describe() : "off";
    if (metrics)
        info.sinks = [m = metrics.get()] { return m->sinksJson(); };

    http::Server* serverPtr = nullptr;
    std::unique_ptr<http::Server> tlsServer;
    info.connectionCount = [&serverPtr, &tlsServer] {
        return (serverPtr ? serverPtr->connectionCount() : 0) +
               (tlsServer ? tlsServer->connectionCount() : 0);
    };
    info.evictedConnections = [&serverPtr, &tlsServer] {
        return (serverPtr ? serverPtr->evictedCount() : 0) +
               (tlsServer ? tlsServer->evictedCount() : 0);
    };
    std::unique_ptr<exec::ExecService> execService;
    if (runtime) {
        exec::ExecServiceOptions eo;
        eo.maxSessions = cfg.execMaxSessions;
        execService = std::make_unique<exec::ExecService>(io, *runtime, audit, eo);
    }
    auth::HeldGrants held;
    const auto router =
        agent::makeRouter(info, {logsService, tasksService.get(), runtime.get(), metrics.get(),
                                 execService.get(), *authority, audit, held, cfg.trustedProxies});
    http::Server server(io, http::ServerOptions::fromConfig(cfg), router);
    serverPtr = &server;
    if (cfg.httpsListen) {
        auto o = http::ServerOptions::fromConfig(cfg);
        o.listen = *cfg.httpsListen;
        o.certificateFile = cfg.httpsCertificate;
        o.keyFile = cfg.httpsKey;
        tlsServer = std::make_unique<http::Server>(io, o, router);
        auto tlsPort = tlsServer->bind();
        if (!tlsPort) {
            log::error(tlsPort.error().message);
            return 1;
        }
        tlsServer->start();
        log::info("agent ", *agentId, " serving HTTPS on https://", cfg.httpsListen->host, ":",
                  *tlsPort);
    }
    auto port = server.bind();
    if (!port) {
        log::error(port.error().message);
        return 1;
    }
    server.start();
    log::info("agent ", *agentId, " serving the ", info.journalSource, " on http://",
              cfg.listen.host, ":", *port);

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::signal_set hangup(io, SIGHUP);
    boost::asio::steady_timer graceTimer(io);
    boost::asio::steady_timer drainTimer(io);
    std::function<void()> drainCheck = [&] {
        if (info.connectionCount() == 0) {
            graceTimer.cancel();
            signals.cancel(); // nothing left to wait for
            return;
        }
        drainTimer.expires_after(std::chrono::milliseconds(20));
        drainTimer.async_wait([&](const boost::system::error_code& ec) {
            if (!ec)
                drainCheck();
        });
    };
    std::function<void(const boost::system::error_code&, int)> onSignal;
    onSignal = [&](const boost::system::error_code& ec, int sig) {
        if (ec)
            return;
        if (server.stopping()) {
            log::warning("second signal ", sig, ": stopping now");
            io.stop();
            return;
        }
        signals.async_wait(onSignal);
        log::info("signal ", sig, ": stopping (waiting up to ", cfg.shutdownGraceSeconds,
                  " s for responses to end)");
        server.stop();
        if (tlsServer)
            tlsServer->stop();
        logsService.stop();
        hangup.cancel();
        if (runtime)
            runtime->stop(); // containers keep running; the next start adopts them
        if (metrics)
            metrics->stop();
        graceTimer.expires_after(std::chrono::seconds(cfg.shutdownGraceSeconds));
        graceTimer.async_wait([&](const boost::system::error_code& tec) {
            if (!tec) {
                log::warning("responses still running after the grace period; stopping now");
                io.stop();
            }
        });
        // Once the last connection is gone, nothing but the grace timer keeps run() going.
        drainCheck();
    };
    signals.async_wait(onSignal);
    // SIGHUP: read the keys and the ACL again, without dropping a connection.
    std::function<void(const boost::system::error_code&, int)> onHangup;
    onHangup = [&](const boost::system::error_code& ec, int) {
        if (ec)
            return;
        if (auto r = authority->reload(); !r) {
            log::error("SIGHUP: keeping the previous keys and ACL: ", r.error().message);
        } else {
            log::info("SIGHUP: reloaded; ", authority->describe());
            const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
            if (size_t ended = held.recheck(*authority, static_cast<int64_t>(now), audit))
                log::info("SIGHUP: ended ", ended, " stream(s) the keys and ACL no longer allow");
        }
        hangup.async_wait(onHangup);
    };
    hangup.async_wait(onHangup);
    io.run();
    log::info("stopped");
    return 0;
}
