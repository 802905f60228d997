#include "base/text.h"

#include <gtest/gtest.h>

using namespace day2::text;

TEST(Utf8, AcceptsWellFormedAndRefusesBroken) {
    EXPECT_TRUE(isValidUtf8(""));
    EXPECT_TRUE(isValidUtf8("plain ascii that is longer than eight bytes"));
    EXPECT_TRUE(isValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_TRUE(isValidUtf8(std::string("nul\0inside", 10)));
    EXPECT_FALSE(isValidUtf8("\xff"));
    EXPECT_FALSE(isValidUtf8("abc\xc3"));          // truncated
    EXPECT_FALSE(isValidUtf8("\xc0\xaf"));         // overlong '/'
    EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));     // surrogate
    EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80")); // above U+10FFFF
    EXPECT_FALSE(isValidUtf8("12345678\x80"));     // after the ASCII fast path
}

TEST(Json, EscapesControlsQuotesAndBackslashes) {
    std::string out;
    appendJsonEscaped(out, std::string("a\"b\\c\nd\te\x01\0f", 12));
    EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\te\\u0001\\u0000f");
}

TEST(Base64, RoundTripsEveryLength) {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        std::string enc;
        appendBase64(enc, bytes);
        auto dec = decodeBase64(enc);
        ASSERT_TRUE(dec.has_value()) << i;
        EXPECT_EQ(*dec, bytes);
        bytes += static_cast<char>(i * 37);
    }
    std::string enc;
    appendBase64(enc, "Man");
    EXPECT_EQ(enc, "TWFu");
    EXPECT_FALSE(decodeBase64("TWF").has_value());
    EXPECT_FALSE(decodeBase64("T=Fu").has_value());
}

TEST(Time, FormatsAndParsesRfc3339) {
    std::string out;
    appendRfc3339Micros(out, 1795546275640870ULL);
    EXPECT_EQ(out, "2026-11-24T18:51:15.640870Z");
    EXPECT_EQ(rfc3339Seconds(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(parseTimestampMicros("2026-11-24T18:51:15.640870Z"), 1795546275640870ULL);
    EXPECT_EQ(parseTimestampMicros("2026-11-24T19:51:15.64087+01:00"), 1795546275640870ULL);
    EXPECT_EQ(parseTimestampMicros("1795546275640870"), 1795546275640870ULL);
    EXPECT_EQ(parseTimestampMicros("2024-02-29T00:00:00Z"), 1709164800000000ULL);
    EXPECT_FALSE(parseTimestampMicros("2026-02-30T00:00:00Z"));
    EXPECT_FALSE(parseTimestampMicros("2026-11-24 18:51"));
    EXPECT_FALSE(parseTimestampMicros("yesterday"));
    EXPECT_FALSE(parseTimestampMicros("-5"));
    EXPECT_FALSE(parseTimestampMicros("2026-11-24T18:51:15Zjunk"));
}

TEST(Numbers, ParseUnsignedIsStrict) {
    EXPECT_EQ(parseUnsigned("0"), 0u);
    EXPECT_EQ(parseUnsigned("18446744073709551615"), UINT64_MAX);
    EXPECT_FALSE(parseUnsigned("18446744073709551616"));
    EXPECT_FALSE(parseUnsigned("-1"));
    EXPECT_FALSE(parseUnsigned("+1"));
    EXPECT_FALSE(parseUnsigned(" 1"));
    EXPECT_FALSE(parseUnsigned("1x"));
    EXPECT_FALSE(parseUnsigned(""));
}

TEST(Text, TrimTakesSpacesAndTabsAroundOnly) {
    EXPECT_EQ(day2::text::trim(" \t application/json \t"), "application/json");
    EXPECT_EQ(day2::text::trim("a b"), "a b");
    EXPECT_EQ(day2::text::trim(" \t "), "");
    EXPECT_EQ(day2::text::trim(""), "");
    EXPECT_EQ(day2::text::trim("\nx\n"), "\nx\n"); // only HTTP's optional white space
}
