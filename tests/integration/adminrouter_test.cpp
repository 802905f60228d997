// Adminrouter: nginx from the Debian package, on loopback, with the configuration rendered by
// packaging/adminrouter/render.py from an inventory of two real agents (authentication on),
// TLS with a CA made for the test. Requests go through curl, which checks the certificate, or,
// for bytes curl will not send, through raw_http.py.
#include "agent_process.h"
#include "auth/jwt.h"
#include "child_process.h"
#include "http_client.h"
#include "journal_namespace.h"
#include "test_keys.h"
#include "ws_client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace day2::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Reply {
    int status = 0;
    std::string body;
    std::string headers;
};

class Adminrouter : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_skip = unavailableHere("nginx curl openssl");
        if (!s_skip.empty())
            return;
        s_dir = "/tmp/day2-adminrouter-test-" + std::to_string(::getpid());
        fs::create_directories(s_dir);
        const std::string d = s_dir;
        makeTestCa(d);
        // Adminrouter's, and the agents' (they serve HTTPS too), of the same CA.
        const std::string names = "IP:127.0.0.1,DNS:node-0,DNS:node-1,DNS:day2-agent";
        makeTestCertificate(d, "server", names);
        makeTestCertificate(d, "agent", names);
        s_key = generateKey("EC", "P-256");
        writeTextFile(d + "/jwt.pub", s_key.publicPem);
        writeTextFile(d + "/acl.json", R"({"grants": [
            {"uid": "admin", "resource": "*", "actions": ["*"]}]})");
        s_ns = new JournalNamespace("day2ar");
        // The agents take as much header as Adminrouter lets through: 64 KiB in all.
        const std::string config = "[auth]\npublic_keys = [\"" + d + "/jwt.pub\"]\nacl_file = \"" +
                                   d + "/acl.json\"\n[tasks]\ncgroup_parent = \"day2-ar-test-" +
                                   std::to_string(::getpid()) + "\"\nkill_grace_seconds = 1\n" +
                                   "[http]\nheader_limit_bytes = 65536\n";
        json agents = json::array();
        for (int i = 0; i < 2; ++i) {
            const std::string https = "[https]\nlisten = \"127.0.0.1:0\"\ncertificate = \"" + d +
                                      "/agent.pem\"\nkey = \"" + d + "/agent.key\"\n";
            s_agents[i] = new AgentProcess({"--journal-namespace", s_ns->name()}, config + https);
            auto health = json::parse(httpGet(s_agents[i]->port(), "/system/v1/health").body);
            s_ids[i] = health["agent_id"];
            // Adminrouter reaches the agents over HTTPS and checks their certificates.
            const std::string log = s_agents[i]->log();
            const std::string marker = "serving HTTPS on https://127.0.0.1:";
            const size_t at = log.find(marker);
            if (at == std::string::npos)
                throw std::runtime_error("the agent did not serve HTTPS: " + log);
            s_tlsPorts[i] = static_cast<uint16_t>(std::stoi(log.substr(at + marker.size())));
            agents.push_back({{"agent_id", s_ids[i]},
                              {"hostname", "node-" + std::to_string(i)},
                              {"address", "127.0.0.1:" + std::to_string(s_tlsPorts[i])},
                              {"scheme", "https"}});
        }
        s_nginx = startNginx(
                      d,
                      [&](uint16_t port) {
                          writeTextFile(
                              d + "/inventory.json",
                              json({{"listen", "127.0.0.1:" + std::to_string(port)},
                                    {"tls", {{"certificate", "server.pem"}, {"key", "server.key"}}},
                                    {"agents_ca", "ca.pem"},
                                    {"agents", agents}})
                                  .dump());
                          render(d);
                      },
                      s_port, s_nginxError)
                      .release();
        s_token = tokenFor("admin");
    }
    static std::string tokenFor(const std::string& uid) {
        day2::auth::TokenClaims c;
        c.uid = uid;
        c.issuedAt = std::time(nullptr);
        c.expiresAt = c.issuedAt + 3600;
        return *day2::auth::signJwt(s_key.privatePem, c);
    }
    static void render(const std::string& dir) {
        runCommand("python3 " DAY2_SOURCE_DIR "/packaging/adminrouter/render.py " + dir +
                   "/inventory.json --out " + dir + "/run");
    }
    // Whether process `pid` listens on 127.0.0.1:`port` (and not another that took the port).
    static bool listensOn(pid_t pid, uint16_t port) {
        const auto r = runCapture("ss -Htlnp '( sport = :" + std::to_string(port) + " )'");
        return r.output.find("pid=" + std::to_string(pid) + ",") != std::string::npos;
    }
    // Starts nginx with what `renderFor(port)` writes to dir/run for a free port, and waits (a
    // minute at most) until it listens there. A port found free but taken before nginx binds it
    // is given up for another, twice at most. Returns nginx, or null with the reason in `error`.
    static std::unique_ptr<ChildProcess> startNginx(const std::string& dir,
                                                    const std::function<void(uint16_t)>& renderFor,
                                                    uint16_t& port, std::string& error) {
        for (int attempt = 0; attempt < 3; ++attempt) {
            port = freePort();
            renderFor(port);
            std::error_code ec;
            fs::remove(dir + "/nginx.out", ec);
            fs::remove(dir + "/run/error.log", ec);
            auto nginx = std::make_unique<ChildProcess>(
                std::vector<std::string>{"nginx", "-p", dir + "/run", "-c", dir + "/run/nginx.conf",
                                         "-g", "daemon off;"},
                dir + "/nginx.out");
            const auto limit = std::chrono::steady_clock::now() + std::chrono::minutes(1);
            while (nginx->running() && std::chrono::steady_clock::now() < limit) {
                if (listensOn(nginx->pid(), port))
                    return nginx;
                std::this_thread::sleep_for(std::chrono::milliseconds(25));
            }
            nginx->stop();
            error = "nginx did not listen on port " + std::to_string(port) + " within a minute:\n" +
                    readFile(dir + "/nginx.out") + readFile(dir + "/run/error.log");
            if (error.find("Address already in use") == std::string::npos)
                return nullptr;
        }
        return nullptr;
    }
    // A second Adminrouter in `dir`, with the suite's TLS certificate, in front of one stand-in
    // agent `agentId` on 127.0.0.1:`agentPort`; `edit` may change its nginx.conf once rendered.
    static std::unique_ptr<ChildProcess>
    adminrouterFor(const std::string& dir, const std::string& agentId, const std::string& agentPort,
                   uint16_t& port, std::string& error, const std::function<void()>& edit = {}) {
        return startNginx(
            dir,
            [&](uint16_t p) {
                writeTextFile(
                    dir + "/inventory.json",
                    json(
                        {{"listen", "127.0.0.1:" + std::to_string(p)},
                         {"tls",
                          {{"certificate", s_dir + "/server.pem"}, {"key", s_dir + "/server.key"}}},
                         {"agents",
                          {{{"agent_id", agentId}, {"address", "127.0.0.1:" + agentPort}}}}})
                        .dump());
                render(dir);
                if (edit)
                    edit();
            },
            port, error);
    }
    // Waits (30 s at most) until `file` exists and holds `text`.
    static bool waitForText(const std::string& file, const std::string& text) {
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!fs::exists(file) || readFile(file).find(text) == std::string::npos) {
            if (std::chrono::steady_clock::now() >= limit)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }
    static uint16_t freePort() {
        // Bind port 0, read it back, release it for nginx.
        auto out = runCommand("python3 -c 'import socket; s=socket.socket(); "
                              "s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'");
        return static_cast<uint16_t>(std::stoi(out));
    }
    static void TearDownTestSuite() {
        delete s_nginx;
        s_nginx = nullptr;
        for (auto*& a : s_agents) {
            delete a;
            a = nullptr;
        }
        delete s_ns;
        s_ns = nullptr;
        removeCgroupParent("day2-ar-test-" + std::to_string(::getpid()));
        std::error_code ec;
        if (!s_dir.empty())
            fs::remove_all(s_dir, ec);
    }
    void SetUp() override {
        if (!s_skip.empty())
            GTEST_SKIP() << s_skip;
        ASSERT_TRUE(s_nginx && s_nginx->running())
            << s_nginxError << readFile(s_dir + "/nginx.out") << readFile(s_dir + "/run/error.log");
    }
    static std::string readFile(const std::string& path) {
        std::ifstream in(path);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    static std::string shellQuote(const std::string& s) {
        std::string out = "'";
        for (char c : s)
            out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    }
    // curl through Adminrouter (the path is sent as is); another one's port if given.
    static Reply curl(const std::string& path, const std::string& token,
                      const std::string& extra = "", uint16_t port = 0) {
        const std::string body = s_dir + "/body", head = s_dir + "/head";
        std::string cmd = "curl -sS --path-as-is --cacert " + s_dir + "/ca.pem -o " + body +
                          " -D " + head + " -w '%{http_code}' " + extra;
        if (!token.empty())
            cmd += " -H " + shellQuote("Authorization: Bearer " + token);
        cmd += " " + shellQuote("https://127.0.0.1:" + std::to_string(port ? port : s_port) + path);
        auto r = runCapture(cmd);
        Reply reply;
        reply.status = r.exitCode == 0 ? std::stoi(r.output) : -1;
        reply.body = readFile(body);
        reply.headers = readFile(head);
        return reply;
    }
    // Each request's bytes as they are, on a connection of its own, to Adminrouter over TLS
    // (plain TCP if `tls` is false); the answers as they came (raw_http.py).
    static std::vector<Reply> raw(const std::vector<std::string>& requests, bool tls = true) {
        std::string cmd = "python3 " DAY2_SOURCE_DIR
                          "/tests/integration/raw_http.py send 127.0.0.1:" +
                          std::to_string(s_port) + " " + (tls ? s_dir + "/ca.pem" : "plain");
        for (size_t i = 0; i < requests.size(); ++i) {
            const std::string file = s_dir + "/raw." + std::to_string(i);
            writeTextFile(file, requests[i]);
            cmd += " " + file;
        }
        const std::string out = runCommand(cmd);
        std::vector<Reply> replies;
        for (size_t at = 0; at < out.size();) {
            const size_t eol = out.find('\n', at);
            const size_t length = std::stoul(out.substr(at, eol - at));
            const std::string answer = out.substr(eol + 1, length);
            at = eol + 1 + length;
            Reply r;
            const size_t end = answer.find("\r\n\r\n");
            if (answer.compare(0, 5, "HTTP/") == 0 && end != std::string::npos) {
                r.status = std::stoi(answer.substr(answer.find(' ') + 1, 3));
                r.headers = answer.substr(0, end + 2);
                r.body = answer.substr(end + 4);
            } else {
                r.status = -1; // no HTTP answer (or a bare HTTP/0.9 one)
                r.body = answer;
            }
            replies.push_back(r);
        }
        return replies;
    }
    static Reply raw(const std::string& request, bool tls = true) {
        return raw(std::vector<std::string>{request}, tls).at(0);
    }
    // An error as docs/api.md has it: the status, JSON, {"code": <the status>, "error", "detail"}.
    static void expectJsonError(const Reply& r, int status, const std::string& what) {
        EXPECT_EQ(r.status, status) << what << "\n" << r.headers << r.body;
        EXPECT_NE(r.headers.find("\r\nContent-Type: application/json\r\n"), std::string::npos)
            << what << "\n"
            << r.headers << r.body;
        auto j = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(j.is_object()) << what << ": " << r.body;
        EXPECT_EQ(j["code"], status) << what << ": " << r.body;
        for (const char* key : {"error", "detail"})
            EXPECT_TRUE(j[key].is_string() && !j[key].get<std::string>().empty())
                << what << ": no " << key << " in " << r.body;
    }
    static std::string detailOf(const Reply& r) {
        auto j = json::parse(r.body, nullptr, false);
        return j.is_object() && j["detail"].is_string() ? j["detail"].get<std::string>() : "";
    }
    static std::string agentPath(int i, const std::string& rest) {
        return "/system/v1/agent/" + s_ids[i] + rest;
    }

    static inline std::string s_skip, s_dir, s_token, s_nginxError;
    static inline TestKey s_key;
    static inline JournalNamespace* s_ns = nullptr;
    static inline AgentProcess* s_agents[2] = {nullptr, nullptr};
    static inline std::string s_ids[2];
    static inline ChildProcess* s_nginx = nullptr;
    static inline uint16_t s_port = 0;
    static inline uint16_t s_tlsPorts[2] = {0, 0}; // the agents' HTTPS ports
};

} // namespace

