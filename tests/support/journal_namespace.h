// A private journald for one test: `systemd-journald <namespace>` (no systemd needed), written
// to with the native protocol, read with journalctl, removed afterwards.
#pragma once

#include "logs/journal_writer.h"

#include <nlohmann/json.hpp>

#include <string>
#include <sys/types.h>
#include <vector>

namespace day2::test {

class JournalNamespace {
public:
    // Starts journald for a fresh namespace named after `prefix`; throws on failure.
    explicit JournalNamespace(const std::string& prefix = "day2test");
    ~JournalNamespace();
    JournalNamespace(const JournalNamespace&) = delete;
    JournalNamespace& operator=(const JournalNamespace&) = delete;

    const std::string& name() const { return m_name; }
    std::string socketPath() const;
    std::string directory() const; // where its journal files are

    void write(const logs::JournalFields& fields);
    // How many entries journalctl sees matching `match` (e.g. "SYSLOG_IDENTIFIER=x").
    size_t count(const std::string& match) const;
    // Waits until journalctl sees at least `count` entries matching `match`; throws after a
    // generous limit (a minute), never sooner.
    void waitForCount(size_t count, const std::string& match);
    void rotate();

    // journalctl --namespace=<ns> -o json <args>, one parsed object per entry.
    std::vector<nlohmann::json> journalctlJson(const std::string& args) const;

    static bool available(std::string* why);

private:
    void cleanUp();

    std::string m_name;
    std::string m_confPath;
    pid_t m_pid = -1;
    int m_keepAlive = -1;
    logs::JournalWriter* m_writer = nullptr;
};

struct CommandResult {
    int exitCode = -1; // -1 when it did not exit normally
    std::string output;
};
// Runs a shell command and returns its exit code and standard output.
CommandResult runCapture(const std::string& command);
// The same, throwing if it exits non-zero.
std::string runCommand(const std::string& command);

// Why a test that needs root, a private journald and the programs `commands` (e.g. "nginx
// curl") cannot run here; empty when it can.
std::string unavailableHere(const std::string& commands = "");

} // namespace day2::test
