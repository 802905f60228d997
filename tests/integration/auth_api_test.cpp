// Authentication and authorization of the real agent: every refused token gets a 401 and an audit
// line in journald; grants by uid, by group and by `*` pattern decide 200 or 403 (with an audit
// line); the ACL is reloaded on SIGHUP without dropping a stream; a stream ends with its token;
// the agent refuses to start with authentication on and nothing to verify tokens with;
// `day2 token issue` mints tokens the agent accepts.
#include "agent_process.h"
#include "auth/jwt.h"
#include "http_client.h"
#include "journal_namespace.h"
#include "test_keys.h"
#include "ws_client.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace day2::test;
using nlohmann::json;
namespace fs = std::filesystem;
namespace auth = day2::auth;

namespace {

const std::string kTasks = "/system/v1/tasks/v1/";
const std::string kRange = "/system/v1/logs/v1/range/";
// Audit lines as the README says to read them: only what the agent (root) wrote; journald sets
// _UID from the sender's credentials, so no other user can forge one.
const std::string kAudit = "DAY2_AUDIT=1 _UID=0 _COMM=day2-agent ";

const char* kAcl = R"({"grants": [
  {"uid": "reader", "resource": "day2:logs:system", "actions": ["read"]},
  {"group": "auditors", "resource": "day2:logs:system", "actions": ["read"]},
  {"group": "ops", "resource": "day2:tasks:*", "actions": ["read", "create", "delete"]},
  {"uid": "webdev", "resource": "day2:logs:task:/web*", "actions": ["read"]},
  {"uid": "webdev", "resource": "day2:tasks:/web*", "actions": ["read"]},
  {"uid": "watcher", "resource": "day2:metrics", "actions": ["read"]},
  {"uid": "shell", "resource": "day2:exec:/web*", "actions": ["create"]}
]})";
const char* kScrapeToken = "scrape-0123456789abcdef";

class AuthApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (::geteuid() != 0) {
            s_skip = "needs root (a private journald, cgroups)";
            return;
        }
        std::string why;
        if (!JournalNamespace::available(&why)) {
            s_skip = why;
            return;
        }
        s_dir = "/tmp/day2-auth-test-" + std::to_string(::getpid());
        fs::create_directories(s_dir);
        s_rsa = generateKey("RSA", "2048");
        s_ec = generateKey("EC", "P-256");
        writeTextFile(s_dir + "/rsa.pub", s_rsa.publicPem);
        writeTextFile(s_dir + "/rsa.key", s_rsa.privatePem);
        writeTextFile(s_dir + "/ec.pub", s_ec.publicPem);
        writeTextFile(s_dir + "/acl.json", kAcl);
        s_ns = new JournalNamespace("day2auth");
        s_agent = new AgentProcess({"--journal-namespace", s_ns->name()}, config());
    }
    static std::string config() {
        return "[auth]\nenabled = true\npublic_keys = [\"" + s_dir + "/rsa.pub\", \"" + s_dir +
               "/ec.pub\"]\nacl_file = \"" + s_dir +
               "/acl.json\"\n[tasks]\ncgroup_parent = "
               "\"day2-auth-test-" +
               std::to_string(::getpid()) +
               "\"\nkill_grace_seconds = 1\n[metrics]\nprometheus_token = \"" + kScrapeToken +
               "\"\n";
    }
    static void TearDownTestSuite() {
        if (s_agent) {
            // Stop and remove whatever a test left running, as an operator would.
            const std::string admin = token(s_rsa, "cleanup", {"ops"});
            auto list = json::parse(get(kTasks, admin).body)["containers"];
            for (const auto& c : list)
                request("DELETE", kTasks + c["container_id"].get<std::string>(), admin);
            for (const auto& c : list) {
                const std::string path = kTasks + c["container_id"].get<std::string>();
                for (int i = 0;
                     i < 600 && get(path, admin).body.find("\"running\"") != std::string::npos; ++i)
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                request("DELETE", path, admin);
            }
        }
        delete s_agent;
        s_agent = nullptr;
        delete s_ns;
        s_ns = nullptr;
        removeCgroupParent("day2-auth-test-" + std::to_string(::getpid()));
        std::error_code ec;
        fs::remove_all(s_dir, ec);
    }
    void SetUp() override {
        if (!s_skip.empty())
            GTEST_SKIP() << s_skip;
    }

    static std::string token(const TestKey& key, const std::string& uid,
                             std::vector<std::string> groups = {}) {
        auth::TokenClaims c;
        c.uid = uid;
        c.groups = std::move(groups);
        c.issuedAt = std::time(nullptr);
        c.expiresAt = c.issuedAt + 600;
        auto t = auth::signJwt(key.privatePem, c);
        if (!t)
            throw std::runtime_error(t.error().message);
        return *t;
    }
    static HttpResponse request(const std::string& method, const std::string& target,
                                const std::string& tok, std::optional<std::string> body = {}) {
        std::vector<std::pair<std::string, std::string>> h;
        if (!tok.empty())
            h.emplace_back("Authorization", "Bearer " + tok);
        return httpRequest(s_agent->port(), method, target, body, h);
    }
    static HttpResponse get(const std::string& target, const std::string& tok) {
        return request("GET", target, tok);
    }
    static std::string launchBody(const std::string& app) {
        return json({{"framework_id", "fw"},
                     {"framework_name", "m"},
                     {"application_name", app},
                     {"shell", "echo hello from " + app + "; sleep 1000"}})
            .dump();
    }
    // Audit lines in the journal with `match` (e.g. "DAY2_AUDIT_RESULT=denied").
    static size_t auditCount(const std::string& match) {
        return s_ns->journalctlJson(kAudit + match).size();
    }

    static inline std::string s_skip;
    static inline std::string s_dir;
    static inline TestKey s_rsa, s_ec;
    static inline JournalNamespace* s_ns = nullptr;
    static inline AgentProcess* s_agent = nullptr;
};

} // namespace

