#include "cli/client_commands.h"

#include "client/api_client.h"
#include "client/log_follower.h"
#include "client/log_store.h"
#include "client/metrics_data.h"
#include "client/task_ref.h"
#ifdef DAY2_CLIENT_WITH_EXEC
#include "cli/exec_command.h"
#endif

#include "base/text.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkReply>
#include <QTimeZone>
#include <QTimer>

#include <toml++/toml.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

namespace day2::cli {

using client::agentPath;
using client::ApiClient;
using client::ContainerRef;
using client::Endpoint;
using client::LogFollower;

namespace {

constexpr int kOk = 0, kError = 1, kUsage = 2;

void err(const QString& text) {
    std::cerr << "day2: " << text.toStdString() << "\n";
}

void out(const QByteArray& bytes) {
    std::fwrite(bytes.constData(), 1, static_cast<size_t>(bytes.size()), stdout);
}

// --- where the cluster is ------------------------------------------------------------------

QString configPath() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg)
        return QString::fromLocal8Bit(xdg) + QStringLiteral("/day2/config.toml");
    return QString::fromLocal8Bit(home ? home : "") + QStringLiteral("/.config/day2/config.toml");
}

std::optional<QByteArray> readToken(const QString& file, QString* error) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read the token file %1: %2").arg(file, f.errorString());
        return std::nullopt;
    }
    QByteArray t = f.read(64 * 1024).trimmed();
    if (t.isEmpty()) {
        *error = QStringLiteral("the token file %1 is empty").arg(file);
        return std::nullopt;
    }
    return t;
}

// Flags, then DAY2_URL / DAY2_TOKEN / DAY2_CA, then the config file. The exit code on failure.
std::optional<Endpoint> resolveEndpoint(const Connection& c, int& exitCode) {
    QString url = QString::fromStdString(c.url), ca = QString::fromStdString(c.ca);
    QString tokenFile = QString::fromStdString(c.tokenFile);
    QByteArray token;
    auto env = [](const char* name) {
        const char* v = std::getenv(name);
        return QString::fromLocal8Bit(v ? v : "");
    };
    if (url.isEmpty())
        url = env("DAY2_URL");
    if (tokenFile.isEmpty())
        token = env("DAY2_TOKEN").toUtf8().trimmed();
    if (ca.isEmpty())
        ca = env("DAY2_CA");
    const QString path = configPath();
    if (QFile::exists(path) &&
        (url.isEmpty() || (tokenFile.isEmpty() && token.isEmpty()) || ca.isEmpty())) {
        toml::table t;
        try {
            t = toml::parse_file(path.toStdString());
        } catch (const toml::parse_error& e) {
            err(QStringLiteral("%1: %2 (line %3)")
                    .arg(path, QString::fromUtf8(e.description().data(),
                                                 static_cast<qsizetype>(e.description().size())))
                    .arg(e.source().begin.line));
            exitCode = kUsage;
            return std::nullopt;
        }
        for (const auto& [key, value] : t) {
            const std::string k(key.str());
            if (k != "url" && k != "token" && k != "token_file" && k != "ca") {
                err(QStringLiteral("%1: unknown key '%2' (known: url, token, token_file, ca)")
                        .arg(path, QString::fromStdString(k)));
                exitCode = kUsage;
                return std::nullopt;
            }
            if (!value.is_string()) {
                err(QStringLiteral("%1: '%2' must be a string")
                        .arg(path, QString::fromStdString(k)));
                exitCode = kUsage;
                return std::nullopt;
            }
        }
        auto get = [&](const char* k) {
            return QString::fromStdString(t[k].value_or(std::string()));
        };
        if (!get("token").isEmpty() && !get("token_file").isEmpty()) {
            err(QStringLiteral("%1: give token or token_file, not both").arg(path));
            exitCode = kUsage;
            return std::nullopt;
        }
        if (url.isEmpty())
            url = get("url");
        // The file's token and CA belong to the file's cluster: never sent to another URL.
        if (url == get("url")) {
            if (tokenFile.isEmpty() && token.isEmpty()) {
                token = get("token").toUtf8().trimmed();
                tokenFile = get("token_file");
            }
            if (ca.isEmpty())
                ca = get("ca");
        }
    }
    if (url.isEmpty()) {
        err(QStringLiteral("no cluster given: pass --url https://ADMINROUTER, set DAY2_URL, or "
                           "put url = \"https://...\" in %1")
                .arg(path));
        exitCode = kUsage;
        return std::nullopt;
    }
    const QUrl parsed(url, QUrl::StrictMode);
    if (!parsed.isValid() ||
        (parsed.scheme() != QLatin1String("https") && parsed.scheme() != QLatin1String("http")) ||
        parsed.host().isEmpty()) {
        err(QStringLiteral("'%1' is not an http(s) URL like https://adminrouter:8443").arg(url));
        exitCode = kUsage;
        return std::nullopt;
    }
    if (!tokenFile.isEmpty()) {
        QString why;
        auto t = readToken(tokenFile, &why);
        if (!t) {
            err(why);
            exitCode = kError;
            return std::nullopt;
        }
        token = *t;
    }
    return Endpoint{parsed, token, ca};
}

