// day2-agent as a program: --help, bad configuration, identity, health, stopping on SIGTERM.
#include "agent_process.h"
#include "http_client.h"
#include "journal_namespace.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace day2::test;

namespace {
CommandResult runAgent(const std::string& args) {
    return runCapture(agentBinary() + " " + args + " 2>&1");
}
} // namespace

TEST(AgentCli, HelpDocumentsEveryOption) {
    auto r = runAgent("--help");
    EXPECT_EQ(r.exitCode, 0);
    for (const char* opt : {"--config", "--listen", "--state-dir", "--journal-namespace",
                            "--journal-socket", "--journal-directory", "--log-level", "--version"})
        EXPECT_NE(r.output.find(opt), std::string::npos) << opt;
}

TEST(AgentCli, BadConfigNamesFileLineAndKeyAndExitsTwo) {
    const std::string path = "/tmp/day2-bad-agent.toml";
    std::ofstream(path)
        << "[http]\nlisten = \"127.0.0.1:1\"\n\n[logs]\nsse_ping_seconds = \"soon\"\n";
    auto r = runAgent("--config " + path + " --state-dir /tmp/day2-bad-state");
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.output.find(path + ":5: logs.sse_ping_seconds: must be an integer"),
              std::string::npos)
        << r.output;
    std::remove(path.c_str());
}

TEST(AgentCli, UnknownOptionAndBadListenExitTwo) {
    EXPECT_EQ(runAgent("--no-such-option").exitCode, 2);
    auto r = runAgent("--listen nonsense --state-dir /tmp/day2-bad-state");
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.output.find("is not HOST:PORT"), std::string::npos) << r.output;
    EXPECT_EQ(runAgent("--config /nonexistent.toml").exitCode, 2);
}

TEST(AgentCli, IdIsPersistentAndHealthAnswers) {
    std::string why;
    if (!JournalNamespace::available(&why))
        GTEST_SKIP() << why;
    JournalNamespace ns("day2cli");
    std::string firstId;
    const std::string stateDir = "/tmp/day2-cli-state-" + std::to_string(::getpid());
    {
        AgentProcess agent({"--journal-namespace", ns.name(), "--state-dir", stateDir});
        auto res = httpGet(agent.port(), "/system/v1/health");
        ASSERT_EQ(res.status, 200) << res.body;
        auto j = nlohmann::json::parse(res.body);
        firstId = j["agent_id"];
        EXPECT_EQ(firstId.size(), 36u);
        EXPECT_EQ(j["journal"], "ok");
        EXPECT_FALSE(j["hostname"].get<std::string>().empty());
        EXPECT_FALSE(j["started_at"].get<std::string>().empty());
        // The test harness turns authentication off, which the agent must say, in both places.
        EXPECT_EQ(j["auth"], "off");
        EXPECT_NE(agent.log().find("authentication OFF (auth.enabled = false)"), std::string::npos)
            << agent.log();
        // And with it off, every endpoint answers without a token.
        EXPECT_EQ(httpGet(agent.port(), "/system/v1/auth/whoami").status, 200);
        EXPECT_EQ(agent.stop(), 0); // SIGTERM: clean exit
    }
    {
        AgentProcess agent({"--journal-namespace", ns.name(), "--state-dir", stateDir});
        auto j = nlohmann::json::parse(httpGet(agent.port(), "/system/v1/health").body);
        EXPECT_EQ(j["agent_id"], firstId); // kept in the state directory
    }
    std::filesystem::remove_all(stateDir);
}

TEST(AgentCli, SigtermEndsOpenStreamsAndExitsCleanly) {
    std::string why;
    if (!JournalNamespace::available(&why))
        GTEST_SKIP() << why;
    JournalNamespace ns("day2cli");
    // A grace period far beyond the bound below: an open stream must end at once, not hold the
    // agent until the grace runs out.
    AgentProcess agent({"--journal-namespace", ns.name()}, "[http]\nshutdown_grace_seconds = 60\n");
    StreamingGet stream(agent.port(), "/system/v1/logs/v1/stream/",
                        {{"Accept", "text/event-stream"}});
    ASSERT_EQ(stream.status(), 200);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(agent.stop(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
    // The stream was ended properly (final chunk), not cut.
    for (int i = 0; i < 50 && !stream.ended(); ++i)
        stream.readSome(std::chrono::milliseconds(100));
    EXPECT_TRUE(stream.ended());
}

TEST(AgentCli, SigtermWithAStalledStreamClientStillExitsCleanly) {
    std::string why;
    if (!JournalNamespace::available(&why))
        GTEST_SKIP() << why;
    JournalNamespace ns("day2cli");
    AgentProcess agent({"--journal-namespace", ns.name()}, "[http]\nshutdown_grace_seconds = 1\n");
    // A follower that reads nothing while ~20 MB are written: the agent's write blocks.
    StreamingGet stream(agent.port(), "/system/v1/logs/v1/stream/?filter=TEST:stall",
                        {{"Accept", "text/event-stream"}});
    ASSERT_EQ(stream.status(), 200);
    const std::string pad(1000, 'p');
    for (int i = 0; i < 20000; ++i)
        ns.write({{"MESSAGE", pad}, {"TEST", "stall"}});
    ns.waitForCount(20000, "TEST=stall");
    // The agent's write is stuck once its side of the connection holds unsent bytes that the
    // client does not take, the same amount a moment later: the socket buffers are full.
    const std::string sendQueue =
        "ss -Htn state established '( sport = :" + std::to_string(agent.port()) + " )'";
    std::string ss;
    auto unsent = [&] {
        ss = runCapture(sendQueue).output; // Recv-Q Send-Q Local Peer
        std::istringstream in(ss);
        long recvQ = 0, sendQ = 0;
        return in >> recvQ >> sendQ ? sendQ : 0L;
    };
    auto stalled = [&] {
        const long before = unsent();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        return before > 0 && unsent() == before;
    };
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool stuck = false;
    while (!(stuck = stalled()) && std::chrono::steady_clock::now() < limit) {
    }
    ASSERT_TRUE(stuck) << "the agent's writes never backed up: " << ss;
    // Past the grace period (1 s) the agent stops anyway, without crashing on the stuck stream.
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(agent.stop(), 0) << agent.log();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_NE(agent.log().find("stopping now"), std::string::npos) << agent.log();
}
