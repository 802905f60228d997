// parseStatsdLine: a table of lines that must parse (with what they mean) and lines that must
// not (with why), in the manner of brubeck's tests/statsd_msg.c; the datagram and tag helpers.
#include "statsd/statsd_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace day2::statsd;

namespace {

struct Good {
    const char* line;
    const char* name;
    StatsdType type;
    double value;
    double rate = 1;
    const char* tags = "";
    bool delta = false;
    const char* more = "";
    const char* member = "";
};

} // namespace

TEST(StatsdParser, LinesThatMustParse) {
    const Good good[] = {
        {"gorets:1|c", "gorets", StatsdType::Counter, 1},
        {"gorets:-3|c", "gorets", StatsdType::Counter, -3},
        {"github.auth.fingerprint.sha1:1|c", "github.auth.fingerprint.sha1", StatsdType::Counter, 1},
        {"glork:320|ms", "glork", StatsdType::Timer, 320},
        {"glork:320.5|ms|@0.1", "glork", StatsdType::Timer, 320.5, 0.1},
        {"gaugor:333|g", "gaugor", StatsdType::Gauge, 333},
        {"gaugor:0.232030|g", "gaugor", StatsdType::Gauge, 0.23203},
        {"gaugor:-10|g", "gaugor", StatsdType::Gauge, -10, 1, "", true},
        {"gaugor:+4|g", "gaugor", StatsdType::Gauge, 4, 1, "", true},
        {"this.is.sparta:0012|h", "this.is.sparta", StatsdType::Histogram, 12},
        {"req.size:1e3|d", "req.size", StatsdType::Distribution, 1000},
        {"uniques:765|s", "uniques", StatsdType::Set, 0, 1, "", false, "", "765"},
        {"users:alice@example.com|s", "users", StatsdType::Set, 0, 1, "", false, "",
         "alice@example.com"},
        {"page.views:1|c|@0.5|#route:/home,canary", "page.views", StatsdType::Counter, 1, 0.5,
         "route:/home,canary"},
        {"page.views:1|c|#url:http://x:80/y", "page.views", StatsdType::Counter, 1, 1,
         "url:http://x:80/y"},
        {"lat:1:2:3.5|ms", "lat", StatsdType::Timer, 1, 1, "", false, "2:3.5"},
        {"lat:4|ms|#a:b|@1", "lat", StatsdType::Timer, 4, 1, "a:b"},
        // DogStatsD's container id and timestamp sections, and sections not known yet: skipped.
        {"hits:2|c|#env:prod|c:83c1a0|T1700000000", "hits", StatsdType::Counter, 2, 1,
         "env:prod"},
        {"hits:2|c|x:future", "hits", StatsdType::Counter, 2},
        {"with space:1|c", "with space", StatsdType::Counter, 1},
        {"ünïcode.name:7|c", "ünïcode.name", StatsdType::Counter, 7},
        {"crlf:1|c\r", "crlf", StatsdType::Counter, 1},
        {"9lives:9|g", "9lives", StatsdType::Gauge, 9},
        {"big:123456789012345|c", "big", StatsdType::Counter, 123456789012345.0},
        {"bigger:12345678901234567890|c", "bigger", StatsdType::Counter, 12345678901234567890.0},
    };
    for (const auto& g : good) {
        SCOPED_TRACE(g.line);
        const auto r = parseStatsdLine(g.line);
        ASSERT_TRUE(r.ok()) << r.error;
        EXPECT_EQ(r.line.name, g.name);
        EXPECT_EQ(r.line.type, g.type);
        EXPECT_DOUBLE_EQ(r.line.value, g.value);
        EXPECT_DOUBLE_EQ(r.line.sampleRate, g.rate);
        EXPECT_EQ(r.line.tags, g.tags);
        EXPECT_EQ(r.line.delta, g.delta);
        EXPECT_EQ(r.line.more, g.more);
        EXPECT_EQ(r.line.member, g.member);
    }
}

