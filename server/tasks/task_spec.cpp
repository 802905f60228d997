#include "tasks/task_spec.h"

#include "base/text.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace day2::tasks {

using nlohmann::json;

namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxArgs = 4096;
constexpr size_t kMaxCommandBytes = 128 * 1024;
constexpr size_t kMaxEnv = 1024;
constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxValueBytes = 32 * 1024;
constexpr uint64_t kMinMemMb = 4;
constexpr double kMinCpus = 0.01;

Error bad(std::string message) {
    return Error{std::move(message), 400};
}

bool idChar(char c, bool slash) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || (slash && c == '/');
}

} // namespace

Result<void> checkTaskId(const std::string& value, std::string_view field, bool slash) {
    if (value.empty())
        return bad(std::string(field) + " must not be empty");
    if (value.size() > kMaxIdLength)
        return bad(std::string(field) + " is longer than " + std::to_string(kMaxIdLength) +
                   " characters");
    for (char c : value)
        if (!idChar(c, slash))
            return bad(std::string(field) + " may hold only letters, digits, '.', '_', '-'" +
                       (slash ? ", '/'" : "") + " (got '" + value.substr(0, 64) + "')");
    if (value == "." || value == "..")
        return bad(std::string(field) + " must not be '" + value + "'");
    return {};
}

namespace {

bool hasControl(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f)
            return true;
    return false;
}

Result<std::string> stringField(const json& obj, const char* key, bool required) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        if (required)
            return bad(std::string("missing required field '") + key + "'");
        return std::string();
    }
    if (!it->is_string())
        return bad(std::string("'") + key + "' must be a string (got " + it->type_name() + ")");
    return it->get<std::string>();
}

Result<StringPairs> stringMap(const json& obj, const char* key, size_t maxEntries) {
    StringPairs out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null())
        return out;
    if (!it->is_object())
        return bad(std::string("'") + key + "' must be an object of strings (got " +
                   it->type_name() + ")");
    if (it->size() > maxEntries)
        return bad(std::string("'") + key + "' has " + std::to_string(it->size()) +
                   " entries; at most " + std::to_string(maxEntries) + " are allowed");
    for (const auto& [k, v] : it->items()) {
        if (!v.is_string())
            return bad(std::string(key) + "." + k + " must be a string (got " + v.type_name() +
                       ")");
        std::string value = v.get<std::string>();
        if (value.find('\0') != std::string::npos)
            return bad(std::string(key) + "." + k + " contains a NUL byte");
        if (value.size() > kMaxValueBytes)
            return bad(std::string(key) + "." + k + " is longer than " +
                       std::to_string(kMaxValueBytes) + " bytes");
        out.emplace_back(k, std::move(value));
    }
    return out;
}

// A JSON number that is a whole, positive quantity.
Result<uint64_t> positiveInteger(const json& v, const std::string& field, uint64_t min,
                                 uint64_t max, std::string_view maxWhy) {
    if (!v.is_number())
        return bad(field + " must be a number (got " + v.type_name() + ")");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d <= 0)
        return bad(field + " must be positive (got " + v.dump() + ")");
    if (std::floor(d) != d)
        return bad(field + " must be a whole number (got " + v.dump() + ")");
    if (d < static_cast<double>(min))
        return bad(field + " must be at least " + std::to_string(min) + " (got " + v.dump() + ")");
    if (d > static_cast<double>(max))
        return bad(field + " " + v.dump() + " exceeds " + std::string(maxWhy) + " (" +
                   std::to_string(max) + ")");
    return static_cast<uint64_t>(d);
}

std::string cleanParseError(const std::string& what) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
    const auto p = what.find("] ");
    return p == std::string::npos ? what : what.substr(p + 2);
}

} // namespace

HostCapacity HostCapacity::probe() {
    HostCapacity h;
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 0)
        h.cpus = static_cast<double>(cpus);
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && pageSize > 0)
        h.memMb = static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize) / (1024 * 1024);
    if (auto t = readWholeFile("/proc/sys/kernel/pid_max")) {
        while (!t->empty() && (t->back() == '\n' || t->back() == ' '))
            t->pop_back();
        if (auto v = text::parseUnsigned(*t))
            h.pidMax = *v;
    }
    return h;
}

