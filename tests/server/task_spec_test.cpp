// Validation of launch requests (a table of bodies that must parse and must not), and the state
// files that carry a container across an agent restart.
#include "tasks/task_spec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

using namespace day2::tasks;
using nlohmann::json;

namespace {

const HostCapacity kHost{4, 8192, 32768};

std::string body(const std::string& extra) {
    return R"({"framework_id":"fw-1","framework_name":"Marathon","application_name":"/prod/web")" +
           extra + "}";
}

} // namespace

TEST(TaskRequest, MustParse) {
    auto t = parseTaskRequest(body(R"(,"command":["nginx","-g","daemon off;"],
        "executor_id":"ex.1","env":{"A":"1","_B2":"x=y"},"labels":{"team":"web"},
        "resources":{"cpus":0.25,"mem_mb":128,"pids":50},"user":"nobody")"),
                              kHost);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->frameworkId, "fw-1");
    EXPECT_EQ(t->frameworkName, "Marathon");
    EXPECT_EQ(t->applicationName, "/prod/web");
    EXPECT_EQ(t->executorId, "ex.1");
    EXPECT_EQ(t->command, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
    EXPECT_EQ(t->env, (StringPairs{{"A", "1"}, {"_B2", "x=y"}}));
    EXPECT_EQ(t->labels, (StringPairs{{"team", "web"}}));
    EXPECT_DOUBLE_EQ(t->cpus, 0.25);
    EXPECT_EQ(t->memMb, 128u);
    EXPECT_EQ(t->pids, 50u);
    EXPECT_EQ(t->user, "nobody");

    for (const char* ok : {R"(,"shell":"echo hi")", R"(,"shell":"x","env":null,"labels":{})",
                           R"(,"command":["true"],"resources":{})",
                           R"(,"command":["true"],"resources":{"mem_mb":8192,"cpus":4})",
                           R"(,"shell":"é ünïcödé")"}) {
        auto r = parseTaskRequest(body(ok), kHost);
        EXPECT_TRUE(r) << ok << ": " << r.error().message;
    }
}

TEST(TaskRequest, MustNotParse) {
    struct Case {
        std::string body;
        std::string detail;
    } cases[] = {
        {"", "not valid JSON"},
        {"{", "not valid JSON"},
        {"null", "must be a JSON object"},
        {"\"x\"", "must be a JSON object"},
        {"{\"framework_id\":\"a\xff\"}", "not valid JSON"}, // invalid UTF-8
        {body(R"(,"shell":"x","resources":{"mem_mb":1e400})"),
         "number overflow"}, // found by fuzzing
        {body(""), "missing 'command'"},
        {body(R"(,"command":["a"],"shell":"b")"), "not both"},
        {body(R"(,"command":[""])"), "command[0] (the program) must not be empty"},
        {body(R"(,"command":["a",1])"), "command[1] must be a string"},
        {body(R"(,"command":["a\u0000b"])"), "command[0] contains a NUL byte"},
        {body(R"(,"shell":"")"), "'shell' must not be empty"},
        {body(R"(,"shell":5)"), "'shell' must be a string"},
        {R"({"framework_id":"","framework_name":"m","application_name":"a","shell":"x"})",
         "framework_id must not be empty"},
        {R"({"framework_id":"..","framework_name":"m","application_name":"a","shell":"x"})",
         "framework_id must not be '..'"},
        {R"({"framework_id":"f","framework_name":"m\n","application_name":"a","shell":"x"})",
         "framework_name must be 1 to 256 printable"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a b","shell":"x"})",
         "application_name may hold only"},
        {R"({"framework_id":"f","framework_name":"m","application_name":"a","executor_id":"e/1","shell":"x"})",
         "executor_id may hold only"},
        {body(R"(,"shell":"x","env":{"1A":"x"})"), "env key '1A' is not a valid name"},
        {body(R"(,"shell":"x","env":{"A=B":"x"})"), "contains '='"},
        {body(R"(,"shell":"x","env":{"STATSD_UDP_PORT":"1"})"), "is set by the agent"},
        {body(R"(,"shell":"x","env":{"A":"a\u0000"})"), "env.A contains a NUL byte"},
        {body(R"(,"shell":"x","env":["A=1"])"), "'env' must be an object of strings"},
        {body(R"(,"shell":"x","labels":{"k":"v\u0001"})"), "contains a control character"},
        {body(R"(,"shell":"x","resources":[])"), "'resources' must be an object"},
        {body(R"(,"shell":"x","resources":{"cpus":0})"), "resources.cpus must be positive"},
        {body(R"(,"shell":"x","resources":{"cpus":0.001})"), "at least 0.01"},
        {body(R"(,"shell":"x","resources":{"cpus":5})"), "exceeds this node's 4 CPUs"},
        {body(R"(,"shell":"x","resources":{"cpus":true})"), "resources.cpus must be a number"},
        {body(R"(,"shell":"x","resources":{"mem_mb":1.5})"), "must be a whole number"},
        {body(R"(,"shell":"x","resources":{"mem_mb":2})"), "must be at least 4"},
        {body(R"(,"shell":"x","resources":{"mem_mb":8193})"), "exceeds this node's memory"},
        {body(R"(,"shell":"x","resources":{"mem_mb":-1})"), "must be positive"},
        {body(R"(,"shell":"x","resources":{"pids":1e300})"), "exceeds this node's pid_max"},
        {body(R"(,"shell":"x","user":"a/b")"), "'user' is not a valid user name"},
        {body(R"(,"shell":"x","extra":1)"), "unknown field 'extra'"},
    };
    for (const auto& c : cases) {
        auto r = parseTaskRequest(c.body, kHost);
        ASSERT_FALSE(r) << c.body;
        EXPECT_EQ(r.error().status, 400u) << c.body;
        EXPECT_NE(r.error().message.find(c.detail), std::string::npos)
            << c.body << " -> " << r.error().message;
    }
}

