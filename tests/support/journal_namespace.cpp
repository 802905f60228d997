#include "journal_namespace.h"

#include "base/unix_socket.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace day2::test {

namespace fs = std::filesystem;

namespace {
constexpr const char* kJournald = "/lib/systemd/systemd-journald";

std::string machineId() {
    std::ifstream in("/etc/machine-id");
    std::string id;
    std::getline(in, id);
    return id;
}

int connectStream(const std::string& path) {
    auto fd = connectUnixSocket(path, SOCK_STREAM);
    return fd ? *fd : -1;
}
} // namespace

CommandResult runCapture(const std::string& command) {
    FILE* p = ::popen(command.c_str(), "r");
    if (!p)
        throw std::runtime_error("popen failed: " + command);
    CommandResult result;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        result.output.append(buf, n);
    int status = ::pclose(p);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string runCommand(const std::string& command) {
    auto r = runCapture(command);
    if (r.exitCode != 0)
        throw std::runtime_error("command failed (" + std::to_string(r.exitCode) + "): " + command);
    return r.output;
}

bool JournalNamespace::available(std::string* why) {
    if (::geteuid() != 0) {
        *why = "needs root to start a private systemd-journald";
        return false;
    }
    if (::access(kJournald, X_OK) != 0) {
        *why = std::string(kJournald) + " is not installed";
        return false;
    }
    return true;
}

JournalNamespace::JournalNamespace(const std::string& prefix) {
    static std::atomic<int> counter{0};
    m_name = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    // No rate limit: tests write tens of thousands of entries in a burst.
    m_confPath = "/etc/systemd/journald@" + m_name + ".conf";
    fs::create_directories("/etc/systemd");
    std::ofstream(m_confPath) << "[Journal]\nRateLimitBurst=0\nStorage=persistent\n";
    m_pid = ::fork();
    if (m_pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM); // no orphaned journald if the test dies
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        ::execl(kJournald, kJournald, m_name.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // A failure on the way leaves nothing behind: no journald, no sockets, no files.
    try {
        // Ready when the stdout socket accepts. Keeping one stream open stops this journald from
        // exiting when idle (namespace instances exit after ~30 s without clients).
        // Generous limits: journald starts in milliseconds, but not on a machine that is busy.
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (m_keepAlive < 0 && std::chrono::steady_clock::now() < limit) {
            m_keepAlive = connectStream("/run/systemd/journal." + m_name + "/stdout");
            if (m_keepAlive < 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (m_keepAlive < 0)
            throw std::runtime_error("systemd-journald " + m_name + " did not start");
        const std::string header = "day2-test-keepalive\n\n6\n0\n0\n0\n0\n";
        if (::write(m_keepAlive, header.data(), header.size()) < 0)
            throw std::runtime_error("journald stdout stream: " +
                                     std::string(std::strerror(errno)));
        // journald opens its sockets one after the other: the native one may come a moment after
        // the stdout one (seen under load).
        auto w = logs::JournalWriter::connect(socketPath());
        while (!w && std::chrono::steady_clock::now() < limit) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            w = logs::JournalWriter::connect(socketPath());
        }
        if (!w)
            throw std::runtime_error(w.error().message);
        m_writer = new logs::JournalWriter(std::move(*w));
    } catch (...) {
        cleanUp();
        throw;
    }
}

JournalNamespace::~JournalNamespace() {
    cleanUp();
}

void JournalNamespace::cleanUp() {
    delete m_writer;
    m_writer = nullptr;
    if (m_keepAlive >= 0)
        ::close(m_keepAlive);
    m_keepAlive = -1;
    if (m_pid > 0) {
        ::kill(m_pid, SIGTERM);
        int status;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
    }
    std::error_code ec;
    fs::remove_all("/run/systemd/journal." + m_name, ec);
    fs::remove_all(directory(), ec);
    fs::remove_all("/run/log/journal/" + machineId() + "." + m_name, ec);
    fs::remove(m_confPath, ec);
}

std::string JournalNamespace::socketPath() const {
    return "/run/systemd/journal." + m_name + "/socket";
}

std::string JournalNamespace::directory() const {
    return "/var/log/journal/" + machineId() + "." + m_name;
}

void JournalNamespace::write(const logs::JournalFields& fields) {
    if (auto r = m_writer->send(fields); !r)
        throw std::runtime_error(r.error().message);
}

size_t JournalNamespace::count(const std::string& match) const {
    return std::stoul(runCommand("journalctl --namespace=" + m_name +
                                 " -q -o cat --output-fields=_PID '" + match + "' | wc -l"));
}

void JournalNamespace::waitForCount(size_t n, const std::string& match) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (std::chrono::steady_clock::now() < limit) {
        if (count(match) >= n)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("journald did not store " + std::to_string(n) + " entries of " +
                             match);
}

void JournalNamespace::rotate() {
    runCommand("journalctl --namespace=" + m_name + " --rotate");
}

std::vector<nlohmann::json> JournalNamespace::journalctlJson(const std::string& args) const {
    std::string out = runCommand("journalctl --namespace=" + m_name + " -q -o json " + args);
    std::vector<nlohmann::json> entries;
    size_t pos = 0;
    while (pos < out.size()) {
        size_t e = out.find('\n', pos);
        if (e == std::string::npos)
            e = out.size();
        if (e > pos)
            entries.push_back(nlohmann::json::parse(out.substr(pos, e - pos)));
        pos = e + 1;
    }
    return entries;
}

std::string unavailableHere(const std::string& commands) {
    if (::geteuid() != 0)
        return "needs root (a private journald)";
    std::string why;
    if (!JournalNamespace::available(&why))
        return why;
    std::string missing;
    size_t pos = 0;
    while (pos < commands.size()) {
        size_t end = commands.find(' ', pos);
        if (end == std::string::npos)
            end = commands.size();
        const std::string c = commands.substr(pos, end - pos);
        if (!c.empty() && runCapture("command -v " + c).exitCode != 0)
            missing += (missing.empty() ? "" : ", ") + c;
        pos = end + 1;
    }
    if (!missing.empty())
        return missing + " missing (packaging/deps.sh installs what the tests need)";
    return {};
}

} // namespace day2::test
