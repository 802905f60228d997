// The logs API of docs/api.md against a real private journald and the real day2-agent binary.
#include "agent_process.h"
#include "http_client.h"
#include "journal_namespace.h"

#include "base/text.h"
#include "logs/log_reader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <strings.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace day2::test;
using nlohmann::json;

namespace {

JournalNamespace* g_ns = nullptr;
AgentProcess* g_agent = nullptr;
const char* kRange = "/system/v1/logs/v1/range/";
const char* kStream = "/system/v1/logs/v1/stream/";

uint16_t port() {
    return g_agent->port();
}

class LogsApi : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string why;
        if (!JournalNamespace::available(&why))
            return;
        g_ns = new JournalNamespace("day2logs");
        g_agent = new AgentProcess({"--journal-namespace", g_ns->name()},
                                   "[http]\nread_timeout_seconds = 2\nfirst_request_timeout_seconds = 2\n"
                                   "max_connections = 1024\n"
                                   "[logs]\nsse_ping_seconds = 1\n");
    }
    static void TearDownTestSuite() {
        delete g_agent;
        delete g_ns;
        g_agent = nullptr;
        g_ns = nullptr;
    }
    void SetUp() override {
        std::string why;
        if (!JournalNamespace::available(&why))
            GTEST_SKIP() << why;
    }
    void TearDown() override {
        // Whatever a test did, the agent must still be serving.
        if (g_agent) {
            EXPECT_EQ(httpGet(port(), "/system/v1/health").status, 200) << g_agent->log();
        }
    }
};

// Writes n entries TEST=<test>, SEQ=<i> and waits until journald has stored them.
void writeSeq(const std::string& test, int n, int from = 0,
              const day2::logs::JournalFields& extra = {}) {
    for (int i = from; i < from + n; ++i) {
        day2::logs::JournalFields f{{"MESSAGE", "message " + std::to_string(i) + " of " + test},
                                    {"SYSLOG_IDENTIFIER", "day2test"},
                                    {"TEST", test},
                                    {"SEQ", std::to_string(i)}};
        f.insert(f.end(), extra.begin(), extra.end());
        g_ns->write(f);
    }
    g_ns->waitForCount(static_cast<size_t>(from + n), "TEST=" + test);
}

std::vector<json> parseLines(const std::string& body) {
    std::vector<json> out;
    size_t pos = 0;
    while (pos < body.size()) {
        size_t e = body.find('\n', pos);
        if (e == std::string::npos)
            e = body.size();
        if (e > pos)
            out.push_back(json::parse(body.substr(pos, e - pos)));
        pos = e + 1;
    }
    return out;
}

HttpResponse rangeJson(const std::string& query) {
    return httpGet(port(), std::string(kRange) + "?" + query, {{"Accept", "application/json"}});
}

std::vector<json> range(const std::string& query) {
    auto r = rangeJson(query);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.complete);
    return parseLines(r.body);
}

std::vector<int> seqs(const std::vector<json>& entries) {
    std::vector<int> out;
    for (const auto& e : entries)
        out.push_back(std::stoi(e["fields"]["SEQ"].get<std::string>()));
    return out;
}

std::vector<int> iota(int from, int to, int step = 1) {
    std::vector<int> v;
    for (int i = from; step > 0 ? i < to : i > to; i += step)
        v.push_back(i);
    return v;
}

// Every value of `key` in our entry, as bytes.
std::vector<std::string> ourValues(const json& e, const std::string& key) {
    std::vector<std::string> out;
    auto add = [&](const json& v, bool b64) {
        auto one = [&](const json& x) {
            std::string s = x.get<std::string>();
            out.push_back(b64 ? *day2::text::decodeBase64(s) : s);
        };
        if (v.is_array())
            for (const auto& x : v)
                one(x);
        else
            one(v);
    };
    if (e["fields"].contains(key))
        add(e["fields"][key], false);
    if (e.contains("fields_b64") && e["fields_b64"].contains(key))
        add(e["fields_b64"][key], true);
    return out;
}

// journalctl -o json gives strings, byte arrays for binary values, arrays for repeated fields.
std::vector<std::string> theirValues(const json& v) {
    auto bytes = [](const json& arr) {
        std::string s;
        for (const auto& b : arr)
            s += static_cast<char>(b.get<int>());
        return s;
    };
    if (v.is_string())
        return {v.get<std::string>()};
    if (v.is_array() && !v.empty() && v[0].is_number())
        return {bytes(v)};
    std::vector<std::string> out;
    for (const auto& x : v)
        out.push_back(x.is_string() ? x.get<std::string>() : bytes(x));
    return out;
}

