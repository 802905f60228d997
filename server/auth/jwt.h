// JSON Web Tokens as day2 uses them (docs/security.md): RS256 or ES256 signatures checked with the
// public keys from agent.toml, claims `uid` (required), `exp` (required unless non-expiring
// tokens are allowed), `nbf`, `groups`, and `iss` and `aud` when the agent names an issuer or an
// audience. Nothing else is accepted: no `none`, no HMAC, so a public key can never be used as
// an HMAC secret.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::auth {

struct Identity {
    std::string uid;
    std::vector<std::string> groups;
    std::optional<int64_t> expiresAt; // seconds since the epoch
    // The last second the agent accepts it in: `exp` plus the clock skew allowed (open streams
    // end with it); none for a non-expiring token.
    std::optional<int64_t> acceptedUntil;
};

// The three parts of a compact JWS, decoded but not verified (exposed for tests and the fuzzer).
struct ParsedJwt {
    std::string alg;
    std::string kid;
    std::string signingInput; // "<header>.<payload>" as received
    std::string signature;    // raw bytes
    std::string payloadJson;
};
Result<ParsedJwt> parseJwt(std::string_view token);

// The token from `Authorization: token=<JWT>` or `Authorization: Bearer <JWT>`.
std::optional<std::string_view> tokenFromAuthorization(std::string_view header);

std::optional<std::string> decodeBase64Url(std::string_view text);
std::string encodeBase64Url(std::string_view bytes);

struct VerifyOptions {
    int64_t clockSkewSeconds = 60;
    bool allowNonExpiring = false;
    // When not empty: the token's `iss` must be this, and its `aud` (a string or a list) must
    // name this.
    std::string issuer;
    std::string audience;
};

class JwtVerifier {
public:
    // PEM public keys (RSA for RS256, EC P-256 for ES256). Fails on an unreadable or other key.
    static Result<JwtVerifier> fromPemFiles(const std::vector<std::string>& paths,
                                            VerifyOptions options);
    static Result<JwtVerifier> fromPem(const std::vector<std::string>& pems, VerifyOptions options);
    JwtVerifier(JwtVerifier&&) noexcept;
    JwtVerifier& operator=(JwtVerifier&&) noexcept;
    ~JwtVerifier();

    // The identity of a valid token; otherwise an Error (status 401) saying why.
    Result<Identity> verify(std::string_view token, int64_t nowSeconds) const;
    size_t keyCount() const;

private:
    struct Keys;
    JwtVerifier(std::unique_ptr<Keys> keys, VerifyOptions options);
    static Result<void> addKey(Keys& keys, const std::string& pem, const std::string& label);
    std::unique_ptr<Keys> m_keys;
    VerifyOptions m_options;
};

// Signs a token with a PEM private key: RS256 for an RSA key, ES256 for an EC P-256 key. For
// `day2 token issue` and tests.
struct TokenClaims {
    std::string uid;
    std::vector<std::string> groups;
    std::optional<int64_t> expiresAt;
    std::optional<int64_t> notBefore;
    int64_t issuedAt = 0;
    std::string issuer;                // `iss`; empty: none
    std::vector<std::string> audience; // `aud`: a string when one, a list when several
};
Result<std::string> signJwt(const std::string& privateKeyPem, const TokenClaims& claims);

} // namespace day2::auth
