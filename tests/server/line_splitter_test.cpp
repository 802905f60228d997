#include "tasks/line_splitter.h"

#include <gtest/gtest.h>

#include <vector>

using day2::tasks::LinePiece;
using day2::tasks::LineSplitter;

namespace {
struct Got {
    std::string text;
    unsigned part;
    bool continued;
    bool eof;
    bool operator==(const Got&) const = default;
};

std::vector<Got> split(const std::vector<std::string>& chunks, size_t maxLine, bool finish = true) {
    LineSplitter s(maxLine);
    std::vector<Got> out;
    auto emit = [&](const LinePiece& p) {
        out.push_back({std::string(p.text), p.part, p.continued, p.eof});
    };
    for (const auto& c : chunks)
        s.feed(c, emit);
    if (finish)
        s.finish(emit);
    return out;
}
} // namespace

TEST(LineSplitter, LinesAcrossAnyChunking) {
    const std::string text = "one\ntwo\n\nthree\n";
    const std::vector<Got> want{{"one", 0, false, false},
                                {"two", 0, false, false},
                                {"", 0, false, false},
                                {"three", 0, false, false}};
    EXPECT_EQ(split({text}, 100), want);
    // Every split point of the input gives the same lines.
    for (size_t i = 0; i <= text.size(); ++i)
        EXPECT_EQ(split({text.substr(0, i), text.substr(i)}, 100), want) << i;
    std::vector<std::string> bytes;
    for (char c : text)
        bytes.emplace_back(1, c);
    EXPECT_EQ(split(bytes, 100), want);
}

TEST(LineSplitter, FinalLineWithoutNewlineIsMarkedEof) {
    EXPECT_EQ(split({"a\nb"}, 100),
              (std::vector<Got>{{"a", 0, false, false}, {"b", 0, false, true}}));
    EXPECT_EQ(split({"a\n"}, 100), (std::vector<Got>{{"a", 0, false, false}}));
    EXPECT_TRUE(split({""}, 100).empty());
    EXPECT_TRUE(split({"partial"}, 100, false).empty()); // nothing until the line ends
}

TEST(LineSplitter, LongLinesBecomeNumberedParts) {
    EXPECT_EQ(split({"abcdefghij\n"}, 4), (std::vector<Got>{{"abcd", 1, true, false},
                                                            {"efgh", 2, true, false},
                                                            {"ij", 3, false, false}}));
    // Exactly the limit: one whole line. Twice the limit: two parts, the last one closing it.
    EXPECT_EQ(split({"abcd\n"}, 4), (std::vector<Got>{{"abcd", 0, false, false}}));
    EXPECT_EQ(split({"abcdefgh\n"}, 4),
              (std::vector<Got>{{"abcd", 1, true, false}, {"efgh", 2, false, false}}));
    // Parts across chunks, then an unterminated tail.
    EXPECT_EQ(split({"ab", "cdef", "g\nxy"}, 4), (std::vector<Got>{{"abcd", 1, true, false},
                                                                 {"efg", 2, false, false},
                                                                 {"xy", 0, false, true}}));
    EXPECT_EQ(split({"abcdefgh"}, 4),
              (std::vector<Got>{{"abcd", 1, true, false}, {"efgh", 2, true, false},
                                {"", 3, false, true}}));
}

TEST(LineSplitter, BytesPassThroughUntouched) {
    const std::string raw("nul\0byte \xff\xfe\r", 12);
    auto got = split({raw + "\n"}, 100);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].text, raw);
}
