// The audit trail's source of a request: X-Forwarded-For is read only from a trusted proxy,
// from the right, past the trusted proxies; a header with anything but addresses where the
// client should be is not used; without trust the peer is the source, whatever the header says.
#include "http/forwarded.h"

#include <gtest/gtest.h>

using namespace day2::http;

TEST(Forwarded, CanonicalIp) {
    EXPECT_EQ(canonicalIp("127.0.0.1"), "127.0.0.1");
    EXPECT_EQ(canonicalIp("0:0::1"), "::1");
    EXPECT_EQ(canonicalIp("2001:DB8::0:1"), "2001:db8::1");
    for (const char* bad :
         {"", "localhost", "127.0.0.1:80", "1.2.3", "::1]", " 1.2.3.4", "300.1.1.1", "1.2.3.4/32"})
        EXPECT_FALSE(canonicalIp(bad)) << bad;
    EXPECT_FALSE(canonicalIp(std::string(100, '1')));
}

TEST(Forwarded, OnlyATrustedPeerNamesTheClient) {
    const std::vector<std::string> proxies = {"127.0.0.1", "10.0.0.5", "::1"};
    // Not trusted: the peer, whatever the header says.
    auto s = requestSource("192.0.2.9:4000", "203.0.113.7", proxies);
    EXPECT_EQ(s.client, "192.0.2.9:4000");
    EXPECT_EQ(s.via, "");
    s = requestSource("127.0.0.1:4000", "203.0.113.7", {});
    EXPECT_EQ(s.client, "127.0.0.1:4000");
    // Trusted, without the header: the peer.
    s = requestSource("127.0.0.1:4000", std::nullopt, proxies);
    EXPECT_EQ(s.client, "127.0.0.1:4000");
    EXPECT_EQ(s.via, "");
    // Trusted: the client it names, and the proxy.
    s = requestSource("127.0.0.1:4000", "203.0.113.7", proxies);
    EXPECT_EQ(s.client, "203.0.113.7");
    EXPECT_EQ(s.via, "127.0.0.1:4000");
    s = requestSource("::1:4000", " 2001:db8::7 ", proxies); // (IPv6 peer as the server writes it)
    EXPECT_EQ(s.client, "2001:db8::7");
    EXPECT_EQ(s.via, "::1:4000");
}

TEST(Forwarded, FromTheRightPastTrustedProxies) {
    const std::vector<std::string> proxies = {"127.0.0.1", "10.0.0.5"};
    // A client that wrote its own header: nginx appends the address it saw, the rightmost.
    auto s = requestSource("127.0.0.1:4000", "198.51.100.1, 203.0.113.7", proxies);
    EXPECT_EQ(s.client, "203.0.113.7");
    // Two proxies in a row: past both.
    s = requestSource("127.0.0.1:4000", "203.0.113.7, 10.0.0.5", proxies);
    EXPECT_EQ(s.client, "203.0.113.7");
    s = requestSource("127.0.0.1:4000", "spoofed, 203.0.113.7,10.0.0.5", proxies);
    EXPECT_EQ(s.client, "203.0.113.7");
    // Only proxies: the leftmost.
    s = requestSource("127.0.0.1:4000", "10.0.0.5, 127.0.0.1", proxies);
    EXPECT_EQ(s.client, "10.0.0.5");
    // Not an address where the client should be: the header is not used.
    for (const char* bad : {"unknown", "203.0.113.7, garbage", "", ",", "203.0.113.7,,10.0.0.5"}) {
        s = requestSource("127.0.0.1:4000", bad, proxies);
        EXPECT_EQ(s.client, "127.0.0.1:4000") << bad;
        EXPECT_EQ(s.via, "") << bad;
    }
}
