// The lines the log pane holds: entries of one or more sources (a container, an application's
// containers, an agent's host services) merged in timestamp order, in a compact form with a
// bound on how many are retained, filtered and searched without copying.
//
// Compact: a line is a fixed 56-byte record plus its message bytes in a shared arena; its
// journald cursor is kept as numbers (seqnum, monotonic time, hash) plus a shared index of the
// seqnum id and boot id, and rebuilt on demand. Bounded: `maxLines` lines at most; adding more
// evicts from the end the caller names (the oldest while following, the newest while reading
// back in history), and says how many went. A message longer than `kMaxMessage` bytes is kept
// cut, with `Line::truncated`; the whole entry is fetched again by its cursor.
//
// Not thread-safe: the reader threads parse, the GUI thread inserts parsed batches.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace day2::logs {
class Grep;
}

namespace day2::client {

// The parts of a journald cursor ("s=…;i=…;b=…;m=…;t=…;x=…"), exposed for tests.
struct CursorParts {
    QByteArray seqnumId, bootId; // 32 hex digits each
    uint64_t seqnum = 0, monotonic = 0, realtime = 0, xorHash = 0;
};
std::optional<CursorParts> parseCursor(QByteArrayView cursor);
QByteArray formatCursor(const CursorParts& parts);

// One journal entry as the logs API's JSON gives it, reduced to what the pane shows.
struct LogEntry {
    QByteArray cursor;
    // The cursor's parts, read where the entry was parsed (the reading thread), so that the GUI
    // thread does not read it again; unset for a cursor not parsed (or none).
    std::optional<CursorParts> parts;
    int64_t realtimeUsec = 0;
    QByteArray message;
    int priority = 6;
    bool stderrStream = false;
    uint16_t source = 0; // the caller's index of the stream this entry came from
};

// A field of a logs API entry (`{"fields":{...},"fields_b64":{...},...}`) as bytes: its string,
// the first of several values (a field repeated in the entry), or its base64 form in
// fields_b64 (a binary value); empty when absent.
QByteArray entryField(const QJsonObject& entry, const QString& name);

// Parses one JSON line of the logs API (`{"fields":{...},"cursor":...,...}`). The error says
// what is wrong; a line without MESSAGE has an empty message.
std::optional<LogEntry> parseLogEntry(QByteArrayView json, QString* error = nullptr);

enum class Evict { Oldest, Newest };

struct LogFilter {
    QString text; // a substring or, with `regex`, a PCRE2 pattern as the agent's
                  // grep= takes; case-insensitive either way
    bool regex = false;
    bool invert = false; // keep the lines that do NOT match
    int maxPriority = 7; // keep priority <= this
    bool stdoutLines = true;
    bool stderrLines = true;
    // Also keep this many lines before and after each line that passes (as grep -C does);
    // they are shown as context. Only with a filter.
    int context = 0;
    bool isEmpty() const {
        return text.isEmpty() && maxPriority >= 7 && stdoutLines && stderrLines;
    }
};

class LogStore;

// A filter compiled once, to test lines one by one (the pane marks context lines with it).
class LineMatcher {
public:
    // Nothing, with the reason, for an invalid pattern.
    static std::optional<LineMatcher> compile(const LogFilter& filter, QString* error = nullptr);
    bool passes(const LogStore& store, size_t line) const;

private:
    LogFilter m_filter;
    std::shared_ptr<logs::Grep> m_grep; // null: no text to match
};

class LogStore {
public:
    static constexpr uint32_t kMaxMessage = 64 * 1024;

    struct Line {
        int64_t realtimeUsec;
        uint64_t seqnum;
        uint64_t monotonic;
        uint64_t xorHash;
        uint64_t textPos; // in the arena
        uint32_t textLength;
        uint16_t cursorBase; // index of the (seqnum id, boot id) pair; 0xffff: no cursor
        uint16_t source;
        uint8_t priority;
        bool stderrStream : 1;
        bool truncated : 1;
    };

    explicit LogStore(size_t maxLines = 1'000'000);

    // Inserts a batch in timestamp order (ties keep arrival order; with Evict::Newest, a batch
    // of history, a batch that ends at the first line's time goes before it). Returns how many
    // lines were evicted to stay within the bound, from the end `evict` names.
    size_t insert(const QList<LogEntry>& batch, Evict evict = Evict::Oldest);
    // Where insert() will put `batch`: the index of the first line after which nothing moves
    // (size() when it appends). Lines from there on are the batch merged with that tail.
    size_t mergePoint(const QList<LogEntry>& batch) const;
    // The time a line is ordered by: its cursor's realtime (as the journal has it), else the
    // entry's.
    static int64_t sortTime(const LogEntry& e);
    void clear();

    size_t size() const { return m_lines.size(); }
    const Line& line(size_t i) const { return m_lines[i]; }
    QByteArrayView message(size_t i) const;
    QByteArray cursor(size_t i) const;
    size_t maxLines() const { return m_maxLines; }
    uint64_t evictedTotal() const { return m_evicted; }
    // Bytes held: line records, arena chunks in use, interned cursor bases.
    size_t memoryBytes() const;

    // The indices of the lines in [from, to) that pass `filter` or, with its `context`, are
    // that near a line that passes (looked for beyond [from, to) too), in order. An invalid
    // regex is an error.
    std::optional<std::vector<uint32_t>> filter(const LogFilter& filter, QString* error = nullptr,
                                                size_t from = 0, size_t to = SIZE_MAX) const;
    // The indices among `within` (all lines when null) whose message contains `text`
    // (case-insensitive; a pattern with `regex`; nothing for an invalid pattern).
    std::vector<uint32_t> search(const QString& text, bool regex,
                                 const std::vector<uint32_t>* within = nullptr) const;

private:
    struct Chunk {
        std::unique_ptr<char[]> bytes;
        uint32_t used = 0;
        uint32_t lines = 0; // lines whose text is here; freed at 0
    };
    static constexpr uint32_t kChunkBytes = 1024 * 1024;

    uint64_t store(QByteArrayView text);
    void release(const Line& l);
    uint16_t cursorBase(const QByteArray& seqnumId, const QByteArray& bootId);

    size_t m_maxLines;
    std::deque<Line> m_lines;
    std::deque<Chunk> m_chunks; // m_chunks[k] is chunk number m_firstChunk + k
    uint64_t m_firstChunk = 0;
    std::vector<std::pair<QByteArray, QByteArray>> m_cursorBases;
    uint64_t m_evicted = 0;
};

} // namespace day2::client
