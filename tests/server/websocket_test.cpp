// WebSocket upgrades in the agent's HTTP server: a real http::Server on 127.0.0.1 (plain and
// TLS, every test both ways) with handlers that upgrade, and a Beast WebSocket client written
// here. Everything runs on one io_context in the test's thread; each test is a coroutine with a
// generous limit on time.
#include "http/server.h"
#include "http/websocket_upgrade.h"
#include "test_keys.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <unistd.h>

using namespace day2;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

constexpr size_t kMaxMessage = size_t{1024} * 1024;
constexpr std::array<std::string_view, 2> kPreferred{"v5.channel.k8s.io", "v4.channel.k8s.io"};

using PlainWs = websocket::stream<tcp::socket>;
using TlsWs = websocket::stream<asio::ssl::stream<tcp::socket>>;

// What the server's handlers saw, read by the test (all on the one io thread).
struct Seen {
    std::vector<uint16_t> closeCodes; // closeCode() when a handler's read() returned nullopt
    std::vector<std::string> subprotocols;
    int refusedUpgrades = 0; // acceptWebSocket returned nullptr
};

asio::awaitable<void> waitFor(asio::steady_timer& timer, std::chrono::milliseconds d) {
    timer.expires_after(d);
    error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Writes `count` messages "<tag><n>:" followed by `size` bytes of the tag.
asio::awaitable<void> writeMany(http::WebSocket& ws, char tag, int count, size_t size, int& running,
                                asio::steady_timer& done) {
    for (int i = 0; i < count; ++i) {
        std::string m = tag + std::to_string(i) + ":" + std::string(size, tag);
        if (!co_await ws.write(m))
            break;
    }
    --running;
    done.cancel();
}

class WebSocketTest : public testing::TestWithParam<bool> {
protected:
    static void SetUpTestSuite() {
        s_dir = "/tmp/day2-websocket-test-" + std::to_string(::getpid());
        std::filesystem::create_directories(s_dir);
        test::makeTestCa(s_dir);
        test::makeTestCertificate(s_dir, "agent", "IP:127.0.0.1");
    }
    static void TearDownTestSuite() { std::filesystem::remove_all(s_dir); }

    void SetUp() override { startServer(30s); }

    void startServer(std::chrono::seconds pingInterval, std::chrono::seconds writeTimeout = 60s) {
        m_server.reset();
        http::ServerOptions o;
        o.listen = {"127.0.0.1", 0};
        o.webSocketPingInterval = pingInterval;
        o.webSocketCloseTimeout = 5s;
        o.writeTimeout = writeTimeout;
        if (tls()) {
            o.certificateFile = s_dir + "/agent.pem";
            o.keyFile = s_dir + "/agent.key";
        }
        m_server = std::make_unique<http::Server>(
            m_io, o,
            [this](const http::Request& req, http::ResponseStream& rs) { return handle(req, rs); });
        auto port = m_server->bind();
        ASSERT_TRUE(port.ok()) << port.error().message;
        m_port = *port;
        m_server->start();
        m_clientTls.load_verify_file(s_dir + "/ca.pem");
        m_clientTls.set_verify_mode(asio::ssl::verify_peer);
    }

    bool tls() const { return GetParam(); }

    // Runs the test's coroutine to its end, 60 s at the most.
    void run(asio::awaitable<void> body) {
        bool done = false;
        std::exception_ptr failure;
        asio::co_spawn(m_io, std::move(body), [&](std::exception_ptr e) {
            done = true;
            failure = e;
        });
        const auto limit = std::chrono::steady_clock::now() + 60s;
        while (!done && std::chrono::steady_clock::now() < limit) {
            if (m_io.stopped())
                m_io.restart();
            m_io.run_for(10ms);
        }
        ASSERT_TRUE(done) << "the test did not end within 60 s";
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                FAIL() << "the test threw: " << e.what();
            }
        }
    }

    // ---- The server's side

    asio::awaitable<void> handle(const http::Request& req, http::ResponseStream& rs) {
        if (!http::isWebSocketUpgrade(req)) {
            http::Response r;
            r.contentType = "text/plain";
            r.body = "plain HTTP " + req.path;
            co_await rs.send(std::move(r));
            co_return;
        }
        auto subprotocol = http::chooseSubprotocol(req, kPreferred);
        if (!subprotocol) {
            co_await rs.send(http::jsonError(400, "no acceptable subprotocol"));
            co_return;
        }
        auto ws = co_await rs.acceptWebSocket(*subprotocol, kMaxMessage);
        if (!ws) {
            ++m_seen.refusedUpgrades;
            co_return;
        }
        m_seen.subprotocols.push_back(ws->subprotocol());
        if (req.path == "/echo")
            co_await echo(*ws);
        else if (req.path == "/once")
            co_await once(*ws);
        else if (req.path == "/leave") // returns without closing
            (void)co_await ws->read();
        else if (req.path == "/throw")
            throw std::runtime_error("the handler failed");
        else if (req.path == "/burst")
            co_await burst(*ws);
        else if (req.path == "/flood")
            co_await flood(*ws);
    }

    // Writes 64 KiB messages for as long as they go.
    asio::awaitable<void> flood(http::WebSocket& ws) {
        const std::string chunk(64 * 1024, 'f');
        while (co_await ws.write(chunk))
            ;
        m_seen.closeCodes.push_back(ws.closeCode());
    }

    // Echoes every message as it came (binary or text); when the agent stops, says so and
    // closes with 1001.
    asio::awaitable<void> echo(http::WebSocket& ws) {
        while (auto m = co_await ws.read())
            if (!co_await ws.write(m->data, m->binary))
                break;
        m_seen.closeCodes.push_back(ws.closeCode());
        if (ws.closeCode() == http::kCloseGoingAway) {
            (void)co_await ws.write("the agent is stopping", false);
            co_await ws.close(http::kCloseGoingAway, "the agent is stopping");
        } else {
            co_await ws.close(http::kCloseNormal);
        }
    }

    // Echoes one message, then closes: 1000, "done".
    asio::awaitable<void> once(http::WebSocket& ws) {
        if (auto m = co_await ws.read())
            (void)co_await ws.write(m->data, m->binary);
        co_await ws.close(http::kCloseNormal, "done");
    }

    // Two writers of 100 messages each while the handler reads and answers the client's
    // messages: one reader and several writers at the same time.
    asio::awaitable<void> burst(http::WebSocket& ws) {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer done(ex, std::chrono::steady_clock::time_point::max());
        int running = 2;
        asio::co_spawn(ex, writeMany(ws, 'A', 100, 16 * 1024, running, done), asio::detached);
        asio::co_spawn(ex, writeMany(ws, 'B', 100, 16 * 1024, running, done), asio::detached);
        while (auto m = co_await ws.read())
            if (!co_await ws.write("echo:" + m->data))
                break;
        m_seen.closeCodes.push_back(ws.closeCode());
        while (running > 0) {
            error_code ignored;
            co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        co_await ws.close(http::kCloseNormal);
    }

    // ---- The client's side

    template <class Ws> std::unique_ptr<Ws> makeClient() {
        if constexpr (std::is_same_v<Ws, TlsWs>)
            return std::make_unique<Ws>(m_io, m_clientTls);
        else
            return std::make_unique<Ws>(m_io);
    }

    // Connects and upgrades, offering `protocols` one header each (several in one header if
    // an entry has commas). The 101 (or the refusal) lands in `response`.
    // TCP, and TLS (the agent's certificate checked) for a TLS client: ready for HTTP.
    template <class Ws> asio::awaitable<error_code> connectTransport(Ws& ws) {
        error_code ec;
        co_await beast::get_lowest_layer(ws).async_connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), m_port),
            asio::redirect_error(asio::use_awaitable, ec));
        if constexpr (std::is_same_v<Ws, TlsWs>) {
            if (ec)
                co_return ec;
            ws.next_layer().set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
            co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client,
                                                     asio::redirect_error(asio::use_awaitable, ec));
        }
        co_return ec;
    }

    template <class Ws>
    asio::awaitable<error_code> connect(Ws& ws, std::string target,
                                        std::vector<std::string> protocols,
                                        websocket::response_type& response) {
        error_code ec = co_await connectTransport(ws);
        if (ec)
            co_return ec;
        ws.set_option(websocket::stream_base::decorator([protocols](websocket::request_type& r) {
            for (const auto& p : protocols)
                r.insert(bhttp::field::sec_websocket_protocol, p);
        }));
        co_await ws.async_handshake(response, "127.0.0.1", target,
                                    asio::redirect_error(asio::use_awaitable, ec));
        co_return ec;
    }

    // Upgrades (offering `protocol`) or throws, which fails the test.
    template <class Ws>
    asio::awaitable<std::unique_ptr<Ws>> open(std::string target,
                                              std::string protocol = "v5.channel.k8s.io") {
        auto ws = makeClient<Ws>();
        websocket::response_type response;
        std::vector<std::string> protocols;
        protocols.push_back(protocol);
        const error_code ec = co_await connect(*ws, target, protocols, response);
        if (ec)
            throw std::runtime_error("upgrade of " + target + ": " + ec.message());
        co_return ws;
    }

    struct Received {
        error_code ec;
        std::string data;
        bool binary = false;
    };
    template <class Ws> asio::awaitable<Received> receive(Ws& ws) {
        Received r;
        beast::flat_buffer buffer;
        co_await ws.async_read(buffer, asio::redirect_error(asio::use_awaitable, r.ec));
        r.data = beast::buffers_to_string(buffer.data());
        r.binary = ws.got_binary();
        co_return r;
    }
    template <class Ws>
    asio::awaitable<error_code> send(Ws& ws, std::string_view data, bool binary) {
        ws.binary(binary);
        error_code ec;
        co_await ws.async_write(asio::buffer(data.data(), data.size()),
                                asio::redirect_error(asio::use_awaitable, ec));
        co_return ec;
    }

    // The next thing the client reads is the agent's close frame, with `code`.
    template <class Ws> asio::awaitable<void> expectClose(Ws& ws, websocket::close_code code) {
        const auto r = co_await receive(ws);
        EXPECT_EQ(r.ec, websocket::error::closed) << r.ec.message();
        EXPECT_EQ(ws.reason().code, code);
    }

    // The client closes (1000) and sees the agent's answer.
    template <class Ws> asio::awaitable<void> closeClient(Ws& ws) {
        error_code ec;
        co_await ws.async_close(websocket::close_code::normal,
                                asio::redirect_error(asio::use_awaitable, ec));
        EXPECT_FALSE(ec) << ec.message();
    }

    // Waits (up to 30 s) for `done`, looking every 10 ms.
    template <class F> asio::awaitable<bool> eventually(F done) {
        asio::steady_timer t(m_io);
        const auto limit = std::chrono::steady_clock::now() + 30s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > limit)
                co_return false;
            co_await waitFor(t, 10ms);
        }
        co_return true;
    }

    // ---- The tests' bodies, for either kind of client

    template <class Ws> asio::awaitable<void> negotiation() {
        struct Case {
            std::vector<std::string> offered;
            std::string chosen; // "" = refused with 400
        };
        const std::vector<Case> cases = {
            {{"v4.channel.k8s.io, v5.channel.k8s.io"}, "v5.channel.k8s.io"},
            {{"v5.channel.k8s.io,v4.channel.k8s.io"}, "v5.channel.k8s.io"},
            {{"v4.channel.k8s.io", "v5.channel.k8s.io"}, "v5.channel.k8s.io"}, // two headers
            {{"channel.k8s.io", "v4.channel.k8s.io"}, "v4.channel.k8s.io"},
            {{"v4.channel.k8s.io"}, "v4.channel.k8s.io"},
            {{"v3.channel.k8s.io, base64.channel.k8s.io"}, ""},
            {{"V5.CHANNEL.K8S.IO"}, ""},
            {{}, ""},
        };
        for (const auto& c : cases) {
            SCOPED_TRACE(testing::PrintToString(c.offered));
            auto ws = makeClient<Ws>();
            websocket::response_type response;
            const error_code ec = co_await connect(*ws, "/echo", c.offered, response);
            if (c.chosen.empty()) {
                EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
                EXPECT_EQ(response.result_int(), 400u);
                continue;
            }
            EXPECT_FALSE(ec) << ec.message();
            EXPECT_EQ(response.result_int(), 101u);
            EXPECT_EQ(response[bhttp::field::sec_websocket_protocol], c.chosen);
            EXPECT_EQ(response[bhttp::field::server], "day2-agent");
            EXPECT_FALSE(co_await send(*ws, "ping?", true));
            const auto r = co_await receive(*ws);
            EXPECT_EQ(r.data, "ping?");
            EXPECT_FALSE(m_seen.subprotocols.empty());
            if (!m_seen.subprotocols.empty()) {
                EXPECT_EQ(m_seen.subprotocols.back(), c.chosen);
            }
            co_await closeClient(*ws);
        }
    }

    template <class Ws> asio::awaitable<void> plainHttp() {
        // A GET that is no upgrade is answered as HTTP, twice on one kept-alive connection.
        auto ws = makeClient<Ws>();
        auto& stream = ws->next_layer();
        error_code ec = co_await connectTransport(*ws);
        EXPECT_FALSE(ec) << ec.message();
        beast::flat_buffer buffer;
        for (const char* path : {"/echo", "/once"}) {
            bhttp::request<bhttp::empty_body> req{bhttp::verb::get, path, 11};
            req.set(bhttp::field::host, "127.0.0.1");
            req.set(bhttp::field::sec_websocket_protocol, "v5.channel.k8s.io");
            co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
            EXPECT_FALSE(ec) << ec.message();
            bhttp::response<bhttp::string_body> res;
            co_await bhttp::async_read(stream, buffer, res,
                                       asio::redirect_error(asio::use_awaitable, ec));
            EXPECT_FALSE(ec) << ec.message();
            EXPECT_EQ(res.result_int(), 200u);
            EXPECT_EQ(res.body(), std::string("plain HTTP ") + path);
            EXPECT_TRUE(res.keep_alive());
        }
    }

    template <class Ws> asio::awaitable<void> malformedUpgrade() {
        // An upgrade Beast cannot accept: answered 400 (no key) or 426 (another version), and
        // the handler's acceptWebSocket returns nullptr.
        struct Case {
            const char* version;
            const char* key;
            unsigned status;
        };
        const Case cases[] = {{"13", nullptr, 400}, {"12", "dGhlIHNhbXBsZSBub25jZQ==", 426}};
        int refused = 0;
        for (const auto& c : cases) {
            auto ws = makeClient<Ws>();
            auto& stream = ws->next_layer();
            error_code ec = co_await connectTransport(*ws);
            EXPECT_FALSE(ec) << ec.message();
            bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/echo", 11};
            req.set(bhttp::field::host, "127.0.0.1");
            req.set(bhttp::field::upgrade, "websocket");
            req.set(bhttp::field::connection, "Upgrade");
            req.set(bhttp::field::sec_websocket_protocol, "v5.channel.k8s.io");
            req.set(bhttp::field::sec_websocket_version, c.version);
            if (c.key)
                req.set(bhttp::field::sec_websocket_key, c.key);
            co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
            EXPECT_FALSE(ec) << ec.message();
            beast::flat_buffer buffer;
            bhttp::response<bhttp::string_body> res;
            co_await bhttp::async_read(stream, buffer, res,
                                       asio::redirect_error(asio::use_awaitable, ec));
            EXPECT_FALSE(ec) << ec.message();
            EXPECT_EQ(res.result_int(), c.status) << res;
            ++refused;
            EXPECT_TRUE(co_await eventually([&] { return m_seen.refusedUpgrades == refused; }));
        }
        EXPECT_TRUE(m_seen.subprotocols.empty());
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> echoes() {
        auto ws = co_await open<Ws>("/echo");
        // Binary (every byte value) and text, small and empty.
        std::string every;
        for (int i = 0; i < 256; ++i)
            every += static_cast<char>(i);
        struct Case {
            std::string data;
            bool binary;
        };
        const std::vector<Case> cases = {
            {every, true}, {"\x00hello\n", true}, {"hello ✓", false}, {"", true}, {"", false}};
        for (const auto& c : cases) {
            EXPECT_FALSE(co_await send(*ws, c.data, c.binary));
            const auto r = co_await receive(*ws);
            EXPECT_FALSE(r.ec) << r.ec.message();
            EXPECT_EQ(r.data, c.data);
            EXPECT_EQ(r.binary, c.binary);
        }
        // 1 MiB, the limit exactly, byte for byte: random binary, then text.
        std::mt19937 random(42);
        std::string big(kMaxMessage, '\0');
        for (auto& b : big)
            b = static_cast<char>(random());
        std::string bigText(kMaxMessage, 'x');
        for (size_t i = 0; i < bigText.size(); i += 97)
            bigText[i] = static_cast<char>('a' + i % 26);
        for (const auto* m : {&big, &bigText}) {
            const bool binary = m == &big;
            EXPECT_FALSE(co_await send(*ws, *m, binary));
            const auto r = co_await receive(*ws);
            EXPECT_FALSE(r.ec) << r.ec.message();
            EXPECT_EQ(r.data.size(), m->size());
            EXPECT_TRUE(r.data == *m) << "the echo of 1 MiB differs";
            EXPECT_EQ(r.binary, binary);
        }
        // The client closes: the handler's read() ends with 1000 and the connection goes.
        co_await closeClient(*ws);
        EXPECT_TRUE(co_await eventually([&] { return !m_seen.closeCodes.empty(); }));
        EXPECT_EQ(m_seen.closeCodes, std::vector<uint16_t>{http::kCloseNormal});
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> oversized() {
        auto ws = co_await open<Ws>("/echo");
        EXPECT_EQ(m_server->connectionCount(), 1u); // a session is a connection serving
        const std::string tooBig(kMaxMessage + 1, 'z');
        (void)co_await send(*ws, tooBig, true);
        const auto r = co_await receive(*ws);
        // (Over TLS the agent may drop the connection while the rest of the message still
        // comes, and the client's answer to the close frame then fails: an error either way.)
        EXPECT_TRUE(r.ec) << "the message over the limit was read";
        EXPECT_EQ(ws->reason().code, websocket::close_code::too_big) << r.ec.message();
        EXPECT_TRUE(co_await eventually([&] { return !m_seen.closeCodes.empty(); }));
        EXPECT_EQ(m_seen.closeCodes, std::vector<uint16_t>{http::kCloseMessageTooBig});
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> serverCloses() {
        // The handler closes with 1000 and a reason; the client sees both.
        auto ws = co_await open<Ws>("/once");
        EXPECT_FALSE(co_await send(*ws, "bye", false));
        auto r = co_await receive(*ws);
        EXPECT_EQ(r.data, "bye");
        co_await expectClose(*ws, websocket::close_code::normal);
        EXPECT_EQ(ws->reason().reason, "done");

        // A handler that returns without closing: the server closes with 1000.
        ws = co_await open<Ws>("/leave");
        EXPECT_FALSE(co_await send(*ws, "x", true));
        co_await expectClose(*ws, websocket::close_code::normal);

        // One that throws: 1011.
        ws = co_await open<Ws>("/throw");
        co_await expectClose(*ws, websocket::close_code::internal_error);
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> stopEndsSession() {
        auto ws = co_await open<Ws>("/echo");
        EXPECT_FALSE(co_await send(*ws, "up?", true));
        auto r = co_await receive(*ws);
        EXPECT_EQ(r.data, "up?"); // the session is open and its handler waits in read()
        m_server->stop();
        // The handler's read() returned nullopt (1001); it could still write, then closed.
        r = co_await receive(*ws);
        EXPECT_FALSE(r.ec) << r.ec.message();
        EXPECT_EQ(r.data, "the agent is stopping");
        co_await expectClose(*ws, websocket::close_code::going_away);
        EXPECT_EQ(m_seen.closeCodes, std::vector<uint16_t>{http::kCloseGoingAway});
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> readAndWritesTogether() {
        auto ws = co_await open<Ws>("/burst");
        // Our messages go while the two writers write; every message comes whole, each
        // writer's in its order, and each of ours is answered.
        for (int i = 0; i < 10; ++i)
            EXPECT_FALSE(co_await send(*ws, "m" + std::to_string(i), true));
        int nextA = 0, nextB = 0, echoes = 0;
        while (nextA < 100 || nextB < 100 || echoes < 10) {
            const auto r = co_await receive(*ws);
            if (r.ec) {
                ADD_FAILURE() << "read: " << r.ec.message();
                co_return;
            }
            if (r.data.starts_with("echo:")) {
                EXPECT_EQ(r.data, "echo:m" + std::to_string(echoes));
                ++echoes;
                continue;
            }
            const char tag = r.data.empty() ? '?' : r.data[0];
            int& next = tag == 'A' ? nextA : nextB;
            const std::string head = tag + std::to_string(next) + ":";
            EXPECT_EQ(r.data, head + std::string(16 * 1024, tag)) << "message " << head;
            ++next;
        }
        co_await closeClient(*ws);
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> idleStaysOpen() {
        // Ping interval 1 s (SetUp's server is replaced): a client that reads answers the
        // pings and stays; three pings are three intervals, past the 2 s without a message
        // after which an unanswering peer is dropped.
        auto ws = co_await open<Ws>("/echo");
        int pings = 0;
        ws->control_callback([&pings](websocket::frame_type kind, beast::string_view) {
            if (kind == websocket::frame_type::ping)
                ++pings;
        });
        std::vector<std::string> got;
        bool readerDone = false;
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(
            ex,
            [](WebSocketTest* t, Ws* w, std::vector<std::string>* out,
               bool* done) -> asio::awaitable<void> {
                for (;;) {
                    const auto r = co_await t->receive(*w);
                    if (r.ec)
                        break;
                    out->push_back(r.data);
                }
                *done = true;
            }(this, ws.get(), &got, &readerDone),
            asio::detached);
        EXPECT_TRUE(co_await eventually([&] { return pings >= 3; })) << pings << " pings";
        EXPECT_TRUE(m_seen.closeCodes.empty());
        EXPECT_FALSE(co_await send(*ws, "still here", true));
        EXPECT_TRUE(co_await eventually([&] { return !got.empty(); }));
        EXPECT_EQ(got, std::vector<std::string>{"still here"});

        // A client that reads nothing answers no ping: dropped (1006) after two intervals.
        auto silent = co_await open<Ws>("/echo");
        EXPECT_TRUE(co_await eventually([&] { return m_seen.closeCodes.size() == 1; }));
        EXPECT_EQ(m_seen.closeCodes, std::vector<uint16_t>{http::kCloseAbnormal});
        co_await closeClient(*ws);
        EXPECT_TRUE(co_await eventually([&] { return readerDone; })); // (it uses ws)
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    template <class Ws> asio::awaitable<void> slowReader() {
        // Write timeout 1 s (SetUp's server is replaced): a client that reads nothing while the
        // handler writes is dropped once a write has waited that long; write() returns false.
        auto ws = co_await open<Ws>("/flood");
        EXPECT_TRUE(co_await eventually([&] { return !m_seen.closeCodes.empty(); }));
        EXPECT_EQ(m_seen.closeCodes, std::vector<uint16_t>{http::kCloseAbnormal});
        EXPECT_TRUE(co_await eventually([&] { return m_server->connectionCount() == 0; }));
    }

    static inline std::string s_dir;
    asio::io_context m_io;
    asio::ssl::context m_clientTls{asio::ssl::context::tls_client};
    std::unique_ptr<http::Server> m_server;
    uint16_t m_port = 0;
    Seen m_seen;
};

TEST_P(WebSocketTest, SubprotocolIsNegotiatedV5PreferredNoneRefused) {
    run(tls() ? negotiation<TlsWs>() : negotiation<PlainWs>());
}

TEST_P(WebSocketTest, GetWithoutUpgradeIsStillHttp) {
    run(tls() ? plainHttp<TlsWs>() : plainHttp<PlainWs>());
}

TEST_P(WebSocketTest, MalformedUpgradeIsAnsweredByTheServerAndRefused) {
    run(tls() ? malformedUpgrade<TlsWs>() : malformedUpgrade<PlainWs>());
}

TEST_P(WebSocketTest, EchoesBinaryAndTextAndOneMiBByteExact) {
    run(tls() ? echoes<TlsWs>() : echoes<PlainWs>());
}

TEST_P(WebSocketTest, MessageOverTheLimitClosesWith1009) {
    run(tls() ? oversized<TlsWs>() : oversized<PlainWs>());
}

TEST_P(WebSocketTest, ServerCloseHandshakeIsSeenByTheClient) {
    run(tls() ? serverCloses<TlsWs>() : serverCloses<PlainWs>());
}

TEST_P(WebSocketTest, ServerStopEndsAnOpenSession) {
    run(tls() ? stopEndsSession<TlsWs>() : stopEndsSession<PlainWs>());
}

TEST_P(WebSocketTest, OneReaderAndSeveralWritersAtOnce) {
    run(tls() ? readAndWritesTogether<TlsWs>() : readAndWritesTogether<PlainWs>());
}

TEST_P(WebSocketTest, IdleSessionIsPingedAndASilentPeerDropped) {
    startServer(1s);
    run(tls() ? idleStaysOpen<TlsWs>() : idleStaysOpen<PlainWs>());
}

std::string clientKind(const testing::TestParamInfo<bool>& param) {
    return param.param ? "Tls" : "Plain";
}

TEST_P(WebSocketTest, ReaderThatTakesNothingIsDroppedAfterTheWriteTimeout) {
    startServer(30s, 1s);
    run(tls() ? slowReader<TlsWs>() : slowReader<PlainWs>());
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, WebSocketTest, testing::Bool(), clientKind);

} // namespace
