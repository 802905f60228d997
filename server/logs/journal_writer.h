// Writes entries to journald with its native protocol (KEY=value datagrams) on a configurable
// socket, so a journal namespace works like the default. Entries too large for one datagram go
// through a sealed memfd, as sd_journal_send does. Blocking: when journald is slower than the
// writer, the writer waits instead of dropping.
#pragma once

#include "base/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace day2::logs {

using JournalFields = std::vector<std::pair<std::string, std::string>>;

class JournalWriter {
public:
    static Result<JournalWriter> connect(const std::string& socketPath);
    JournalWriter(JournalWriter&& other) noexcept;
    JournalWriter& operator=(JournalWriter&& other) noexcept;
    ~JournalWriter();

    // Field names must be valid journald names; values may hold any bytes.
    Result<void> send(const JournalFields& fields);
    // Sends one entry whose payload is the concatenation of `pieces` (each already in the
    // native format), without copying them when they fit in a datagram.
    Result<void> sendEncoded(const std::vector<std::string_view>& pieces);
    // Appends one field in the native format (binary-safe when the value has a '\n').
    static void appendField(std::string& out, std::string_view name, std::string_view value);

    // The socket, to wait until journald has received what was sent (SIOCOUTQ).
    int fd() const { return m_fd; }

    // The datagram payload for `fields` (exposed for tests and the fuzzer).
    static std::string encode(const JournalFields& fields);

private:
    explicit JournalWriter(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd = -1;
    std::string m_path;
};

} // namespace day2::logs
