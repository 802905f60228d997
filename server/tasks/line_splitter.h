// Splits a task's output stream into journal lines: at '\n', and into marked parts when a line
// grows past kMaxLine without one. Pure: no I/O. The bytes of a line are passed through as they
// are (NUL and invalid UTF-8 included).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace day2::tasks {

struct LinePiece {
    std::string_view text;  // without the '\n'
    unsigned part = 0;      // 0: a whole line; 1, 2, ...: the parts of a line split at kMaxLine
    bool continued = false; // more parts of this line follow
    bool eof = false;       // the stream ended without a final '\n'
};

class LineSplitter {
public:
    static constexpr size_t kMaxLine = 48 * 1024;
    using Emit = std::function<void(const LinePiece&)>;

    explicit LineSplitter(size_t maxLine = kMaxLine) : m_maxLine(maxLine) {}

    void feed(std::string_view data, const Emit& emit);
    // The stream ended: what is left becomes a last line marked eof.
    void finish(const Emit& emit);

private:
    size_t m_maxLine;
    std::string m_pending;
    unsigned m_part = 0; // parts already emitted of the current line
};

} // namespace day2::tasks
