#include "auth/jwt.h"

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

namespace day2::auth {

using nlohmann::json;

namespace {

constexpr size_t kMaxTokenBytes = 8192;

Error unauthorized(std::string why) {
    return Error{std::move(why), 401};
}

struct PkeyDeleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

enum class KeyKind { Rsa, EcP256, Other };

KeyKind kindOf(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
        return EVP_PKEY_get_bits(key) >= 2048 ? KeyKind::Rsa : KeyKind::Other;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char group[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &len) == 1 &&
            std::string_view(group, len) == "prime256v1")
            return KeyKind::EcP256;
    }
    return KeyKind::Other;
}

std::string keyProblem(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
        return "an RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
               " bits (at least 2048 are required)";
    return "neither an RSA key nor an EC key on P-256";
}

bool digestVerify(EVP_PKEY* key, std::string_view input, const unsigned char* sig, size_t sigLen) {
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
        return false;
    return EVP_DigestVerify(ctx.get(), sig, sigLen,
                            reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

// JWS ES256 signatures are r || s (32 bytes each); OpenSSL wants DER.
std::optional<std::string> rawEcdsaToDer(std::string_view raw) {
    if (raw.size() != 64)
        return std::nullopt;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return std::nullopt;
    }
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (len <= 0)
        return std::nullopt;
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::optional<std::string> derEcdsaToRaw(const unsigned char* der, size_t len) {
    const unsigned char* p = der;
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    if (!sig)
        return std::nullopt;
    std::string raw(64, '\0');
    const BIGNUM* r = ECDSA_SIG_get0_r(sig);
    const BIGNUM* s = ECDSA_SIG_get0_s(sig);
    const bool ok = BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) == 32 &&
                    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    if (!ok)
        return std::nullopt;
    return raw;
}

std::optional<int64_t> integerClaim(const json& claims, const char* name, std::string& problem) {
    auto it = claims.find(name);
    if (it == claims.end())
        return std::nullopt;
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
        problem = std::string("claim '") + name + "' is not a number";
        return std::nullopt;
    }
    // Seconds since the epoch, within what a double holds exactly (no overflow below).
    const double v = it->get<double>();
    if (v < -9007199254740992.0 || v > 9007199254740992.0) {
        problem = std::string("claim '") + name + "' is out of range";
        return std::nullopt;
    }
    return static_cast<int64_t>(v);
}

} // namespace

std::optional<std::string> decodeBase64Url(std::string_view text) {
    static const std::array<int8_t, 256> map = [] {
        std::array<int8_t, 256> m{};
        m.fill(-1);
        const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (int i = 0; i < 64; ++i)
            m[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
        return m;
    }();
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = map[static_cast<unsigned char>(c)];
        if (v < 0)
            return std::nullopt; // padding and the standard alphabet are not base64url
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero (a canonical encoding).
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return out;
}

std::string encodeBase64Url(std::string_view bytes) {
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out += alphabet[(acc << (6 - bits)) & 63];
    return out;
}

std::optional<std::string_view> tokenFromAuthorization(std::string_view h) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    };
    h = trim(h);
    auto startsWithNoCase = [&](std::string_view prefix) {
        if (h.size() < prefix.size())
            return false;
        for (size_t i = 0; i < prefix.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(h[i])) != prefix[i])
                return false;
        return true;
    };
    std::string_view token;
    if (startsWithNoCase("token="))
        token = h.substr(6);
    else if (startsWithNoCase("bearer "))
        token = trim(h.substr(7));
    else
        return std::nullopt;
    if (token.empty() || token.find_first_of(" \t,") != std::string_view::npos)
        return std::nullopt;
    return token;
}

