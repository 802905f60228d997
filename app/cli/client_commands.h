// The `day2` commands that talk to a cluster (through Adminrouter, or to one agent directly):
// cluster agents, node log, task list/run/kill/log/exec. Built on the console's client library;
// this header is free of Qt so that the command-line parser's file stays light.
#pragma once

#include <string>
#include <vector>

namespace day2::cli {

// Where the cluster is. Empty members are taken from DAY2_URL / DAY2_TOKEN / DAY2_CA, then from
// ~/.config/day2/config.toml (url, token or token_file, ca).
struct Connection {
    std::string url;
    std::string tokenFile;
    std::string ca;
};

struct LogOptions {
    bool follow = false;
    std::string lines = "100";        // a number, or "all"
    std::string output;               // short | cat | json; empty: the command's default
    std::vector<std::string> filters; // FIELD:VALUE
    std::string unit;
    std::string stream; // stdout | stderr | empty (both)
};

struct TaskRunOptions {
    std::string file; // a JSON launch request; the flags below are then not allowed
    std::string agent;
    std::string app;
    std::string frameworkId = "day2-cli";
    std::string frameworkName = "day2";
    std::string shell;
    std::vector<std::string> command;
    std::vector<std::string> env, labels; // K=V
    double cpus = 0;
    unsigned memMb = 0, pids = 0;
    std::string user;
};

struct ExecOptions {
    bool interactive = false; // -i: stream stdin, and end it at EOF
    bool tty = false;         // -t: a terminal (the local one in raw mode)
    std::vector<std::string> command;
};

// Each returns the process exit code: 0, 1 for an error, 2 for a usage error.
int clusterAgents(const Connection& c, const std::string& output);
int nodeLog(const Connection& c, const std::string& agent, const LogOptions& o);
int taskList(const Connection& c, bool all, const std::string& output);
int taskRun(const Connection& c, const TaskRunOptions& o);
int taskKill(const Connection& c, const std::string& task);
int taskLog(const Connection& c, const std::string& task, const LogOptions& o);
// A container's latest metrics: its resource use and what it sent over StatsD (table or json).
int taskMetrics(const Connection& c, const std::string& task, const std::string& output);
// The remote command's exit code; 1 for an error, 2 for a usage error.
int taskExec(const Connection& c, const std::string& task, const ExecOptions& o);

} // namespace day2::cli