bool isValidEnvName(std::string_view name) {
    if (name.empty() || name.size() > 256)
        return false;
    if (name[0] >= '0' && name[0] <= '9')
        return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

bool isReservedEnvName(std::string_view name) {
    return name.rfind("DAY2_", 0) == 0 || name == "STATSD_UDP_HOST" || name == "STATSD_UDP_PORT";
}

bool isValidContainerId(std::string_view id) {
    if (id.size() != 36)
        return false;
    for (size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::string newContainerId() {
    unsigned char b[16];
    bool filled = false;
    if (int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC); fd >= 0) {
        filled = ::read(fd, b, sizeof b) == static_cast<ssize_t>(sizeof b);
        ::close(fd);
    }
    if (!filled) {
        std::random_device rd;
        for (auto& x : b)
            x = static_cast<unsigned char>(rd());
    }
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                  b[14], b[15]);
    return out;
}

Result<TaskRequest> parseTaskRequest(std::string_view body, const HostCapacity& host) {
    json doc;
    try {
        doc = json::parse(body);
    } catch (const json::exception& e) {
        // parse_error, and out_of_range for numbers like 1e400
        return bad("the body is not valid JSON: " + cleanParseError(e.what()));
    }
    if (!doc.is_object())
        return bad(std::string("the body must be a JSON object (got ") + doc.type_name() + ")");
    static const std::set<std::string> kKnown = {"framework_id", "framework_name",
                                                 "executor_id",  "application_name",
                                                 "command",      "shell",
                                                 "env",          "labels",
                                                 "resources",    "user"};
    for (const auto& [k, v] : doc.items())
        if (!kKnown.count(k))
            return bad("unknown field '" + k.substr(0, 64) +
                       "' (known: framework_id, framework_name, executor_id, application_name, "
                       "command, shell, env, labels, resources, user)");
    TaskRequest t;
    auto get = [&](const char* key, bool required, std::string& into) -> Result<void> {
        auto v = stringField(doc, key, required);
        if (!v)
            return v.error();
        into = std::move(*v);
        return {};
    };
    if (auto r = get("framework_id", true, t.frameworkId); !r)
        return r.error();
    if (auto r = checkTaskId(t.frameworkId, "framework_id", false); !r)
        return r.error();
    if (auto r = get("framework_name", true, t.frameworkName); !r)
        return r.error();
    if (t.frameworkName.empty() || t.frameworkName.size() > kMaxNameLength ||
        hasControl(t.frameworkName))
        return bad("framework_name must be 1 to 256 printable characters");
    if (auto r = get("executor_id", false, t.executorId); !r)
        return r.error();
    if (!t.executorId.empty())
        if (auto r = checkTaskId(t.executorId, "executor_id", false); !r)
            return r.error();
    if (auto r = get("application_name", true, t.applicationName); !r)
        return r.error();
    if (auto r = checkTaskId(t.applicationName, "application_name", true); !r)
        return r.error();

    const bool hasCommand = doc.contains("command") && !doc["command"].is_null();
    const bool hasShell = doc.contains("shell") && !doc["shell"].is_null();
    if (hasCommand == hasShell)
        return bad(hasCommand ? "give either 'command' (an argv array) or 'shell', not both"
                              : "missing 'command' (an argv array) or 'shell' (a string)");
    if (hasCommand) {
        const auto& c = doc["command"];
        if (!c.is_array())
            return bad(std::string("'command' must be an array of strings (got ") + c.type_name() +
                       "); use 'shell' for a command line");
        if (c.empty())
            return bad("'command' must not be empty");
        if (c.size() > kMaxArgs)
            return bad("'command' has more than " + std::to_string(kMaxArgs) + " arguments");
        size_t bytes = 0;
        for (size_t i = 0; i < c.size(); ++i) {
            if (!c[i].is_string())
                return bad("command[" + std::to_string(i) + "] must be a string (got " +
                           c[i].type_name() + ")");
            std::string a = c[i].get<std::string>();
            if (a.find('\0') != std::string::npos)
                return bad("command[" + std::to_string(i) + "] contains a NUL byte");
            bytes += a.size() + 1;
            t.command.push_back(std::move(a));
        }
        if (t.command[0].empty())
            return bad("command[0] (the program) must not be empty");
        if (bytes > kMaxCommandBytes)
            return bad("'command' is longer than " + std::to_string(kMaxCommandBytes) + " bytes");
    } else {
        auto s = stringField(doc, "shell", true);
        if (!s)
            return s.error();
        t.shell = std::move(*s);
        if (t.shell.empty())
            return bad("'shell' must not be empty");
        if (t.shell.find('\0') != std::string::npos)
            return bad("'shell' contains a NUL byte");
        if (t.shell.size() > kMaxCommandBytes)
            return bad("'shell' is longer than " + std::to_string(kMaxCommandBytes) + " bytes");
    }

    auto env = stringMap(doc, "env", kMaxEnv);
    if (!env)
        return env.error();
    for (const auto& [k, v] : *env) {
        if (k.find('=') != std::string::npos)
            return bad("env key '" + k.substr(0, 64) +
                       "' contains '=': names are letters, "
                       "digits and '_'");
        if (!isValidEnvName(k))
            return bad("env key '" + k.substr(0, 64) +
                       "' is not a valid name (letters, digits "
                       "and '_', not starting with a digit, at most 256)");
        if (isReservedEnvName(k))
            return bad("env key '" + k + "' is set by the agent and cannot be given");
    }
    t.env = std::move(*env);

    auto labels = stringMap(doc, "labels", kMaxLabels);
    if (!labels)
        return labels.error();
    for (const auto& [k, v] : *labels) {
        if (auto r = checkTaskId(k, "label key", true); !r)
            return r.error();
        if (hasControl(v))
            return bad("labels." + k + " contains a control character");
    }
    t.labels = std::move(*labels);

    if (auto it = doc.find("resources"); it != doc.end() && !it->is_null()) {
        if (!it->is_object())
            return bad(std::string("'resources' must be an object {cpus, mem_mb, pids} (got ") +
                       it->type_name() + ")");
        for (const auto& [k, v] : it->items()) {
            if (k == "cpus") {
                if (!v.is_number())
                    return bad(std::string("resources.cpus must be a number (got ") +
                               v.type_name() + ")");
                const double d = v.get<double>();
                if (!std::isfinite(d) || d <= 0)
                    return bad("resources.cpus must be positive (got " + v.dump() + ")");
                if (d < kMinCpus)
                    return bad("resources.cpus must be at least 0.01 (got " + v.dump() + ")");
                if (d > host.cpus)
                    return bad("resources.cpus " + v.dump() + " exceeds this node's " +
                               std::to_string(static_cast<long>(host.cpus)) + " CPUs");
                t.cpus = d;
            } else if (k == "mem_mb") {
                auto m = positiveInteger(v, "resources.mem_mb", kMinMemMb, host.memMb,
                                         "this node's memory in MB");
                if (!m)
                    return m.error();
                t.memMb = *m;
            } else if (k == "pids") {
                auto p =
                    positiveInteger(v, "resources.pids", 1, host.pidMax, "this node's pid_max");
                if (!p)
                    return p.error();
                t.pids = *p;
            } else {
                return bad("unknown field 'resources." + k.substr(0, 64) +
                           "' (known: cpus, mem_mb, pids)");
            }
        }
    }

    if (auto r = get("user", false, t.user); !r)
        return r.error();
    if (t.user.size() > 64 || hasControl(t.user) || t.user.find('/') != std::string::npos)
        return bad("'user' is not a valid user name");
    return t;
}

// ---- state files -------------------------------------------------------------------------

namespace {

json pairsToJson(const StringPairs& p) {
    json o = json::object();
    for (const auto& [k, v] : p)
        o[k] = v;
    return o;
}

StringPairs pairsFromJson(const json& o) {
    StringPairs p;
    if (o.is_object())
        for (const auto& [k, v] : o.items())
            p.emplace_back(k, v.get<std::string>());
    return p;
}

json requestToJson(const TaskRequest& t) {
    json j = {{"framework_id", t.frameworkId},
              {"framework_name", t.frameworkName},
              {"executor_id", t.executorId},
              {"application_name", t.applicationName},
              {"env", pairsToJson(t.env)},
              {"labels", pairsToJson(t.labels)},
              {"user", t.user}};
    if (!t.command.empty())
        j["command"] = t.command;
    else
        j["shell"] = t.shell;
    json r = json::object();
    if (t.cpus > 0)
        r["cpus"] = t.cpus;
    if (t.memMb > 0)
        r["mem_mb"] = t.memMb;
    if (t.pids > 0)
        r["pids"] = t.pids;
    j["resources"] = r;
    return j;
}

TaskRequest requestFromJson(const json& j) {
    TaskRequest t;
    t.frameworkId = j.at("framework_id").get<std::string>();
    t.frameworkName = j.at("framework_name").get<std::string>();
    t.executorId = j.value("executor_id", "");
    t.applicationName = j.at("application_name").get<std::string>();
    if (j.contains("command"))
        t.command = j["command"].get<std::vector<std::string>>();
    t.shell = j.value("shell", "");
    t.env = pairsFromJson(j.value("env", json::object()));
    t.labels = pairsFromJson(j.value("labels", json::object()));
    t.user = j.value("user", "");
    const json r = j.value("resources", json::object());
    t.cpus = r.value("cpus", 0.0);
    t.memMb = r.value("mem_mb", uint64_t{0});
    t.pids = r.value("pids", uint64_t{0});
    return t;
}

json cgroupToJson(const CgroupSet& s) {
    json dirs = json::array();
    for (size_t i = 0; i < s.dirs.size(); ++i)
        dirs.push_back({{"path", s.dirs[i]},
                        {"controllers", i < s.controllers.size() ? s.controllers[i] : ""}});
    return {{"version", static_cast<int>(s.version)}, {"dirs", dirs}};
}

CgroupSet cgroupFromJson(const json& j) {
    CgroupSet s;
    s.version = j.at("version").get<int>() == 2 ? CgroupVersion::V2 : CgroupVersion::V1;
    for (const auto& d : j.at("dirs")) {
        s.dirs.push_back(d.at("path").get<std::string>());
        s.controllers.push_back(d.value("controllers", ""));
    }
    return s;
}

std::string rfc3339(uint64_t usec) {
    std::string s;
    text::appendRfc3339Micros(s, usec);
    return s;
}

} // namespace

namespace {

json logScopesToJson(const LogScopes& scopes) {
    if (scopes.empty())
        return nullptr;
    json a = json::array();
    for (const auto& sc : scopes.streams)
        a.push_back({{"unit", sc.unit}, {"cgroup", sc.cgroupDir}, {"fields_file", sc.fieldsFile}});
    return a;
}

// Removing a container's log scopes kills what is in them: the paths read back must be the
// ones made for this container, whatever the file says.
LogScopes logScopesFromJson(const json& j, const std::string& containerId) {
    LogScopes scopes;
    if (j.is_null())
        return scopes;
    if (!j.is_array() || j.size() != 2)
        throw std::invalid_argument("log_scopes must be null or a list of two");
    auto endsWith = [](const std::string& s, const std::string& tail) {
        return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (size_t i = 0; i < 2; ++i) {
        auto& sc = scopes.streams[i];
        sc.unit = j[i].at("unit").get<std::string>();
        sc.cgroupDir = j[i].at("cgroup").get<std::string>();
        sc.fieldsFile = j[i].at("fields_file").get<std::string>();
        const std::string unit = "day2-" + containerId + (i ? "-stderr.scope" : "-stdout.scope");
        const auto slash = sc.cgroupDir.rfind('/');
        const std::string parent = slash == std::string::npos ? "" : sc.cgroupDir.substr(0, slash);
        const std::string slice = parent.substr(parent.rfind('/') + 1);
        if (sc.unit != unit || !endsWith(sc.cgroupDir, "/" + unit) ||
            !endsWith(sc.fieldsFile, "/log-extra-fields:" + unit) || slice.rfind("day2", 0) != 0 ||
            !endsWith(slice, ".slice") || sc.cgroupDir.find("/../") != std::string::npos ||
            sc.fieldsFile.find("/../") != std::string::npos)
            throw std::invalid_argument("log_scopes are not this container's");
    }
    return scopes;
}

} // namespace

std::optional<int> stateFormatOf(std::string_view text) {
    const json j = json::parse(text, nullptr, false);
    if (!j.is_object())
        return std::nullopt;
    if (!j.contains("format"))
        return 1;
    const json& f = j["format"];
    if (!f.is_number_integer() || f.get<int64_t>() < 1 || f.get<int64_t>() > 1000000)
        return std::nullopt;
    return static_cast<int>(f.get<int64_t>());
}

std::string toJson(const ContainerSpec& s) {
    json j = {{"format", kStateFormat},
              {"container_id", s.containerId},
              {"agent_id", s.agentId},
              {"request", requestToJson(s.request)},
              {"argv", s.argv},
              {"env", s.env},
              {"uid", s.uid},
              {"gid", s.gid},
              {"groups", s.groups},
              {"workdir", s.workdir},
              {"hostname", s.hostname},
              {"cgroup", cgroupToJson(s.cgroup)},
              {"kill_grace_seconds", s.killGraceSeconds},
              {"journal_socket", s.journalSocket},
              {"log_scopes", logScopesToJson(s.logScopes)},
              {"statsd_host", s.statsdHost},
              {"statsd_port", s.statsdPort},
              {"created_at_usec", s.createdAtUsec}};
    return j.dump(2) + "\n";
}

Result<ContainerSpec> containerSpecFromJson(std::string_view text) {
    try {
        const json j = json::parse(text);
        ContainerSpec s;
        s.containerId = j.at("container_id").get<std::string>();
        s.agentId = j.at("agent_id").get<std::string>();
        s.request = requestFromJson(j.at("request"));
        s.argv = j.at("argv").get<std::vector<std::string>>();
        s.env = j.at("env").get<std::vector<std::string>>();
        s.uid = j.at("uid").get<uid_t>();
        s.gid = j.at("gid").get<gid_t>();
        s.groups = j.at("groups").get<std::vector<gid_t>>();
        s.workdir = j.at("workdir").get<std::string>();
        s.hostname = j.at("hostname").get<std::string>();
        s.cgroup = cgroupFromJson(j.at("cgroup"));
        s.killGraceSeconds = j.at("kill_grace_seconds").get<unsigned>();
        s.journalSocket = j.at("journal_socket").get<std::string>();
        s.statsdHost = j.value("statsd_host", "");
        s.statsdPort = j.value("statsd_port", uint16_t{0});
        s.createdAtUsec = j.value("created_at_usec", uint64_t{0});
        if (!isValidContainerId(s.containerId) || s.argv.empty())
            return Error{"container spec names no valid container id or command"};
        s.logScopes = logScopesFromJson(j.value("log_scopes", json()), s.containerId);
        return s;
    } catch (const json::exception& e) {
        return Error{std::string("container spec is unreadable: ") + cleanParseError(e.what())};
    } catch (const std::invalid_argument& e) {
        return Error{std::string("container spec is unreadable: ") + e.what()};
    }
}

std::string_view toString(ContainerState state) {
    switch (state) {
    case ContainerState::Running:
        return "running";
    case ContainerState::Exited:
        return "exited";
    case ContainerState::Killed:
        return "killed";
    case ContainerState::Failed:
        return "failed";
    }
    return "failed";
}

std::string toJson(const ContainerStatus& s) {
    json j = {{"format", kStateFormat},
              {"state", toString(s.state)},
              {"supervisor_pid", s.supervisorPid},
              {"supervisor_start_ticks", s.supervisorStartTicks},
              {"pid", s.pid},
              {"started_at_usec", s.startedAtUsec},
              {"ended_at_usec", s.endedAtUsec},
              {"reason", s.reason},
              {"oom_kills", s.oomKills}};
    if (s.exitCode)
        j["exit_code"] = *s.exitCode;
    if (s.signal)
        j["signal"] = *s.signal;
    return j.dump() + "\n";
}

Result<ContainerStatus> containerStatusFromJson(std::string_view text) {
    try {
        const json j = json::parse(text);
        ContainerStatus s;
        const std::string state = j.at("state").get<std::string>();
        if (state == "running")
            s.state = ContainerState::Running;
        else if (state == "exited")
            s.state = ContainerState::Exited;
        else if (state == "killed")
            s.state = ContainerState::Killed;
        else if (state == "failed")
            s.state = ContainerState::Failed;
        else
            return Error{"container status has an unknown state '" + state + "'"};
        s.supervisorPid = j.value("supervisor_pid", pid_t{0});
        s.supervisorStartTicks = j.value("supervisor_start_ticks", uint64_t{0});
        s.pid = j.value("pid", pid_t{0});
        s.startedAtUsec = j.value("started_at_usec", uint64_t{0});
        s.endedAtUsec = j.value("ended_at_usec", uint64_t{0});
        s.reason = j.value("reason", "");
        s.oomKills = j.value("oom_kills", uint64_t{0});
        if (j.contains("exit_code"))
            s.exitCode = j["exit_code"].get<int>();
        if (j.contains("signal"))
            s.signal = j["signal"].get<int>();
        return s;
    } catch (const json::exception& e) {
        return Error{std::string("container status is unreadable: ") + cleanParseError(e.what())};
    }
}

std::string containerJson(const ContainerSpec& spec, const ContainerStatus& st, bool stopping) {
    const TaskRequest& t = spec.request;
    json j = {{"container_id", spec.containerId},
              {"agent_id", spec.agentId},
              {"framework_id", t.frameworkId},
              {"framework_name", t.frameworkName},
              {"executor_id", spec.executorId()},
              {"application_name", t.applicationName},
              {"state", toString(st.state)},
              {"stopping", stopping && !st.finished()},
              {"pid", st.pid > 0 && !st.finished() ? json(st.pid) : json(nullptr)},
              {"exit_code", st.exitCode ? json(*st.exitCode) : json(nullptr)},
              {"signal", st.signal ? json(*st.signal) : json(nullptr)},
              {"reason", st.reason.empty() ? json(nullptr) : json(st.reason)},
              {"created_at", rfc3339(spec.createdAtUsec)},
              {"started_at", st.startedAtUsec ? json(rfc3339(st.startedAtUsec)) : json(nullptr)},
              {"ended_at", st.endedAtUsec ? json(rfc3339(st.endedAtUsec)) : json(nullptr)},
              {"hostname", spec.hostname},
              {"user", t.user.empty() ? json(nullptr) : json(t.user)},
              {"labels", pairsToJson(t.labels)},
              {"resources", requestToJson(t)["resources"]},
              {"cgroup", cgroupToJson(spec.cgroup)},
              {"statsd", spec.statsdHost.empty()
                             ? json(nullptr)
                             : json{{"host", spec.statsdHost}, {"port", spec.statsdPort}}}};
    if (!t.command.empty())
        j["command"] = t.command;
    else
        j["shell"] = t.shell;
    return j.dump();
}

Result<void> writeFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return Error{"cannot write " + tmp + ": " + std::strerror(errno)};
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error{"cannot write " + tmp + ": " + std::strerror(e)};
        }
        done += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return Error{"cannot rename " + tmp + " to " + path + ": " + std::strerror(e)};
    }
    return {};
}

std::optional<std::string> readWholeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

uint64_t nowMicros() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

uint64_t processStartTicks(pid_t pid) {
    auto stat = readWholeFile("/proc/" + std::to_string(pid) + "/stat");
    if (!stat)
        return 0;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const auto close = stat->rfind(')');
    if (close == std::string::npos)
        return 0;
    std::istringstream in(stat->substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22; ++i) {
        if (!(in >> field))
            return 0;
        if (i == 22)
            return text::parseUnsigned(field).value_or(0);
    }
    return 0;
}

} // namespace day2::tasks
