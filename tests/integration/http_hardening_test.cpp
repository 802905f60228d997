// The agent's HTTP server against what any client can do to it on purpose: thousands of
// connections that send nothing (on the plain and the TLS port), the memory they leave behind,
// request smuggling through Transfer-Encoding, doubled headers. Needs root (a private journald).
#include "agent_process.h"
#include "auth/jwt.h"
#include "http_client.h"
#include "journal_namespace.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace day2::test;
using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kIdle = 2000;

class HttpHardening : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_skip = unavailableHere("curl openssl");
        if (!s_skip.empty())
            return;
        // Twice kIdle sockets of ours at once, and the agent's own.
        rlimit rl{};
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < 2 * kIdle + 100) {
            s_skip = "the open files limit (" + std::to_string(rl.rlim_cur) + ") is too low";
            return;
        }
        s_dir = "/tmp/day2-hardening-test-" + std::to_string(::getpid());
        fs::create_directories(s_dir);
        const std::string d = s_dir;
        makeTestCa(d);
        makeTestCertificate(d, "agent", "IP:127.0.0.1");
        s_key = generateKey("EC", "P-256");
        writeTextFile(d + "/jwt.pub", s_key.publicPem);
        writeTextFile(d + "/acl.json", R"({"grants": [
            {"uid": "admin", "resource": "*", "actions": ["*"]}]})");
        s_ns = new JournalNamespace("day2hard");
        s_agent = new AgentProcess(
            {"--journal-namespace", s_ns->name()},
            "[auth]\npublic_keys = [\"" + d + "/jwt.pub\"]\nacl_file = \"" + d +
                "/acl.json\"\n[tasks]\ncgroup_parent = \"day2-hardening-test-" +
                std::to_string(::getpid()) + "\"\n[https]\nlisten = \"127.0.0.1:0\"\n" +
                "certificate = \"" + d + "/agent.pem\"\nkey = \"" + d + "/agent.key\"\n");
        const std::string log = s_agent->log();
        const std::string marker = "serving HTTPS on https://127.0.0.1:";
        const size_t at = log.find(marker);
        if (at == std::string::npos)
            throw std::runtime_error("the agent did not serve HTTPS: " + log);
        s_tlsPort = static_cast<uint16_t>(std::stoi(log.substr(at + marker.size())));
        day2::auth::TokenClaims c;
        c.uid = "admin";
        c.issuedAt = std::time(nullptr);
        c.expiresAt = c.issuedAt + 3600;
        s_token = *day2::auth::signJwt(s_key.privatePem, c);
    }
    static void TearDownTestSuite() {
        delete s_agent;
        s_agent = nullptr;
        delete s_ns;
        s_ns = nullptr;
        removeCgroupParent("day2-hardening-test-" + std::to_string(::getpid()));
        std::error_code ec;
        fs::remove_all(s_dir, ec);
    }
    void SetUp() override {
        if (!s_skip.empty())
            GTEST_SKIP() << s_skip;
    }

    // `n` connections to `port` that send nothing, from 127.0.0.2 or, with `addresses` > 1,
    // spread over 127.0.1.1, 127.0.1.2, ... Returns once the kernel has completed every one.
    static std::vector<int> openIdle(uint16_t port, int n, int addresses = 1) {
        std::vector<int> fds;
        for (int i = 0; i < n; ++i) {
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            sockaddr_in src{};
            src.sin_family = AF_INET;
            const std::string from = addresses == 1
                                         ? std::string("127.0.0.2")
                                         : "127.0.1." + std::to_string(1 + i % addresses);
            ::inet_pton(AF_INET, from.c_str(), &src.sin_addr);
            if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
                throw std::runtime_error(std::string("idle socket: ") + std::strerror(errno));
            sockaddr_in dst{};
            dst.sin_family = AF_INET;
            dst.sin_port = htons(port);
            dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 &&
                errno != EINPROGRESS)
                throw std::runtime_error(std::string("idle connect: ") + std::strerror(errno));
            fds.push_back(fd);
        }
        for (int fd : fds) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 30000);
        }
        return fds;
    }
    static void closeAll(std::vector<int>& fds) {
        for (int fd : fds)
            ::close(fd);
        fds.clear();
    }

    struct Timed {
        int status = 0;
        double seconds = 0;
    };
    // A request from 127.0.0.1 on the plain port.
    static Timed plain(const std::string& target, bool withToken) {
        std::vector<std::pair<std::string, std::string>> h;
        if (withToken)
            h.emplace_back("Authorization", "Bearer " + s_token);
        const auto t0 = Clock::now();
        auto r = httpGet(s_agent->port(), target, h, std::chrono::seconds(10));
        return {r.status, std::chrono::duration<double>(Clock::now() - t0).count()};
    }
    // The same on the TLS port, through curl (which checks the certificate); the time is
    // curl's own, from its connect to the last byte.
    static Timed tls(const std::string& target, bool withToken) {
        std::string cmd = "curl -sS -o /dev/null -m 10 -w '%{http_code} %{time_total}' --cacert " +
                          s_dir + "/ca.pem";
        if (withToken)
            cmd += " -H 'Authorization: Bearer " + s_token + "'";
        cmd += " https://127.0.0.1:" + std::to_string(s_tlsPort) + target;
        auto r = runCapture(cmd);
        Timed t;
        std::sscanf(r.output.c_str(), "%d %lf", &t.status, &t.seconds);
        return t;
    }

    static long rssKiB() {
        std::ifstream in("/proc/" + std::to_string(s_agent->pid()) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmRSS:", 0) == 0)
                return std::stol(line.substr(6));
        return -1;
    }
    static long health(const char* field) {
        auto r = httpGet(s_agent->port(), "/system/v1/health");
        return r.status == 200 ? json::parse(r.body)[field].get<long>() : -1;
    }
    static long connections() { return health("connections"); }

    static inline std::string s_skip, s_dir, s_token;
    static inline TestKey s_key;
    static inline JournalNamespace* s_ns = nullptr;
    static inline AgentProcess* s_agent = nullptr;
    static inline uint16_t s_tlsPort = 0;
};

