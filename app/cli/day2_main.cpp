// day2: the command-line twin of the console. `day2 token issue` mints the JWTs that day2-agent
// verifies (docs/security.md); `cluster`, `node` and `task` talk to a cluster through
// Adminrouter with the console's client library (cli/client_commands.h).
#include "auth/jwt.h"
#include "base/command_line.h"
#include "base/text.h"

#ifdef DAY2_CLI_WITH_CLIENT
#include "cli/client_commands.h"
#endif

#include <CLI/CLI.hpp>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace day2;

namespace {

// "8h", "30m", "90s", "7d", "3600" (seconds); "0" or "never": no expiry.
std::optional<int64_t> parseDuration(const std::string& text) {
    if (text == "never" || text == "0")
        return 0;
    if (text.empty())
        return std::nullopt;
    int64_t unit = 1;
    std::string digits = text;
    switch (text.back()) {
    case 's':
        unit = 1;
        digits.pop_back();
        break;
    case 'm':
        unit = 60;
        digits.pop_back();
        break;
    case 'h':
        unit = 3600;
        digits.pop_back();
        break;
    case 'd':
        unit = 86400;
        digits.pop_back();
        break;
    default:
        break;
    }
    auto n = text::parseUnsigned(digits);
    if (!n || *n == 0 || *n > 3650ull * 86400 / static_cast<uint64_t>(unit))
        return std::nullopt;
    return static_cast<int64_t>(*n) * unit;
}

int issueToken(const std::string& keyPath, const std::string& uid, const std::string& groups,
               const std::string& ttl, const std::string& issuer,
               const std::vector<std::string>& audience) {
    std::ifstream in(keyPath);
    if (!in) {
        std::cerr << "day2 token issue: cannot read the private key " << keyPath << "\n";
        return 1;
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    auto seconds = parseDuration(ttl);
    if (!seconds) {
        std::cerr << "day2 token issue: --ttl '" << ttl
                  << "' is not a duration like 8h, 30m, 7d or 'never'\n";
        return kExitUsage;
    }
    auth::TokenClaims claims;
    claims.uid = uid;
    std::stringstream g(groups);
    for (std::string item; std::getline(g, item, ',');)
        if (!item.empty())
            claims.groups.push_back(item);
    claims.issuedAt = static_cast<int64_t>(std::time(nullptr));
    claims.issuer = issuer;
    claims.audience = audience;
    if (*seconds > 0)
        claims.expiresAt = claims.issuedAt + *seconds;
    auto token = auth::signJwt(pem.str(), claims);
    if (!token) {
        std::cerr << "day2 token issue: " << keyPath << ": " << token.error().message << "\n";
        return 1;
    }
    std::cout << *token << "\n";
    return 0;
}

#ifdef DAY2_CLI_WITH_CLIENT
// The options every cluster command takes.
void addConnection(CLI::App* cmd, cli::Connection& c) {
    cmd->add_option("--url", c.url, "Adminrouter's URL, e.g. https://127.0.0.1:8443 (or DAY2_URL)");
    cmd->add_option("--token-file", c.tokenFile, "a file holding the JWT (or DAY2_TOKEN)");
    cmd->add_option("--ca", c.ca, "the CA that signed Adminrouter's certificate (or DAY2_CA)");
}

void addLogOptions(CLI::App* cmd, cli::LogOptions& o, const char* defaultOutput) {
    cmd->add_flag("-f,--follow", o.follow,
                  "keep printing new lines; reconnects by itself and says if anything was missed");
    cmd->add_option("-n,--lines", o.lines, "how many of the last lines first: a number or 'all'")
        ->capture_default_str();
    cmd->add_option("-o,--output", o.output,
                    std::string("short (time identifier[pid]: message), cat (the message only) or "
                                "json (the logs API's objects); default ") +
                        defaultOutput);
}
#endif

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"day2 - the command line of day2: logs, tasks and tokens of a day2 cluster.\n"
                 "Cluster commands find it with --url/--token-file/--ca, else DAY2_URL, "
                 "DAY2_TOKEN, DAY2_CA,\nelse ~/.config/day2/config.toml (url = \"...\", "
                 "token_file = \"...\", ca = \"...\").\n"
                 "Exit codes: 0 done, 1 an error, 2 a usage error."};
    app.require_subcommand(1);
    auto* token = app.add_subcommand("token", "API tokens (JWT)");
    token->require_subcommand(1);
    auto* issue = token->add_subcommand(
        "issue", "Mint a token signed with a private key (RSA: RS256, EC P-256: ES256).\n"
                 "Example: day2 token issue --key jwt.key --uid alice --groups ops --ttl 8h");
    std::string key, uid, groups, ttl = "8h", issuer;
    std::vector<std::string> audience;
    issue->add_option("--key", key, "PEM private key file")->required();
    issue->add_option("--uid", uid, "the uid claim")->required();
    issue->add_option("--groups", groups, "comma-separated groups claim");
    issue->add_option("--ttl", ttl, "lifetime: 8h, 30m, 7d, or 'never' (agents must allow it)")
        ->capture_default_str();
    issue->add_option("--issuer", issuer,
                      "the iss claim, for agents that set auth.issuer (none by default)");
    issue->add_option("--audience", audience,
                      "the aud claim, for agents that set auth.audience, e.g. the cluster's "
                      "name (again for a token several clusters accept)");

#ifdef DAY2_CLI_WITH_CLIENT
    cli::Connection conn;
    auto* cluster = app.add_subcommand("cluster", "the cluster as a whole");
    cluster->require_subcommand(1);
    auto* agents = cluster->add_subcommand(
        "agents",
        "List the agents (nodes) and whether each answers.\nExample: day2 cluster agents");
    std::string agentsOutput;
    agents->add_option("-o,--output", agentsOutput, "table (default) or json");
    addConnection(agents, conn);

