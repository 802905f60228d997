// isWebSocketUpgrade and chooseSubprotocol: the request headers as clients send them.
#include "http/websocket_upgrade.h"

#include <gtest/gtest.h>

#include <array>

using namespace day2::http;

namespace {

Request get(Headers headers, std::string method = "GET") {
    Request r;
    r.method = std::move(method);
    r.target = r.path = "/system/v1/exec/v1/containers/c";
    r.headers = std::move(headers);
    return r;
}

constexpr std::array<std::string_view, 2> kPreferred{"v5.channel.k8s.io", "v4.channel.k8s.io"};

} // namespace

TEST(WebSocketUpgrade, WhatIsAnUpgrade) {
    EXPECT_TRUE(isWebSocketUpgrade(get({{"Upgrade", "websocket"}, {"Connection", "Upgrade"}})));
    EXPECT_TRUE(isWebSocketUpgrade(get({{"upgrade", "WebSocket"}, {"connection", "upgrade"}})));
    // Firefox: "Connection: keep-alive, Upgrade"; a list in Upgrade; headers given twice
    EXPECT_TRUE(
        isWebSocketUpgrade(get({{"Connection", "keep-alive, Upgrade"}, {"Upgrade", "websocket"}})));
    EXPECT_TRUE(isWebSocketUpgrade(get({{"Connection", "keep-alive"},
                                        {"Connection", " upgrade "},
                                        {"Upgrade", "h2c, websocket"}})));

    EXPECT_FALSE(isWebSocketUpgrade(get({})));
    EXPECT_FALSE(isWebSocketUpgrade(get({{"Upgrade", "websocket"}})));
    EXPECT_FALSE(isWebSocketUpgrade(get({{"Connection", "Upgrade"}})));
    EXPECT_FALSE(isWebSocketUpgrade(get({{"Upgrade", "h2c"}, {"Connection", "Upgrade"}})));
    EXPECT_FALSE(isWebSocketUpgrade(get({{"Upgrade", "websocket"}, {"Connection", "keep-alive"}})));
    EXPECT_FALSE(isWebSocketUpgrade(get({{"Upgrade", "websockets"}, {"Connection", "Upgrade"}})));
    EXPECT_FALSE(isWebSocketUpgrade(get({{"Upgrade", "websocket"}, {"Connection", "Upgraded"}})));
    EXPECT_FALSE(
        isWebSocketUpgrade(get({{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}, "POST")));
}

TEST(WebSocketUpgrade, SubprotocolOfOurPreferenceThatTheClientOffers) {
    struct Case {
        Headers headers;
        std::optional<std::string> chosen;
    };
    const Case cases[] = {
        {{{"Sec-WebSocket-Protocol", "v5.channel.k8s.io"}}, "v5.channel.k8s.io"},
        {{{"Sec-WebSocket-Protocol", "v4.channel.k8s.io"}}, "v4.channel.k8s.io"},
        // ours first, whatever the client's order
        {{{"Sec-WebSocket-Protocol", "v4.channel.k8s.io, v5.channel.k8s.io"}}, "v5.channel.k8s.io"},
        {{{"Sec-WebSocket-Protocol", "v4.channel.k8s.io,v5.channel.k8s.io"}}, "v5.channel.k8s.io"},
        // several headers, and names we do not speak among them
        {{{"sec-websocket-protocol", "v4.channel.k8s.io"},
          {"Sec-WebSocket-Protocol", "channel.k8s.io, v5.channel.k8s.io"}},
         "v5.channel.k8s.io"},
        {{{"Sec-WebSocket-Protocol", "base64.channel.k8s.io,  v4.channel.k8s.io  ,"}},
         "v4.channel.k8s.io"},
        // none we speak; names are compared exactly
        {{{"Sec-WebSocket-Protocol", "v3.channel.k8s.io, channel.k8s.io"}}, std::nullopt},
        {{{"Sec-WebSocket-Protocol", "V5.channel.k8s.io"}}, std::nullopt},
        {{{"Sec-WebSocket-Protocol", "v5.channel.k8s.io.evil"}}, std::nullopt},
        {{{"Sec-WebSocket-Protocol", ""}}, std::nullopt},
        {{{"X-Sec-WebSocket-Protocol", "v5.channel.k8s.io"}}, std::nullopt},
        {{}, std::nullopt},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::PrintToString(c.headers));
        EXPECT_EQ(chooseSubprotocol(get(c.headers), kPreferred), c.chosen);
    }
    EXPECT_EQ(chooseSubprotocol(get({{"Sec-WebSocket-Protocol", "v5.channel.k8s.io"}}), {}),
              std::nullopt);
}
