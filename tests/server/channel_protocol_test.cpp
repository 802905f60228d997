// The exec channel protocol: tables of client messages, resize payloads and exec queries that
// must parse (with what they mean) and must not (with why); the status JSON byte for byte, as
// the kubelet writes it and client-go and the Python client read it.
#include "exec/channel_protocol.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

using namespace day2::exec;
using namespace std::string_literals;

namespace {

std::vector<std::string> argv(std::initializer_list<const char*> args) {
    return {args.begin(), args.end()};
}

} // namespace

// ---- Client messages

TEST(ChannelProtocol, ClientMessagesThatMustParse) {
    struct Good {
        std::string message;
        ProtocolVersion version;
        ClientFrame::Kind kind;
        std::string payload;
        Channel closed = Channel::Stdin;
    };
    const Good good[] = {
        {"\x00ls -l\n"s, ProtocolVersion::V5, ClientFrame::Kind::Stdin, "ls -l\n"},
        {"\x00ls -l\n"s, ProtocolVersion::V4, ClientFrame::Kind::Stdin, "ls -l\n"},
        {"\x00"s, ProtocolVersion::V5, ClientFrame::Kind::Stdin, ""},
        {"\x00\x00\xff\x01"s, ProtocolVersion::V5, ClientFrame::Kind::Stdin, "\x00\xff\x01"s},
        {"\x04{\"Width\":80,\"Height\":24}", ProtocolVersion::V4, ClientFrame::Kind::Resize,
         "{\"Width\":80,\"Height\":24}"},
        {"\x04", ProtocolVersion::V5, ClientFrame::Kind::Resize, ""},
        {"\xff\x00"s, ProtocolVersion::V5, ClientFrame::Kind::CloseStream, "", Channel::Stdin},
        {"\xff\x04"s, ProtocolVersion::V5, ClientFrame::Kind::CloseStream, "", Channel::Resize},
    };
    for (const auto& g : good) {
        SCOPED_TRACE(testing::PrintToString(g.message));
        const auto f = parseClientFrame(g.message, g.version);
        ASSERT_TRUE(f.ok()) << f.error().message;
        EXPECT_EQ(f->kind, g.kind);
        EXPECT_EQ(f->payload, g.payload);
        if (g.kind == ClientFrame::Kind::CloseStream) {
            EXPECT_EQ(f->closed, g.closed);
        }
    }
}

TEST(ChannelProtocol, ClientMessagesThatMustNotParse) {
    struct Bad {
        std::string message;
        ProtocolVersion version;
        const char* why; // a part of the error
    };
    const Bad bad[] = {
        {"", ProtocolVersion::V5, "empty message"},
        {"\x01hello", ProtocolVersion::V5, "channel stdout (1)"},
        {"\x02hello", ProtocolVersion::V5, "channel stderr (2)"},
        {"\x03{}", ProtocolVersion::V4, "channel status (3)"},
        {"\x05x", ProtocolVersion::V5, "unknown channel 5"},
        {"\xfe", ProtocolVersion::V5, "unknown channel 254"},
        {"0abc", ProtocolVersion::V5, "unknown channel 48"}, // base64.channel.k8s.io is not spoken
        {"\xff\x00"s, ProtocolVersion::V4, "v5.channel.k8s.io only"},
        {"\xff", ProtocolVersion::V5, "has 0 bytes after 255"},
        {"\xff\x00\x00"s, ProtocolVersion::V5, "has 2 bytes after 255"},
        {"\xff\x01", ProtocolVersion::V5, "close message for channel stdout (1)"},
        {"\xff\x03", ProtocolVersion::V5, "close message for channel status (3)"},
        {"\xff\xff", ProtocolVersion::V5, "close message for channel close (255)"},
    };
    for (const auto& b : bad) {
        SCOPED_TRACE(testing::PrintToString(b.message));
        const auto f = parseClientFrame(b.message, b.version);
        ASSERT_FALSE(f.ok());
        EXPECT_NE(f.error().message.find(b.why), std::string::npos) << f.error().message;
    }
}