void expectSameAsJournalctl(const std::string& query, const std::string& journalctlArgs) {
    auto ours = range(query);
    auto theirs = g_ns->journalctlJson(journalctlArgs);
    ASSERT_EQ(ours.size(), theirs.size()) << query;
    ASSERT_FALSE(ours.empty()) << query;
    for (size_t i = 0; i < ours.size(); ++i) {
        const auto& o = ours[i];
        const auto& t = theirs[i];
        EXPECT_EQ(o["cursor"], t["__CURSOR"]);
        EXPECT_EQ(std::to_string(o["realtime_timestamp"].get<uint64_t>()),
                  t["__REALTIME_TIMESTAMP"].get<std::string>());
        EXPECT_EQ(std::to_string(o["monotonic_timestamp"].get<uint64_t>()),
                  t["__MONOTONIC_TIMESTAMP"].get<std::string>());
        size_t compared = 0;
        for (const auto& [key, value] : t.items()) {
            if (key.rfind("__", 0) == 0)
                continue;
            auto a = ourValues(o, key), b = theirValues(value);
            std::sort(a.begin(), a.end());
            std::sort(b.begin(), b.end());
            EXPECT_EQ(a, b) << "field " << key << " of entry " << i;
            ++compared;
        }
        size_t ourCount =
            o["fields"].size() + (o.contains("fields_b64") ? o["fields_b64"].size() : 0);
        EXPECT_EQ(ourCount, compared) << "entry " << i << " has fields journalctl does not";
    }
}

std::string gunzip(const std::string& in) {
    z_stream z{};
    inflateInit2(&z, 15 + 16);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::string out;
    char buf[65536];
    int r;
    do {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        r = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    } while (r == Z_OK);
    inflateEnd(&z);
    EXPECT_EQ(r, Z_STREAM_END);
    return out;
}

// Reads SSE events from `s` until `count` arrived or `timeout` passes.
std::vector<SseEvent> readEvents(StreamingGet& s, SseParser& p, size_t count,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::vector<SseEvent> events;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (events.size() < count && std::chrono::steady_clock::now() < deadline) {
        p.feed(s.readSome(std::chrono::milliseconds(200)));
        for (auto& e : p.take())
            events.push_back(std::move(e));
        if (s.ended())
            break;
    }
    return events;
}

std::string headerOf(const StreamingGet& s, const std::string& name) {
    for (const auto& [k, v] : s.headers())
        if (strcasecmp(k.c_str(), name.c_str()) == 0)
            return v;
    return "(none)";
}

std::vector<int> eventSeqs(const std::vector<SseEvent>& events) {
    std::vector<int> out;
    for (const auto& e : events)
        out.push_back(std::stoi(json::parse(e.data)["fields"]["SEQ"].get<std::string>()));
    return out;
}

// Sends raw bytes on a fresh connection and reads until the agent closes it.
std::string rawExchange(const std::string& request) {
    int fd = connectLoopback(port());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        got.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return got;
}

// Splits a byte stream of HTTP/1.1 responses, framed by Content-Length or chunked encoding
// (none for a HEAD: `head[i]` says which ones were), into their status lines; empty on any
// framing error or leftover bytes.
std::vector<std::string> splitResponses(const std::string& raw, const std::vector<bool>& head) {
    std::vector<std::string> out;
    size_t pos = 0;
    for (size_t i = 0; pos < raw.size(); ++i) {
        size_t end = raw.find("\r\n\r\n", pos);
        if (end == std::string::npos || i >= head.size())
            return {};
        std::string headers = raw.substr(pos, end - pos);
        out.push_back(headers.substr(0, headers.find("\r\n")));
        pos = end + 4;
        if (head[i])
            continue;
        auto cl = headers.find("Content-Length: ");
        if (cl != std::string::npos) {
            pos += std::stoul(headers.substr(cl + 16));
        } else if (headers.find("Transfer-Encoding: chunked") != std::string::npos) {
            for (;;) {
                size_t e = raw.find("\r\n", pos);
                if (e == std::string::npos)
                    return {};
                size_t size = std::stoul(raw.substr(pos, e - pos), nullptr, 16);
                pos = e + 2 + size + 2;
                if (size == 0)
                    break;
            }
        }
    }
    return pos == raw.size() ? out : std::vector<std::string>{};
}

std::string detailOf(const HttpResponse& r) {
    try {
        auto j = json::parse(r.body);
        EXPECT_EQ(j["code"].get<int>(), r.status);
        EXPECT_TRUE(j["error"].is_string());
        return j["detail"].get<std::string>();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a JSON error body: " << r.body;
        return {};
    }
}

} // namespace

TEST_F(LogsApi, RangeEqualsJournalctlForTheSameFilters) {
    for (int i = 0; i < 300; ++i)
        g_ns->write({{"MESSAGE", "entry " + std::to_string(i)},
                     {"TEST", "eq"},
                     {"ID", std::string(1, static_cast<char>('a' + i % 3))},
                     {"PRIORITY", std::to_string(3 + i % 4)},
                     {"SYSLOG_IDENTIFIER", "eqtest"}});
    g_ns->waitForCount(300, "TEST=eq");
    expectSameAsJournalctl("filter=TEST:eq", "TEST=eq");
    // Different fields are ANDed; the same field given twice is ORed.
    expectSameAsJournalctl("filter=TEST:eq&filter=ID:a", "TEST=eq ID=a");
    expectSameAsJournalctl("filter=TEST:eq&filter=ID:a&filter=ID:b", "TEST=eq ID=a ID=b");
    EXPECT_EQ(range("filter=TEST:eq&filter=ID:a").size(), 100u);
    EXPECT_EQ(range("filter=TEST:eq&filter=ID:a&filter=ID:b").size(), 200u);
    EXPECT_EQ(range("filter=TEST:eq&filter=ID:zzz").size(), 0u);
    // The whole journal, every field, every entry.
    expectSameAsJournalctl("", "");
}