Result<ParsedJwt> parseJwt(std::string_view token) {
    if (token.size() > kMaxTokenBytes)
        return unauthorized("the token is longer than " + std::to_string(kMaxTokenBytes) +
                            " bytes");
    const size_t dot1 = token.find('.');
    const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return unauthorized("the token is not a JWT (header.payload.signature)");
    auto header = decodeBase64Url(token.substr(0, dot1));
    auto payload = decodeBase64Url(token.substr(dot1 + 1, dot2 - dot1 - 1));
    auto signature = decodeBase64Url(token.substr(dot2 + 1));
    if (!header || !payload || !signature)
        return unauthorized("the token is not valid base64url");
    ParsedJwt p;
    try {
        const json h = json::parse(*header);
        if (!h.is_object())
            return unauthorized("the token's header is not a JSON object");
        if (!h.contains("alg") || !h["alg"].is_string())
            return unauthorized("the token's header has no 'alg'");
        p.alg = h["alg"].get<std::string>();
        if (h.contains("typ") && (!h["typ"].is_string() || h["typ"].get<std::string>() != "JWT"))
            return unauthorized("the token's 'typ' is not JWT");
        if (h.contains("crit"))
            return unauthorized("the token's header has 'crit' extensions this agent does not "
                                "understand");
        if (h.contains("kid") && h["kid"].is_string())
            p.kid = h["kid"].get<std::string>();
    } catch (const json::exception&) {
        return unauthorized("the token's header is not JSON");
    }
    p.signingInput = std::string(token.substr(0, dot2));
    p.signature = std::move(*signature);
    p.payloadJson = std::move(*payload);
    return p;
}

struct JwtVerifier::Keys {
    std::vector<Pkey> rsa;
    std::vector<Pkey> ec;
};

JwtVerifier::JwtVerifier(std::unique_ptr<Keys> keys, VerifyOptions options)
    : m_keys(std::move(keys)), m_options(options) {}
JwtVerifier::JwtVerifier(JwtVerifier&&) noexcept = default;
JwtVerifier& JwtVerifier::operator=(JwtVerifier&&) noexcept = default;
JwtVerifier::~JwtVerifier() = default;

size_t JwtVerifier::keyCount() const {
    return m_keys->rsa.size() + m_keys->ec.size();
}

Result<void> JwtVerifier::addKey(Keys& keys, const std::string& pem, const std::string& label) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    Pkey key(bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr);
    BIO_free(bio);
    if (!key)
        return Error{label + " is not a PEM public key (-----BEGIN PUBLIC KEY-----)"};
    switch (kindOf(key.get())) {
    case KeyKind::Rsa:
        keys.rsa.push_back(std::move(key));
        break;
    case KeyKind::EcP256:
        keys.ec.push_back(std::move(key));
        break;
    case KeyKind::Other:
        return Error{label + " is " + keyProblem(key.get())};
    }
    return {};
}

Result<JwtVerifier> JwtVerifier::fromPem(const std::vector<std::string>& pems,
                                         VerifyOptions options) {
    auto keys = std::make_unique<Keys>();
    for (size_t i = 0; i < pems.size(); ++i)
        if (auto r = addKey(*keys, pems[i], "key " + std::to_string(i + 1)); !r)
            return r.error();
    return JwtVerifier(std::move(keys), options);
}

Result<JwtVerifier> JwtVerifier::fromPemFiles(const std::vector<std::string>& paths,
                                              VerifyOptions options) {
    auto keys = std::make_unique<Keys>();
    for (const auto& path : paths) {
        std::ifstream in(path);
        if (!in)
            return Error{"cannot read the public key " + path};
        std::ostringstream s;
        s << in.rdbuf();
        if (auto r = addKey(*keys, s.str(), path); !r)
            return r.error();
    }
    return JwtVerifier(std::move(keys), options);
}