TEST(ChannelProtocol, SubprotocolNames) {
    EXPECT_EQ(protocolVersion("v5.channel.k8s.io"), ProtocolVersion::V5);
    EXPECT_EQ(protocolVersion("v4.channel.k8s.io"), ProtocolVersion::V4);
    EXPECT_EQ(protocolVersion("channel.k8s.io"), std::nullopt);
    EXPECT_EQ(protocolVersion("v4.base64.channel.k8s.io"), std::nullopt);
    EXPECT_EQ(protocolVersion(""), std::nullopt);
    ASSERT_EQ(kSubprotocols.size(), 2u);
    EXPECT_EQ(kSubprotocols[0], "v5.channel.k8s.io"); // preferred
}

// ---- Resize

TEST(ChannelProtocol, ResizePayloadsThatMustParse) {
    struct Good {
        std::string payload;
        std::vector<TerminalSize> sizes;
    };
    const Good good[] = {
        {R"({"Width":80,"Height":24})", {{80, 24}}},
        // client-go's json.Encoder ends each object with a newline
        {"{\"Width\":80,\"Height\":24}\n", {{80, 24}}},
        // client-node sends lowercase keys
        {R"({"width":100,"height":30})", {{100, 30}}},
        {R"({"WIDTH":1,"hEiGhT":65535})", {{1, 65535}}},
        {R"({"Height":24,"Width":80})", {{80, 24}}},
        // several, one after another, with or without white space between them
        {R"({"Width":80,"Height":24}{"width":100,"height":30})", {{80, 24}, {100, 30}}},
        {" \t{\"Width\":80,\"Height\":24}\n\r\n{\"Width\":81,\"Height\":25}\n{\"Width\":82,"
         "\"Height\":26} ",
         {{80, 24}, {81, 25}, {82, 26}}},
        // other keys are ignored, braces inside strings do not end the object
        {R"({"Width":80,"Height":24,"note":"}{","nested":{"a":[1,{"b":2}]}})", {{80, 24}}},
        {R"({ "Width" : 80 , "Height" : 24 })", {{80, 24}}},
        {R"({"Width":80,"Height":24,"escaped":"\"}"})", {{80, 24}}},
    };
    for (const auto& g : good) {
        SCOPED_TRACE(g.payload);
        const auto r = parseResize(g.payload);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, g.sizes);
    }
}

TEST(ChannelProtocol, ResizePayloadsThatMustNotParse) {
    const std::pair<std::string, const char*> bad[] = {
        {"", "has no size"},
        {"  \n", "has no size"},
        {R"({"Width":80})", "has no Height"},
        {R"({"Height":24})", "has no Width"},
        {R"({})", "has no Width"},
        {R"({"Width":0,"Height":24})", "from 1 to 65535, not 0"},
        {R"({"Width":80,"Height":65536})", "from 1 to 65535, not 65536"},
        {R"({"Width":-1,"Height":24})", "not -1"},
        {R"({"Width":80.5,"Height":24})", "not 80.5"},
        {R"({"Width":80.0,"Height":24})", "not 80.0"},
        {R"({"Width":1e2,"Height":24})", "integer from 1 to 65535"},
        {R"({"Width":"80","Height":24})", "not \"80\""},
        {R"({"Width":null,"Height":24})", "not null"},
        {R"({"Width":true,"Height":24})", "not true"},
        {R"({"Width":18446744073709551617,"Height":24})", "integer from 1 to 65535"},
        {R"({"Width":80,"width":81,"Height":24})", "twice"},
        {R"({"Width":80,"Height":24)", "not terminated"},
        {R"({"Width":80,"Height":24}{"Width":)", "at offset 24 is not terminated"},
        {R"({"Width":80,"Height":24}x)", "expected a JSON object"},
        {R"({"Width":80,"Height":24},{"Width":80,"Height":24})", "at offset 24"},
        {R"([{"Width":80,"Height":24}])", "expected a JSON object"},
        {R"({"Width":80 "Height":24})", "not valid JSON"},
        {R"({"Width":80,"Height":24])", "not valid JSON"},
        {"{\"Width\":80,\"Height\":24,\"x\":[[[[[[[[[[1]]]]]]]]]]}", "nested"},
        // a valid first size does not excuse a bad second one
        {R"({"Width":80,"Height":24}{"Width":0,"Height":24})", "offset 24"},
    };
    for (const auto& [payload, why] : bad) {
        SCOPED_TRACE(payload);
        const auto r = parseResize(payload);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
    }
}

// ---- Agent -> client