    auto* node = app.add_subcommand("node", "one node (agent)");
    node->require_subcommand(1);
    auto* nodeLog =
        node->add_subcommand("log", "A node's journal: host services and tasks.\n"
                                    "Examples: day2 node log --unit ssh.service -n 50\n"
                                    "          day2 node log 3f2a --follow --filter PRIORITY:3");
    std::string nodeAgent;
    cli::LogOptions nodeOpts;
    nodeLog->add_option("agent", nodeAgent,
                        "agent id, unique id prefix or hostname (optional with one agent)");
    addLogOptions(nodeLog, nodeOpts, "short");
    nodeLog->add_option("--unit", nodeOpts.unit, "only this systemd unit (_SYSTEMD_UNIT or UNIT)");
    nodeLog->add_option("--filter", nodeOpts.filters,
                        "FIELD:VALUE, repeatable (different fields AND, the same field OR)");
    addConnection(nodeLog, conn);

    auto* task = app.add_subcommand("task", "tasks (containers) on every agent");
    task->require_subcommand(1);
    auto* taskList = task->add_subcommand("list", "Running containers of every agent.\n"
                                                  "Example: day2 task list --all");
    bool listAll = false;
    std::string listOutput;
    taskList->add_flag("-a,--all", listAll, "finished containers too");
    taskList->add_option("-o,--output", listOutput, "table (default) or json");
    addConnection(taskList, conn);

    auto* taskRun = task->add_subcommand(
        "run",
        "Launch a task.\nExamples: day2 task run --app /web --shell 'python3 -m http.server'\n"
        "          day2 task run --app /job --mem 256 -- /usr/bin/env\n"
        "          day2 task run --file request.json --agent 3f2a");
    cli::TaskRunOptions runOpts;
    taskRun->add_option("--file", runOpts.file, "a JSON launch request (docs/api.md, Tasks)");
    taskRun->add_option("--agent", runOpts.agent, "where (needed when there are several agents)");
    taskRun->add_option("--app", runOpts.app, "the application name");
    taskRun->add_option("--framework-id", runOpts.frameworkId)->capture_default_str();
    taskRun->add_option("--framework-name", runOpts.frameworkName)->capture_default_str();
    taskRun->add_option("--shell", runOpts.shell, "a command for /bin/sh -c");
    taskRun->add_option("--env", runOpts.env, "KEY=VALUE, repeatable");
    taskRun->add_option("--label", runOpts.labels, "KEY=VALUE, repeatable");
    taskRun->add_option("--cpus", runOpts.cpus, "CPU limit, e.g. 0.5");
    taskRun->add_option("--mem", runOpts.memMb, "memory limit in MiB");
    taskRun->add_option("--pids", runOpts.pids, "process count limit");
    taskRun->add_option("--user", runOpts.user, "run as this user");
    taskRun->add_option("command", runOpts.command, "the command and its arguments, after --");
    addConnection(taskRun, conn);

