// /etc/day2/acl.json: which uids and groups may do which actions on which resources (docs/api.md,
// Security). Resources are `day2:logs:system`, `day2:logs:task:<application_name>`,
// `day2:metrics`, `day2:tasks:<application_name>`, `day2:exec:<application_name>`; a pattern may
// end in `*`. Actions are read, create, update, delete, or `*` for all of them.
//
//   {"grants": [
//     {"uid": "alice", "resource": "day2:logs:*", "actions": ["read"]},
//     {"group": "ops", "resource": "day2:tasks:/prod/*", "actions": ["read", "create", "delete"]}
//   ]}
#pragma once

#include "auth/jwt.h"
#include "base/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace day2::auth {

struct Grant {
    std::string uid;   // exactly one of uid and group
    std::string group;
    std::string resource; // exact, or a prefix ending in '*'
    std::vector<std::string> actions;
};

class Acl {
public:
    // Errors name the grant (by its position) and what is wrong with it.
    static Result<Acl> parse(std::string_view json);
    static Result<Acl> load(const std::string& path);

    bool allows(const Identity& who, std::string_view resource, std::string_view action) const;
    const std::vector<Grant>& grants() const { return m_grants; }

private:
    std::vector<Grant> m_grants;
};

bool resourceMatches(std::string_view pattern, std::string_view resource);
bool isKnownAction(std::string_view action);

} // namespace day2::auth