TEST(ChannelProtocol, OutputFrames) {
    EXPECT_EQ(frame(Channel::Stdout, "hello\n"), "\x01hello\n");
    EXPECT_EQ(frame(Channel::Stderr, "oops"), "\x02oops");
    EXPECT_EQ(frame(Channel::Status, "{}"), "\x03{}");
    EXPECT_EQ(frame(Channel::Stdout, "\x00\xff"s), "\x01\x00\xff"s);
    EXPECT_EQ(frame(Channel::Stdout, ""), "\x01");

    ExecRequest r;
    r.useStdout = r.useStderr = true;
    EXPECT_EQ(readyFrame(r), "\x01");
    r.useStdout = false;
    EXPECT_EQ(readyFrame(r), "\x02");
    r.useStderr = false;
    r.useStdin = true;
    EXPECT_EQ(readyFrame(r), "\x03");
}

// ---- Status: exactly what the kubelet writes

TEST(ChannelProtocol, SuccessStatus) {
    EXPECT_EQ(successStatus(), R"({"metadata":{},"status":"Success"})");
    EXPECT_EQ(exitStatus(argv({"true"}), 0), successStatus());
}

TEST(ChannelProtocol, NonZeroExitStatusIsTheKubeletsByteForByte) {
    EXPECT_EQ(exitStatus(argv({"sh", "-c", "exit 3"}), 3),
              R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero )"
              R"(exit code: error executing command [sh -c exit 3], exit code 3","reason":)"
              R"("NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})");
    // killed by SIGKILL: 128 + 9
    EXPECT_EQ(exitStatus(argv({"sleep", "1000"}), 137),
              R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero )"
              R"(exit code: error executing command [sleep 1000], exit code 137","reason":)"
              R"("NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"137"}]}})");
}

TEST(ChannelProtocol, StatusReadsBackAsClientsReadIt) {
    // client-go: the cause whose reason is ExitCode; the Python client: causes[0].message.
    for (const auto& s : {exitStatus(argv({"false"}), 1),
                          startFailureStatus(argv({"nosuch"}), "exec: No such file", 127)}) {
        SCOPED_TRACE(s);
        const auto j = nlohmann::json::parse(s);
        EXPECT_EQ(j["status"], "Failure");
        EXPECT_EQ(j["reason"], "NonZeroExitCode");
        ASSERT_EQ(j["details"]["causes"].size(), 1u);
        EXPECT_EQ(j["details"]["causes"][0]["reason"], "ExitCode");
        const std::string code = j["details"]["causes"][0]["message"];
        EXPECT_TRUE(code == "1" || code == "127") << code;
        EXPECT_FALSE(j.contains("code")); // the Python client would read a "code" as the exit code
    }
}

TEST(ChannelProtocol, StartFailureStatus) {
    EXPECT_EQ(startFailureStatus(argv({"/bin/nosuch", "-x"}),
                                 "exec /bin/nosuch: No such file or directory", 127),
              R"({"metadata":{},"status":"Failure","message":"cannot start command )"
              R"([/bin/nosuch -x]: exec /bin/nosuch: No such file or directory, exit code 127",)"
              R"("reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",)"
              R"("message":"127"}]}})");
    EXPECT_EQ(exitCodeForExecError(ENOENT), 127);
    EXPECT_EQ(exitCodeForExecError(ENOTDIR), 127);
    EXPECT_EQ(exitCodeForExecError(EACCES), 126);
    EXPECT_EQ(exitCodeForExecError(ENOEXEC), 126);
}

TEST(ChannelProtocol, InternalAndProtocolErrorStatus) {
    // apierrors.NewInternalError, as the kubelet sends it when the runtime fails
    EXPECT_EQ(internalErrorStatus("the task's namespaces are gone"),
              R"({"metadata":{},"status":"Failure","message":"Internal error occurred: the )"
              R"(task's namespaces are gone","reason":"InternalError","details":{"causes":[{)"
              R"("message":"the task's namespaces are gone"}]},"code":500})");
    // apierrors.NewBadRequest
    EXPECT_EQ(protocolErrorStatus("a message on unknown channel 7"),
              R"({"metadata":{},"status":"Failure","message":"protocol error: a message on )"
              R"(unknown channel 7","reason":"BadRequest","code":400})");
    // apierrors.NewForbidden's shape: a session ended from outside
    EXPECT_EQ(forbiddenStatus("the session ended: the token has expired"),
              R"({"metadata":{},"status":"Failure","message":"the session ended: the token )"
              R"(has expired","reason":"Forbidden","code":403})");
}

