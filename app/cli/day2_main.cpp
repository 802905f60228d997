// day2: the command-line twin of the console. So far: `day2 token issue`, which mints the JWTs
// that day2-agent verifies (API.md, Security). The logs and tasks commands come with the
// console's client library.
#include "auth/jwt.h"
#include "base/command_line.h"
#include "base/text.h"

#include <CLI/CLI.hpp>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace day2;

namespace {

// "8h", "30m", "90s", "7d", "3600" (seconds); "0" or "never": no expiry.
std::optional<int64_t> parseDuration(const std::string& text) {
    if (text == "never" || text == "0")
        return 0;
    if (text.empty())
        return std::nullopt;
    int64_t unit = 1;
    std::string digits = text;
    switch (text.back()) {
    case 's': unit = 1; digits.pop_back(); break;
    case 'm': unit = 60; digits.pop_back(); break;
    case 'h': unit = 3600; digits.pop_back(); break;
    case 'd': unit = 86400; digits.pop_back(); break;
    default: break;
    }
    auto n = text::parseUnsigned(digits);
    if (!n || *n == 0 || *n > 3650ull * 86400 / static_cast<uint64_t>(unit))
        return std::nullopt;
    return static_cast<int64_t>(*n) * unit;
}

int issueToken(const std::string& keyPath, const std::string& uid, const std::string& groups,
               const std::string& ttl) {
    std::ifstream in(keyPath);
    if (!in) {
        std::cerr << "day2 token issue: cannot read the private key " << keyPath << "\n";
        return 1;
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    auto seconds = parseDuration(ttl);
    if (!seconds) {
        std::cerr << "day2 token issue: --ttl '" << ttl
                  << "' is not a duration like 8h, 30m, 7d or 'never'\n";
        return kExitUsage;
    }
    auth::TokenClaims claims;
    claims.uid = uid;
    std::stringstream g(groups);
    for (std::string item; std::getline(g, item, ',');)
        if (!item.empty())
            claims.groups.push_back(item);
    claims.issuedAt = static_cast<int64_t>(std::time(nullptr));
    if (*seconds > 0)
        claims.expiresAt = claims.issuedAt + *seconds;
    auto token = auth::signJwt(pem.str(), claims);
    if (!token) {
        std::cerr << "day2 token issue: " << keyPath << ": " << token.error().message << "\n";
        return 1;
    }
    std::cout << *token << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"day2 - the command line of day2 (see the README)."};
    app.require_subcommand(1);
    auto* token = app.add_subcommand("token", "API tokens (JWT)");
    token->require_subcommand(1);
    auto* issue = token->add_subcommand(
        "issue", "Mint a token signed with a private key (RSA: RS256, EC P-256: ES256).\n"
                 "Example: day2 token issue --key jwt.key --uid alice --groups ops --ttl 8h");
    std::string key, uid, groups, ttl = "8h";
    issue->add_option("--key", key, "PEM private key file")->required();
    issue->add_option("--uid", uid, "the uid claim")->required();
    issue->add_option("--groups", groups, "comma-separated groups claim");
    issue->add_option("--ttl", ttl, "lifetime: 8h, 30m, 7d, or 'never' (agents must allow it)")
        ->capture_default_str();
    if (auto exitCode = parseCommandLine(app, argc, argv))
        return *exitCode;
    if (issue->parsed())
        return issueToken(key, uid, groups, ttl);
    return kExitUsage;
}