TEST_F(Adminrouter, AnAgentServesHttpsWithModernTlsOnly) {
    const std::string url =
        "https://127.0.0.1:" + std::to_string(s_tlsPorts[0]) + "/system/v1/health";
    auto ok = runCapture("curl -sS --cacert " + s_dir + "/ca.pem " + url);
    ASSERT_EQ(ok.exitCode, 0) << ok.output;
    EXPECT_EQ(json::parse(ok.output)["agent_id"], s_ids[0]);
    // TLS 1.1 and older are refused; so is a client that does not trust the CA.
    EXPECT_NE(
        runCapture("curl -sS --tlsv1 --tls-max 1.1 --cacert " + s_dir + "/ca.pem " + url + " 2>&1")
            .exitCode,
        0);
    EXPECT_NE(runCapture("curl -sS " + url + " 2>&1").exitCode, 0);
    // A plain-HTTP request to the HTTPS port gets no answer but does not disturb the agent.
    EXPECT_EQ(httpGet(s_tlsPorts[0], "/system/v1/health", {}, std::chrono::seconds(2)).status, 0);
    EXPECT_EQ(runCapture("curl -sS --cacert " + s_dir + "/ca.pem " + url).exitCode, 0);
}

TEST_F(Adminrouter, ListsTheAgentsToAValidTokenOnly) {
    auto none = curl("/system/v1/agents", "");
    EXPECT_EQ(none.status, 401) << none.body;
    EXPECT_EQ(json::parse(none.body)["code"], 401);
    EXPECT_NE(none.headers.find("WWW-Authenticate: Bearer realm=\"day2\""), std::string::npos)
        << none.headers;
    EXPECT_EQ(curl("/system/v1/agents", "not.a.token").status, 401);
    auto ok = curl("/system/v1/agents", s_token);
    ASSERT_EQ(ok.status, 200) << ok.body;
    auto list = json::parse(ok.body);
    ASSERT_EQ(list.size(), 2u);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(list[i]["agent_id"], s_ids[i]);
        EXPECT_EQ(list[i]["address"], "127.0.0.1:" + std::to_string(s_tlsPorts[i]));
    }
}