// --- the cluster's agents -------------------------------------------------------------------

using Agent = client::AgentInfo;

class Session {
public:
    // The argc/argv QCoreApplication keeps a reference to.
    static int s_argc;
    static char* s_argv[2];

    Session() : m_app(s_argc, s_argv) {}

    bool open(const Connection& c, int& exitCode) {
        auto ep = resolveEndpoint(c, exitCode);
        if (!ep)
            return false;
        m_api = std::make_unique<ApiClient>(*ep);
        QString why;
        if (!m_api->init(&why)) {
            err(why);
            exitCode = kError;
            return false;
        }
        return true;
    }
    // open(), then agents(); the exit code on failure.
    std::optional<QList<Agent>> openWithAgents(const Connection& c, int& exitCode) {
        if (!open(c, exitCode))
            return std::nullopt;
        auto list = agents();
        if (!list)
            exitCode = kError;
        return list;
    }
    ApiClient& api() { return *m_api; }
    const Endpoint& endpoint() const { return m_api->endpoint(); }

    // Adminrouter's inventory; a URL that is one agent (no /system/v1/agents) is that agent.
    std::optional<QList<Agent>> agents() {
        auto r = m_api->call("GET", client::kInventoryPath);
        if (r.status == 404) {
            auto h = m_api->call("GET", client::kHealthPath);
            if (!h.ok()) {
                err(h.error);
                return std::nullopt;
            }
            return QList<Agent>{client::agentFromHealth(h.body, endpoint().base.authority())};
        }
        if (!r.ok()) {
            err(r.error);
            return std::nullopt;
        }
        auto list = client::agentsFromInventory(r.body);
        if (!list)
            err(QStringLiteral("%1%2 did not answer a JSON array")
                    .arg(endpoint().base.toString(), client::kInventoryPath));
        return list;
    }

    // Every container of every agent. Agents that do not answer are named on stderr and make
    // `complete` false.
    QList<ContainerRef> containers(const QList<Agent>& agents, bool& complete,
                                   QList<QJsonObject>* raw = nullptr) {
        QList<ContainerRef> all;
        complete = true;
        for (const auto& a : agents) {
            auto r = m_api->call("GET", a.path(QStringLiteral("tasks/v1/")), {}, {},
                                 "application/json", 10000);
            if (!r.ok()) {
                err(QStringLiteral("agent %1 (%2) is unreachable: %3")
                        .arg(a.id, a.hostname, r.error));
                complete = false;
                continue;
            }
            for (const auto& v :
                 QJsonDocument::fromJson(r.body).object().value("containers").toArray()) {
                QJsonObject o = v.toObject();
                if (!o.contains("agent_id"))
                    o.insert("agent_id", a.id);
                ContainerRef c = ContainerRef::fromJson(o, a.id);
                c.hostname = a.hostname;
                all.append(c);
                if (raw)
                    raw->append(o);
            }
        }
        return all;
    }

private:
    QCoreApplication m_app;
    std::unique_ptr<ApiClient> m_api;
};

