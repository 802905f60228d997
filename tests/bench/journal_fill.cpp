// day2-bench-journal-fill: writes N entries with a realistic mix of fields and message sizes to
// a journald namespace over its native socket, as fast as journald takes them, then waits until
// journald has stored the last one.
//
// Several writer processes (one per pair of services) keep journald's queue full and give the
// entries different _PID and _COMM values. The mix: eight services (three of them task-like with
// FRAMEWORK_ID, EXECUTOR_ID, CONTAINER_ID and STREAM), PRIORITY 3-7 weighted towards 6, messages
// of 40-400 bytes skewed short, about 1% multi-line stack traces and 0.2% of about 4 KiB.
#include "bench_common.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace day2::bench {
namespace {

class Random {
public:
    explicit Random(uint64_t seed) : m_state(seed) {}
    uint64_t next() {
        uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
    double unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }

private:
    uint64_t m_state;
};

enum class Kind { Sshd, Nginx, Postgres, NodeAgent, Cron, AppApi, AppWorker, SparkExecutor };

struct Service {
    Kind kind;
    const char* ident;
    bool task;
    const char* facility; // SYSLOG_FACILITY, or nullptr
};

constexpr std::array<Service, 8> kServices{{
    {Kind::Sshd, "sshd", false, "10"},
    {Kind::Nginx, "nginx", false, nullptr},
    {Kind::Postgres, "postgres", false, "3"},
    {Kind::NodeAgent, "node-agent", false, "3"},
    {Kind::AppApi, "app-api", true, nullptr},
    {Kind::AppWorker, "app-worker", true, nullptr},
    {Kind::SparkExecutor, "spark-executor", true, nullptr},
    {Kind::Cron, "cron", false, "9"},
}};

constexpr std::array<const char*, 48> kWords{
    "request", "handled", "cache",    "miss",      "upstream", "timeout",  "retrying",
    "session", "opened",  "closed",   "user",      "token",    "refresh",  "queue",
    "depth",   "worker",  "shard",    "replica",   "commit",   "offset",   "partition",
    "lease",   "renewed", "expired",  "heartbeat", "latency",  "bytes",    "written",
    "read",    "index",   "segment",  "flushed",   "batch",    "records",  "checkpoint",
    "config",  "reload",  "endpoint", "healthy",   "degraded", "snapshot", "restored",
    "volume",  "mounted", "network",  "policy",    "applied",  "scheduled"};

struct Task {
    std::string frameworkId;
    std::string executorId;
    std::string containerId;
};

std::string uuid(Random& rng) {
    char buf[40];
    std::snprintf(buf, sizeof buf,
                  "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
                  rng.next() & 0xFFFFFFFF, rng.next() & 0xFFFF, rng.next() & 0xFFF,
                  (rng.next() & 0x3FFF) | 0x8000, rng.next() & 0xFFFFFFFFFFFF);
    return buf;
}

class EntryGenerator {
public:
    EntryGenerator(uint64_t seed, std::vector<Service> services)
        : m_rng(seed), m_services(std::move(services)) {
        Random ids(0xDA72); // the same frameworks in every writer
        std::vector<std::string> frameworks;
        for (int i = 0; i < 3; ++i)
            frameworks.push_back(uuid(ids) + "-000" + std::to_string(i));
        for (const auto& s : m_services) {
            if (!s.task)
                continue;
            auto& tasks = m_tasks[static_cast<size_t>(s.kind)];
            for (int i = 0; i < 40; ++i)
                tasks.push_back({frameworks[static_cast<size_t>(i) % frameworks.size()],
                                 std::string(s.ident) + "." + uuid(m_rng), uuid(m_rng)});
        }
    }

    void next(std::string& payload) {
        payload.clear();
        const Service& s = m_services[m_rng.below(m_services.size())];
        const int priority = pickPriority();
        makeMessage(s, priority);
        appendField(payload, "MESSAGE", m_message);
        appendField(payload, "PRIORITY", std::to_string(priority));
        appendField(payload, "SYSLOG_IDENTIFIER", s.ident);
        if (s.facility)
            appendField(payload, "SYSLOG_FACILITY", s.facility);
        if (s.task) {
            const auto& tasks = m_tasks[static_cast<size_t>(s.kind)];
            const Task& t = tasks[m_rng.below(tasks.size())];
            appendField(payload, "FRAMEWORK_ID", t.frameworkId);
            appendField(payload, "EXECUTOR_ID", t.executorId);
            appendField(payload, "CONTAINER_ID", t.containerId);
            appendField(payload, "STREAM", priority <= 4 ? "stderr" : "stdout");
        }
        if (s.kind == Kind::NodeAgent) {
            static constexpr std::array<const char*, 4> files{
                "agent/reconcile.cpp", "agent/volumes.cpp", "agent/network.cpp", "agent/main.cpp"};
            size_t f = m_rng.below(files.size());
            appendField(payload, "CODE_FILE", files[f]);
            appendField(payload, "CODE_LINE", std::to_string(40 + m_rng.below(900)));
            appendField(payload, "CODE_FUNC", f == 0 ? "reconcileAll" : "apply");
        }
        if (s.kind == Kind::AppApi && m_rng.below(10) < 3)
            appendField(payload, "REQUEST_ID", hex(16));
    }

private:
    int pickPriority() {
        uint64_t r = m_rng.below(100);
        if (r < 5)
            return 3;
        if (r < 17)
            return 4;
        if (r < 32)
            return 5;
        if (r < 92)
            return 6;
        return 7;
    }