TEST_F(Adminrouter, RoutesEveryLogsAndTasksEndpointToTheRightAgent) {
    s_ns->write({{"MESSAGE", "adminrouter sample"}, {"SYSLOG_IDENTIFIER", "ar-test"}});
    s_ns->waitForCount(1, "SYSLOG_IDENTIFIER=ar-test");
    for (int i = 0; i < 2; ++i) {
        auto h = curl(agentPath(i, "/health"), "");
        ASSERT_EQ(h.status, 200) << h.body << readFile(s_dir + "/run/error.log");
        EXPECT_EQ(json::parse(h.body)["agent_id"], s_ids[i]);
        auto who = curl(agentPath(i, "/auth/whoami"), s_token);
        EXPECT_EQ(who.status, 200);
        EXPECT_EQ(curl(agentPath(i, "/auth/whoami"), "").status, 401); // the agent's own check

        // The same range, through the proxy and directly, byte for byte (query kept encoded).
        const std::string q = "/logs/v1/range/?filter=SYSLOG_IDENTIFIER:ar-test&limit=5";
        auto viaProxy = curl(agentPath(i, q), s_token, "-H 'Accept: application/json'");
        auto direct =
            httpGet(s_agents[i]->port(), "/system/v1" + q,
                    {{"Authorization", "Bearer " + s_token}, {"Accept", "application/json"}});
        ASSERT_EQ(viaProxy.status, 200) << viaProxy.body;
        EXPECT_EQ(viaProxy.body, direct.body);
        EXPECT_NE(viaProxy.body.find("adminrouter sample"), std::string::npos);
        EXPECT_EQ(curl(agentPath(i, "/logs/v1/fields/SYSLOG_IDENTIFIER"), s_token).status, 200);
        auto dl = curl(agentPath(i, "/logs/v1/range/download?limit=3"), s_token);
        EXPECT_EQ(dl.status, 200);
        EXPECT_NE(dl.headers.find("Content-Disposition: attachment"), std::string::npos);

        // Tasks: launch, list, one, its logs, stop.
        auto launched = curl(agentPath(i, "/tasks/v1/"), s_token,
                             "--json " + shellQuote(json({{"framework_id", "fw"},
                                                          {"framework_name", "m"},
                                                          {"application_name", "/via-proxy"},
                                                          {"shell", "echo proxied; sleep 1000"}})
                                                        .dump()));
        ASSERT_EQ(launched.status, 201) << launched.body;
        const json c = json::parse(launched.body);
        EXPECT_EQ(c["agent_id"], s_ids[i]);
        const std::string cid = c["container_id"];
        auto list = curl(agentPath(i, "/tasks/v1/"), s_token);
        EXPECT_NE(list.body.find(cid), std::string::npos);
        EXPECT_EQ(curl(agentPath(1 - i, "/tasks/v1/" + cid), s_token).status, 404); // not there
        EXPECT_EQ(curl(agentPath(i, "/tasks/v1/" + cid), s_token).status, 200);
        std::string lines;
        auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (;;) {
            lines = curl(agentPath(i, "/logs/v1/range/framework/fw/executor/" + cid +
                                          "/container/" + cid),
                         s_token)
                        .body;
            if (lines.find("proxied") != std::string::npos ||
                std::chrono::steady_clock::now() >= limit)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_NE(lines.find("proxied"), std::string::npos) << lines;

        // Exec over TLS (wss), through Adminrouter, into the task: its hostname; a terminal that
        // takes input and a resize.
        const std::vector<std::pair<std::string, std::string>> bearer = {
            {"Authorization", "Bearer " + s_token}};
        const std::string exec = agentPath(i, "/exec/v1/containers/" + cid);
        HttpResponse refusal;
        auto ws = WsClient::connect(s_port, exec + "?command=hostname&stdout=1&stderr=1",
                                    {"v5.channel.k8s.io"}, bearer, &refusal, s_dir + "/ca.pem");
        ASSERT_TRUE(ws) << refusal.status << " " << refusal.body;
        auto session = ws->readSession();
        EXPECT_EQ(session.out, cid.substr(0, 12) + "\n");
        EXPECT_EQ(session.status, R"({"metadata":{},"status":"Success"})");
        EXPECT_EQ(session.closeCode, 1000);
        ws = WsClient::connect(s_port, exec + "?command=sh&stdin=1&stdout=1&tty=1",
                               {"v4.channel.k8s.io"}, bearer, &refusal, s_dir + "/ca.pem");
        ASSERT_TRUE(ws) << refusal.status << " " << refusal.body;
        ws->sendChannel(4, R"({"Width":132,"Height":43})");
        ws->sendChannel(0, "stty size; echo $((6*7)); exit 7\r");
        session = ws->readSession();
        EXPECT_NE(session.out.find("43 132"), std::string::npos) << session.out;
        EXPECT_NE(session.out.find("42"), std::string::npos) << session.out;
        EXPECT_EQ(json::parse(session.status)["details"]["causes"][0]["message"], "7");

        EXPECT_EQ(curl(agentPath(i, "/tasks/v1/" + cid), s_token, "-X DELETE").status, 202);
        limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        std::string state;
        for (;;) {
            state = curl(agentPath(i, "/tasks/v1/" + cid), s_token).body;
            if (state.find("\"running\"") == std::string::npos ||
                std::chrono::steady_clock::now() >= limit)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ASSERT_EQ(state.find("\"running\""), std::string::npos) << "still running after 30 s";
        EXPECT_EQ(curl(agentPath(i, "/tasks/v1/" + cid), s_token, "-X DELETE").status, 200);
    }
}

TEST_F(Adminrouter, StreamsAreNotBufferedAndResumeWithLastEventId) {
    const std::string path = agentPath(0, "/logs/v1/stream/?filter=SYSLOG_IDENTIFIER:ar-sse");
    const std::string url = "https://127.0.0.1:" + std::to_string(s_port) + path;
    const std::string out = s_dir + "/sse.out";
    ChildProcess stream({"curl", "-sN", "--cacert", s_dir + "/ca.pem", "-H",
                         "Authorization: Bearer " + s_token, "-H", "Accept: text/event-stream",
                         url},
                        out);
    // The agent sends "retry:" once the stream's position (the journal's end) is fixed: what is
    // written after it has come through is the stream's.
    ASSERT_TRUE(waitForText(out, "retry:")) << readFile(out);
    for (int n = 1; n <= 3; ++n)
        s_ns->write({{"MESSAGE", "sse " + std::to_string(n)}, {"SYSLOG_IDENTIFIER", "ar-sse"}});
    // Arrived while the stream is open: nginx did not hold them back.
    ASSERT_TRUE(waitForText(out, "sse 3")) << readFile(out);
    const std::string got = readFile(out);
    stream.stop();
    // The id of "sse 1", then resume after it through the proxy.
    const size_t at = got.find("sse 1");
    const size_t idStart = got.rfind("id: ", at);
    ASSERT_NE(idStart, std::string::npos);
    const std::string id = got.substr(idStart + 4, got.find('\n', idStart) - idStart - 4);
    const std::string resumedOut = s_dir + "/sse-resumed.out";
    ChildProcess resume({"curl", "-sN", "--cacert", s_dir + "/ca.pem", "-H",
                         "Authorization: Bearer " + s_token, "-H", "Accept: text/event-stream",
                         "-H", "Last-Event-ID: " + id, url},
                        resumedOut);
    ASSERT_TRUE(waitForText(resumedOut, "sse 3")) << readFile(resumedOut);
    resume.stop();
    const std::string resumed = readFile(resumedOut);
    EXPECT_EQ(resumed.find("sse 1"), std::string::npos) << resumed;
    const size_t two = resumed.find("sse 2"), three = resumed.find("sse 3");
    EXPECT_NE(two, std::string::npos) << resumed;
    EXPECT_LT(two, three) << resumed;
}

TEST_F(Adminrouter, PathTricksAndUnknownAgentsNeverReachAnUpstream) {
    const std::string a = s_ids[0], b = s_ids[1];
    struct Case {
        std::string path;
        int status;
    } cases[] = {
        {"/system/v1/agent/" + a + "/../" + b + "/health", 400},
        {"/system/v1/agent/" + a + "/%2e%2e/" + b + "/health", 400},
        {"/system/v1/agent/" + a + "/%2E%2e/x", 400},
        {"/system/v1/agent/" + a + "/./health", 400},
        {"/system/v1/agent/../agent/" + b + "/health", 400},
        {"/system/v1/agent/%2e/health", 400},
        {"/system/v1/agent/" + a + "%2e/health", 404},
        {"/system/v1/agent/" + a + "%2F..%2F" + b + "/health", 404},
        {"/system/v1/agent/." + a + "/health", 404},
        {"/system/v1/agent//" + a + "/health", 404},
        {"/system/v1/agent/no-such-agent/health", 404},
        {"/system/v1/agent/" + a + "_x/health", 404},
        {"/elsewhere", 404},
    };
    for (const auto& c : cases) {
        auto r = curl(c.path, s_token);
        EXPECT_EQ(r.status, c.status) << c.path << " -> " << r.body;
        auto j = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(j.is_object()) << c.path << " -> " << r.body;
        EXPECT_FALSE(j.contains("agent_id")) << c.path << " reached an agent: " << r.body;
        EXPECT_EQ(j["code"], c.status);
    }
    // An encoded slash after a valid id reaches that agent only, which refuses it itself.
    auto slash = curl("/system/v1/agent/" + a + "/logs%2Fv1/range/", s_token);
    EXPECT_EQ(slash.status, 400);
    EXPECT_NE(slash.body.find("encodes '/'"), std::string::npos) << slash.body;
}

// Every error nginx answers itself, whether met reading the request line and headers (before a
// location is chosen), in a location, or reading the body, is JSON like the agents' errors, with
// the status nginx meant (494 and 497, nginx's own, are 400), and nginx closes the connection
// where it did before (the line "closes": it answers "Connection: close").
TEST_F(Adminrouter, EveryErrorOfNginxItselfIsJson) {
    const std::string a = agentPath(0, "");
    const std::string host = "Host: 127.0.0.1\r\n";
    auto request = [](const std::string& line, const std::string& headers = "Host: 127.0.0.1\r\n",
                      const std::string& body = "") {
        return line + "\r\n" + headers + "\r\n" + body;
    };
    std::string manyHeaders = host; // five lines of 15,000 bytes: each fits, all do not
    for (int i = 0; i < 5; ++i)
        manyHeaders += "X-Big-" + std::to_string(i) + ": " + std::string(15000, 'b') + "\r\n";
    const std::string bearer = "Authorization: Bearer " + s_token + "\r\n";
    struct Case {
        std::string what, request;
        int status;
        bool closes;
        std::string detailHas = "";
    } cases[] = {
        {"a control byte in the path", request("GET " + a + "/he\x01lth HTTP/1.1"), 400, true},
        {"a space in the path", request("GET " + a + "/a b HTTP/1.1"), 400, true},
        {"an encoded NUL in the path", request("GET " + a + "/health%00 HTTP/1.1"), 400, true},
        {"a path above the root", request("GET /../health HTTP/1.1"), 400, true},
        {"a lowercase method", request("get " + a + "/health HTTP/1.1"), 400, true},
        {"CONNECT to host:port", request("CONNECT 127.0.0.1:443 HTTP/1.1"), 400, true},
        {"HTTP/2.0", request("GET " + a + "/health HTTP/2.0"), 505, true, "HTTP/1"},
        {"HTTP/3.0", request("GET " + a + "/health HTTP/3.0"), 505, true},
        {"HTTP/3", request("GET " + a + "/health HTTP/3"), 505, true},
        {"no Host", request("GET " + a + "/health HTTP/1.1", ""), 400, true},
        {"two Hosts", request("GET " + a + "/health HTTP/1.1", host + host), 400, true},
        {"a NUL in a header",
         request("GET " + a + "/health HTTP/1.1", host + "X-A: b" + std::string(1, '\0') + "c\r\n"),
         400, true},
        {"a folded header line",
         request("GET " + a + "/health HTTP/1.1", host + "X-A: b\r\n c\r\n"), 400, true},
        {"a bad Content-Length",
         request("POST " + a + "/tasks/v1/ HTTP/1.1", host + "Content-Length: x\r\n"), 400, true},
        {"Content-Length and Transfer-Encoding",
         request("POST " + a + "/tasks/v1/ HTTP/1.1",
                 host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
         400, true},
        {"a bad chunk size",
         request("POST " + a + "/tasks/v1/ HTTP/1.1", host + "Transfer-Encoding: chunked\r\n",
                 "zz\r\nabc\r\n0\r\n\r\n"),
         400, true},
        {"Transfer-Encoding: gzip",
         request("POST " + a + "/tasks/v1/ HTTP/1.1", host + "Transfer-Encoding: gzip\r\n"), 501,
         true},
        // Met before the path is checked for dot segments: the error nginx met stands.
        {"Transfer-Encoding: gzip to a path with '..'",
         request("POST " + a + "/../x HTTP/1.1", host + "Transfer-Encoding: gzip\r\n"), 501, true},
        {"TRACE", request("TRACE " + a + "/health HTTP/1.1"), 405, true},
        {"CONNECT to a path", request("CONNECT /x HTTP/1.1"), 405, true},
        {"a request line over 16 KiB",
         request("GET " + a + "/health?q=" + std::string(17000, 'q') + " HTTP/1.1"), 414, true,
         "16 KiB"},
        {"a header line over 16 KiB",
         request("GET " + a + "/health HTTP/1.1",
                 host + "X-Big: " + std::string(17000, 'b') + "\r\n"),
         400, true, "16 KiB"},
        {"headers over 64 KiB in all", request("GET " + a + "/health HTTP/1.1", manyHeaders), 400,
         true},
        {"a body over 1 MiB, by Content-Length",
         request("POST " + a + "/tasks/v1/ HTTP/1.1",
                 host + bearer + "Content-Length: 2097152\r\n"),
         413, true, "1 MiB"},
        {"a body over 1 MiB, by a chunk's size",
         request("POST " + a + "/tasks/v1/ HTTP/1.1",
                 host + bearer + "Transfer-Encoding: chunked\r\n",
                 "200000\r\n" + std::string(1000, 'x')),
         413, true},
        {"POST /system/v1/agents",
         request("POST /system/v1/agents HTTP/1.1", host + bearer + "Content-Length: 0\r\n"), 403,
         false},
        {"an internal location", request("GET /_day2_whoami HTTP/1.1"), 404, false},
        {"an error page", request("GET /_day2_error/400 HTTP/1.1"), 404, false},
        {"a path ending in .html", request("GET /elsewhere.html HTTP/1.1"), 404, false},
        {"a range past the agents list",
         request("GET /system/v1/agents HTTP/1.1", host + bearer + "Range: bytes=99999-\r\n"), 416,
         false},
        {"If-Match on the agents list",
         request("GET /system/v1/agents HTTP/1.1", host + bearer + "If-Match: \"other\"\r\n"), 412,
         false},
    };
    std::vector<std::string> requests;
    for (const auto& c : cases)
        requests.push_back(c.request);
    const auto replies = raw(requests);
    ASSERT_EQ(replies.size(), std::size(cases));
    for (size_t i = 0; i < replies.size(); ++i) {
        expectJsonError(replies[i], cases[i].status, cases[i].what);
        EXPECT_EQ(replies[i].headers.find("\r\nConnection: close\r\n") != std::string::npos,
                  cases[i].closes)
            << cases[i].what << "\n"
            << replies[i].headers;
        EXPECT_NE(detailOf(replies[i]).find(cases[i].detailHas), std::string::npos)
            << cases[i].what << ": " << replies[i].body;
    }

    // Plain HTTP to the TLS port (nginx's 497).
    auto plain = raw(request("GET " + a + "/health HTTP/1.1"), false);
    expectJsonError(plain, 400, "plain HTTP to the TLS port");
    EXPECT_NE(detailOf(plain).find("https://"), std::string::npos) << plain.body;
    EXPECT_NE(plain.headers.find("\r\nConnection: close\r\n"), std::string::npos) << plain.headers;
}

// nginx takes what the agents take: a request line or a header line of 16,000 bytes reaches the
// agent; one of 17,000 is nginx's JSON error.
TEST_F(Adminrouter, LinesOfUpTo16KiBReachTheAgent) {
    const std::string header = "X-Big: " + std::string(16000 - 7, 'b'); // a 16,000-byte line
    auto big = curl(agentPath(0, "/health"), "", "-H " + shellQuote(header));
    ASSERT_EQ(big.status, 200) << big.headers << big.body;
    EXPECT_EQ(json::parse(big.body)["agent_id"], s_ids[0]);
    auto bigger =
        curl(agentPath(0, "/health"), "", "-H " + shellQuote(header + std::string(1000, 'b')));
    expectJsonError(bigger, 400, "a 17,000-byte header line");

    // "GET <path> HTTP/1.1": a request line of 16,000 bytes.
    const std::string path = agentPath(0, "/health?pad=");
    const std::string line = path + std::string(16000 - path.size() - 13, 'q');
    auto longLine = curl(line, "");
    ASSERT_EQ(longLine.status, 200) << longLine.headers << longLine.body;
    EXPECT_EQ(json::parse(longLine.body)["agent_id"], s_ids[0]);
    expectJsonError(curl(line + std::string(1000, 'q'), ""), 414, "a 17,000-byte request line");
}

// Only nginx's own errors are JSON of Adminrouter's: an agent's own errors come as the agent sent
// them, byte for byte.
TEST_F(Adminrouter, AnAgentsOwnErrorsPassUnchanged) {
    const std::string nobody = tokenFor("nobody"); // valid, granted nothing
    struct Case {
        std::string what, method, rest, token;
    } cases[] = {
        {"no token", "GET", "/auth/whoami", ""},
        {"a token granted nothing", "GET", "/logs/v1/range/", nobody},
        {"no such task", "GET", "/tasks/v1/no-such-task", s_token},
        {"a POST to health", "POST", "/health", ""},
        {"a bad parameter", "GET", "/logs/v1/range/?limit=x", s_token},
    };
    for (const auto& c : cases) {
        std::vector<std::pair<std::string, std::string>> headers;
        if (!c.token.empty())
            headers.emplace_back("Authorization", "Bearer " + c.token);
        auto direct = httpRequest(
            s_agents[0]->port(), c.method, "/system/v1" + c.rest,
            c.method == "POST" ? std::optional<std::string>("") : std::nullopt, headers);
        ASSERT_GE(direct.status, 400) << c.what << ": " << direct.body;
        auto proxied =
            curl(agentPath(0, c.rest), c.token, c.method == "POST" ? "--data-binary ''" : "");
        EXPECT_EQ(proxied.status, direct.status) << c.what << ": " << proxied.body;
        EXPECT_EQ(proxied.body, direct.body) << c.what;
    }
}

// An agent that takes the connection and never answers: a 504 naming it, and the agents list,
// whose token it cannot check, a 500. A second Adminrouter whose timeouts are cut to a second
// plays it, a silent listener (raw_http.py) the agent.
TEST_F(Adminrouter, AnAgentThatDoesNotAnswerInTimeIsNamed) {
    const std::string d = s_dir + "/silent";
    fs::create_directories(d);
    ChildProcess silent(
        {"python3", DAY2_SOURCE_DIR "/tests/integration/raw_http.py", "silent", d + "/port"},
        d + "/silent.out");
    // (raw_http.py writes the file whole: a temporary one renamed.)
    ASSERT_TRUE(waitForText(d + "/port", "")) << readFile(d + "/silent.out");
    const std::string silentPort = readFile(d + "/port");
    ASSERT_FALSE(silentPort.empty()) << readFile(d + "/silent.out");
    uint16_t port = 0;
    std::string error;
    auto nginx = adminrouterFor(d, "quiet-node", silentPort, port, error, [&] {
        runCommand("sed -i -E 's/proxy_read_timeout [0-9]+[a-z]*;/proxy_read_timeout 1s;/' " + d +
                   "/run/nginx.conf");
    });
    const std::string conf = readFile(d + "/run/nginx.conf");
    ASSERT_NE(conf.find("proxy_read_timeout 1s;"), std::string::npos);
    ASSERT_EQ(conf.find("proxy_read_timeout 24h"), std::string::npos);
    ASSERT_TRUE(nginx) << error;

    auto slow = curl("/system/v1/agent/quiet-node/health", "", "--max-time 30", port);
    expectJsonError(slow, 504, "an agent that does not answer");
    EXPECT_NE(detailOf(slow).find("agent quiet-node is not answering"), std::string::npos)
        << slow.body << readFile(d + "/run/error.log");
    auto list = curl("/system/v1/agents", s_token, "--max-time 30", port);
    expectJsonError(list, 500, "the agents list, no agent checking the token");
    EXPECT_NE(detailOf(list).find("token could not be checked"), std::string::npos) << list.body;
}

// WebSocket upgrades pass through (the exec endpoint's transport) exactly: a stand-in echo server
// (ws_echo.py) plays the agent behind a second Adminrouter rendered for it and says what reached
// it (real exec sessions through Adminrouter are in
// RoutesEveryLogsAndTasksEndpointToTheRightAgent).
TEST_F(Adminrouter, PassesWebSocketUpgrades) {
    const std::string d = s_dir + "/ws";
    fs::create_directories(d);
    ChildProcess echo({"python3", DAY2_SOURCE_DIR "/tests/integration/ws_echo.py", d + "/port"},
                      d + "/echo.out");
    // (ws_echo.py writes the file whole, once it listens: a temporary one renamed.)
    ASSERT_TRUE(waitForText(d + "/port", "")) << readFile(d + "/echo.out");
    const std::string echoPort = readFile(d + "/port");
    ASSERT_FALSE(echoPort.empty()) << readFile(d + "/echo.out");
    uint16_t port = 0;
    std::string error;
    auto nginx = adminrouterFor(d, "ws-echo", echoPort, port, error);
    ASSERT_TRUE(nginx) << error;
    auto r =
        runCapture("python3 " DAY2_SOURCE_DIR "/tests/integration/ws_echo.py client 127.0.0.1:" +
                   std::to_string(port) +
                   " '/system/v1/agent/ws-echo/exec/v1/containers/c1?command=sh&tty=1' " + s_dir +
                   "/ca.pem 2>&1");
    ASSERT_EQ(r.exitCode, 0) << r.output << readFile(d + "/run/error.log");
    EXPECT_NE(r.output.find("HTTP/1.1 101 Switching Protocols"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Sec-WebSocket-Protocol: v5.channel.k8s.io"), std::string::npos);
    // The agent sees its own path, the query untouched.
    EXPECT_NE(r.output.find("X-Echo-Path: /system/v1/exec/v1/containers/c1?command=sh&tty=1"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("echo: echo through adminrouter"), std::string::npos) << r.output;
}

TEST_F(Adminrouter, LimitsBodiesAndSaysWhenAnAgentIsDown) {
    const std::string big = s_dir + "/big.json";
    writeTextFile(big, std::string(2 * 1024 * 1024, 'x'));
    expectJsonError(curl(agentPath(0, "/tasks/v1/"), s_token, "--data-binary @" + big), 413,
                    "a 2 MiB body");
    // The other agent stops: its routes answer 502 JSON, the first still answers.
    // (The last test of the suite: the agent stays down.)
    s_agents[1]->stop();
    auto down = curl(agentPath(1, "/health"), s_token);
    expectJsonError(down, 502, "a stopped agent");
    EXPECT_NE(detailOf(down).find("agent " + s_ids[1] + " is not answering"), std::string::npos)
        << down.body;
    EXPECT_EQ(curl(agentPath(0, "/health"), s_token).status, 200);
    // /system/v1/agents still answers while one agent is down (auth_request uses the other).
    EXPECT_EQ(curl("/system/v1/agents", s_token).status, 200);
}