int Session::s_argc = 1;
char Session_name[] = "day2";
char* Session::s_argv[2] = {Session_name, nullptr};

const Agent* findAgent(const QList<Agent>& agents, const QString& what) {
    const Agent* prefixed = nullptr;
    int prefixes = 0;
    for (const auto& a : agents) {
        if (a.id == what || a.hostname == what)
            return &a;
        if (!what.isEmpty() && a.id.startsWith(what)) {
            prefixed = &a;
            ++prefixes;
        }
    }
    return prefixes == 1 ? prefixed : nullptr;
}

void listAgents(const QList<Agent>& agents) {
    for (const auto& a : agents)
        std::cerr << "  " << a.id.toStdString() << "  " << a.hostname.toStdString() << "\n";
}

// The agent `what` names, or the only one when `what` is empty; else nullptr, with the agents
// listed and `exitCode` set (1: no such agent; 2: several and none named, `howToName` says how).
const Agent* chooseAgent(const QList<Agent>& agents, const std::string& what,
                         const QString& howToName, int& exitCode) {
    if (!what.empty()) {
        if (const Agent* a = findAgent(agents, QString::fromStdString(what)))
            return a;
        err(QStringLiteral("no agent (or unique id prefix) '%1'; the agents are:")
                .arg(QString::fromStdString(what)));
        listAgents(agents);
        exitCode = kError;
        return nullptr;
    }
    if (agents.size() == 1)
        return &agents.first();
    err(QStringLiteral("the cluster has %1 agents: %2:").arg(agents.size()).arg(howToName));
    listAgents(agents);
    exitCode = kUsage;
    return nullptr;
}

// --- output ----------------------------------------------------------------------------------

void printTable(const QList<QStringList>& rows) {
    QList<qsizetype> width;
    for (const auto& r : rows)
        for (qsizetype i = 0; i < r.size(); ++i) {
            if (width.size() <= i)
                width.append(0);
            width[i] = std::max(width[i], r[i].size());
        }
    for (const auto& r : rows) {
        QString line;
        for (qsizetype i = 0; i < r.size(); ++i)
            line += i + 1 < r.size() ? r[i].leftJustified(width[i] + 2) : r[i];
        out(line.toUtf8() + '\n');
    }
}

QString age(const QString& rfc3339) {
    const QDateTime t = QDateTime::fromString(rfc3339, Qt::ISODateWithMs);
    if (!t.isValid())
        return QStringLiteral("-");
    const qint64 s = t.secsTo(QDateTime::currentDateTimeUtc());
    if (s < 120)
        return QString::number(std::max<qint64>(s, 0)) + QLatin1Char('s');
    if (s < 7200)
        return QString::number(s / 60) + QLatin1Char('m');
    if (s < 172800)
        return QString::number(s / 3600) + QLatin1Char('h');
    return QString::number(s / 86400) + QLatin1Char('d');
}

QByteArray fieldOf(const QJsonObject& entry, const char* name) {
    return client::entryField(entry, QString::fromLatin1(name));
}

bool tableOrJson(const std::string& output) {
    if (output.empty() || output == "table" || output == "json")
        return true;
    err(QStringLiteral("-o takes table or json, not '%1'").arg(QString::fromStdString(output)));
    return false;
}

enum class Output { Short, Cat, Json };

std::optional<Output> parseOutput(const std::string& text, Output fallback) {
    if (text.empty())
        return fallback;
    if (text == "short")
        return Output::Short;
    if (text == "cat")
        return Output::Cat;
    if (text == "json")
        return Output::Json;
    err(QStringLiteral("-o takes short, cat or json, not '%1'").arg(QString::fromStdString(text)));
    return std::nullopt;
}