TEST(StatsdParser, LinesThatMustNotParse) {
    const std::pair<std::string, const char*> bad[] = {
        {"", "not name:value|type"},
        {"gorets", "not name:value|type"},
        {"gorets:1", "not name:value|type"},
        {"gorets|c", "not name:value|type"},
        {"gorets|c:1", "not name:value|type"},
        {":1|c", "an empty name"},
        {std::string(251, 'n') + ":1|c", "a name longer than 250 bytes"},
        {"gorets:|c", "an empty value"},
        {"gorets:1|", "an unknown type"},
        {"gorets:1|x", "an unknown type"},
        {"gorets:1|C", "an unknown type"},
        {"gorets:1|msx", "an unknown type"},
        {"gorets:abc|c", "not a finite number"},
        {"gorets:1.2.3|c", "not a finite number"},
        {"gorets: 1|c", "not a finite number"},
        {"gorets:+1|c", "not a finite number"},
        {"gorets:nan|ms", "not a finite number"},
        {"gorets:inf|g", "not a finite number"},
        {"gorets:1e999|c", "not a finite number"},
        {"gorets:0x10|c", "not a finite number"},
        {"lat:1:|ms", "not a finite number"},
        {"lat:1::2|ms", "not a finite number"},
        {"lat:1:x|ms", "not a finite number"},
        {"gaugor:1:2|g", "several values for a gauge"},
        {"gaugor:+|g", "not a finite number"},
        {"gorets:1|c|@", "a sample rate"},
        {"gorets:1|c|@0", "a sample rate"},
        {"gorets:1|c|@-0.5", "a sample rate"},
        {"gorets:1|c|@1.5", "a sample rate"},
        {"gorets:1|c|@args", "a sample rate"},
        {"gorets:1|c|@0.5|@0.5", "a sample rate"},
        {"gorets:1|c|#", "without tags"},
        {"gorets:1|c|#a,,b", "a tag without a name"},
        {"gorets:1|c|#:v", "a tag without a name"},
        {"gorets:1|c|#a|#b", "two tag sections"},
        {"gorets:1|c||#a", "an empty section"},
        {"gorets:1|c|", "an empty section"},
        {"gore\tts:1|c", "a control character"},
        {std::string("gore\0ts:1|c", 11), "a control character"},
        {"gorets:1|c\n", "a control character"},
    };
    for (const auto& [line, why] : bad) {
        SCOPED_TRACE(line);
        const auto r = parseStatsdLine(line);
        ASSERT_FALSE(r.ok());
        EXPECT_NE(std::string(r.error).find(why), std::string::npos) << r.error;
    }
}

TEST(StatsdParser, AControlCharacterIsRefusedWhereverItIs) {
    // Names of 1 to 24 bytes with each byte value at each place: the line is checked eight bytes
    // at a time and then byte by byte, and both must see it.
    for (size_t length = 1; length <= 24; ++length) {
        for (size_t at = 0; at < length; ++at) {
            for (int b = 0; b < 256; ++b) {
                const char c = static_cast<char>(b);
                if (c == ':' || c == '|')
                    continue;
                std::string line(length, 'n');
                line[at] = c;
                line += ":1|c";
                const auto r = parseStatsdLine(line);
                const bool control = b < 0x20 || b == 0x7f;
                ASSERT_EQ(r.ok(), !control) << "byte " << b << " at " << at << " of " << length;
                if (control) {
                    EXPECT_STREQ(r.error, "a control character in the line");
                }
            }
        }
    }
}

TEST(StatsdParser, SeveralValuesAreReadOneByOne) {
    const auto r = parseStatsdLine("lat:1:2:3.5|ms");
    ASSERT_TRUE(r.ok());
    std::vector<double> values{r.line.value};
    std::string_view more = r.line.more;
    for (double v; nextStatsdValue(more, v);)
        values.push_back(v);
    EXPECT_EQ(values, (std::vector<double>{1, 2, 3.5}));
}

TEST(StatsdParser, ADatagramIsSplitIntoLines) {
    std::vector<std::string> lines;
    const size_t n = forEachStatsdLine("gorets:1|c\nglork:320|ms\r\n\n\ngaugor:333|g\n",
                                       [&](std::string_view l) { lines.emplace_back(l); });
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(lines, (std::vector<std::string>{"gorets:1|c", "glork:320|ms", "gaugor:333|g"}));
    EXPECT_EQ(forEachStatsdLine("", [](std::string_view) {}), 0u);
    EXPECT_EQ(forEachStatsdLine("\n\n", [](std::string_view) {}), 0u);
}

TEST(StatsdParser, TagsAreKeysAndValuesOrFlags) {
    std::vector<std::pair<std::string, std::string>> tags;
    forEachStatsdTag("env:prod,canary,url:http://x:80/,empty:", [&](auto k, auto v) {
        tags.emplace_back(k, v);
    });
    EXPECT_EQ(tags, (std::vector<std::pair<std::string, std::string>>{
                        {"env", "prod"}, {"canary", ""}, {"url", "http://x:80/"}, {"empty", ""}}));
}