TEST_F(LogsApi, FilterValuesMayContainColonsAndEquals) {
    g_ns->write({{"MESSAGE", "one"}, {"TEST", "colon"}, {"KV", "a:b=c"}});
    g_ns->write({{"MESSAGE", "two"}, {"TEST", "colon"}, {"KV", "a:b"}});
    g_ns->write({{"MESSAGE", "three"}, {"TEST", "colon"}, {"KV", "url=http://x:80/?q=1"}});
    g_ns->waitForCount(3, "TEST=colon");
    auto r = range("filter=TEST:colon&filter=KV:a:b%3Dc");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["fields"]["MESSAGE"], "one");
    r = range("filter=KV:url%3Dhttp://x:80/%3Fq%3D1");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["fields"]["MESSAGE"], "three");
}

TEST_F(LogsApi, MultiLineNonUtf8AndBinaryValuesArriveExactly) {
    const std::string multi = "first line\nsecond line\n\tthird";
    const std::string latin1 = "caf\xe9 \xff\xfe";
    const std::string binary("\0\x01\x02\x03\n\xff", 6);
    const std::string utf8 = "h\xc3\xa9llo \xe2\x82\xac \"quoted\" \\ back";
    g_ns->write({{"MESSAGE", multi},
                 {"TEST", "bin"},
                 {"LATIN1", latin1},
                 {"BLOB", binary},
                 {"UTF8", utf8},
                 {"DUP", "one"},
                 {"DUP", "two"}});
    g_ns->waitForCount(1, "TEST=bin");
    auto r = range("filter=TEST:bin");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(ourValues(r[0], "MESSAGE"), std::vector<std::string>{multi});
    EXPECT_EQ(ourValues(r[0], "LATIN1"), std::vector<std::string>{latin1});
    EXPECT_EQ(ourValues(r[0], "BLOB"), std::vector<std::string>{binary});
    EXPECT_EQ(ourValues(r[0], "UTF8"), std::vector<std::string>{utf8});
    // A field given twice keeps both values, as an array.
    auto dup = ourValues(r[0], "DUP");
    std::sort(dup.begin(), dup.end());
    EXPECT_EQ(dup, (std::vector<std::string>{"one", "two"}));
    EXPECT_TRUE(r[0]["fields"]["DUP"].is_array());
    EXPECT_TRUE(r[0]["fields_b64"].contains("LATIN1"));
    EXPECT_FALSE(r[0]["fields"].contains("LATIN1"));
    expectSameAsJournalctl("filter=TEST:bin", "TEST=bin");
    // The text form indents continuation lines under the first.
    auto text = httpGet(port(), std::string(kRange) + "?filter=TEST:bin");
    EXPECT_NE(text.body.find("first line\n"), std::string::npos);
    EXPECT_NE(text.body.find(" second line\n"), std::string::npos);
}

TEST_F(LogsApi, SkipCursorLimitAndReverse) {
    writeSeq("nav", 20);
    EXPECT_EQ(seqs(range("filter=TEST:nav&limit=5")), iota(0, 5));
    {
        auto r = rangeJson("filter=TEST:nav&skip_prev=5");
        EXPECT_EQ(seqs(parseLines(r.body)), iota(15, 20));
        EXPECT_EQ(r.header("X-Journal-Skip-Prev"), "5");
    }
    {
        auto r = rangeJson("filter=TEST:nav&skip_prev=50");
        EXPECT_EQ(seqs(parseLines(r.body)), iota(0, 20));
        EXPECT_EQ(r.header("X-Journal-Skip-Prev"), "20"); // how many were actually skipped
    }
    {
        auto r = rangeJson("filter=TEST:nav&skip_next=3&limit=2");
        EXPECT_EQ(seqs(parseLines(r.body)), iota(3, 5));
        EXPECT_EQ(r.header("X-Journal-Skip-Next"), "3");
    }
    {
        auto r = rangeJson("filter=TEST:nav&skip_next=100");
        EXPECT_EQ(r.status, 200);
        EXPECT_TRUE(r.body.empty());
        EXPECT_EQ(r.header("X-Journal-Skip-Next"), "20"); // all of them
    }
    EXPECT_EQ(seqs(range("filter=TEST:nav&read_reverse=true&limit=3")), iota(19, 16, -1));
    auto all = range("filter=TEST:nav");
    ASSERT_EQ(all.size(), 20u);
    const std::string c7 = all[7]["cursor"];
    auto q = "filter=TEST:nav&cursor=" + c7;
    EXPECT_EQ(seqs(range(q)), iota(7, 20));                  // the cursor's entry included
    EXPECT_EQ(seqs(range(q + "&skip_next=1")), iota(8, 20)); // strictly after it
    EXPECT_EQ(seqs(range(q + "&skip_prev=2&limit=4")), iota(5, 9));
    EXPECT_EQ(seqs(range(q + "&read_reverse=true")), iota(7, -1, -1));
    EXPECT_EQ(seqs(range(q + "&read_reverse=true&skip_prev=2&limit=2")), iota(5, 3, -1));
    // Backwards from the first entry, stepping off it: nothing is before it (not the entry).
    const std::string first =
        "filter=TEST:nav&read_reverse=true&skip_prev=1&cursor=" + std::string(all[0]["cursor"]);
    EXPECT_TRUE(range(first).empty());
    EXPECT_EQ(seqs(range("filter=TEST:nav&read_reverse=true&skip_prev=1&cursor=" +
                         std::string(all[1]["cursor"]))),
              iota(0, -1, -1));
}