// One entry (a logs API JSON object, as received) in `format`, with its newline. `short` is
// the agent's text form: "<RFC 3339 UTC> <identifier>[<pid>]: <message>", continuation lines of
// a multi-line message indented under the first.
QByteArray formatEntry(const QByteArray& json, Output format) {
    if (format == Output::Json)
        return json + '\n';
    const QJsonObject e = QJsonDocument::fromJson(json).object();
    const QByteArray message = fieldOf(e, "MESSAGE");
    if (format == Output::Cat)
        return message + '\n';
    QByteArray ident = fieldOf(e, "SYSLOG_IDENTIFIER");
    if (ident.isEmpty())
        ident = fieldOf(e, "_COMM");
    if (ident.isEmpty())
        ident = "unknown";
    const QByteArray pid = fieldOf(e, "_PID");
    std::string time; // the agent's own formatting
    text::appendRfc3339Micros(time, e.value("realtime_timestamp").toVariant().toULongLong());
    QByteArray line = QByteArray::fromStdString(time) + ' ' + ident;
    if (!pid.isEmpty())
        line += '[' + pid + ']';
    line += ": ";
    const QByteArray indent(line.size(), ' ');
    line += QByteArray(message).replace("\n", "\n" + indent);
    return line + '\n';
}

// --- logs ------------------------------------------------------------------------------------

// The logs query of `o` (start, filters, unit); nothing, with the usage error said, when an
// option is malformed. Checked before anything is asked of the cluster.
std::optional<QUrlQuery> logQuery(const LogOptions& o) {
    QUrlQuery q;
    if (o.lines == "all") {
        if (o.follow)
            q.addQueryItem("since", "0"); // a stream without a position starts from now
    } else {
        bool ok = false;
        const qulonglong n = QString::fromStdString(o.lines).toULongLong(&ok);
        if (!ok) {
            err(QStringLiteral("--lines takes a number or 'all', not '%1'")
                    .arg(QString::fromStdString(o.lines)));
            return std::nullopt;
        }
        if (n > 0)
            q.addQueryItem("skip_prev", QString::number(n));
        else if (!o.follow)
            q.addQueryItem("limit", "0");
    }
    for (const auto& f : o.filters) {
        if (f.find(':') == std::string::npos || f.front() == ':') {
            err(QStringLiteral("--filter takes FIELD:VALUE, not '%1'")
                    .arg(QString::fromStdString(f)));
            return std::nullopt;
        }
        q.addQueryItem("filter", QString::fromStdString(f));
    }
    if (!o.unit.empty())
        q.addQueryItem("unit", QString::fromStdString(o.unit));
    return q;
}