// 2,000 connections that send nothing, not even a TLS handshake, leave the health check and an
// authenticated request from another address answered within a second, on the plain port and
// on the TLS port: from one address (it competes with itself) and from 40 addresses, 50 each
// (the agent's 1,024 fill up, and the oldest waiting connection makes room).
TEST_F(HttpHardening, IdleConnectionsDoNotStarveAnotherAddress) {
    for (const int addresses : {1, 40})
    for (const bool onTls : {false, true}) {
        SCOPED_TRACE(std::string(onTls ? "TLS port" : "plain port") + ", from " +
                     std::to_string(addresses) + " address(es)");
        const long evictedBefore = health("connections_evicted");
        auto idle = openIdle(onTls ? s_tlsPort : s_agent->port(), kIdle, addresses);
        // Our requests queue behind all 2,000 at the agent's accept: each is answered after the
        // agent has dealt with them.
        for (int i = 0; i < 5; ++i)
            for (const bool withToken : {false, true}) {
                const std::string target =
                    withToken ? "/system/v1/auth/whoami" : "/system/v1/health";
                const Timed t = onTls ? tls(target, withToken) : plain(target, withToken);
                EXPECT_EQ(t.status, 200) << target << " (try " << i << ")";
                EXPECT_LT(t.seconds, 1.0) << target << " (try " << i << ")";
            }
        // The agent saw the flood: it closed the connections beyond 64 waiting from one
        // address, or beyond its 1,024 in all.
        EXPECT_GE(health("connections_evicted") - evictedBefore,
                  addresses == 1 ? kIdle - 64 : kIdle - 1024);
        closeAll(idle);
    }
}

