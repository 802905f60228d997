// JWT verification and the ACL: valid RS256 and ES256 tokens, and every way a token must be
// refused (wrong key, tampering, alg none, HS256 with the public key as secret, expiry, nbf,
// missing claims, another issuer or audience when the agent names one, malformed input); ACL files
// that must parse and must not, and grants by uid, group and `*` pattern. Keys are generated for
// the test with OpenSSL.
#include "auth/acl.h"
#include "auth/jwt.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

using namespace day2::auth;
using nlohmann::json;

namespace {

using KeyPair = day2::test::TestKey;

KeyPair generate(const char* type, const char* param) {
    return day2::test::generateKey(type, param);
}

const KeyPair& rsa() {
    static KeyPair k = generate("RSA", "2048");
    return k;
}
const KeyPair& ec() {
    static KeyPair k = generate("EC", "P-256");
    return k;
}

constexpr int64_t kNow = 1795000000;

std::string sign(const KeyPair& k, TokenClaims c) {
    auto t = signJwt(k.privatePem, c);
    EXPECT_TRUE(t) << t.error().message;
    return t ? *t : "";
}

TokenClaims claims(std::string uid = "alice", std::vector<std::string> groups = {"ops"}) {
    TokenClaims c;
    c.uid = std::move(uid);
    c.groups = std::move(groups);
    c.issuedAt = kNow;
    c.expiresAt = kNow + 3600;
    return c;
}

JwtVerifier verifier(VerifyOptions o = {}) {
    auto v = JwtVerifier::fromPem({rsa().publicPem, ec().publicPem}, o);
    EXPECT_TRUE(v) << v.error().message;
    return std::move(*v);
}

std::string unsignedToken(const json& header, const json& payload, const std::string& sig) {
    return encodeBase64Url(header.dump()) + "." + encodeBase64Url(payload.dump()) + "." +
           encodeBase64Url(sig);
}

// A token of any payload, signed RS256 with the test's RSA key (signJwt writes only day2's own
// claims).
std::string signedRs256(const json& payload) {
    const std::string input = encodeBase64Url(json({{"alg", "RS256"}, {"typ", "JWT"}}).dump()) +
                              "." + encodeBase64Url(payload.dump());
    BIO* bio = BIO_new_mem_buf(rsa().privatePem.data(), static_cast<int>(rsa().privatePem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    std::string sig;
    if (key && ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
        sig.resize(len);
        if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
            sig.clear();
        sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    EXPECT_FALSE(sig.empty());
    return input + "." + encodeBase64Url(sig);
}

void expectRefused(const JwtVerifier& v, const std::string& token, const std::string& why) {
    auto r = v.verify(token, kNow);
    ASSERT_FALSE(r) << token;
    EXPECT_EQ(r.error().status, 401u);
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
}

} // namespace

TEST(Jwt, ValidRs256AndEs256TokensGiveTheirIdentity) {
    auto v = verifier();
    EXPECT_EQ(v.keyCount(), 2u);
    for (const KeyPair* k : {&rsa(), &ec()}) {
        auto id = v.verify(sign(*k, claims("alice", {"ops", "dev"})), kNow);
        ASSERT_TRUE(id) << id.error().message;
        EXPECT_EQ(id->uid, "alice");
        EXPECT_EQ(id->groups, (std::vector<std::string>{"ops", "dev"}));
        EXPECT_EQ(id->expiresAt, kNow + 3600);
    }
    auto rs = parseJwt(sign(rsa(), claims()));
    auto es = parseJwt(sign(ec(), claims()));
    EXPECT_EQ(rs->alg, "RS256");
    EXPECT_EQ(es->alg, "ES256");
    EXPECT_EQ(es->signature.size(), 64u);
}

TEST(Jwt, RefusedTokens) {
    auto v = verifier();
    const KeyPair other = generate("RSA", "2048");
    expectRefused(v, sign(other, claims()), "signature does not match");
    const KeyPair otherEc = generate("EC", "P-256");
    expectRefused(v, sign(otherEc, claims()), "signature does not match");

    // A valid token with its claims swapped for an admin's.
    std::string t = sign(rsa(), claims());
    const size_t d1 = t.find('.'), d2 = t.find('.', d1 + 1);
    json forged = {{"uid", "admin"}, {"exp", kNow + 3600}};
    expectRefused(v, t.substr(0, d1) + "." + encodeBase64Url(forged.dump()) + t.substr(d2),
                  "signature does not match");

    // alg none, with and without a signature.
    json payload = {{"uid", "admin"}, {"exp", kNow + 3600}};
    expectRefused(v, unsignedToken({{"alg", "none"}}, payload, ""), "'none' is not accepted");
    expectRefused(v, unsignedToken({{"alg", "none"}}, payload, "x"), "'none' is not accepted");

    // HS256 with the agent's public key as the HMAC secret (the classic key-confusion attack).
    const std::string input = encodeBase64Url(json({{"alg", "HS256"}, {"typ", "JWT"}}).dump()) +
                              "." + encodeBase64Url(payload.dump());
    unsigned char mac[32];
    unsigned macLen = 0;
    HMAC(EVP_sha256(), rsa().publicPem.data(), static_cast<int>(rsa().publicPem.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &macLen);
    expectRefused(v,
                  input + "." + encodeBase64Url(std::string(reinterpret_cast<char*>(mac), macLen)),
                  "'HS256' is not accepted");

    // RS256 header on an ES256 signature and the other way round.
    std::string es = sign(ec(), claims());
    expectRefused(v, encodeBase64Url(json({{"alg", "RS256"}}).dump()) + es.substr(es.find('.')),
                  "signature does not match");

    TokenClaims c = claims();
    c.expiresAt = kNow - 61;
    expectRefused(v, sign(rsa(), c), "expired 61 s ago");
    c.expiresAt = kNow - 30; // within the 60 s clock skew
    EXPECT_TRUE(v.verify(sign(rsa(), c), kNow));
    c = claims();
    c.notBefore = kNow + 120;
    expectRefused(v, sign(rsa(), c), "not valid for another 120 s");
    c.notBefore = kNow + 30;
    EXPECT_TRUE(v.verify(sign(rsa(), c), kNow));

    c = claims();
    c.expiresAt.reset();
    expectRefused(v, sign(rsa(), c), "no 'exp' claim");
    VerifyOptions lenient;
    lenient.allowNonExpiring = true;
    EXPECT_TRUE(verifier(lenient).verify(sign(rsa(), c), kNow));

    c = claims("");
    expectRefused(v, sign(rsa(), c), "no 'uid' claim");

    for (const char* bad :
         {"", "abc", "a.b", "a.b.c.d", "###.###.###", "eyJhbGciOiJSUzI1NiJ9.e30.", "e30.e30.e30"})
        expectRefused(v, bad, "");
    expectRefused(v, std::string(9000, 'a'), "longer than");
}

// With auth.issuer and auth.audience set, a token must carry both, the audience as a string or
// in a list; without them, neither claim is looked at.
TEST(Jwt, IssuerAndAudienceWhenTheAgentNamesThem) {
    VerifyOptions o;
    o.issuer = "https://login.example.com";
    o.audience = "prod-eu";
    auto v = verifier(o);
    TokenClaims c = claims();
    c.issuer = o.issuer;
    c.audience = {"prod-eu"};
    EXPECT_TRUE(v.verify(sign(rsa(), c), kNow));
    c.audience = {"staging", "prod-eu"}; // a list naming it
    EXPECT_TRUE(v.verify(sign(ec(), c), kNow));

    c.audience = {"staging"};
    expectRefused(v, sign(rsa(), c), "its 'aud' claim does not name 'prod-eu'");
    c.audience = {"staging", "prod-us"};
    expectRefused(v, sign(rsa(), c), "does not name 'prod-eu'");
    c.audience.clear();
    expectRefused(v, sign(rsa(), c), "no 'aud' claim");
    c.audience = {"prod-eu"};
    c.issuer = "https://login.example.org";
    expectRefused(v, sign(rsa(), c), "issuer is not 'https://login.example.com'");
    c.issuer.clear();
    expectRefused(v, sign(rsa(), c), "no 'iss' claim");

    // Claims of other types, validly signed: refused, not crashed on.
    for (const json& aud : {json(42), json::array({1, 2}), json::object(), json()}) {
        const json payload = {
            {"uid", "alice"}, {"exp", kNow + 3600}, {"iss", o.issuer}, {"aud", aud}};
        expectRefused(v, signedRs256(payload), "aud");
    }
    for (const json& iss : {json(42), json::array({o.issuer}), json()}) {
        const json payload = {
            {"uid", "alice"}, {"exp", kNow + 3600}, {"iss", iss}, {"aud", o.audience}};
        expectRefused(v, signedRs256(payload), "issuer is not");
    }
    EXPECT_TRUE(v.verify(signedRs256({{"uid", "alice"},
                                      {"exp", kNow + 3600},
                                      {"iss", o.issuer},
                                      {"aud", json::array({42, o.audience})}}),
                         kNow)); // (the list names it; the number beside it is no audience)

    // An agent that names neither accepts tokens with or without them.
    auto plain = verifier();
    EXPECT_TRUE(plain.verify(sign(rsa(), claims()), kNow));
    EXPECT_TRUE(plain.verify(sign(rsa(), c), kNow));
}

TEST(Jwt, AuthorizationHeaderForms) {
    EXPECT_EQ(tokenFromAuthorization("Bearer abc.def.ghi"), "abc.def.ghi");
    EXPECT_EQ(tokenFromAuthorization("bearer   abc"), "abc");
    EXPECT_EQ(tokenFromAuthorization("token=abc"), "abc");
    EXPECT_EQ(tokenFromAuthorization("  Token=abc  "), "abc");
    EXPECT_FALSE(tokenFromAuthorization("Basic YWxhZGRpbjpvcGVu"));
    EXPECT_FALSE(tokenFromAuthorization("Bearer"));
    EXPECT_FALSE(tokenFromAuthorization("Bearer "));
    EXPECT_FALSE(tokenFromAuthorization("Bearer a b"));
    EXPECT_FALSE(tokenFromAuthorization("token="));
}

TEST(Jwt, Base64Url) {
    EXPECT_EQ(decodeBase64Url("aGVsbG8"), "hello");
    EXPECT_EQ(encodeBase64Url("hello"), "aGVsbG8");
    EXPECT_EQ(decodeBase64Url(""), "");
    EXPECT_FALSE(decodeBase64Url("aGVsbG8=")); // padding
    EXPECT_FALSE(decodeBase64Url("a+b/"));     // the standard alphabet
    EXPECT_FALSE(decodeBase64Url("a"));        // impossible length
    EXPECT_FALSE(decodeBase64Url("aGVsbG9"));  // non-zero trailing bits
    for (std::string s : {"", "a", "ab", "abc", "\xff\xfe\x00\x01"})
        EXPECT_EQ(decodeBase64Url(encodeBase64Url(s)), s);
}

TEST(Jwt, WeakOrUnknownKeysAreRefusedAtLoad) {
    auto weak = JwtVerifier::fromPem({generate("RSA", "1024").publicPem}, {});
    ASSERT_FALSE(weak);
    EXPECT_NE(weak.error().message.find("1024 bits"), std::string::npos);
    auto p384 = JwtVerifier::fromPem({generate("EC", "P-384").publicPem}, {});
    ASSERT_FALSE(p384);
    EXPECT_NE(p384.error().message.find("P-256"), std::string::npos);
    EXPECT_FALSE(JwtVerifier::fromPem({"not a key"}, {}));
    EXPECT_FALSE(JwtVerifier::fromPem({rsa().privatePem}, {})); // a private key is not a public key
    auto missing = JwtVerifier::fromPemFiles({"/nonexistent.pem"}, {});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent.pem"), std::string::npos);
}

TEST(Acl, MustParse) {
    auto acl = Acl::parse(R"({"grants": [
        {"uid": "alice", "resource": "day2:logs:*", "actions": ["read"]},
        {"group": "ops", "resource": "day2:tasks:/prod/*", "actions": ["read", "create", "delete"]},
        {"uid": "root", "resource": "*", "actions": ["*"]}]})");
    ASSERT_TRUE(acl) << acl.error().message;
    EXPECT_EQ(acl->grants().size(), 3u);
    EXPECT_TRUE(Acl::parse(R"({"grants": []})"));
}

TEST(Acl, TheShippedExampleParses) {
    auto acl = Acl::load(DAY2_SOURCE_DIR "/resources/acl.example.json");
    ASSERT_TRUE(acl) << acl.error().message;
    EXPECT_TRUE(
        acl->allows(Identity{"bob", {"web-team"}, {}, {}}, "day2:tasks:/web/api", "create"));
    EXPECT_FALSE(acl->allows(Identity{"bob", {"web-team"}, {}, {}}, "day2:tasks:/db", "read"));
}

TEST(Acl, MustNotParse) {
    struct Case {
        const char* text;
        const char* why;
    } cases[] = {
        {"", "not valid JSON"},
        {"[]", "a \"grants\" list"},
        {R"({"grants": {}})", "a \"grants\" list"},
        {R"({"grants": [], "extra": 1})", "unknown key 'extra'"},
        {R"({"grants": [1]})", "grant 1: is not an object"},
        {R"({"grants": [{"resource": "day2:logs:system", "actions": ["read"]}]})",
         "grant 1: give exactly one of 'uid' and 'group'"},
        {R"({"grants": [{"uid": "a", "group": "b", "resource": "day2:x", "actions": ["read"]}]})",
         "exactly one of"},
        {R"({"grants": [{"uid": "a", "actions": ["read"]}]})", "'resource' is missing"},
        {R"({"grants": [{"uid": "a", "resource": "day2:*:x", "actions": ["read"]}]})",
         "'*' may only end"},
        {R"({"grants": [{"uid": "a", "resource": "logs", "actions": ["read"]}]})",
         "start with 'day2:'"},
        {R"({"grants": [{"uid": "a", "resource": "day2:logs:system"}]})", "'actions' is missing"},
        {R"({"grants": [{"uid": "a", "resource": "day2:logs:system", "actions": ["write"]}]})",
         "actions are read, create, update, delete or *"},
        {R"({"grants": [{"uid": "a", "resource": "day2:logs:system", "actions": []}]})",
         "non-empty list"},
        {R"({"grants": [{"uid": "", "resource": "day2:logs:system", "actions": ["read"]}]})",
         "non-empty string"},
        {R"({"grants": [{"uid": "a", "resource": "day2:x", "actions": ["read"], "x": 1}]})",
         "unknown key 'x'"},
    };
    for (const auto& c : cases) {
        auto r = Acl::parse(c.text);
        ASSERT_FALSE(r) << c.text;
        EXPECT_NE(r.error().message.find(c.why), std::string::npos)
            << c.text << " -> " << r.error().message;
    }
}

TEST(Acl, GrantsByUidGroupAndPattern) {
    auto acl = Acl::parse(R"({"grants": [
        {"uid": "alice", "resource": "day2:logs:*", "actions": ["read"]},
        {"group": "ops", "resource": "day2:tasks:/prod/*", "actions": ["read", "create"]},
        {"uid": "root", "resource": "*", "actions": ["*"]},
        {"uid": "bob", "resource": "day2:metrics", "actions": ["read"]}]})");
    ASSERT_TRUE(acl);
    const Identity alice{"alice", {}, {}, {}}, carol{"carol", {"ops"}, {}, {}},
        root{"root", {}, {}, {}}, bob{"bob", {}, {}, {}};
    EXPECT_TRUE(acl->allows(alice, "day2:logs:system", "read"));
    EXPECT_TRUE(acl->allows(alice, "day2:logs:task:/web", "read"));
    EXPECT_FALSE(acl->allows(alice, "day2:logs:system", "delete"));
    EXPECT_FALSE(acl->allows(alice, "day2:tasks:/prod/web", "read"));
    EXPECT_TRUE(acl->allows(carol, "day2:tasks:/prod/web", "create"));
    EXPECT_FALSE(acl->allows(carol, "day2:tasks:/prod/web", "delete"));
    EXPECT_FALSE(acl->allows(carol, "day2:tasks:/production", "read")); // prefix "/prod/" only
    EXPECT_FALSE(acl->allows(Identity{"carol", {}, {}, {}}, "day2:tasks:/prod/web", "read"));
    EXPECT_TRUE(acl->allows(root, "day2:exec:/anything", "update"));
    EXPECT_TRUE(acl->allows(bob, "day2:metrics", "read"));
    EXPECT_FALSE(acl->allows(bob, "day2:metrics:more", "read")); // exact without '*'
    EXPECT_FALSE(acl->allows(Identity{"mallory", {"alice"}, {}, {}}, "day2:logs:system", "read"));
}