// A range, printed as it arrives (a large one is not held in memory); given up after a minute
// without a byte. A broken transfer is an error, never a short answer that looks complete.
int printRange(Session& s, const QString& path, const QUrlQuery& q, Output format) {
    constexpr int kIdleMs = 60000;
    QNetworkReply* r = s.api().send("GET", path, q);
    QEventLoop loop;
    QTimer idle;
    idle.setSingleShot(true);
    bool timedOut = false, any = false;
    QByteArray partial;
    QObject::connect(r, &QNetworkReply::readyRead, [&] {
        idle.start(kIdleMs);
        if (client::httpStatus(r) != 200)
            return; // an error: its body is described at the end
        const QByteArray chunk = r->readAll();
        any = any || !chunk.isEmpty();
        if (format == Output::Json) {
            out(chunk); // as the agent sends it
        } else {
            partial += chunk;
            const qsizetype nl = partial.lastIndexOf('\n');
            if (nl < 0)
                return;
            QByteArray text;
            for (const QByteArray& line : partial.first(nl).split('\n'))
                if (!line.isEmpty())
                    text += formatEntry(line, format);
            partial.remove(0, nl + 1);
            out(text);
        }
        std::fflush(stdout);
    });
    QObject::connect(&idle, &QTimer::timeout, [&] {
        timedOut = true;
        r->abort();
    });
    QObject::connect(r, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    idle.start(kIdleMs);
    loop.exec();
    const QString why = timedOut
                            ? QStringLiteral("no data from %1 for %2 s; gave up")
                                  .arg(r->url().toString(QUrl::RemoveQuery | QUrl::RemoveUserInfo))
                                  .arg(kIdleMs / 1000)
                            : client::describeFailure(r);
    r->deleteLater();
    if (!why.isEmpty()) {
        err(why + (any ? QStringLiteral(" (the lines above are incomplete)") : QString()));
        return kError;
    }
    if (!any)
        std::cerr << "day2: no entries\n";
    return kOk;
}

// A range (or, with --follow, a stream) of `agent`'s logs ("logs/v1/range/" + `taskSuffix`).
int printLogs(Session& s, const Agent& agent, const QString& taskSuffix, const QUrlQuery& q,
              bool follow, Output format) {
    if (!follow) {
        if (q.queryItemValue("limit") == "0")
            return kOk; // -n 0
        return printRange(s, agent.path(QStringLiteral("logs/v1/range/") + taskSuffix), q, format);
    }
    LogFollower::Options fo;
    fo.path = agent.path(QStringLiteral("logs/v1/stream/") + taskSuffix);
    fo.query = q;
    LogFollower follower(s.endpoint(), fo);
    int exitCode = kOk;
    QObject::connect(&follower, &LogFollower::events, [&](const QList<QByteArray>& entries) {
        QByteArray text;
        for (const auto& e : entries)
            text += formatEntry(e, format);
        out(text);
        std::fflush(stdout);
    });
    QObject::connect(&follower, &LogFollower::connected,
                     [&](LogFollower::Resume how, qint64 missing) {
                         if (how == LogFollower::Resume::Exact)
                             err(QStringLiteral("reconnected; nothing missed"));
                         else if (how == LogFollower::Resume::Gap)
                             err(missing >= 0 ? QStringLiteral("reconnected; up to %1 entries "
                                                               "may be missing (the journal "
                                                               "rotated them away)")
                                                    .arg(missing)
                                              : QStringLiteral("reconnected; entries may be "
                                                               "missing (the journal rotated "
                                                               "them away)"));
                         else if (how == LogFollower::Resume::Unknown)
                             err(QStringLiteral("reconnected; the agent did not say whether "
                                                "entries were missed"));
                     });
    QObject::connect(&follower, &LogFollower::disconnected, [&](const QString& why, int ms) {
        err(QStringLiteral("%1; reconnecting in %2 s").arg(why).arg(ms / 1000.0, 0, 'f', 1));
    });
    QObject::connect(&follower, &LogFollower::failed, [&](const QString& why) {
        err(why);
        exitCode = kError;
        QCoreApplication::quit();
    });
    QObject::connect(&follower, &LogFollower::ended, [] { QCoreApplication::quit(); });
    QMetaObject::invokeMethod(&follower, &LogFollower::start, Qt::QueuedConnection);
    QCoreApplication::exec();
    return exitCode;
}

// Opens `s`; the container `what` names, and its agent.
std::optional<std::pair<Agent, ContainerRef>> resolve(Session& s, const Connection& c,
                                                      const QString& what, int& exitCode) {
    auto agents = s.openWithAgents(c, exitCode);
    if (!agents)
        return std::nullopt;
    exitCode = kError;
    bool complete = true;
    const auto all = s.containers(*agents, complete);
    auto r = client::resolveTask(all, what);
    if (!r.match) {
        err(r.error + (complete ? QString() : QStringLiteral(" (not every agent answered)")));
        for (const auto& cand : r.candidates)
            std::cerr << "  " << cand.containerId.toStdString() << "  "
                      << cand.applicationName.toStdString() << "  " << cand.state.toStdString()
                      << "  " << cand.hostname.toStdString() << "\n";
        return std::nullopt;
    }
    const Agent* a = findAgent(*agents, r.match->agentId);
    if (!a) {
        err(QStringLiteral("container %1 names agent %2, which is not in the inventory")
                .arg(r.match->containerId, r.match->agentId));
        return std::nullopt;
    }
    exitCode = kOk;
    return std::make_pair(*a, *r.match);
}

// Opens a session, finds the container `task` names and runs `command(session, agent,
// container)`; its exit code, or the lookup's when the task is not found.
template <typename Command>
int withTask(const Connection& c, const std::string& task, Command command) {
    Session s;
    int exitCode = kOk;
    auto found = resolve(s, c, QString::fromStdString(task), exitCode);
    if (!found)
        return exitCode;
    return command(s, found->first, found->second);
}

std::optional<std::pair<QString, QString>> keyValue(const std::string& kv) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
        return std::nullopt;
    return std::make_pair(QString::fromStdString(kv.substr(0, eq)),
                          QString::fromStdString(kv.substr(eq + 1)));
}

} // namespace

