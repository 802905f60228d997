// Fuzzes what reaches the agent's authentication and authorization from outside: the
// Authorization header, the token (parsed and verified against a fixed key) and the ACL file.
// Nothing may crash, and no input may verify: the fuzzer has no private key.
#include "auth/acl.h"
#include "auth/jwt.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace day2::auth;

namespace {
// An EC P-256 public key whose private half is not anywhere in this repository.
const char* kPublicKey = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExDmz03psc7UmmlfZ62X1FtsCJKRw
Oiq0+/9DOuLmVD7UbaukysxTkG9SH5eWe26y6AdtZvW7LVgqrTSCqIhu7Q==
-----END PUBLIC KEY-----
)";
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    static const auto verifier = JwtVerifier::fromPem({kPublicKey}, {});
    if (!verifier)
        std::abort();
    if (auto token = tokenFromAuthorization(input)) {
        if (verifier->verify(*token, 1795000000))
            std::abort();
    }
    if (verifier->verify(input, 1795000000))
        std::abort();
    (void)parseJwt(input);
    if (auto decoded = decodeBase64Url(input))
        if (decodeBase64Url(encodeBase64Url(*decoded)) != *decoded)
            std::abort();
    if (auto acl = Acl::parse(input)) {
        const Identity who{"alice", {"ops"}, std::nullopt};
        (void)acl->allows(who, "day2:logs:system", "read");
        for (const auto& g : acl->grants())
            if (g.uid.empty() == g.group.empty() || g.actions.empty())
                std::abort();
    }
    return 0;
}