TEST_F(AuthApi, HealthNeedsNoTokenAndSaysAuthenticationIsOn) {
    auto r = get("/system/v1/health", "");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(json::parse(r.body)["auth"], "on");
}

TEST_F(AuthApi, EveryRefusedTokenIsA401WithItsReasonAndAnAuditLine) {
    const size_t before = auditCount("DAY2_AUDIT_RESULT=unauthenticated");
    const TestKey stranger = generateKey("RSA", "2048");
    auth::TokenClaims expired;
    expired.uid = "reader";
    expired.issuedAt = std::time(nullptr) - 7200;
    expired.expiresAt = expired.issuedAt + 3600;
    const std::string expiredToken = *auth::signJwt(s_rsa.privatePem, expired);
    const json payload = {{"uid", "reader"}, {"exp", std::time(nullptr) + 600}};
    const std::string algNone = auth::encodeBase64Url(json({{"alg", "none"}}).dump()) + "." +
                                auth::encodeBase64Url(payload.dump()) + ".";
    // HS256 with the agent's own public key as the HMAC secret (key confusion).
    const std::string hsInput = auth::encodeBase64Url(json({{"alg", "HS256"}}).dump()) + "." +
                                auth::encodeBase64Url(payload.dump());
    unsigned char mac[32];
    unsigned macLen = 0;
    HMAC(EVP_sha256(), s_rsa.publicPem.data(), static_cast<int>(s_rsa.publicPem.size()),
         reinterpret_cast<const unsigned char*>(hsInput.data()), hsInput.size(), mac, &macLen);
    const std::string hs256 =
        hsInput + "." + auth::encodeBase64Url(std::string(reinterpret_cast<char*>(mac), macLen));
    struct Case {
        std::optional<std::string> authorization;
        std::string detail;
    } cases[] = {
        {std::nullopt, "no token"},
        {"Basic cmVhZGVyOnNlY3JldA==", "neither 'Bearer <JWT>' nor 'token=<JWT>'"},
        {"Bearer not-a-jwt", "not a JWT"},
        {"Bearer " + expiredToken, "expired"},
        {"Bearer " + token(stranger, "reader"), "signature does not match"},
        {"Bearer " + algNone, "'none' is not accepted"},
        {"Bearer " + hs256, "'HS256' is not accepted"},
    };
    for (const auto& c : cases) {
        std::vector<std::pair<std::string, std::string>> h;
        if (c.authorization)
            h.emplace_back("Authorization", *c.authorization);
        auto r = httpGet(s_agent->port(), kRange + "?limit=1", h);
        EXPECT_EQ(r.status, 401) << r.body;
        EXPECT_NE(json::parse(r.body)["detail"].get<std::string>().find(c.detail),
                  std::string::npos)
            << r.body;
        auto www = r.header("WWW-Authenticate");
        ASSERT_TRUE(www);
        EXPECT_EQ(www->rfind("Bearer realm=\"day2\"", 0), 0u);
        EXPECT_EQ(www->find("invalid_token") != std::string::npos, c.authorization.has_value());
    }
    s_ns->waitForCount(before + std::size(cases), "DAY2_AUDIT_RESULT=unauthenticated");
    auto lines = s_ns->journalctlJson(kAudit + "DAY2_AUDIT_RESULT=unauthenticated");
    EXPECT_EQ(lines.back()["DAY2_AUDIT_SOURCE"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
    EXPECT_EQ(lines.back()["DAY2_AUDIT_UID"], "-");
}

TEST_F(AuthApi, WhoamiAcceptsBothHeaderFormsAndBothAlgorithms) {
    for (const TestKey* key : {&s_rsa, &s_ec}) {
        const std::string t = token(*key, "webdev", {"web", "oncall"});
        for (const std::string& form : {"Bearer " + t, "token=" + t}) {
            auto r = httpGet(s_agent->port(), "/system/v1/auth/whoami", {{"Authorization", form}});
            ASSERT_EQ(r.status, 200) << r.body;
            auto j = json::parse(r.body);
            EXPECT_EQ(j["uid"], "webdev");
            EXPECT_EQ(j["groups"], json({"web", "oncall"}));
        }
    }
}

TEST_F(AuthApi, GrantsByUidGroupAndPatternDecideAndRefusalsAreAudited) {
    const std::string reader = token(s_rsa, "reader");
    const std::string ops = token(s_ec, "bob", {"ops"});
    const std::string webdev = token(s_rsa, "webdev");

    EXPECT_EQ(get(kRange + "?limit=1", reader).status, 200);
    EXPECT_EQ(json::parse(get(kTasks, reader).body)["containers"], json::array());
    const size_t deniedBefore = auditCount("DAY2_AUDIT_RESULT=denied");
    auto refused = request("POST", kTasks, reader, launchBody("/web"));
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_NE(refused.body.find("uid 'reader' may not create day2:tasks:/web"), std::string::npos);
    s_ns->waitForCount(deniedBefore + 1, "DAY2_AUDIT_RESULT=denied");
    auto audit = s_ns->journalctlJson(kAudit + "DAY2_AUDIT_RESULT=denied").back();
    EXPECT_EQ(audit["DAY2_AUDIT_UID"], "reader");
    EXPECT_EQ(audit["DAY2_AUDIT_RESOURCE"], "day2:tasks:/web");
    EXPECT_EQ(audit["DAY2_AUDIT_ACTION"], "create");
    EXPECT_EQ(audit["DAY2_AUDIT_SOURCE"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
    EXPECT_EQ(json::parse(get(kTasks, reader).body)["containers"].size(), 0u);

    // A group grant: bob is in ops.
    auto web = request("POST", kTasks, ops, launchBody("/web"));
    ASSERT_EQ(web.status, 201) << web.body;
    auto db = request("POST", kTasks, ops, launchBody("/db"));
    ASSERT_EQ(db.status, 201) << db.body;
    const json webC = json::parse(web.body), dbC = json::parse(db.body);
    auto taskPath = [](const json& c) {
        return "/system/v1/logs/v1/range/framework/fw/executor/" +
               c["executor_id"].get<std::string>() + "/container/" +
               c["container_id"].get<std::string>();
    };

    // `*` patterns: webdev sees /web only.
    auto list = json::parse(get(kTasks, webdev).body)["containers"];
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["application_name"], "/web");
    EXPECT_EQ(get(taskPath(webC), webdev).status, 200);
    EXPECT_EQ(get(kRange, webdev).status, 403);
    // A container webdev may not see answers as one that does not exist, so that no caller
    // learns which ids exist; the refusal is audited all the same.
    const std::string dbId = dbC["container_id"], webId = webC["container_id"];
    const std::string noId = "00000000-0000-4000-8000-000000000000";
    const json noC = {{"executor_id", noId}, {"container_id", noId}};
    auto alike = [](HttpResponse a, const std::string& aId, HttpResponse b,
                    const std::string& bId) {
        for (auto* r : {&a, &b})
            for (const auto& id : {aId, bId})
                for (size_t at; (at = r->body.find(id)) != std::string::npos;)
                    r->body.replace(at, id.size(), "ID");
        EXPECT_EQ(a.status, b.status);
        EXPECT_EQ(a.body, b.body);
        return a.status;
    };
    const size_t deniedBeforeHidden = auditCount("DAY2_AUDIT_RESULT=denied");
    EXPECT_EQ(alike(get(kTasks + dbId, webdev), dbId, get(kTasks + noId, webdev), noId), 404);
    EXPECT_EQ(alike(request("DELETE", kTasks + webId, webdev), webId,
                    request("DELETE", kTasks + noId, webdev), noId),
              404);
    EXPECT_EQ(alike(get(taskPath(dbC), webdev), dbId, get(taskPath(noC), webdev), noId), 403);
    s_ns->waitForCount(deniedBeforeHidden + 4, "DAY2_AUDIT_RESULT=denied");
    EXPECT_EQ(get(kTasks + webId, webdev).status, 200);
    EXPECT_EQ(get(taskPath(webC), reader).status, 403); // system logs are not task logs

    EXPECT_EQ(request("DELETE", kTasks + webC["container_id"].get<std::string>(), ops).status, 202);
    EXPECT_EQ(request("DELETE", kTasks + dbC["container_id"].get<std::string>(), ops).status, 202);
}

TEST_F(AuthApi, SighupReloadsTheAclWithoutDroppingAStream) {
    const std::string reader = token(s_rsa, "reader");
    StreamingGet stream(s_agent->port(), "/system/v1/logs/v1/stream/",
                        {{"Authorization", "Bearer " + reader}, {"Accept", "text/event-stream"}});
    ASSERT_EQ(stream.status(), 200);
    EXPECT_EQ(request("POST", kTasks, reader, launchBody("/reader-app")).status, 403);

    // Grant the reader its own app, reload.
    json acl = json::parse(kAcl);
    acl["grants"].push_back({{"uid", "reader"},
                             {"resource", "day2:tasks:/reader-*"},
                             {"actions", {"create", "read", "delete"}}});
    writeTextFile(s_dir + "/acl.json", acl.dump());
    ::kill(s_agent->pid(), SIGHUP);
    HttpResponse launched;
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
        launched = request("POST", kTasks, reader, launchBody("/reader-app"));
        if (launched.status != 403)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < limit);
    ASSERT_EQ(launched.status, 201) << launched.body;
    const std::string cid = json::parse(launched.body)["container_id"];

    // A broken ACL: the agent keeps the one in force and says why.
    writeTextFile(s_dir + "/acl.json", "{ broken");
    ::kill(s_agent->pid(), SIGHUP);
    for (int i = 0; i < 1500 && s_agent->log().find("keeping the previous") == std::string::npos;
         ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_NE(s_agent->log().find("SIGHUP: keeping the previous keys and ACL"), std::string::npos);
    EXPECT_EQ(get(kTasks + cid, reader).status, 200);
    EXPECT_EQ(request("DELETE", kTasks + cid, reader).status, 202);
    writeTextFile(s_dir + "/acl.json", kAcl);
    ::kill(s_agent->pid(), SIGHUP);

    // The stream opened before all this still delivers.
    s_ns->write({{"MESSAGE", "after the reload"}, {"SYSLOG_IDENTIFIER", "auth-test"}});
    std::string got;
    for (int i = 0; i < 150 && got.find("after the reload") == std::string::npos; ++i)
        got += stream.readSome(std::chrono::milliseconds(200));
    EXPECT_NE(got.find("after the reload"), std::string::npos);
}

// A reload that takes a grant away ends the streams it no longer allows, at once, saying why, and
// audits it; a stream whose grant remains goes on.
TEST_F(AuthApi, AReloadEndsTheStreamsItNoLongerAllows) {
    const std::string carol = token(s_ec, "carol", {"auditors"}); // by her group's grant
    const std::string reader = token(s_rsa, "reader");            // by his own
    const std::vector<std::pair<std::string, std::string>> sse = {{"Accept", "text/event-stream"}};
    auto open = [&](const std::string& tok) {
        auto headers = sse;
        headers.emplace_back("Authorization", "Bearer " + tok);
        return std::make_unique<StreamingGet>(s_agent->port(), "/system/v1/logs/v1/stream/",
                                              headers);
    };
    auto carols = open(carol), readers = open(reader);
    ASSERT_EQ(carols->status(), 200);
    ASSERT_EQ(readers->status(), 200);
    const size_t revokedBefore = auditCount("DAY2_AUDIT_RESULT=revoked");

    json acl = json::parse(kAcl);
    json kept = json::array();
    for (const auto& g : acl["grants"])
        if (g.value("group", "") != "auditors")
            kept.push_back(g);
    acl["grants"] = kept;
    writeTextFile(s_dir + "/acl.json", acl.dump());
    const auto reloaded = std::chrono::steady_clock::now();
    ::kill(s_agent->pid(), SIGHUP);
    std::string got;
    while (!carols->ended() &&
           std::chrono::steady_clock::now() - reloaded < std::chrono::seconds(30))
        got += carols->readSome(std::chrono::milliseconds(100));
    const auto took = std::chrono::steady_clock::now() - reloaded;
    EXPECT_TRUE(carols->ended()) << "a stream outlived its grant";
    EXPECT_LT(took, std::chrono::seconds(1));
    EXPECT_NE(got.find(": the ACL no longer grants read on day2:logs:system to uid 'carol': the "
                       "stream ends"),
              std::string::npos)
        << got;
    s_ns->waitForCount(revokedBefore + 1, "DAY2_AUDIT_RESULT=revoked");
    auto audit = s_ns->journalctlJson(kAudit + "DAY2_AUDIT_RESULT=revoked").back();
    EXPECT_EQ(audit["DAY2_AUDIT_UID"], "carol");
    EXPECT_EQ(audit["DAY2_AUDIT_RESOURCE"], "day2:logs:system");
    // Reconnecting is refused; the reader's stream goes on.
    EXPECT_EQ(get("/system/v1/logs/v1/range/?limit=1", carol).status, 403);
    s_ns->write({{"MESSAGE", "after carol"}, {"SYSLOG_IDENTIFIER", "auth-test"}});
    std::string more;
    for (int i = 0; i < 150 && more.find("after carol") == std::string::npos; ++i)
        more += readers->readSome(std::chrono::milliseconds(200));
    EXPECT_NE(more.find("after carol"), std::string::npos);
    EXPECT_FALSE(readers->ended());

    // A reload that changes nothing ends nothing; then the grant again.
    ::kill(s_agent->pid(), SIGHUP);
    writeTextFile(s_dir + "/acl.json", kAcl);
    ::kill(s_agent->pid(), SIGHUP);
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (get("/system/v1/logs/v1/range/?limit=1", carol).status != 200 &&
           std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(get("/system/v1/logs/v1/range/?limit=1", carol).status, 200);
    s_ns->write({{"MESSAGE", "after the grant came back"}, {"SYSLOG_IDENTIFIER", "auth-test"}});
    more.clear();
    for (int i = 0; i < 150 && more.find("after the grant came back") == std::string::npos; ++i)
        more += readers->readSome(std::chrono::milliseconds(200));
    EXPECT_FALSE(readers->ended());
    EXPECT_EQ(auditCount("DAY2_AUDIT_RESULT=revoked"), revokedBefore + 1);
}

// A process of another user can write anything to journald, fields included, but journald sets
// _UID (and _SYSTEMD_UNIT) itself: a line it forges with a container's fields is not that
// container's line, while the container runs and after it is gone, and an audit line it forges
// is not an audit line.
TEST_F(AuthApi, LinesForgedByAnotherUserAreNeitherTaskLinesNorAuditLines) {
    const std::string ops = token(s_ec, "bob", {"ops"});
    const std::string webdev = token(s_rsa, "webdev");
    const std::string reader = token(s_rsa, "reader");
    auto launched = request("POST", kTasks, ops,
                            json({{"framework_id", "fw"},
                                  {"framework_name", "m"},
                                  {"application_name", "/web-target"},
                                  {"shell", "echo the real line"}})
                                .dump());
    ASSERT_EQ(launched.status, 201) << launched.body;
    const json c = json::parse(launched.body);
    const std::string cid = c["container_id"], eid = c["executor_id"];
    const std::string path = kRange + "framework/fw/executor/" + eid + "/container/" + cid;
    s_ns->waitForCount(1, "CONTAINER_ID=" + cid);

    // As nobody, through the journal's native socket, with the container's fields; and a line
    // that claims to be an audit line of the agent.
    auto forge = [&](const std::string& fields) {
        const std::string script = "import socket, sys\n"
                                   "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                                   "s.sendto(sys.argv[2].encode(), sys.argv[1])\n";
        writeTextFile(s_dir + "/forge.py", script);
        fs::permissions(s_dir, fs::perms(0755));
        fs::permissions(s_dir + "/forge.py", fs::perms(0644));
        runCommand("setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 " + s_dir +
                   "/forge.py " + s_ns->socketPath() + " '" + fields + "'");
    };
    forge("MESSAGE=a forged task line\nFRAMEWORK_ID=fw\nEXECUTOR_ID=" + eid +
          "\nCONTAINER_ID=" + cid +
          "\nAPPLICATION_NAME=/web-target\nSTREAM=STDOUT\n"
          "SYSLOG_IDENTIFIER=/web-target\n");
    forge("MESSAGE=audit: allowed * on * by uid mallory\nDAY2_AUDIT=1\nDAY2_AUDIT_UID=mallory\n"
          "DAY2_AUDIT_RESULT=allowed\nSYSLOG_IDENTIFIER=day2-agent\n");
    // journald took both, from uid 65534.
    s_ns->waitForCount(1, "MESSAGE=a forged task line");
    s_ns->waitForCount(1, "DAY2_AUDIT_UID=mallory");
    EXPECT_EQ(s_ns->journalctlJson("MESSAGE=a\\ forged\\ task\\ line").size(), 1u);
    const auto forged = s_ns->journalctlJson("DAY2_AUDIT_UID=mallory");
    ASSERT_EQ(forged.size(), 1u);
    EXPECT_EQ(forged[0]["_UID"], "65534");

    auto r = get(path, webdev); // the container runs or has just finished: known to the agent
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("the real line"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("forged"), std::string::npos) << r.body;
    // Removed: the agent knows it no more, and matches the fields with _UID=0 alone.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (get(kTasks + cid, ops).body.find("\"running\"") != std::string::npos &&
           std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(request("DELETE", kTasks + cid, ops).status, 200);
    r = get(path, reader);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("the real line"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("forged"), std::string::npos) << r.body;
    // Read as the README says, audit lines are the agent's only.
    EXPECT_EQ(auditCount("DAY2_AUDIT_UID=mallory"), 0u);
    EXPECT_EQ(s_ns->journalctlJson("DAY2_AUDIT=1 DAY2_AUDIT_UID=mallory").size(), 1u);
    // ...and the agent's own are found by it.
    const size_t webdevBefore = auditCount("DAY2_AUDIT_UID=webdev");
    EXPECT_EQ(get(kRange, webdev).status, 403);
    s_ns->waitForCount(webdevBefore + 1, "DAY2_AUDIT_UID=webdev");
    EXPECT_EQ(auditCount("DAY2_AUDIT_UID=webdev"), webdevBefore + 1);
}

TEST_F(AuthApi, AStreamEndsWhenItsTokenDoes) {
    // Expired 52 s ago: with the 60 s of clock skew allowed, accepted for 8 s more.
    auth::TokenClaims c;
    c.uid = "reader";
    c.issuedAt = std::time(nullptr) - 100;
    c.expiresAt = std::time(nullptr) - 52;
    const std::string tok = *auth::signJwt(s_rsa.privatePem, c);
    const auto opened = std::chrono::steady_clock::now();
    StreamingGet stream(s_agent->port(), "/system/v1/logs/v1/stream/",
                        {{"Authorization", "Bearer " + tok}, {"Accept", "text/event-stream"}});
    ASSERT_EQ(stream.status(), 200);
    std::string got;
    for (int i = 0; i < 300 && !stream.ended(); ++i)
        got += stream.readSome(std::chrono::milliseconds(200));
    EXPECT_TRUE(stream.ended()) << "the stream outlived its token";
    EXPECT_NE(got.find("the token expired"), std::string::npos) << got;
    EXPECT_GE(std::chrono::steady_clock::now() - opened, std::chrono::seconds(1))
        << "ended before its token did";
    // Reconnecting with it is refused.
    EXPECT_EQ(get("/system/v1/logs/v1/range/?limit=1", tok).status, 401);
}

TEST_F(AuthApi, TheCliMintsTokensTheAgentAccepts) {
    auto r = runCapture(std::string(DAY2_CLI_BINARY) + " token issue --key " + s_dir +
                        "/rsa.key --uid cli-user --groups ops,dev --ttl 10m");
    ASSERT_EQ(r.exitCode, 0);
    std::string t = r.output;
    while (!t.empty() && t.back() == '\n')
        t.pop_back();
    auto who = get("/system/v1/auth/whoami", t);
    ASSERT_EQ(who.status, 200) << who.body;
    EXPECT_EQ(json::parse(who.body)["groups"], json({"ops", "dev"}));
    EXPECT_EQ(get(kTasks, t).status, 200); // ops may read tasks
    EXPECT_EQ(runCapture(std::string(DAY2_CLI_BINARY) + " token issue --key /nonexistent --uid x")
                  .exitCode,
              1);
    EXPECT_EQ(runCapture(std::string(DAY2_CLI_BINARY) + " token issue --uid x").exitCode, 2);
}

// An agent with auth.issuer and auth.audience refuses the tokens of another issuer or for
// another cluster, and says which; the CLI mints ones it accepts.
TEST_F(AuthApi, AnAgentThatNamesItsIssuerAndAudienceRefusesOtherTokens) {
    AgentProcess named({"--journal-namespace", s_ns->name()},
                       "[auth]\npublic_keys = [\"" + s_dir + "/rsa.pub\"]\nacl_file = \"" + s_dir +
                           "/acl.json\"\nissuer = \"https://login.example.com\"\n"
                           "audience = \"prod-eu\"\n");
    EXPECT_NE(named.log().find("issuer 'https://login.example.com', audience 'prod-eu'"),
              std::string::npos)
        << named.log();
    auto whoami = [&](const std::string& t) {
        return httpRequest(named.port(), "GET", "/system/v1/auth/whoami", std::nullopt,
                           {{"Authorization", "Bearer " + t}});
    };
    auto mint = [&](const std::string& flags) {
        auto r = runCapture(std::string(DAY2_CLI_BINARY) + " token issue --key " + s_dir +
                            "/rsa.key --uid cli-user --ttl 10m " + flags);
        EXPECT_EQ(r.exitCode, 0) << r.output;
        while (!r.output.empty() && r.output.back() == '\n')
            r.output.pop_back();
        return r.output;
    };
    const std::string refusedBefore = "DAY2_AUDIT_RESULT=unauthenticated";
    const size_t audited = auditCount(refusedBefore);
    auto plain = whoami(mint(""));
    EXPECT_EQ(plain.status, 401);
    EXPECT_NE(plain.body.find("no 'iss' claim"), std::string::npos) << plain.body;
    auto elsewhere = whoami(mint("--issuer https://login.example.com --audience prod-us"));
    EXPECT_EQ(elsewhere.status, 401);
    EXPECT_NE(elsewhere.body.find("does not name 'prod-eu'"), std::string::npos) << elsewhere.body;
    auto ok = whoami(mint("--issuer https://login.example.com --audience prod-eu"));
    EXPECT_EQ(ok.status, 200) << ok.body;
    auto both =
        whoami(mint("--issuer https://login.example.com --audience prod-us --audience prod-eu"));
    EXPECT_EQ(both.status, 200) << both.body; // a list that names it
    // (The agent on the suite's usual config still takes a token without them.)
    EXPECT_EQ(get("/system/v1/auth/whoami", mint("")).status, 200);
    // Both refusals are audited.
    s_ns->waitForCount(audited + 2, refusedBefore);
    EXPECT_EQ(auditCount(refusedBefore), audited + 2);
}

// Through a trusted proxy (http.trusted_proxies: Adminrouter's address) the audit trail names
// the client the proxy forwarded for, and the proxy; from any other peer X-Forwarded-For is
// ignored, so that a client cannot write its own source.
TEST_F(AuthApi, TheAuditNamesTheClientATrustedProxyForwardedFor) {
    AgentProcess behind({"--journal-namespace", s_ns->name()},
                        "[http]\ntrusted_proxies = [\"127.0.0.1\"]\n[auth]\npublic_keys = [\"" +
                            s_dir + "/rsa.pub\"]\nacl_file = \"" + s_dir + "/acl.json\"\n");
    auto noToken = [](uint16_t port, const std::string& forwardedFor) {
        return httpRequest(port, "GET", kTasks, std::nullopt, {{"X-Forwarded-For", forwardedFor}});
    };
    const std::string forwarded = "DAY2_AUDIT_SOURCE=203.0.113.7";
    const size_t before = auditCount(forwarded);
    // A client's own header, then the address nginx saw: the rightmost.
    EXPECT_EQ(noToken(behind.port(), "198.51.100.1, 203.0.113.7").status, 401);
    s_ns->waitForCount(before + 1, forwarded);
    auto lines = s_ns->journalctlJson(kAudit + forwarded);
    ASSERT_EQ(lines.size(), before + 1);
    const json& line = lines.back();
    ASSERT_TRUE(line.contains("DAY2_AUDIT_VIA")) << line.dump();
    EXPECT_EQ(line["DAY2_AUDIT_VIA"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << line.dump();
    EXPECT_NE(line["MESSAGE"].get<std::string>().find("from 203.0.113.7 via 127.0.0.1:"),
              std::string::npos)
        << line.dump();

    // The suite's agent trusts no proxy: the header changes nothing.
    const std::string spoofed = "DAY2_AUDIT_SOURCE=192.0.2.66";
    const std::string unauthenticated = "DAY2_AUDIT_RESULT=unauthenticated";
    const size_t refusals = auditCount(unauthenticated);
    EXPECT_EQ(noToken(s_agent->port(), "192.0.2.66").status, 401);
    s_ns->waitForCount(refusals + 1, unauthenticated);
    EXPECT_EQ(auditCount(spoofed), 0u);
    lines = s_ns->journalctlJson(kAudit + unauthenticated);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back()["DAY2_AUDIT_SOURCE"].get<std::string>().rfind("127.0.0.1:", 0), 0u)
        << lines.back().dump();
    EXPECT_FALSE(lines.back().contains("DAY2_AUDIT_VIA")) << lines.back().dump();
}

TEST_F(AuthApi, TheAgentRefusesToStartWithAuthenticationOnAndNoWayToCheckTokens) {
    struct Case {
        std::string config;
        std::string message;
    } cases[] = {
        {"[auth]\nenabled = true\n", "auth.public_keys is empty"},
        {"[auth]\npublic_keys = [\"/nonexistent.pem\"]\n", "cannot read the public key"},
        {"[auth]\npublic_keys = [\"" + s_dir + "/rsa.pub\"]\nacl_file = \"/nonexistent.json\"\n",
         "auth.acl_file: cannot read /nonexistent.json"},
    };
    for (const auto& c : cases) {
        const std::string path = s_dir + "/bad.toml";
        writeTextFile(path, c.config);
        auto r = runCapture(agentBinary() + " --config " + path + " --listen 127.0.0.1:0 " +
                            "--state-dir " + s_dir + "/bad-state 2>&1");
        EXPECT_EQ(r.exitCode, 2) << r.output;
        EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
    }
}

TEST_F(AuthApi, MetricsNeedTheirGrantAndPrometheusItsTokenAndAReloadEndsAStream) {
    const std::string watcher = token(s_rsa, "watcher");
    const std::string reader = token(s_rsa, "reader"); // logs only
    const size_t deniedBefore = auditCount("DAY2_AUDIT_RESULT=denied");
    for (const std::string path : {"/system/v1/metrics/v0/node", "/metrics"}) {
        EXPECT_EQ(get(path, "").status, 401) << path;
        EXPECT_EQ(get(path, reader).status, 403) << path;
        EXPECT_EQ(get(path, watcher).status, 200) << path;
    }
    s_ns->waitForCount(deniedBefore + 2, "DAY2_AUDIT_RESULT=denied");
    // The scraper's token opens /metrics, and nothing else.
    auto scrape = get("/metrics", kScrapeToken);
    EXPECT_EQ(scrape.status, 200);
    EXPECT_NE(scrape.body.find("# TYPE day2_node_"), std::string::npos);
    EXPECT_EQ(get("/metrics", std::string(kScrapeToken) + "x").status, 401);
    EXPECT_EQ(get("/system/v1/metrics/v0/node", kScrapeToken).status, 401);

    // The watcher's stream ends when a reload takes the grant away.
    auto stream = std::make_unique<StreamingGet>(
        s_agent->port(), "/system/v1/metrics/v0/stream",
        std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + watcher}});
    ASSERT_EQ(stream->status(), 200);
    std::string got = stream->readSome(std::chrono::seconds(30));
    EXPECT_NE(got.find("event: metrics"), std::string::npos) << got;
    json acl = json::parse(kAcl);
    json kept = json::array();
    for (const auto& g : acl["grants"])
        if (g.value("uid", "") != "watcher")
            kept.push_back(g);
    acl["grants"] = kept;
    writeTextFile(s_dir + "/acl.json", acl.dump());
    ::kill(s_agent->pid(), SIGHUP);
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!stream->ended() && std::chrono::steady_clock::now() < limit)
        got += stream->readSome(std::chrono::milliseconds(100));
    EXPECT_TRUE(stream->ended()) << "a metrics stream outlived its grant";
    EXPECT_NE(got.find("no longer grants read on day2:metrics to uid 'watcher'"), std::string::npos)
        << got.substr(got.size() > 2000 ? got.size() - 2000 : 0);
    writeTextFile(s_dir + "/acl.json", kAcl);
    ::kill(s_agent->pid(), SIGHUP);
    const auto back = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (get("/metrics", watcher).status != 200 && std::chrono::steady_clock::now() < back)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(get("/metrics", watcher).status, 200);
}

// Exec: no token 401, no grant 403 (audited, alike for a container that does not exist), a
// session with the grant audited at its start and its end, and a reload that takes the grant
// away ends the session with a status that says so.
TEST_F(AuthApi, ExecSessionsAreAuthorizedAuditedAndEndedByAReload) {
    const std::string ops = token(s_ec, "bob", {"ops"});
    const std::string reader = token(s_rsa, "reader");
    const std::string shell = token(s_rsa, "shell");
    auto launched = request("POST", kTasks, ops, launchBody("/web-exec"));
    ASSERT_EQ(launched.status, 201) << launched.body;
    const std::string cid = json::parse(launched.body)["container_id"];
    const std::vector<std::string> v5 = {"v5.channel.k8s.io"};
    auto target = [&](const std::string& c, const std::string& command) {
        return "/system/v1/exec/v1/containers/" + c + "?command=sh&command=-c&command=" + command +
               "&stdout=1&stderr=1";
    };
    auto bearer = [](const std::string& t) {
        return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + t}};
    };

    HttpResponse r;
    EXPECT_FALSE(WsClient::connect(s_agent->port(), target(cid, "true"), v5, {}, &r));
    EXPECT_EQ(r.status, 401);
    const size_t deniedBefore = auditCount("DAY2_AUDIT_RESULT=denied");
    EXPECT_FALSE(WsClient::connect(s_agent->port(), target(cid, "true"), v5, bearer(reader), &r));
    EXPECT_EQ(r.status, 403) << r.body;
    s_ns->waitForCount(deniedBefore + 1, "DAY2_AUDIT_RESULT=denied");
    auto denied = s_ns->journalctlJson(kAudit + "DAY2_AUDIT_RESULT=denied").back();
    EXPECT_EQ(denied["DAY2_AUDIT_RESOURCE"], "day2:exec:/web-exec");
    EXPECT_EQ(denied["DAY2_AUDIT_ACTION"], "create");
    EXPECT_FALSE(WsClient::connect(s_agent->port(), target("no-such-container", "true"), v5,
                                   bearer(reader), &r));
    EXPECT_EQ(r.status, 403) << "tells a caller without the grant which ids exist";

    const size_t endedBefore = auditCount("DAY2_AUDIT_RESULT=ended");
    auto c = WsClient::connect(s_agent->port(), target(cid, "echo%20hi%3B%20exit%204"), v5,
                               bearer(shell), &r);
    ASSERT_TRUE(c) << r.status << " " << r.body;
    auto session = c->readSession();
    EXPECT_EQ(session.out, "hi\n");
    EXPECT_EQ(json::parse(session.status)["details"]["causes"][0]["message"], "4");
    s_ns->waitForCount(endedBefore + 1, "DAY2_AUDIT_RESULT=ended");
    auto ended = s_ns->journalctlJson(kAudit + "DAY2_AUDIT_RESULT=ended").back();
    EXPECT_EQ(ended["DAY2_AUDIT_UID"], "shell");
    EXPECT_EQ(ended["DAY2_EXEC_CONTAINER_ID"], cid);
    EXPECT_EQ(ended["DAY2_EXEC_APPLICATION"], "/web-exec");
    EXPECT_EQ(ended["DAY2_EXEC_COMMAND"], "sh -c echo hi; exit 4");
    EXPECT_EQ(ended["DAY2_EXEC_EXIT_CODE"], "4");
    EXPECT_EQ(ended["DAY2_EXEC_BYTES_OUT"], "3");
    EXPECT_EQ(ended["DAY2_EXEC_TTY"], "0");
    auto allowed = s_ns->journalctlJson(kAudit + "DAY2_EXEC_CONTAINER_ID=" + cid);
    ASSERT_GE(allowed.size(), 2u);
    EXPECT_EQ(allowed.front()["DAY2_AUDIT_RESULT"], "allowed");

    // The grant goes while a session runs: the session ends, saying why, and is audited.
    c = WsClient::connect(s_agent->port(), target(cid, "echo%20up%3B%20sleep%201000"), v5,
                          bearer(shell), &r);
    ASSERT_TRUE(c);
    std::string out;
    ASSERT_TRUE(c->readUntil("up", out)) << out;
    const size_t revokedBefore = auditCount("DAY2_AUDIT_RESULT=revoked");
    json acl = json::parse(kAcl);
    json kept = json::array();
    for (const auto& g : acl["grants"])
        if (g.value("uid", "") != "shell")
            kept.push_back(g);
    acl["grants"] = kept;
    writeTextFile(s_dir + "/acl.json", acl.dump());
    ::kill(s_agent->pid(), SIGHUP);
    session = c->readSession();
    EXPECT_TRUE(session.closed);
    EXPECT_EQ(session.statusMessages, 1);
    const json status = json::parse(session.status);
    EXPECT_EQ(status["reason"], "Forbidden") << session.status;
    EXPECT_NE(status["message"].get<std::string>().find("no longer grants"), std::string::npos)
        << session.status;
    s_ns->waitForCount(revokedBefore + 1, "DAY2_AUDIT_RESULT=revoked");
    writeTextFile(s_dir + "/acl.json", kAcl);
    ::kill(s_agent->pid(), SIGHUP);
    request("DELETE", kTasks + cid, ops);
}