// --- the commands ----------------------------------------------------------------------------

int clusterAgents(const Connection& c, const std::string& output) {
    if (!tableOrJson(output))
        return kUsage;
    Session s;
    int exitCode = kOk;
    auto agents = s.openWithAgents(c, exitCode);
    if (!agents)
        return exitCode;
    QList<QStringList> rows{{"AGENT", "HOSTNAME", "ADDRESS", "STATUS", "VERSION"}};
    int unreachable = 0;
    QJsonArray json;
    for (const auto& a : *agents) {
        auto h = s.api().call("GET", a.path(QStringLiteral("health")), {}, {}, "application/json",
                              10000);
        const QJsonObject o = QJsonDocument::fromJson(h.body).object();
        QString status = h.ok() ? QStringLiteral("ok") : QStringLiteral("unreachable");
        if (h.ok() && o.value("journal").toString() != QLatin1String("ok"))
            status = QStringLiteral("journal: ") + o.value("journal").toString();
        rows.append({a.id, a.hostname, a.address, status, o.value("version").toString()});
        json.append(QJsonObject{{"agent_id", a.id},
                                {"hostname", a.hostname},
                                {"address", a.address},
                                {"status", status},
                                {"error", h.ok() ? QJsonValue() : QJsonValue(h.error)},
                                {"health", h.ok() ? QJsonValue(o) : QJsonValue()}});
        if (!h.ok()) {
            err(QStringLiteral("agent %1: %2").arg(a.id, h.error));
            ++unreachable;
        }
    }
    if (output == "json")
        out(QJsonDocument(json).toJson(QJsonDocument::Indented));
    else
        printTable(rows);
    return unreachable == 0 ? kOk : kError;
}

int nodeLog(const Connection& c, const std::string& agentArg, const LogOptions& o) {
    auto format = parseOutput(o.output, Output::Short);
    auto query = logQuery(o);
    if (!format || !query)
        return kUsage;
    Session s;
    int exitCode = kOk;
    auto agents = s.openWithAgents(c, exitCode);
    if (!agents)
        return exitCode;
    const Agent* agent = chooseAgent(
        *agents, agentArg, QStringLiteral("name one (day2 node log <agent-id>)"), exitCode);
    if (!agent)
        return exitCode;
    return printLogs(s, *agent, {}, *query, o.follow, *format);
}

int taskList(const Connection& c, bool all, const std::string& output) {
    if (!tableOrJson(output))
        return kUsage;
    Session s;
    int exitCode = kOk;
    auto agents = s.openWithAgents(c, exitCode);
    if (!agents)
        return exitCode;
    bool complete = true;
    QList<QJsonObject> raw;
    const auto containers = s.containers(*agents, complete, &raw);
    QList<QStringList> rows{{"CONTAINER", "APPLICATION", "FRAMEWORK", "STATE", "AGENT", "AGE"}};
    QJsonArray json;
    for (qsizetype i = 0; i < containers.size(); ++i) {
        const auto& ct = containers[i];
        if (!all && !ct.running())
            continue;
        json.append(raw[i]);
        QString state = ct.state;
        if (raw[i].value("stopping").toBool())
            state += QStringLiteral(" (stopping)");
        if (!raw[i].value("exit_code").isNull() && !ct.running())
            state += QStringLiteral(" (%1)").arg(raw[i].value("exit_code").toInt());
        rows.append({ct.containerId.left(12), ct.applicationName,
                     raw[i].value("framework_name").toString(), state,
                     ct.hostname.isEmpty() ? ct.agentId : ct.hostname,
                     age(raw[i].value("started_at").toString())});
    }
    if (output == "json")
        out(QJsonDocument(json).toJson(QJsonDocument::Indented));
    else if (rows.size() == 1)
        std::cerr << (all ? "no containers\n"
                          : "no running containers (--all shows finished ones)\n");
    else
        printTable(rows);
    return complete ? kOk : kError;
}

