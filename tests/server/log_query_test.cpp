#include "logs/grep.h"
#include "logs/log_query.h"

#include <gtest/gtest.h>

using namespace day2::logs;
using day2::http::QueryParams;

namespace {
const std::string kCursor =
    "s=28784517ccff474092a494d77a30e172;i=3;b=4cfbec614f624176bec5252a06add4ea;m=10d8032c;"
    "t=6610a3201cf62;x=fd753d8078de4fd9";
}

TEST(LogQuery, ParsesEveryParameter) {
    QueryParams p{{"filter", "A:1"},
                  {"filter", "A:2"},
                  {"filter", "B:x:y=z"},
                  {"limit", "10"},
                  {"skip_prev", "3"},
                  {"skip_next", "4"},
                  {"cursor", kCursor},
                  {"read_reverse", "true"},
                  {"unit", "nginx.service"},
                  {"priority", "4"},
                  {"since", "2026-01-01T00:00:00Z"},
                  {"until", "1800000000000000"},
                  {"grep", "err(or)?"}};
    auto q = parseLogQuery(p, LogMode::Range);
    ASSERT_TRUE(q) << q.error().message;
    ASSERT_EQ(q->filters.size(), 3u);
    EXPECT_EQ(q->filters[2].field, "B");
    EXPECT_EQ(q->filters[2].value, "x:y=z"); // everything after the first ':'
    EXPECT_EQ(q->limit, 10u);
    EXPECT_EQ(q->skipPrev, 3u);
    EXPECT_EQ(q->skipNext, 4u);
    EXPECT_EQ(q->cursor, kCursor);
    EXPECT_TRUE(q->readReverse);
    EXPECT_EQ(q->unit, "nginx.service");
    EXPECT_EQ(q->priority, 4);
    EXPECT_EQ(q->since, 1767225600000000ULL);
    EXPECT_EQ(q->until, 1800000000000000ULL);
    ASSERT_TRUE(q->grep);
    EXPECT_TRUE(q->grep->matches("an error here"));
    EXPECT_FALSE(q->grep->matches("all fine"));
}

TEST(LogQuery, RefusesBadInputWithTheParameterNamed) {
    struct Case {
        QueryParams params;
        LogMode mode;
        std::string expect;
    } cases[] = {
        {{{"limit", "abc"}}, LogMode::Range, "'limit' must be a whole number"},
        {{{"limit", "-1"}}, LogMode::Range, "'limit' must be a whole number"},
        {{{"limit", "0"}}, LogMode::Range, "'limit' must be at least 1"},
        {{{"limit", "5"}}, LogMode::Stream, "'limit' applies to range reads only"},
        {{{"read_reverse", "true"}}, LogMode::Stream, "'read_reverse' applies to range"},
        {{{"read_reverse", "maybe"}}, LogMode::Range, "'read_reverse' must be true or false"},
        {{{"filter", "NOCOLON"}}, LogMode::Range, "must be FIELD:VALUE"},
        {{{"filter", "lower:x"}}, LogMode::Range, "is not a journald field name"},
        {{{"filter", "1ABC:x"}}, LogMode::Range, "is not a journald field name"},
        {{{"filter", ":x"}}, LogMode::Range, "is not a journald field name"},
        {{{"cursor", "garbage"}}, LogMode::Range, "'cursor' is not a journald cursor"},
        {{{"cursor", "s=zz;i=1"}}, LogMode::Range, "'cursor' is not a journald cursor"},
        {{{"grep", "(unclosed"}}, LogMode::Range, "'grep': invalid regular expression"},
        {{{"priority", "8"}}, LogMode::Range, "'priority' must be 0 (emerg) to 7"},
        {{{"since", "yesterday"}}, LogMode::Range, "'since' must be an RFC 3339 time"},
        {{{"since", "2026-01-02T00:00:00Z"}, {"until", "2026-01-01T00:00:00Z"}},
         LogMode::Range,
         "'since' is after 'until'"},
        {{{"limit", "1"}, {"limit", "2"}}, LogMode::Range, "'limit' is given more than once"},
        {{{"colour", "red"}}, LogMode::Range, "unknown parameter 'colour'"},
        {{{"skip_prev", "99999999999999999999"}}, LogMode::Range, "'skip_prev' must be a whole"},
    };
    for (const auto& c : cases) {
        auto q = parseLogQuery(c.params, c.mode);
        ASSERT_FALSE(q) << c.expect;
        EXPECT_NE(q.error().message.find(c.expect), std::string::npos) << q.error().message;
    }
}

TEST(LogQuery, CursorShape) {
    EXPECT_TRUE(isWellFormedCursor(kCursor));
    EXPECT_TRUE(isWellFormedCursor("t=6610a3201cf62"));
    EXPECT_FALSE(isWellFormedCursor(""));
    EXPECT_FALSE(isWellFormedCursor("s=abc"));           // seqnum id without seqnum
    EXPECT_FALSE(isWellFormedCursor("s=abc;s=abc;i=1")); // repeated key
    EXPECT_FALSE(isWellFormedCursor("q=1"));
    EXPECT_FALSE(isWellFormedCursor(std::string(600, 'a')));
}

TEST(Grep, MatchLimitStopsCatastrophicPatterns) {
    auto g = Grep::compile("(a+)+$");
    ASSERT_TRUE(g);
    // Exponential backtracking: the limit turns it into "no match" instead of a hang.
    EXPECT_FALSE((*g)->matches(std::string(40, 'a') + "b"));
    EXPECT_TRUE((*g)->matches("aaa"));
    auto bad = Grep::compile("[z-a]");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("offset"), std::string::npos);
}
