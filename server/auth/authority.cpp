#include "auth/authority.h"

namespace day2::auth {

Authority::Authority(AuthOptions options, std::optional<JwtVerifier> verifier, Acl acl)
    : m_options(std::move(options)), m_verifier(std::move(verifier)), m_acl(std::move(acl)) {}

Result<Authority> Authority::load(AuthOptions options) {
    if (!options.enabled)
        return Authority(std::move(options), std::nullopt, Acl{});
    if (options.publicKeys.empty())
        return Error{"auth.public_keys is empty: list the PEM public keys that sign tokens, or "
                     "set auth.enabled = false to run without authentication"};
    auto verifier = JwtVerifier::fromPemFiles(options.publicKeys, options.verify);
    if (!verifier)
        return Error{"auth.public_keys: " + verifier.error().message};
    auto acl = Acl::load(options.aclFile);
    if (!acl)
        return Error{"auth.acl_file: " + acl.error().message};
    return Authority(std::move(options), std::move(*verifier), std::move(*acl));
}

Result<void> Authority::reload() {
    auto fresh = load(m_options);
    if (!fresh)
        return fresh.error();
    *this = std::move(*fresh);
    return {};
}

std::string Authority::describe() const {
    if (!m_options.enabled)
        return "authentication OFF (auth.enabled = false): every request is allowed";
    std::string checks;
    if (!m_options.verify.issuer.empty())
        checks += ", issuer '" + m_options.verify.issuer + "'";
    if (!m_options.verify.audience.empty())
        checks += ", audience '" + m_options.verify.audience + "'";
    return std::to_string(m_verifier ? m_verifier->keyCount() : 0) + " signing key(s)" + checks +
           ", " + std::to_string(m_acl.grants().size()) + " grant(s) from " + m_options.aclFile;
}

Result<Identity> Authority::authenticate(std::optional<std::string_view> authorization,
                                         int64_t now) const {
    if (!m_options.enabled)
        return Identity{"anonymous", {}, std::nullopt, std::nullopt};
    if (!authorization)
        return Error{"no token: send Authorization: Bearer <JWT> (or token=<JWT>)", 401};
    auto token = tokenFromAuthorization(*authorization);
    if (!token)
        return Error{"the Authorization header is neither 'Bearer <JWT>' nor 'token=<JWT>'", 401};
    return m_verifier->verify(*token, now);
}

bool Authority::allows(const Identity& who, std::string_view resource,
                       std::string_view action) const {
    return !m_options.enabled || m_acl.allows(who, resource, action);
}

} // namespace day2::auth