// The agent's memory after such floods comes back near where it was: what the idle connections
// took is bounded while they last (most are closed at once) and given back after.
TEST_F(HttpHardening, MemoryComesBackAfterFloods) {
    // Warm up: a few requests of each kind, so that what any first request allocates is there.
    for (int i = 0; i < 3; ++i) {
        plain("/system/v1/health", false);
        tls("/system/v1/auth/whoami", true);
    }
    const long before = rssKiB();
    long peak = before;
    for (int round = 0; round < 6; ++round) {
        const int addresses = round % 2 ? 1 : 40;
        auto a = openIdle(s_agent->port(), kIdle, addresses);
        auto b = openIdle(s_tlsPort, kIdle, addresses);
        EXPECT_EQ(plain("/system/v1/health", false).status, 200); // all of them were seen
        EXPECT_EQ(tls("/system/v1/health", false).status, 200);
        peak = std::max(peak, rssKiB());
        closeAll(a);
        closeAll(b);
        const auto limit = Clock::now() + std::chrono::seconds(60);
        while (connections() > 1 && Clock::now() < limit)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        EXPECT_LE(connections(), 1);
    }
    // The agent gives memory back a moment after a flood has gone.
    const auto limit = Clock::now() + std::chrono::seconds(30);
    while (rssKiB() - before >= 8 * 1024 && Clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const long after = rssKiB();
    std::printf("agent RSS: %ld KiB before, %ld KiB at the peak, %ld KiB after six floods of "
                "%d idle connections on each port\n",
                before, peak, after, kIdle);
    EXPECT_LT(peak - before, 32 * 1024);
    EXPECT_LT(after - before, 8 * 1024);
}

// A connection that sends nothing, not even a TLS handshake, is closed without a word once the
// first request's deadline (10 s by default) has passed; it does not hold its place for the
// 30 s a request may take to arrive on a connection that has already made one.
TEST_F(HttpHardening, AConnectionThatSendsNothingIsClosedAtTheFirstRequestDeadline) {
    RawExchange plainSide, tlsSide;
    double plainSeconds = 0, tlsSeconds = 0;
    std::thread other([&] {
        const auto t0 = Clock::now();
        tlsSide = rawExchange(s_tlsPort, "", std::chrono::seconds(60));
        tlsSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    });
    const auto t0 = Clock::now();
    plainSide = rawExchange(s_agent->port(), "", std::chrono::seconds(60));
    plainSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    other.join();
    for (const auto& [side, seconds] : {std::pair{plainSide, plainSeconds}, {tlsSide, tlsSeconds}}) {
        EXPECT_TRUE(side.closed);
        EXPECT_EQ(side.received, "");
        EXPECT_GE(seconds, 9.0); // not before its deadline
    }
}

// At its connection limit the agent closes the oldest connection still waiting for a request
// to make room; only when every connection is serving one (here: streams) is a new one
// refused, with a 503 that says why. A served stream is never closed for a newcomer.
TEST_F(HttpHardening, AtTheLimitWaitingConnectionsMakeRoomAndServingOnesAreKept) {
    AgentProcess small({"--journal-namespace", s_ns->name()},
                       "[http]\nmax_connections = 8\n[tasks]\nenabled = false\n");
    std::vector<std::unique_ptr<StreamingGet>> streams;
    for (int i = 0; i < 7; ++i) {
        streams.push_back(std::make_unique<StreamingGet>(
            small.port(), "/system/v1/logs/v1/stream/",
            std::vector<std::pair<std::string, std::string>>{{"Accept", "text/event-stream"}}));
        ASSERT_EQ(streams.back()->status(), 200);
    }
    // The eighth place: taken by an idle connection, then given to a request.
    const int idle = connectLoopback(small.port());
    ASSERT_GE(idle, 0);
    EXPECT_EQ(httpGet(small.port(), "/system/v1/health").status, 200);
    char byte;
    pollfd p{idle, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 30000), 1);
    EXPECT_EQ(::recv(idle, &byte, 1, 0), 0) << "the idle connection was closed, unanswered";
    ::close(idle);
    // Eight streams: a ninth connection is refused, and the streams go on.
    streams.push_back(std::make_unique<StreamingGet>(
        small.port(), "/system/v1/logs/v1/stream/",
        std::vector<std::pair<std::string, std::string>>{{"Accept", "text/event-stream"}}));
    ASSERT_EQ(streams.back()->status(), 200);
    auto refused = httpGet(small.port(), "/system/v1/health");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_NE(refused.body.find("maximum of 8"), std::string::npos) << refused.body;
    s_ns->write({{"MESSAGE", "still streaming"}, {"SYSLOG_IDENTIFIER", "hardening"}});
    for (auto& stream : streams) {
        std::string got;
        const auto limit = Clock::now() + std::chrono::seconds(30);
        while (got.find("still streaming") == std::string::npos && Clock::now() < limit)
            got += stream->readSome(std::chrono::milliseconds(500));
        EXPECT_NE(got.find("still streaming"), std::string::npos);
    }
    streams.pop_back();
    const auto limit = Clock::now() + std::chrono::seconds(30);
    while (httpGet(small.port(), "/system/v1/health").status != 200 && Clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(httpGet(small.port(), "/system/v1/health").status, 200);
}

// RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked cannot be framed; a
// request with both Transfer-Encoding and Content-Length is an attempt at smuggling. Either is
// a 400 and the connection closes, so the body is never read as a second request.
TEST_F(HttpHardening, TransferEncodingThatCannotFrameTheBodyIsRefused) {
    const std::string smuggled = "GET /system/v1/auth/whoami HTTP/1.1\r\nHost: x\r\n"
                                 "Authorization: Bearer " +
                                 s_token + "\r\n\r\n";
    struct Case {
        std::string headers;
        int status;
    };
    const Case cases[] = {
        {"Transfer-Encoding: gzip\r\n", 400},
        {"Transfer-Encoding: identity\r\n", 400},
        {"Transfer-Encoding: chunked, identity\r\n", 400},
        {"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", 400},
        {"Transfer-Encoding: gzip\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n",
         400},
        {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400},
        {"Transfer-Encoding: gzip, chunked\r\n", 501},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.headers);
        const std::string body =
            c.headers.find("chunked\r\n") != std::string::npos &&
                    c.headers.find("Content-Length") == std::string::npos
                ? "0\r\n\r\n" + smuggled
                : smuggled;
        auto r = rawExchange(s_agent->port(), "POST /system/v1/health HTTP/1.1\r\nHost: x\r\n" +
                                                  c.headers + "\r\n" + body);
        EXPECT_TRUE(r.closed);
        EXPECT_EQ(r.received.rfind("HTTP/1.1 " + std::to_string(c.status) + " ", 0), 0u)
            << r.received;
        // One answer, never a second one for the body.
        size_t answers = 0;
        for (size_t at = r.received.find("HTTP/1."); at != std::string::npos;
             at = r.received.find("HTTP/1.", at + 1))
            ++answers;
        EXPECT_EQ(answers, 1u) << r.received;
        EXPECT_EQ(r.received.find("\"uid\""), std::string::npos) << r.received;
        EXPECT_NE(r.received.find("\"code\":" + std::to_string(c.status)), std::string::npos);
    }
    // Chunked alone is fine, and a keep-alive connection goes on after it.
    auto ok = rawExchange(s_agent->port(),
                          "GET /system/v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n0\r\n\r\nGET /system/v1/health HTTP/1.1\r\nHost: "
                          "x\r\nConnection: close\r\n\r\n");
    size_t answers = 0;
    for (size_t at = ok.received.find("HTTP/1.1 200"); at != std::string::npos;
         at = ok.received.find("HTTP/1.1 200", at + 1))
        ++answers;
    EXPECT_EQ(answers, 2u) << ok.received;
}

// Two Authorization headers: which one counts would depend on who reads them (a proxy may take
// the last, the agent the first). Refused.
TEST_F(HttpHardening, TwoAuthorizationHeadersAreRefused) {
    auto r = httpGet(s_agent->port(), "/system/v1/auth/whoami",
                     {{"Authorization", "Bearer " + s_token}, {"Authorization", "Bearer x"}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("Authorization"), std::string::npos) << r.body;
    auto one = httpGet(s_agent->port(), "/system/v1/auth/whoami",
                       {{"Authorization", "Bearer " + s_token}});
    EXPECT_EQ(one.status, 200) << one.body;
}

} // namespace
