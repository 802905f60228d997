#include "logs/journal_writer.h"

#include <gtest/gtest.h>

using day2::logs::JournalWriter;

TEST(JournalWriter, EncodesSimpleAndBinarySafeForms) {
    std::string value("two\nlines\0nul", 13);
    auto out = JournalWriter::encode({{"MESSAGE", "hello=world:x"}, {"DATA", value}});
    std::string expect = "MESSAGE=hello=world:x\nDATA\n";
    expect += std::string("\x0d\0\0\0\0\0\0\0", 8);
    expect += value;
    expect += "\n";
    EXPECT_EQ(out, expect);
}

TEST(JournalWriter, ConnectFailsClearly) {
    auto w = JournalWriter::connect("/nonexistent/socket");
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message.find("/nonexistent/socket"), std::string::npos);
}