Result<Identity> JwtVerifier::verify(std::string_view token, int64_t now) const {
    auto parsed = parseJwt(token);
    if (!parsed)
        return parsed.error();
    const auto& p = *parsed;
    bool valid = false;
    if (p.alg == "RS256") {
        for (const auto& k : m_keys->rsa)
            if ((valid = digestVerify(k.get(), p.signingInput,
                                      reinterpret_cast<const unsigned char*>(p.signature.data()),
                                      p.signature.size())))
                break;
    } else if (p.alg == "ES256") {
        auto der = rawEcdsaToDer(p.signature);
        if (!der)
            return unauthorized("the token's ES256 signature is not 64 bytes");
        for (const auto& k : m_keys->ec)
            if ((valid = digestVerify(k.get(), p.signingInput,
                                      reinterpret_cast<const unsigned char*>(der->data()),
                                      der->size())))
                break;
    } else {
        return unauthorized("the token's algorithm '" + p.alg.substr(0, 20) +
                            "' is not accepted (RS256 or ES256 only)");
    }
    if (!valid)
        return unauthorized("the token's signature does not match any key of this agent");

    json claims;
    try {
        claims = json::parse(p.payloadJson);
    } catch (const json::exception&) {
        return unauthorized("the token's claims are not JSON");
    }
    if (!claims.is_object())
        return unauthorized("the token's claims are not a JSON object");
    Identity id;
    if (!claims.contains("uid") || !claims["uid"].is_string() ||
        claims["uid"].get<std::string>().empty())
        return unauthorized("the token has no 'uid' claim");
    id.uid = claims["uid"].get<std::string>();
    std::string problem;
    auto exp = integerClaim(claims, "exp", problem);
    auto nbf = integerClaim(claims, "nbf", problem);
    if (!problem.empty())
        return unauthorized("the token's " + problem);
    if (!exp && !m_options.allowNonExpiring)
        return unauthorized("the token has no 'exp' claim (this agent accepts no "
                            "non-expiring tokens)");
    if (exp && *exp + m_options.clockSkewSeconds < now)
        return unauthorized("the token expired " + std::to_string(now - *exp) + " s ago");
    if (nbf && *nbf - m_options.clockSkewSeconds > now)
        return unauthorized("the token is not valid for another " + std::to_string(*nbf - now) +
                            " s");
    if (!m_options.issuer.empty()) {
        if (!claims.contains("iss"))
            return unauthorized("the token has no 'iss' claim (this agent accepts tokens of "
                                "issuer '" +
                                m_options.issuer + "')");
        if (!claims["iss"].is_string() || claims["iss"].get<std::string>() != m_options.issuer)
            return unauthorized("the token's issuer is not '" + m_options.issuer +
                                "', the one this agent accepts");
    }
    if (!m_options.audience.empty()) {
        // RFC 7519: one audience as a string, or a list of them.
        const json aud = claims.contains("aud") ? claims["aud"] : json();
        bool named = aud.is_string() && aud.get<std::string>() == m_options.audience;
        if (aud.is_array())
            for (const auto& a : aud)
                named = named || (a.is_string() && a.get<std::string>() == m_options.audience);
        if (aud.is_null())
            return unauthorized("the token has no 'aud' claim (this agent accepts tokens for "
                                "audience '" +
                                m_options.audience + "')");
        if (!named)
            return unauthorized("the token is not for this agent: its 'aud' claim does not name '" +
                                m_options.audience + "'");
    }
    id.expiresAt = exp;
    if (exp)
        id.acceptedUntil = *exp + m_options.clockSkewSeconds;
    if (claims.contains("groups")) {
        if (!claims["groups"].is_array())
            return unauthorized("the token's 'groups' claim is not a list");
        for (const auto& g : claims["groups"]) {
            if (!g.is_string())
                return unauthorized("the token's 'groups' claim holds a non-string");
            id.groups.push_back(g.get<std::string>());
        }
    }
    return id;
}

Result<std::string> signJwt(const std::string& privateKeyPem, const TokenClaims& claims) {
    BIO* bio = BIO_new_mem_buf(privateKeyPem.data(), static_cast<int>(privateKeyPem.size()));
    Pkey key(bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr);
    BIO_free(bio);
    if (!key)
        return Error{"not a PEM private key (unencrypted PKCS#8 or traditional format)"};
    const KeyKind kind = kindOf(key.get());
    if (kind == KeyKind::Other)
        return Error{"the private key is " + keyProblem(key.get())};
    const json header = {{"alg", kind == KeyKind::Rsa ? "RS256" : "ES256"}, {"typ", "JWT"}};
    json payload = {{"uid", claims.uid}, {"iat", claims.issuedAt}};
    if (!claims.groups.empty())
        payload["groups"] = claims.groups;
    if (claims.expiresAt)
        payload["exp"] = *claims.expiresAt;
    if (claims.notBefore)
        payload["nbf"] = *claims.notBefore;
    if (!claims.issuer.empty())
        payload["iss"] = claims.issuer;
    if (claims.audience.size() == 1)
        payload["aud"] = claims.audience.front();
    else if (!claims.audience.empty())
        payload["aud"] = claims.audience;
    const std::string input =
        encodeBase64Url(header.dump()) + "." + encodeBase64Url(payload.dump());
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        return Error{"signing failed"};
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        return Error{"signing failed"};
    sig.resize(len);
    if (kind == KeyKind::EcP256) {
        auto raw = derEcdsaToRaw(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
        if (!raw)
            return Error{"signing failed (ECDSA encoding)"};
        sig = std::move(*raw);
    }
    return input + "." + encodeBase64Url(sig);
}

} // namespace day2::auth