    auto* taskKill = task->add_subcommand(
        "kill", "Stop a task: SIGTERM, then SIGKILL after the grace period.\n"
                "<task> is a container id, a unique prefix of one, or an application name.");
    std::string killWhat;
    taskKill->add_option("task", killWhat, "container id, id prefix or application name")
        ->required();
    addConnection(taskKill, conn);

    auto* taskMetrics = task->add_subcommand(
        "metrics", "A task's latest metrics: its container's resource use (cgroup) and what it "
                   "sent over StatsD.\n<task> is a container id, a unique prefix of one, or an "
                   "application name (its one running container).\n"
                   "Example: day2 task metrics 3f2a9c");
    std::string metricsWhat, metricsOutput = "table";
    taskMetrics->add_option("task", metricsWhat, "container id, id prefix or application name")
        ->required();
    taskMetrics->add_option("-o,--output", metricsOutput, "table or json")->capture_default_str();
    addConnection(taskMetrics, conn);

    auto* taskLog = task->add_subcommand(
        "log", "A task's output.\n<task> is a container id, a unique prefix of one, or an "
               "application name (its one running container).\n"
               "Examples: day2 task log /web -f\n          day2 task log 3f2a9c stderr -n all");
    std::string logWhat;
    cli::LogOptions taskOpts;
    taskLog->add_option("task", logWhat, "container id, id prefix or application name")->required();
    taskLog->add_option("stream", taskOpts.stream, "stdout or stderr (default: both)");
    addLogOptions(taskLog, taskOpts, "cat");
    addConnection(taskLog, conn);

    auto* taskExec = task->add_subcommand(
        "exec",
        "Run a command inside a running task's container (its namespaces, cgroup, user, "
        "environment and directory)\nand exit with its exit code. <task> is a container id, a "
        "unique prefix of one, or an application name.\nPut -- before a command that has options "
        "of its own.\n"
        "  -i        send this stdin to the command; its end ends the command's stdin\n"
        "  -t        a terminal: with -i this one goes raw and its size follows; Ctrl-P Ctrl-Q "
        "leaves\n            the session (the agent then hangs up the command, as a closed "
        "terminal)\n"
        "Without -t the command's stdout and stderr come on day2's own.\n"
        "Needs day2:exec:<application> create (a refusal says why).\n"
        "Examples: day2 task exec /web -- cat /etc/hostname\n"
        "          day2 task exec -it /web -- sh          (a shell; exit or Ctrl-D to leave)\n"
        "          tar c dir | day2 task exec -i 3f2a9c -- tar x -C /tmp\n"
        "          day2 task exec /web -- sh -c 'ps ax; exit 3'; echo $?     (prints 3)");
    std::string execWhat;
    cli::ExecOptions execOpts;
    taskExec->add_flag("-i,--interactive", execOpts.interactive,
                       "stream stdin to the command (EOF ends its stdin)");
    taskExec->add_flag("-t,--tty", execOpts.tty,
                       "give the command a terminal; with -i this terminal goes raw");
    taskExec->add_option("task", execWhat, "container id, id prefix or application name")
        ->required();
    taskExec->add_option("command", execOpts.command, "the command and its arguments, after --")
        ->required();
    addConnection(taskExec, conn);
#endif

    if (auto exitCode = parseCommandLine(app, argc, argv))
        return *exitCode;
    if (issue->parsed())
        return issueToken(key, uid, groups, ttl, issuer, audience);
#ifdef DAY2_CLI_WITH_CLIENT
    if (agents->parsed())
        return cli::clusterAgents(conn, agentsOutput);
    if (nodeLog->parsed())
        return cli::nodeLog(conn, nodeAgent, nodeOpts);
    if (taskList->parsed())
        return cli::taskList(conn, listAll, listOutput);
    if (taskRun->parsed())
        return cli::taskRun(conn, runOpts);
    if (taskKill->parsed())
        return cli::taskKill(conn, killWhat);
    if (taskLog->parsed())
        return cli::taskLog(conn, logWhat, taskOpts);
    if (taskMetrics->parsed())
        return cli::taskMetrics(conn, metricsWhat, metricsOutput);
    if (taskExec->parsed())
        return cli::taskExec(conn, execWhat, execOpts);
#endif
    return kExitUsage;
}