int taskRun(const Connection& c, const TaskRunOptions& o) {
    QByteArray body;
    const bool flags = !o.app.empty() || !o.shell.empty() || !o.command.empty() || !o.env.empty() ||
                       !o.labels.empty() || o.cpus > 0 || o.memMb > 0 || o.pids > 0 ||
                       !o.user.empty();
    if (!o.file.empty()) {
        if (flags) {
            err(QStringLiteral("--file is the whole request: give it alone (with --agent), or "
                               "--app and a command with the other flags"));
            return kUsage;
        }
        QFile f(QString::fromStdString(o.file));
        if (!f.open(QIODevice::ReadOnly)) {
            err(QStringLiteral("cannot read %1: %2").arg(f.fileName(), f.errorString()));
            return kError;
        }
        body = f.readAll();
        QJsonParseError pe;
        if (!QJsonDocument::fromJson(body, &pe).isObject()) {
            err(QStringLiteral("%1 is not a JSON object: %2").arg(f.fileName(), pe.errorString()));
            return kUsage;
        }
    } else {
        if (o.app.empty() || (o.shell.empty() == o.command.empty())) {
            err(QStringLiteral("give --app NAME and either --shell 'CMD' or -- ARGV... "
                               "(or --file request.json)"));
            return kUsage;
        }
        QJsonObject r{{"framework_id", QString::fromStdString(o.frameworkId)},
                      {"framework_name", QString::fromStdString(o.frameworkName)},
                      {"application_name", QString::fromStdString(o.app)}};
        if (!o.shell.empty()) {
            r.insert("shell", QString::fromStdString(o.shell));
        } else {
            QJsonArray argv;
            for (const auto& a : o.command)
                argv.append(QString::fromStdString(a));
            r.insert("command", argv);
        }
        for (const auto& [list, key] :
             {std::make_pair(&o.env, "env"), std::make_pair(&o.labels, "labels")}) {
            QJsonObject m;
            for (const auto& kv : *list) {
                auto p = keyValue(kv);
                if (!p) {
                    err(QStringLiteral("--%1 takes KEY=VALUE, not '%2'")
                            .arg(QString::fromLatin1(key == std::string("env") ? "env" : "label"),
                                 QString::fromStdString(kv)));
                    return kUsage;
                }
                m.insert(p->first, p->second);
            }
            if (!m.isEmpty())
                r.insert(QString::fromLatin1(key), m);
        }
        QJsonObject res;
        if (o.cpus > 0)
            res.insert("cpus", o.cpus);
        if (o.memMb > 0)
            res.insert("mem_mb", static_cast<qint64>(o.memMb));
        if (o.pids > 0)
            res.insert("pids", static_cast<qint64>(o.pids));
        if (!res.isEmpty())
            r.insert("resources", res);
        if (!o.user.empty())
            r.insert("user", QString::fromStdString(o.user));
        body = QJsonDocument(r).toJson(QJsonDocument::Compact);
    }
    Session s;
    int exitCode = kOk;
    auto agents = s.openWithAgents(c, exitCode);
    if (!agents)
        return exitCode;
    const Agent* agent =
        chooseAgent(*agents, o.agent, QStringLiteral("choose one with --agent"), exitCode);
    if (!agent)
        return exitCode;
    auto r = s.api().call("POST", agent->path(QStringLiteral("tasks/v1/")), {}, body);
    if (!r.ok()) {
        err(r.error);
        return kError;
    }
    const QJsonObject ct = QJsonDocument::fromJson(r.body).object();
    out((ct.value("container_id").toString() + QLatin1Char('\n')).toUtf8());
    std::cerr << "day2: started " << ct.value("application_name").toString().toStdString() << " on "
              << agent->hostname.toStdString() << " (agent " << agent->id.toStdString() << ")\n";
    return kOk;
}

int taskKill(const Connection& c, const std::string& task) {
    return withTask(c, task, [](Session& s, const Agent& target, const ContainerRef& ct) {
        auto r = s.api().call("DELETE", target.path(QStringLiteral("tasks/v1/") + ct.containerId));
        if (!r.ok()) {
            err(r.error);
            return kError;
        }
        std::cerr << "day2: stopping " << ct.containerId.toStdString() << " ("
                  << ct.applicationName.toStdString() << ") on " << ct.hostname.toStdString()
                  << ": SIGTERM, then SIGKILL after the grace period\n";
        return kOk;
    });
}