TEST_F(LogsApi, PagingTenThousandEntriesByCursorYieldsEachOnce) {
    writeSeq("page", 10000);
    std::vector<int> got;
    std::string cursor;
    for (int page = 0; page < 20; ++page) {
        std::string q = "filter=TEST:page&limit=1000";
        if (!cursor.empty())
            q += "&skip_next=1&cursor=" + cursor;
        auto entries = range(q);
        if (entries.empty())
            break;
        for (int s : seqs(entries))
            got.push_back(s);
        cursor = entries.back()["cursor"];
    }
    EXPECT_EQ(got, iota(0, 10000));
}

TEST_F(LogsApi, StreamReceivesNewEntries) {
    StreamingGet s(port(), std::string(kStream) + "?filter=TEST:live",
                   {{"Accept", "text/event-stream"}});
    ASSERT_EQ(s.status(), 200);
    std::map<std::string, std::string> h(s.headers().begin(), s.headers().end());
    EXPECT_EQ(h["Content-Type"], "text/event-stream");
    EXPECT_EQ(h["X-Accel-Buffering"], "no");
    EXPECT_EQ(h["Cache-Control"], "no-cache");
    SseParser p;
    readEvents(s, p, 1, std::chrono::milliseconds(300)); // the retry: line
    writeSeq("live", 50);
    auto events = readEvents(s, p, 50);
    EXPECT_EQ(eventSeqs(events), iota(0, 50));
    EXPECT_EQ(p.retry(), 3000);
    for (const auto& e : events)
        EXPECT_EQ(json::parse(e.data)["cursor"], e.id);
}

TEST_F(LogsApi, StreamStartsWithTheLastNWhenAskedAndPingsWhenQuiet) {
    writeSeq("tail", 10);
    StreamingGet s(port(), std::string(kStream) + "?filter=TEST:tail&skip_prev=3",
                   {{"Accept", "text/event-stream"}});
    SseParser p;
    EXPECT_EQ(eventSeqs(readEvents(s, p, 3)), iota(7, 10));
    // Nothing new for more than the configured 1 s: a ": ping" comment keeps proxies awake.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (p.comments() < 1 && !s.ended() && std::chrono::steady_clock::now() < limit)
        p.feed(s.readSome(std::chrono::milliseconds(200)));
    EXPECT_GE(p.comments(), 1);
    EXPECT_TRUE(p.take().empty()); // and nothing else
}

TEST_F(LogsApi, ResumeWithLastEventIdAfterMissingTenThousand) {
    std::string lastId;
    {
        StreamingGet s(port(), std::string(kStream) + "?filter=TEST:resume",
                       {{"Accept", "text/event-stream"}});
        SseParser p;
        readEvents(s, p, 1, std::chrono::milliseconds(300));
        writeSeq("resume", 10);
        auto events = readEvents(s, p, 10);
        ASSERT_EQ(eventSeqs(events), iota(0, 10));
        lastId = events.back().id;
    } // the client goes away
    writeSeq("resume", 10000, 10);
    StreamingGet s(port(), std::string(kStream) + "?filter=TEST:resume",
                   {{"Accept", "text/event-stream"}, {"Last-Event-ID", lastId}});
    ASSERT_EQ(s.status(), 200);
    EXPECT_EQ(headerOf(s, "X-Journal-Resume"), "exact"); // nothing missed
    SseParser p;
    auto events = readEvents(s, p, 10000, std::chrono::seconds(60));
    EXPECT_EQ(eventSeqs(events), iota(10, 10010));
    // And it keeps following.
    writeSeq("resume", 5, 10010);
    EXPECT_EQ(eventSeqs(readEvents(s, p, 5)), iota(10010, 10015));
}

TEST_F(LogsApi, RotationDuringAStreamLosesNothing) {
    StreamingGet s(port(), std::string(kStream) + "?filter=TEST:rot",
                   {{"Accept", "text/event-stream"}});
    SseParser p;
    readEvents(s, p, 1, std::chrono::milliseconds(300));
    std::thread writer([] {
        for (int i = 0; i < 3000; ++i)
            g_ns->write({{"MESSAGE", "rot " + std::to_string(i)},
                         {"TEST", "rot"},
                         {"SEQ", std::to_string(i)}});
    });
    std::vector<SseEvent> events;
    for (int r = 0; r < 3; ++r) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        g_ns->rotate();
        for (auto& e : readEvents(s, p, 1, std::chrono::milliseconds(50)))
            events.push_back(std::move(e));
    }
    writer.join();
    for (auto& e : readEvents(s, p, 3000 - events.size(), std::chrono::seconds(60)))
        events.push_back(std::move(e));
    EXPECT_EQ(eventSeqs(events), iota(0, 3000));
    auto files = runCommand("ls " + g_ns->directory() + " | grep -c '@' || true");
    EXPECT_GE(std::stoi(files), 3) << "journald did not rotate";
}

TEST_F(LogsApi, DownloadDecompressesToTheRangeOutput) {
    writeSeq("dl", 500);
    for (const std::string accept : {"text/plain", "application/json"}) {
        auto plain = httpGet(port(), std::string(kRange) + "?filter=TEST:dl", {{"Accept", accept}});
        auto gz =
            httpGet(port(), std::string(kRange) + "download?filter=TEST:dl", {{"Accept", accept}});
        ASSERT_EQ(gz.status, 200);
        EXPECT_EQ(gz.header("Content-Type"), "application/gzip");
        EXPECT_NE(gz.header("Content-Disposition").value_or("").find("attachment; filename="),
                  std::string::npos);
        EXPECT_EQ(gunzip(gz.body), plain.body);
        EXPECT_GT(plain.body.size(), 10000u);
    }
}

