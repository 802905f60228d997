// Reading the small text files of /proc and /sys/fs/cgroup without iostreams: each file into one
// reusable buffer, then parsed in place with string_views and std::from_chars.
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::metrics {

class TextFileReader {
public:
    // The largest file read; a longer one is treated as unreadable.
    static constexpr size_t kMaxBytes = 16u << 20;

    // The whole text of `path`, valid until the next call; nullopt when it cannot be opened or
    // read. Reads until end of file: once the buffer has grown to fit the file (it is kept from
    // one call to the next), a regular file or a small /proc file is one read() with the text
    // and one that returns 0; a /proc file made of records (net/dev) gives at most a page per
    // read(). With `stopAfter`, reading stops at the first read() whose text contains it (the
    // cpu lines of /proc/stat, without the interrupt counts after them).
    std::optional<std::string_view> read(const std::string& path, std::string_view stopAfter = {});
    // As read(), but the file stays open and is read again from its start next time (pread at
    // offset 0: the kernel makes a cgroup or /proc file's text anew), which saves the path walk,
    // open() and close() of every collection. At most kMaxOpen files stay open, and no more than
    // a quarter of the process's descriptor limit (RLIMIT_NOFILE); beyond that the
    // file is read as read() does. A file that fails on its kept descriptor (its cgroup was
    // removed) is opened once more. For cgroup and /proc files made by seq_file, which fill a
    // read as far as they have text: a short read is taken as the end of the file.
    std::optional<std::string_view> readKeepingOpen(const std::string& path);
    // Closes the kept files whose path starts with `prefix` (a container's directory).
    void closeUnder(std::string_view prefix);
    // Why the last read() failed: its errno (ENOENT for a missing file, EFBIG for one too long).
    int lastError() const { return m_lastError; }
    size_t openFiles() const { return m_open.size(); }

    static constexpr size_t kMaxOpen = 4096;

    TextFileReader();
    ~TextFileReader();
    TextFileReader(const TextFileReader&) = delete;
    TextFileReader& operator=(const TextFileReader&) = delete;

private:
    // The file's descriptor, or -1 with m_lastError.
    int open(const std::string& path);
    // Reads all of `fd` from `offset` on into the buffer; false with m_lastError on failure.
    bool readAll(int fd, bool positional, std::string_view stopAfter, size_t& size);

    int m_lastError = 0;
    std::vector<char> m_buffer = std::vector<char>(16384);
    std::map<std::string, int, std::less<>> m_open; // path -> descriptor
    size_t m_maxOpen;
};

// Parsing helpers over the text read.

// The next line of `text` (without its '\n'), advancing `text` past it; false at the end.
inline bool nextLine(std::string_view& text, std::string_view& line) {
    if (text.empty())
        return false;
    const size_t nl = text.find('\n');
    line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    return true;
}

// The next field separated by spaces, tabs or newlines, advancing `text` past it; empty at the end.
inline std::string_view nextField(std::string_view& text) {
    size_t b = text.find_first_not_of(" \t\n");
    if (b == std::string_view::npos) {
        text = {};
        return {};
    }
    size_t e = text.find_first_of(" \t\n", b);
    if (e == std::string_view::npos)
        e = text.size();
    std::string_view f = text.substr(b, e - b);
    text.remove_prefix(e);
    return f;
}

inline std::string_view trimSpace(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t\n");
    if (b == std::string_view::npos)
        return {};
    return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

// The whole of `s` as a number (no sign for unsigned, no spaces), or nullopt.
template <typename T> std::optional<T> parseNumber(std::string_view s) {
    T v{};
    if (s.empty())
        return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

// Non-empty lines of `text` (a cgroup.procs, tasks or cgroup.threads file).
inline uint64_t countLines(std::string_view text) {
    uint64_t n = 0;
    std::string_view line;
    while (nextLine(text, line))
        if (!trimSpace(line).empty())
            ++n;
    return n;
}

} // namespace day2::metrics