    std::string hex(int digits) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string out;
        for (int i = 0; i < digits; ++i)
            out += kHex[m_rng.below(16)];
        return out;
    }

    uint64_t num(uint64_t below) { return m_rng.below(below); }

    void appendWords(size_t target) {
        while (m_message.size() < target) {
            m_message += ' ';
            if (m_rng.below(5) == 0)
                m_message += std::to_string(num(100000));
            else
                m_message += kWords[m_rng.below(kWords.size())];
        }
        m_message.resize(target);
    }

    void makeMessage(const Service& s, int priority) {
        m_message.clear();
        const uint64_t r = m_rng.below(1000);
        if (r < 2) {
            // A configuration or state dump of about 4 KiB.
            m_message = std::string(s.ident) + ": state dump:";
            const size_t target = 3600 + m_rng.below(900);
            while (m_message.size() < target)
                m_message += " " + std::string(kWords[m_rng.below(kWords.size())]) + "=" +
                             std::to_string(num(1000000));
            return;
        }
        if (r < 12) {
            // A stack trace.
            m_message =
                "Exception in thread \"worker-" + std::to_string(num(32)) +
                "\" java.lang.IllegalStateException: " + kWords[m_rng.below(kWords.size())] + " " +
                kWords[m_rng.below(kWords.size())] + " failed";
            const uint64_t lines = 4 + m_rng.below(20);
            for (uint64_t i = 0; i < lines; ++i)
                m_message += "\n\tat com.example." +
                             std::string(kWords[m_rng.below(kWords.size())]) +
                             ".Handler.process(Handler.java:" + std::to_string(10 + num(990)) + ")";
            return;
        }
        const size_t target = 40 + static_cast<size_t>(m_rng.unit() * m_rng.unit() * 360);
        char buf[256];
        switch (s.kind) {
        case Kind::Sshd:
            std::snprintf(buf, sizeof buf,
                          "Accepted publickey for deploy%" PRIu64 " from 10.%" PRIu64 ".%" PRIu64
                          ".%" PRIu64 " port %" PRIu64 " ssh2",
                          num(20), num(256), num(256), num(256), 1024 + num(60000));
            break;
        case Kind::Nginx:
            std::snprintf(buf, sizeof buf,
                          "10.0.%" PRIu64 ".%" PRIu64 " - - \"GET /api/v1/items/%" PRIu64
                          "?page=%" PRIu64 " HTTP/1.1\" %d %" PRIu64,
                          num(256), num(256), num(100000), num(50), priority <= 4 ? 502 : 200,
                          num(90000));
            break;
        case Kind::Postgres:
            std::snprintf(buf, sizeof buf,
                          "LOG:  duration: %" PRIu64 ".%03" PRIu64
                          " ms  statement: SELECT * FROM orders WHERE customer_id = %" PRIu64,
                          num(2000), num(1000), num(10000000));
            break;
        case Kind::NodeAgent:
            std::snprintf(buf, sizeof buf, "reconciled %" PRIu64 " containers in %" PRIu64 " ms",
                          num(200), num(900));
            break;
        case Kind::Cron:
            std::snprintf(buf, sizeof buf,
                          "(root) CMD (/usr/local/bin/backup --incremental %" PRIu64 ")",
                          num(1000));
            break;
        case Kind::AppApi:
            std::snprintf(buf, sizeof buf,
                          "level=%s request_id=%s method=GET path=/v1/users/%" PRIu64
                          " status=%d duration_ms=%" PRIu64,
                          priority <= 4 ? "error" : "info", hex(16).c_str(), num(1000000),
                          priority <= 4 ? 500 : 200, num(1500));
            break;
        case Kind::AppWorker:
            std::snprintf(buf, sizeof buf,
                          "processed job %" PRIu64 " queue=emails attempts=%" PRIu64,
                          num(100000000), 1 + num(5));
            break;
        case Kind::SparkExecutor:
            std::snprintf(buf, sizeof buf,
                          "INFO Executor: Finished task %" PRIu64 ".0 in stage %" PRIu64
                          ".0 (TID %" PRIu64 "). %" PRIu64 " bytes result sent to driver",
                          num(400), num(60), num(100000), num(10000));
            break;
        }
        m_message = buf;
        appendWords(std::max(target, m_message.size() + 8));
    }