TEST_F(LogsApi, TaskPathsReturnExactlyThatTasksLines) {
    for (int i = 0; i < 40; ++i)
        g_ns->write({{"MESSAGE", "task line " + std::to_string(i)},
                     {"TEST", "task"},
                     {"SEQ", std::to_string(i)},
                     {"FRAMEWORK_ID", "fw-1"},
                     {"EXECUTOR_ID", "ex-1"},
                     {"CONTAINER_ID", i % 2 ? "c-odd" : "c-even"}});
    g_ns->waitForCount(40, "TEST=task");
    const std::string base = "/system/v1/logs/v1/range/framework/fw-1/executor/ex-1/container/";
    auto r = httpGet(port(), base + "c-odd", {{"Accept", "application/json"}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(seqs(parseLines(r.body)), iota(1, 40, 2));
    auto unknown = httpGet(port(), base + "c-none");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_NE(detailOf(unknown).find("c-none"), std::string::npos);
    auto dl = httpGet(port(), base + "c-even/download");
    ASSERT_EQ(dl.status, 200);
    EXPECT_EQ(gunzip(dl.body), httpGet(port(), base + "c-even").body);
    StreamingGet s(
        port(),
        "/system/v1/logs/v1/stream/framework/fw-1/executor/ex-1/container/c-odd?skip_prev=2",
        {{"Accept", "text/event-stream"}});
    SseParser p;
    EXPECT_EQ(eventSeqs(readEvents(s, p, 2)), (std::vector<int>{37, 39}));
}

TEST_F(LogsApi, FieldsListsDistinctValues) {
    writeSeq("fieldsA", 2);
    writeSeq("fieldsB", 2);
    auto r = httpGet(port(), "/system/v1/logs/v1/fields/TEST");
    ASSERT_EQ(r.status, 200);
    auto values = json::parse(r.body);
    std::set<std::string> set(values.begin(), values.end());
    EXPECT_EQ(set.size(), values.size());
    EXPECT_TRUE(set.count("fieldsA") && set.count("fieldsB"));
    EXPECT_EQ(httpGet(port(), "/system/v1/logs/v1/fields/bad-name").status, 400);
}

TEST_F(LogsApi, TextFormatUnitPriorityGrepSinceUntil) {
    auto now = [] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    g_ns->write({{"MESSAGE", "error: disk full"},
                 {"TEST", "sel"},
                 {"PRIORITY", "3"},
                 {"UNIT", "disk.service"},
                 {"SYSLOG_IDENTIFIER", "diskd"}});
    g_ns->write({{"MESSAGE", "all good"},
                 {"TEST", "sel"},
                 {"PRIORITY", "6"},
                 {"UNIT", "disk.service"},
                 {"SYSLOG_IDENTIFIER", "diskd"}});
    g_ns->waitForCount(2, "TEST=sel");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto middle = now();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    g_ns->write({{"MESSAGE", "warning: later"},
                 {"TEST", "sel"},
                 {"PRIORITY", "4"},
                 {"UNIT", "other.service"}});
    g_ns->waitForCount(3, "TEST=sel");
    auto msgs = [](const std::vector<json>& v) {
        std::vector<std::string> out;
        for (const auto& e : v)
            out.push_back(e["fields"]["MESSAGE"]);
        return out;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(msgs(range("filter=TEST:sel&priority=4")), (V{"error: disk full", "warning: later"}));
    EXPECT_EQ(msgs(range("filter=TEST:sel&unit=disk.service")),
              (V{"error: disk full", "all good"}));
    EXPECT_EQ(msgs(range("filter=TEST:sel&grep=%5E(error|warning)")),
              (V{"error: disk full", "warning: later"}));
    EXPECT_EQ(msgs(range("filter=TEST:sel&since=" + std::to_string(middle))),
              (V{"warning: later"}));
    EXPECT_EQ(msgs(range("filter=TEST:sel&until=" + std::to_string(middle))),
              (V{"error: disk full", "all good"}));
    EXPECT_EQ(msgs(range("filter=TEST:sel&grep=good&limit=1")), (V{"all good"}));
    auto text = httpGet(port(), std::string(kRange) + "?filter=TEST:sel&limit=1");
    EXPECT_EQ(text.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_TRUE(std::regex_match(
        text.body,
        std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z diskd\[\d+\]: error: disk full\n)")))
        << text.body;
}

TEST_F(LogsApi, BadInputGetsAClearErrorAndChangesNothing) {
    struct Case {
        std::string target;
        int status;
        std::string detail;
        std::vector<std::pair<std::string, std::string>> headers = {};
    } cases[] = {
        {std::string(kRange) + "?cursor=not-a-cursor", 400, "'cursor' is not a journald cursor"},
        {std::string(kRange) + "?cursor=s%3D1%3Bi%3D2", 400, "'cursor' is not a journald cursor"},
        {std::string(kRange) + "?limit=abc", 400, "'limit' must be a whole number"},
        {std::string(kRange) + "?limit=-5", 400, "'limit' must be a whole number"},
        {std::string(kStream) + "?limit=5", 400, "'limit' applies to range reads only"},
        {std::string(kRange) + "?filter=NOCOLON", 400, "must be FIELD:VALUE"},
        {std::string(kRange) + "?grep=(oops", 400, "invalid regular expression"},
        {std::string(kRange) + "?since=tomorrow", 400, "'since' must be an RFC 3339"},
        {std::string(kRange) + "?a=%zz", 400, "malformed percent-escape"},
        {"/system/v1/logs/v1/nowhere", 404, "no such logs endpoint"},
        {"/system/v1/unknown", 404, "no such endpoint"},
        {"/system/v1/logs/v1/range/../../health", 400, "is not allowed"},
        {std::string(kStream),
         400,
         "Last-Event-ID is not a journald cursor",
         {{"Last-Event-ID", "garbage"}}},
        {std::string(kRange), 406, "Accept must be", {{"Accept", "image/png"}}},
        {std::string(kRange) + "?filter=A:" + std::string(100 * 1024, 'x'), 431,
         "exceed 65536 bytes"},
    };
    for (const auto& c : cases) {
        auto r = httpGet(port(), c.target, c.headers);
        EXPECT_EQ(r.status, c.status) << c.target.substr(0, 100) << "\n" << r.body;
        EXPECT_NE(detailOf(r).find(c.detail), std::string::npos) << r.body;
        EXPECT_EQ(r.header("Content-Type"), "application/json");
    }
}

TEST_F(LogsApi, ARequestThatNeverFinishesItsHeadersTimesOut) {
    auto start = std::chrono::steady_clock::now();
    auto got = rawExchange("GET /system/v1/health HTTP/1.1\r\nHost: x\r\n");
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_NE(got.find("HTTP/1.1 408"), std::string::npos) << got;
    EXPECT_NE(got.find("not complete after 2 s"), std::string::npos) << got;
    EXPECT_GE(waited, std::chrono::milliseconds(1500));
}

// 2,000 connections from this address that send nothing: the agent keeps 64 of them waiting
// for a request (http.idle_per_address) and closes the oldest as new ones come, and closes the
// rest at their first request's deadline; none is answered, none is left open, and a request on
// a new connection is served meanwhile and after. (The refusal when every connection serves a
// request, and floods from other addresses, are in http_hardening_test.)
TEST_F(LogsApi, TwoThousandIdleConnectionsAtOnce) {
    std::vector<int> fds;
    for (int i = 0; i < 2000; ++i) {
        int fd = connectLoopback(port());
        ASSERT_GE(fd, 0) << "connection " << i;
        fds.push_back(fd);
    }
    // Queued behind all 2,000 at the agent's accept, so answered after they were dealt with.
    EXPECT_EQ(httpGet(port(), "/system/v1/health").status, 200);
    std::vector<bool> closed(fds.size(), false);
    size_t closedCount = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (closedCount < fds.size() && std::chrono::steady_clock::now() < deadline) {
        for (size_t i = 0; i < fds.size(); ++i) {
            if (closed[i])
                continue;
            char buf[2048];
            ssize_t n = ::recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0)
                ADD_FAILURE() << "an idle connection got an answer: " << std::string(buf, n);
            if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed[i] = true;
                ++closedCount;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(closedCount, fds.size());
    for (int fd : fds)
        ::close(fd);
    EXPECT_EQ(httpGet(port(), "/system/v1/health").status, 200);
}

namespace {
// Anonymous resident memory (heap, stacks): what a queue would grow. File-backed pages (the
// journal files sd-journal maps) are the kernel's page cache, shared and reclaimable.
long rssAnonKiB(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("RssAnon:", 0) == 0)
            return std::stol(line.substr(8));
    return -1;
}
} // namespace

TEST_F(LogsApi, ASlowStreamClientDoesNotGrowTheAgentsMemory) {
    // A follower that stops reading: the agent reads the journal only as fast as the socket
    // takes data, so ~40 MB of entries written meanwhile stay in the journal, not in the agent.
    StreamingGet s(port(), std::string(kStream) + "?filter=TEST:slow",
                   {{"Accept", "text/event-stream"}});
    ASSERT_EQ(s.status(), 200);
    const long before = rssAnonKiB(g_agent->pid());
    const std::string pad(1000, 'p');
    for (int i = 0; i < 40000; ++i)
        g_ns->write({{"MESSAGE", "slow " + std::to_string(i) + " " + pad},
                     {"TEST", "slow"},
                     {"SEQ", std::to_string(i)}});
    g_ns->waitForCount(40000, "TEST=slow");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const long during = rssAnonKiB(g_agent->pid());
#if defined(__SANITIZE_ADDRESS__)
    const long allowed = 1024 * 1024; // ASan's quarantine keeps freed memory resident
#else
    const long allowed = 16 * 1024;
#endif
    EXPECT_LT(during - before, allowed)
        << "anonymous RSS grew from " << before << " to " << during << " KiB";
    // Nothing was dropped: once the client reads again, every entry arrives in order.
    SseParser p;
    auto events = readEvents(s, p, 40000, std::chrono::seconds(60));
    EXPECT_EQ(eventSeqs(events), iota(0, 40000));
}

TEST_F(LogsApi, KeepAliveServesSeveralRequestsOnOneConnection) {
    // HEAD answers carry headers only, so the next response on the connection is not shifted.
    auto got = rawExchange("GET /system/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                           "HEAD /system/v1/logs/v1/range/?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                           "HEAD /system/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /system/v1/logs/v1/range/?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /system/v1/health HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n");
    EXPECT_EQ(splitResponses(got, {false, true, true, false, false}),
              std::vector<std::string>(5, "HTTP/1.1 200 OK"))
        << got;
}

TEST_F(LogsApi, StreamedAnswersNeedHttp11) {
    auto got = rawExchange("GET /system/v1/logs/v1/range/ HTTP/1.0\r\n\r\n");
    EXPECT_EQ(got.find("HTTP/1.0 505"), 0u) << got;
    EXPECT_NE(got.find("send the request as HTTP/1.1"), std::string::npos) << got;
}

TEST_F(LogsApi, ARangeEndsWhileTheJournalKeepsGrowing) {
    // An unlimited range on two threads while entries keep arriving ends, and what it sends is
    // a gap-free prefix of the journal in order.
    writeSeq("grow", 1500);
    // The writer adds at most ~500 entries/s (a busy node), slower than any build of the agent
    // reads, even on a loaded machine.
    struct Writer {
        std::atomic<bool> stop{false};
        std::thread thread;
        ~Writer() {
            stop = true;
            if (thread.joinable())
                thread.join();
        }
    } writer;
    writer.thread = std::thread([&writer] {
        for (int i = 1500; !writer.stop; ++i) {
            g_ns->write({{"MESSAGE", "grow " + std::to_string(i)},
                         {"TEST", "grow"},
                         {"SEQ", std::to_string(i)}});
            if (i % 5 == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
    for (int round = 0; round < 5; ++round) {
        auto r = httpGet(port(), std::string(kRange) + "?filter=TEST:grow",
                         {{"Accept", "application/json"}}, std::chrono::seconds(60));
        ASSERT_TRUE(r.complete) << "round " << round;
        auto got = seqs(parseLines(r.body));
        ASSERT_GE(got.size(), 1500u);
        EXPECT_EQ(got, iota(0, static_cast<int>(got.size())));
    }
}

// How many of the agent's descriptors are journal files.
size_t journalFdsOf(pid_t pid) {
    size_t n = 0;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(e.path(), ec).string();
        n += !ec && target.find(".journal") != std::string::npos;
    }
    return n;
}

TEST_F(LogsApi, AnIdleFollowerLetsGoOfTheJournalAndResumesExactly) {
    // This agent releases a follower's journal after 3 s without entries: long enough that the
    // test sees the journal held after the entries came, whatever the machine's speed.
    AgentProcess agent({"--journal-namespace", g_ns->name(), "--log-level", "debug"},
                       "[logs]\nfollow_release_seconds = 3\nsse_ping_seconds = 1\n");
    const size_t watcherFds = journalFdsOf(agent.pid());
    StreamingGet started(agent.port(), std::string(kStream) + "?filter=TEST:release",
                         {{"Accept", "text/event-stream"}});
    StreamingGet empty(agent.port(), std::string(kStream) + "?filter=TEST:release2",
                       {{"Accept", "text/event-stream"}});
    SseParser p1, p2;
    readEvents(empty, p2, 1, std::chrono::milliseconds(200));
    // Written without waiting for journald (writeSeq would): the journal is looked at as soon
    // as the entries came, well within the release period.
    for (int i = 0; i < 5; ++i)
        g_ns->write({{"MESSAGE", "message " + std::to_string(i) + " of release"},
                     {"TEST", "release"},
                     {"SEQ", std::to_string(i)}});
    EXPECT_EQ(eventSeqs(readEvents(started, p1, 5)), iota(0, 5));
    EXPECT_GT(journalFdsOf(agent.pid()), watcherFds);
    // Both go quiet and release their journals (pinged meanwhile)...
    auto waitReleased = [&] {
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (journalFdsOf(agent.pid()) != watcherFds && std::chrono::steady_clock::now() < limit)
            p1.feed(started.readSome(std::chrono::milliseconds(100)));
        EXPECT_EQ(journalFdsOf(agent.pid()), watcherFds) << "not released after 30 s";
    };
    waitReleased();
    for (std::string got; !(got = started.readSome(std::chrono::milliseconds(100))).empty();)
        p1.feed(got); // what was sent before the release
    EXPECT_GE(p1.comments(), 2);
    // ... and pings do not reopen them: one sent after the release was seen.
    const int pings = p1.comments();
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (p1.comments() == pings && std::chrono::steady_clock::now() < limit)
        p1.feed(started.readSome(std::chrono::milliseconds(100)));
    EXPECT_GT(p1.comments(), pings);
    EXPECT_EQ(journalFdsOf(agent.pid()), watcherFds);
    EXPECT_TRUE(p1.take().empty());
    // Then new entries arrive: nothing lost, nothing repeated.
    writeSeq("release", 5, 5);
    writeSeq("release2", 3);
    EXPECT_EQ(eventSeqs(readEvents(started, p1, 5)), iota(5, 10));
    EXPECT_EQ(eventSeqs(readEvents(empty, p2, 3)), iota(0, 3));
    // And after a rotation while released.
    waitReleased();
    g_ns->rotate();
    writeSeq("release", 3, 10);
    EXPECT_EQ(eventSeqs(readEvents(started, p1, 3)), iota(10, 13));
    EXPECT_NE(agent.log().find("follower released its journal"), std::string::npos);
}

TEST_F(LogsApi, LargeRangesReadOnTwoThreadsMatchTheSerialReader) {
    // More than a few chunks of 1,024 entries, so both workers of the parallel reader take turns.
    writeSeq("par", 9000);
    AgentProcess serial({"--journal-namespace", g_ns->name()}, "[logs]\nparallel_range = false\n");
    auto both = [&](const std::string& q, const std::string& accept) {
        auto a = httpGet(port(), std::string(kRange) + q, {{"Accept", accept}});
        auto b = httpGet(serial.port(), std::string(kRange) + q, {{"Accept", accept}});
        EXPECT_EQ(a.status, 200);
        EXPECT_TRUE(a.complete && b.complete);
        EXPECT_EQ(a.body, b.body) << q << " " << accept;
        return a.body;
    };
    EXPECT_EQ(seqs(parseLines(both("?filter=TEST:par", "application/json"))), iota(0, 9000));
    EXPECT_EQ(seqs(parseLines(both("?filter=TEST:par&limit=5000", "application/json"))),
              iota(0, 5000));
    EXPECT_EQ(seqs(parseLines(both("?filter=TEST:par&read_reverse=true", "application/json"))),
              iota(8999, -1, -1));
    auto odd = seqs(parseLines(both("?filter=TEST:par&grep=%5B13579%5D%20of", "application/json")));
    EXPECT_EQ(odd, iota(1, 9000, 2));
    auto skipped = both("?filter=TEST:par&skip_next=2500", "text/plain");
    EXPECT_EQ(std::count(skipped.begin(), skipped.end(), '\n'), 6500);
    both("?filter=TEST:par", "text/event-stream");
    auto gz = httpGet(port(), std::string(kRange) + "download?filter=TEST:par");
    EXPECT_EQ(gunzip(gz.body), both("?filter=TEST:par", "text/plain"));
    expectSameAsJournalctl("filter=TEST:par", "TEST=par");
}

// Last of the suite: it vacuums the journal's older files.
TEST_F(LogsApi, AResumeSaysWhetherEntriesMayBeMissing) {
    writeSeq("gone", 3);
    auto first = range("filter=TEST:gone");
    ASSERT_EQ(first.size(), 3u);
    const std::string lostCursor = first[0]["cursor"], keptCursor = first[2]["cursor"];
    auto resume = [&](const std::string& cursor) {
        return std::make_unique<StreamingGet>(
            port(), std::string(kStream) + "?filter=TEST:gone",
            std::vector<std::pair<std::string, std::string>>{{"Accept", "text/event-stream"},
                                                             {"Last-Event-ID", cursor}});
    };
    {
        StreamingGet fresh(port(), std::string(kStream) + "?filter=TEST:gone",
                           {{"Accept", "text/event-stream"}});
        EXPECT_EQ(headerOf(fresh, "X-Journal-Resume"), "(none)"); // not a resume
        EXPECT_EQ(headerOf(*resume(keptCursor), "X-Journal-Resume"), "exact");
    }
    // The file holding the three is archived, then vacuumed: they are gone for good.
    g_ns->rotate();
    writeSeq("gone", 2, 3);
    g_ns->rotate();
    // Two files left: the active one and the newest archive (the one with 3 and 4).
    runCommand("journalctl --namespace=" + g_ns->name() + " --vacuum-files=2 2>&1");
    ASSERT_EQ(seqs(range("filter=TEST:gone")), iota(3, 5)) << "journald did not vacuum";
    auto s = resume(lostCursor);
    ASSERT_EQ(s->status(), 200);
    // Entries 1 and 2 were lost, and whatever else the journal held between 0 and 3.
    const std::string said = headerOf(*s, "X-Journal-Resume");
    ASSERT_EQ(said.rfind("gap; up-to=", 0), 0u) << said;
    EXPECT_GE(std::stoul(said.substr(11)), 2u) << said;
    SseParser p;
    EXPECT_EQ(eventSeqs(readEvents(*s, p, 2)), iota(3, 5));
}

TEST(LogReaderCursors, EntriesBetweenTwoCursorsComeFromTheirSequenceNumbers) {
    using day2::logs::LogReader;
    const std::string s = "s=0123456789abcdef0123456789abcdef;b=ab;m=1;t=2;x=3";
    auto at = [&](const std::string& i) { return s + ";i=" + i; };
    EXPECT_EQ(LogReader::entriesBetween(at("a"), at("1f")), 20u);
    EXPECT_EQ(LogReader::entriesBetween(at("a"), at("b")), 0u);
    EXPECT_EQ(LogReader::entriesBetween(at("b"), at("a")), std::nullopt); // out of order
    EXPECT_EQ(LogReader::entriesBetween(at("a"), at("a")), std::nullopt);
    EXPECT_EQ(LogReader::entriesBetween(s, at("a")), std::nullopt);        // no i=
    EXPECT_EQ(LogReader::entriesBetween(at("zz"), at("a")), std::nullopt); // not hex
    EXPECT_EQ(LogReader::entriesBetween(at("1"),
                                        "s=ffffffffffffffffffffffffffffffff;b=ab;m=1;t=2;x=3;i=5"),
              std::nullopt); // another sequence
}