int taskLog(const Connection& c, const std::string& task, const LogOptions& o) {
    auto format = parseOutput(o.output, Output::Cat);
    if (!format)
        return kUsage;
    if (!o.stream.empty() && o.stream != "stdout" && o.stream != "stderr") {
        err(QStringLiteral("the stream is stdout or stderr, not '%1'")
                .arg(QString::fromStdString(o.stream)));
        return kUsage;
    }
    LogOptions withStream = o;
    if (!o.stream.empty())
        withStream.filters.push_back(o.stream == "stdout" ? "STREAM:STDOUT" : "STREAM:STDERR");
    auto query = logQuery(withStream);
    if (!query)
        return kUsage;
    return withTask(c, task, [&](Session& s, const Agent& agent, const ContainerRef& ct) {
        return printLogs(s, agent, ct.logPathSuffix(), *query, o.follow, *format);
    });
}

int taskMetrics(const Connection& c, const std::string& task, const std::string& output) {
    if (!tableOrJson(output))
        return kUsage;
    return withTask(c, task, [&](Session& s, const Agent& agent, const ContainerRef& ct) {
        const QString base = QStringLiteral("metrics/v0/containers/") + ct.containerId;
        QList<QStringList> rows{{"METRIC", "VALUE", "TAGS", "FROM"}};
        QJsonObject json;
        int failed = 0;
        for (const auto& [suffix, from] :
             {std::pair{QString(), QStringLiteral("cgroup")},
              std::pair{QStringLiteral("/app"), QStringLiteral("statsd")}}) {
            auto r =
                s.api().call("GET", agent.path(base + suffix), {}, {}, "application/json", 10000);
            if (!r.ok()) {
                err(r.error);
                ++failed;
                continue;
            }
            const QJsonObject message = QJsonDocument::fromJson(r.body).object();
            json.insert(from == QLatin1String("cgroup") ? "resources" : "statsd", message);
            for (const auto& v : message.value("datapoints").toArray()) {
                const QJsonObject p = v.toObject();
                QStringList tags;
                const QJsonObject t = p.value("tags").toObject();
                for (auto it = t.begin(); it != t.end(); ++it)
                    tags.append(it.key() + QLatin1Char(':') + it.value().toString());
                const QString value = p.value("value").isNull()
                                          ? QStringLiteral("-")
                                          : client::humanValue(p.value("value").toDouble(),
                                                               p.value("unit").toString());
                rows.append({p.value("name").toString(), value, tags.join(QLatin1Char(',')), from});
            }
        }
        if (output == "json")
            out(QJsonDocument(json).toJson(QJsonDocument::Indented));
        else if (rows.size() == 1)
            std::cerr << "no metrics collected yet for " << ct.containerId.toStdString() << "\n";
        else
            printTable(rows);
        return failed == 0 ? kOk : kError;
    });
}

int taskExec(const Connection& c, const std::string& task, const ExecOptions& o) {
#ifdef DAY2_CLIENT_WITH_EXEC
    if (o.command.empty()) {
        err(QStringLiteral("give the command after the task: day2 task exec %1 -- CMD [ARGS...]")
                .arg(QString::fromStdString(task)));
        return kUsage;
    }
    return withTask(c, task, [&](Session& s, const Agent& agent, const ContainerRef& ct) {
        if (!ct.running()) {
            err(QStringLiteral("%1 (%2) is %3, not running")
                    .arg(ct.containerId, ct.applicationName, ct.state));
            return kError;
        }
        return runExec(s.endpoint(),
                       agent.path(QStringLiteral("exec/v1/containers/") + ct.containerId),
                       QString::fromStdString(task), o);
    });
#else
    (void)c;
    (void)task;
    (void)o;
    err(QStringLiteral("this day2 was built without Qt WebSockets: no exec"));
    return kError;
#endif
}

} // namespace day2::cli