TEST(TaskRequest, EnvironmentNames) {
    EXPECT_TRUE(isValidEnvName("PATH"));
    EXPECT_TRUE(isValidEnvName("_x1"));
    EXPECT_FALSE(isValidEnvName(""));
    EXPECT_FALSE(isValidEnvName("9A"));
    EXPECT_FALSE(isValidEnvName("A-B"));
    EXPECT_TRUE(isReservedEnvName("DAY2_ANYTHING"));
    EXPECT_TRUE(isReservedEnvName("STATSD_UDP_HOST"));
    EXPECT_FALSE(isReservedEnvName("STATSD_PREFIX"));
}

TEST(ContainerId, NewIdsAreValidAndDistinct) {
    const std::string a = newContainerId(), b = newContainerId();
    EXPECT_TRUE(isValidContainerId(a)) << a;
    EXPECT_NE(a, b);
    EXPECT_EQ(a[14], '4'); // UUID version 4
    EXPECT_FALSE(isValidContainerId("00000000-0000-4000-8000-00000000000G"));
    EXPECT_FALSE(isValidContainerId("00000000-0000-4000-8000-0000000000000"));
    EXPECT_FALSE(isValidContainerId("00000000_0000-4000-8000-000000000000"));
    EXPECT_FALSE(isValidContainerId("../../../../etc/passwd"));
}