    Random m_rng;
    std::vector<Service> m_services;
    std::array<std::vector<Task>, kServices.size()> m_tasks;
    std::string m_message;
};

void runWriter(const std::string& socketPath, unsigned index, unsigned writers, uint64_t count,
               uint64_t seed, std::atomic<uint64_t>* progress) {
    std::vector<Service> mine;
    for (size_t i = index; i < kServices.size(); i += writers)
        mine.push_back(kServices[i]);
    const std::string comm = "bench-fill-" + std::to_string(index);
    ::prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
    EntryGenerator gen(seed * 1000 + index, mine);
    JournalSocket sock(socketPath);
    std::string payload;
    for (uint64_t i = 0; i < count; ++i) {
        gen.next(payload);
        sock.send(payload);
        if ((i & 255) == 255)
            progress->fetch_add(256, std::memory_order_relaxed);
    }
    progress->fetch_add(count & 255, std::memory_order_relaxed);
}

// Waits until the marker entry can be read back from the namespace.
bool waitForMarker(const std::string& nameSpace, const std::string& marker, double timeout) {
    sd_journal* j = nullptr;
    if (int r = sd_journal_open_namespace(&j, nameSpace.c_str(), 0); r < 0)
        die("sd_journal_open_namespace: " + std::string(std::strerror(-r)));
    const std::string match = "BENCH_FILL_DONE=" + marker;
    sd_journal_add_match(j, match.data(), match.size());
    const double deadline = nowSeconds() + timeout;
    bool found = false;
    while (!found && nowSeconds() < deadline) {
        int r = sd_journal_next(j);
        if (r > 0) {
            found = true;
            break;
        }
        sd_journal_wait(j, 200000);
    }
    sd_journal_close(j);
    return found;
}

int run(int argc, char** argv) {
    Args args(argc, argv,
              "--namespace NS [--count N] [--writers W] [--seed S]\n"
              "Writes N (default 1000000) entries to journald namespace NS and waits until they "
              "are stored.",
              {"namespace", "count", "writers", "seed"});
    const std::string nameSpace = args.required("namespace");
    const uint64_t count = args.getCount("count", 1000000);
    const auto writers = static_cast<unsigned>(args.getCount("writers", 4));
    const uint64_t seed = args.getCount("seed", 1);
    if (writers < 1 || writers > kServices.size())
        die("--writers must be 1 to " + std::to_string(kServices.size()));
    const std::string socketPath = namespaceSocket(nameSpace);

    void* shared = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die("mmap failed");
    auto* progress = new (shared) std::atomic<uint64_t>(0);

    const double start = nowSeconds();
    std::vector<pid_t> children;
    for (unsigned w = 0; w < writers; ++w) {
        const uint64_t mine = count / writers + (w < count % writers ? 1 : 0);
        pid_t pid = ::fork();
        if (pid < 0)
            die("fork failed");
        if (pid == 0) {
            runWriter(socketPath, w, writers, mine, seed, progress);
            std::fflush(nullptr);
            ::_exit(0);
        }
        children.push_back(pid);
    }
    size_t running = children.size();
    double lastReport = start;
    uint64_t lastCount = 0;
    bool failed = false;
    while (running > 0) {
        int status = 0;
        pid_t done = ::waitpid(-1, &status, WNOHANG);
        if (done > 0) {
            --running;
            failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            continue;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const double now = nowSeconds();
        if (now - lastReport >= 2.0) {
            const uint64_t sent = progress->load();
            std::fprintf(stderr, "fill: %7" PRIu64 " / %" PRIu64 " entries sent (%.0f/s)\n", sent,
                         count, static_cast<double>(sent - lastCount) / (now - lastReport));
            lastReport = now;
            lastCount = sent;
        }
    }
    if (failed)
        die("a writer process failed");
    const double sentAt = nowSeconds();

    // Datagrams on one socket are handled in order: once the marker is stored, all are.
    const std::string marker = std::to_string(::getpid()) + "-" + std::to_string(nowNanos());
    std::string payload;
    appendField(payload, "MESSAGE", "day2 bench fill done");
    appendField(payload, "SYSLOG_IDENTIFIER", "day2-bench-journal-fill");
    appendField(payload, "BENCH_FILL_DONE", marker);
    JournalSocket(socketPath).send(payload);
    if (!waitForMarker(nameSpace, marker, 300))
        die("journald did not store the entries within 300 s");
    const double storedAt = nowSeconds();
    std::fprintf(stderr, "fill: %" PRIu64 " entries sent in %.1f s (%.0f/s), stored %.1f s later\n",
                 count, sentAt - start, static_cast<double>(count) / (sentAt - start),
                 storedAt - sentAt);
    std::printf("entries=%" PRIu64 " seconds=%.3f rate=%.0f\n", count, storedAt - start,
                static_cast<double>(count) / (storedAt - start));
    return 0;
}

} // namespace
} // namespace day2::bench

int main(int argc, char** argv) {
    return day2::bench::run(argc, argv);
}
