#include "auth/acl.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace day2::auth {

using nlohmann::json;

bool isKnownAction(std::string_view a) {
    return a == "read" || a == "create" || a == "update" || a == "delete";
}

bool resourceMatches(std::string_view pattern, std::string_view resource) {
    if (!pattern.empty() && pattern.back() == '*')
        return resource.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
    return pattern == resource;
}

Result<Acl> Acl::parse(std::string_view text) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception& e) {
        std::string what = e.what();
        const auto p = what.find("] ");
        return Error{"not valid JSON: " + (p == std::string::npos ? what : what.substr(p + 2))};
    }
    if (!doc.is_object() || !doc.contains("grants") || !doc["grants"].is_array())
        return Error{"expected an object with a \"grants\" list"};
    for (const auto& [k, v] : doc.items())
        if (k != "grants")
            return Error{"unknown key '" + k.substr(0, 64) + "' (only \"grants\")"};
    Acl acl;
    size_t n = 0;
    for (const auto& g : doc["grants"]) {
        ++n;
        const std::string where = "grant " + std::to_string(n) + ": ";
        if (!g.is_object())
            return Error{where + "is not an object"};
        Grant grant;
        for (const auto& [k, v] : g.items()) {
            if (k == "uid" || k == "group" || k == "resource") {
                if (!v.is_string() || v.get<std::string>().empty())
                    return Error{where + "'" + k + "' must be a non-empty string"};
                (k == "uid" ? grant.uid : k == "group" ? grant.group : grant.resource) =
                    v.get<std::string>();
            } else if (k == "actions") {
                if (!v.is_array() || v.empty())
                    return Error{where + "'actions' must be a non-empty list"};
                for (const auto& a : v) {
                    if (!a.is_string() || (!isKnownAction(a.get<std::string>()) &&
                                           a.get<std::string>() != "*"))
                        return Error{where + "actions are read, create, update, delete or *"};
                    grant.actions.push_back(a.get<std::string>());
                }
            } else {
                return Error{where + "unknown key '" + k.substr(0, 64) +
                             "' (uid or group, resource, actions)"};
            }
        }
        if (grant.uid.empty() == grant.group.empty())
            return Error{where + "give exactly one of 'uid' and 'group'"};
        if (grant.resource.empty())
            return Error{where + "'resource' is missing"};
        const auto star = grant.resource.find('*');
        if (star != std::string::npos && star != grant.resource.size() - 1)
            return Error{where + "'*' may only end a resource pattern (got '" + grant.resource +
                         "')"};
        if (grant.resource != "*" && grant.resource.rfind("day2:", 0) != 0)
            return Error{where + "resources start with 'day2:' (got '" + grant.resource + "')"};
        if (grant.actions.empty())
            return Error{where + "'actions' is missing"};
        acl.m_grants.push_back(std::move(grant));
    }
    return acl;
}

Result<Acl> Acl::load(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return Error{"cannot read " + path};
    std::ostringstream s;
    s << in.rdbuf();
    auto acl = parse(s.str());
    if (!acl)
        return Error{path + ": " + acl.error().message};
    return acl;
}

bool Acl::allows(const Identity& who, std::string_view resource, std::string_view action) const {
    for (const auto& g : m_grants) {
        const bool mine = g.uid.empty()
                              ? std::find(who.groups.begin(), who.groups.end(), g.group) !=
                                    who.groups.end()
                              : g.uid == who.uid;
        if (!mine || !resourceMatches(g.resource, resource))
            continue;
        for (const auto& a : g.actions)
            if (a == "*" || a == action)
                return true;
    }
    return false;
}

} // namespace day2::auth