TEST(StateFiles, SpecAndStatusSurviveARoundTrip) {
    ContainerSpec s;
    s.containerId = newContainerId();
    s.agentId = "agent";
    s.request = *parseTaskRequest(body(R"(,"shell":"echo hi","labels":{"a":"b"},
                                  "resources":{"mem_mb":64})"),
                                  kHost);
    s.argv = {"/bin/sh", "-c", "echo hi"};
    s.env = {"A=1", "B=two words"};
    s.uid = 65534;
    s.gid = 65534;
    s.groups = {65534, 100};
    s.workdir = "/var/lib/day2/tasks/x/sandbox";
    s.hostname = s.containerId.substr(0, 12);
    s.cgroup = {CgroupVersion::V1, {"/sys/fs/cgroup/cpu,cpuacct/day2/x"}, {"cpu,cpuacct"}};
    s.killGraceSeconds = 7;
    s.journalSocket = "/run/systemd/journal.ns/socket";
    s.createdAtUsec = 1764000000000000;
    s.logScopes =
        logScopesFor("/sys/fs/cgroup/unified", "/run/systemd/units", "day2.slice", s.containerId);
    auto back = containerSpecFromJson(toJson(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->containerId, s.containerId);
    EXPECT_EQ(back->request.labels, s.request.labels);
    EXPECT_EQ(back->request.memMb, 64u);
    EXPECT_EQ(back->argv, s.argv);
    EXPECT_EQ(back->env, s.env);
    EXPECT_EQ(back->groups, s.groups);
    EXPECT_EQ(back->cgroup.dirFor("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/day2/x");
    EXPECT_EQ(back->cgroup.dirFor("memory"), "");
    EXPECT_EQ(back->killGraceSeconds, 7u);
    EXPECT_EQ(back->executorId(), s.containerId);
    ASSERT_FALSE(back->logScopes.empty());
    EXPECT_EQ(back->logScopes.streams[1].cgroupDir, s.logScopes.streams[1].cgroupDir);
    EXPECT_EQ(back->logScopes.streams[1].fieldsFile, s.logScopes.streams[1].fieldsFile);
    // Scopes that are not this container's are refused: removing them kills what is in them.
    {
        json j = json::parse(toJson(s));
        j["log_scopes"][0]["cgroup"] = "/sys/fs/cgroup/unified";
        EXPECT_FALSE(containerSpecFromJson(j.dump()));
        j = json::parse(toJson(s));
        j["log_scopes"][1]["fields_file"] = "/etc/passwd";
        EXPECT_FALSE(containerSpecFromJson(j.dump()));
        j = json::parse(toJson(s));
        j["log_scopes"][1]["unit"] = "day2-" + newContainerId() + "-stderr.scope";
        EXPECT_FALSE(containerSpecFromJson(j.dump()));
    }
    // Without log scopes (the native transport) the spec says null and reads back empty.
    s.logScopes = {};
    EXPECT_NE(toJson(s).find("\"log_scopes\": null"), std::string::npos);
    EXPECT_TRUE(containerSpecFromJson(toJson(s))->logScopes.empty());

    ContainerStatus st;
    st.state = ContainerState::Failed;
    st.supervisorPid = 42;
    st.supervisorStartTicks = 12345;
    st.signal = 9;
    st.reason = "oom";
    st.oomKills = 1;
    auto sb = containerStatusFromJson(toJson(st));
    ASSERT_TRUE(sb) << sb.error().message;
    EXPECT_EQ(sb->state, ContainerState::Failed);
    EXPECT_EQ(sb->signal, 9);
    EXPECT_FALSE(sb->exitCode);
    EXPECT_EQ(sb->reason, "oom");
    EXPECT_TRUE(sb->finished());

    EXPECT_FALSE(containerSpecFromJson("{}"));
    EXPECT_FALSE(containerSpecFromJson("garbage"));
    EXPECT_FALSE(containerStatusFromJson(R"({"state":"zombie"})"));
}

// Both state files say their format; a file without one is format 1 (the agents before formats
// were written); anything else is no format at all.
TEST(StateFiles, SayTheirFormat) {
    EXPECT_EQ(stateFormatOf(toJson(ContainerStatus{})), kStateFormat);
    ContainerSpec s;
    s.containerId = newContainerId();
    s.argv = {"true"};
    EXPECT_EQ(stateFormatOf(toJson(s)), kStateFormat);
    EXPECT_EQ(stateFormatOf(R"({"state":"running","supervisor_pid":1})"), 1);
    EXPECT_EQ(stateFormatOf(R"({"format":2,"something":"new"})"), 2);
    for (const char* bad :
         {"", "garbage", "[]", "1", R"({"format":"2"})", R"({"format":0})", R"({"format":-1})",
          R"({"format":1.5})", R"({"format":null})", R"({"format":99999999999})"})
        EXPECT_FALSE(stateFormatOf(bad)) << bad;
}

TEST(StateFiles, ProcessStartTicksTellAReusedPidApart) {
    EXPECT_GT(processStartTicks(::getpid()), 0u);
    EXPECT_EQ(processStartTicks(0x7ffffff0), 0u);
}
