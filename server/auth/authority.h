// The agent's authentication and authorization state: the JWT verifier (public keys from
// agent.toml) and the ACL file, reloaded together on SIGHUP. Used on the io thread only.
#pragma once

#include "auth/acl.h"
#include "auth/jwt.h"
#include "base/result.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::auth {

struct AuthOptions {
    bool enabled = true;
    std::vector<std::string> publicKeys; // PEM files
    std::string aclFile = "/etc/day2/acl.json";
    VerifyOptions verify;
};

class Authority {
public:
    // Reads the keys and the ACL; an error says which file and what is wrong with it.
    static Result<Authority> load(AuthOptions options);
    // Reads them again; on an error the old ones stay in force.
    Result<void> reload();

    bool enabled() const { return m_options.enabled; }
    std::string describe() const;
    // The caller's identity from its Authorization header (status 401 when it has none or it
    // is not valid). With authentication off: uid "anonymous".
    Result<Identity> authenticate(std::optional<std::string_view> authorization,
                                  int64_t nowSeconds) const;
    bool allows(const Identity& who, std::string_view resource, std::string_view action) const;

private:
    Authority(AuthOptions options, std::optional<JwtVerifier> verifier, Acl acl);
    AuthOptions m_options;
    std::optional<JwtVerifier> m_verifier;
    Acl m_acl;
};

} // namespace day2::auth
