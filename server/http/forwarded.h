// Who sent a request, for the audit trail: its TCP peer, or, when the peer is a proxy the agent
// trusts (Adminrouter's nginx, `http.trusted_proxies`), the client that proxy names in
// X-Forwarded-For. Without trust a client could write any address there, so it is only read
// from a trusted peer, and only from the right: each trusted proxy appends the address it got
// the request from, and the rightmost address not of a trusted proxy is the client.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::http {

struct RequestSource {
    std::string client; // "IP:PORT" (the peer) or "IP" (as forwarded)
    std::string via;    // the trusted proxy's "IP:PORT" when forwarded; empty otherwise
};

// `peer`: "IP:PORT" as the server records it. `forwardedFor`: the X-Forwarded-For header, if
// any. `trustedProxies`: canonical addresses (canonicalIp). A header with something other than
// addresses where the client should be is not used.
RequestSource requestSource(const std::string& peer, std::optional<std::string_view> forwardedFor,
                            const std::vector<std::string>& trustedProxies);

// An IPv4 or IPv6 address in its canonical text form (e.g. "::1" for "0:0::1"), or nothing when
// `text` is not one.
std::optional<std::string> canonicalIp(std::string_view text);

} // namespace day2::http
