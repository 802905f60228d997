#include "http/forwarded.h"

#include "base/text.h"

#include <algorithm>
#include <arpa/inet.h>

namespace day2::http {

std::optional<std::string> canonicalIp(std::string_view text) {
    if (text.empty() || text.size() > 64)
        return std::nullopt;
    const std::string s(text);
    unsigned char bytes[16];
    char out[INET6_ADDRSTRLEN];
    if (::inet_pton(AF_INET, s.c_str(), bytes) == 1)
        return ::inet_ntop(AF_INET, bytes, out, sizeof out) ? std::optional<std::string>(out)
                                                            : std::nullopt;
    if (::inet_pton(AF_INET6, s.c_str(), bytes) == 1)
        return ::inet_ntop(AF_INET6, bytes, out, sizeof out) ? std::optional<std::string>(out)
                                                             : std::nullopt;
    return std::nullopt;
}

namespace {

bool trusted(const std::vector<std::string>& proxies, const std::string& ip) {
    return std::find(proxies.begin(), proxies.end(), ip) != proxies.end();
}

} // namespace

RequestSource requestSource(const std::string& peer, std::optional<std::string_view> forwardedFor,
                            const std::vector<std::string>& trustedProxies) {
    RequestSource plain{peer, {}};
    const auto colon = peer.rfind(':');
    const auto peerIp = canonicalIp(std::string_view(peer).substr(0, colon));
    if (!forwardedFor || colon == std::string::npos || !peerIp || !trusted(trustedProxies, *peerIp))
        return plain;
    // From the right: past the trusted proxies, to the first address that is not one.
    std::vector<std::string> hops;
    std::string_view rest = *forwardedFor;
    while (true) {
        const auto comma = rest.find(',');
        const auto ip = canonicalIp(text::trim(rest.substr(0, comma)));
        if (!ip)
            hops.emplace_back(); // not an address
        else
            hops.push_back(*ip);
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 1);
    }
    for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
        if (hop->empty())
            return plain;
        if (!trusted(trustedProxies, *hop) || std::next(hop) == hops.rend())
            return {*hop, peer};
    }
    return plain;
}

} // namespace day2::http