TEST(ChannelProtocol, StatusIsValidJsonWhateverTheCommand) {
    // Quotes, control characters and bytes that are not UTF-8 in a command line.
    const auto s = exitStatus(argv({"sh", "-c", "echo \"a\\b\"\n\x01", "\xff\xfe"}), 2);
    const auto j = nlohmann::json::parse(s); // throws if not valid JSON / UTF-8
    EXPECT_EQ(j["message"], "command terminated with non-zero exit code: error executing command "
                            "[sh -c echo \"a\\b\"\n\x01 \xEF\xBF\xBD\xEF\xBF\xBD], exit code 2");
}

// ---- The query

TEST(ChannelProtocol, QueriesThatMustParse) {
    struct Good {
        const char* query;
        std::vector<std::string> command;
        bool in, out, err, tty;
        std::optional<std::string> user = std::nullopt;
    };
    const Good good[] = {
        // kubectl exec -it cid -- sh (client-go sends true, and container=)
        {"command=sh&container=c&stdin=true&stdout=true&tty=true", {"sh"}, true, true, false, true},
        // the Python client: urlencode of True
        {"command=ls&command=-l&stdout=True&stderr=True", {"ls", "-l"}, false, true, true, false},
        {"command=ls&stdout=1&stderr=1&stdin=0&tty=0", {"ls"}, false, true, true, false},
        {"command=ls&stdout=t&stderr=F", {"ls"}, false, true, false, false},
        {"command=cat&stdin=1", {"cat"}, true, false, false, false},
        // percent- and form-decoding; empty arguments after the first are arguments
        {"command=sh&command=-c&command=echo+%22a%20b%22%3B%26&command=&stdout=1",
         {"sh", "-c", "echo \"a b\";&", ""},
         false,
         true,
         false,
         false},
        // tty: one output stream, stderr is dropped (as the kubelet does)
        {"command=sh&stdin=1&stdout=1&stderr=1&tty=1", {"sh"}, true, true, false, true},
        {"command=id&stdout=1&user=nobody", {"id"}, false, true, false, false, "nobody"},
        {"command=%E2%9C%93&stdout=1", {"\xE2\x9C\x93"}, false, true, false, false},
    };
    for (const auto& g : good) {
        SCOPED_TRACE(g.query);
        const auto r = parseExecQuery(g.query);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->command, g.command);
        EXPECT_EQ(r->useStdin, g.in);
        EXPECT_EQ(r->useStdout, g.out);
        EXPECT_EQ(r->useStderr, g.err);
        EXPECT_EQ(r->tty, g.tty);
        EXPECT_EQ(r->user, g.user);
    }
}

TEST(ChannelProtocol, QueriesThatMustNotParse) {
    const std::pair<const char*, const char*> bad[] = {
        {"", "no command"},
        {"stdout=1", "no command"},
        {"command=&stdout=1", "the first command= (the program to run) is empty"},
        {"command=&command=ls&stdout=1", "the first command="},
        {"command=ls", "at least 1 of stdin, stdout, stderr"},
        {"command=ls&stdout=0&stderr=false", "at least 1 of stdin, stdout, stderr"},
        {"command=ls&stderr=1&tty=1", "at least 1 of stdin, stdout, stderr"},
        {"command=ls&stdout=yes", "stdout=yes: expected 1, true, 0 or false"},
        {"command=ls&stdout=", "stdout=: expected"},
        {"command=ls&stdout", "stdout=: expected"},
        {"command=ls&tty=2&stdout=1", "tty=2"},
        {"command=ls&stdout=1&stdout=1", "stdout= is given twice"},
        {"command=ls&stdout=1&user=", "user= is empty"},
        {"command=ls&stdout=1&user=a&user=b", "user= is given twice"},
        {"command=ls&stdout=1&user=a%00b", "user= contains a NUL byte"},
        {"command=ls&command=a%00b&stdout=1", "command argument 1 contains a NUL byte"},
        {"command=ls%zz&stdout=1", "malformed percent-escape"},
        {"command=ls&stdout=1&%41%=1", "truncated percent-escape"},
    };
    for (const auto& [query, why] : bad) {
        SCOPED_TRACE(query);
        const auto r = parseExecQuery(query);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
        EXPECT_EQ(r.error().status, 400u);
    }
}
