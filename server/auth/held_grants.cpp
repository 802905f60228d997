#include "auth/held_grants.h"

namespace day2::auth {

HeldGrants::Hold HeldGrants::hold(std::string authorization, std::string uid, std::string resource,
                                  std::string action, std::string source, std::string via,
                                  std::function<void(const std::string& why)> end) {
    auto it = m_held->insert(
        m_held->end(), Held{std::move(authorization), std::move(uid), std::move(resource),
                            std::move(action), std::move(source), std::move(via), std::move(end)});
    return Hold(m_held, it);
}

size_t HeldGrants::recheck(const Authority& authority, int64_t nowSeconds, AuditLog& audit) {
    // Decided for all first, then ended: an end may remove its own entry from the list.
    std::vector<std::pair<std::function<void(const std::string&)>, std::string>> ending;
    for (auto& h : *m_held) {
        if (!h.end)
            continue;
        std::string why;
        auto who = authority.authenticate(h.authorization.empty()
                                              ? std::nullopt
                                              : std::optional<std::string_view>(h.authorization),
                                          nowSeconds);
        if (!who)
            why = "the token that opened it is no longer accepted (" + who.error().message + ")";
        else if (!authority.allows(*who, h.resource, h.action))
            why = "the ACL no longer grants " + h.action + " on " + h.resource + " to uid '" +
                  h.uid + "'";
        if (why.empty())
            continue;
        audit.record({h.uid,
                      h.resource,
                      h.action,
                      "revoked",
                      h.source,
                      "ended after the keys and the ACL were reloaded: " + why,
                      {},
                      h.via});
        ending.emplace_back(std::exchange(h.end, nullptr), std::move(why));
    }
    for (auto& [end, why] : ending)
        end(why);
    return ending.size();
}

} // namespace day2::auth
