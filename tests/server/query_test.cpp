#include "http/query.h"

#include <gtest/gtest.h>

using namespace day2::http;

TEST(Query, DecodesPairs) {
    auto q = parseQueryString("a=1&b=%20x+y&c&&filter=F%3Aa%3Ab%3Dc");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 4u);
    EXPECT_EQ((*q)[1], (std::pair<std::string, std::string>{"b", " x y"}));
    EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"c", ""}));
    EXPECT_EQ((*q)[3].second, "F:a:b=c");
}

TEST(Query, RefusesBrokenEscapes) {
    EXPECT_FALSE(parseQueryString("a=%"));
    EXPECT_FALSE(parseQueryString("a=%4"));
    EXPECT_FALSE(parseQueryString("a=%zz"));
    EXPECT_FALSE(parseQueryString("=1"));
    EXPECT_TRUE(parseQueryString(""));
}

TEST(Path, SplitsAndDecodesSegments) {
    auto p = splitPath("/system/v1//logs/v1/range/framework/f%20x/");
    ASSERT_TRUE(p);
    EXPECT_EQ(
        *p, (std::vector<std::string>{"system", "v1", "logs", "v1", "range", "framework", "f x"}));
    EXPECT_FALSE(splitPath("/a/%2e%2e/b"));
    EXPECT_FALSE(splitPath("/a/../b"));
    EXPECT_FALSE(splitPath("/a/x%2Fy"));
    EXPECT_FALSE(splitPath("relative"));
}
