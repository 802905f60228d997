#include "client/log_store.h"

#include "logs/grep.h"

#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

namespace day2::client {

namespace {

std::optional<uint64_t> hex(QByteArrayView s) {
    if (s.isEmpty() || s.size() > 16)
        return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return std::nullopt;
        v = v << 4 | uint64_t(d);
    }
    return v;
}

bool isId(QByteArrayView s) {
    return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

} // namespace

QByteArray entryField(const QJsonObject& entry, const QString& name) {
    const QJsonValue v = entry.value(QStringLiteral("fields")).toObject().value(name);
    if (v.isString())
        return v.toString().toUtf8();
    if (v.isArray() && !v.toArray().isEmpty())
        return v.toArray().first().toString().toUtf8();
    const QJsonValue b = entry.value(QStringLiteral("fields_b64")).toObject().value(name);
    if (b.isString())
        return QByteArray::fromBase64(b.toString().toLatin1());
    if (b.isArray() && !b.toArray().isEmpty())
        return QByteArray::fromBase64(b.toArray().first().toString().toLatin1());
    return {};
}

std::optional<CursorParts> parseCursor(QByteArrayView cursor) {
    CursorParts p;
    unsigned seen = 0;
    for (qsizetype at = 0; at <= cursor.size();) {
        // The parts between ';', without a list of copies (every entry's cursor is read).
        qsizetype end = cursor.indexOf(';', at);
        if (end < 0)
            end = cursor.size();
        const QByteArrayView part = cursor.sliced(at, end - at);
        at = end + 1;
        if (part.size() < 3 || part[1] != '=')
            return std::nullopt;
        const QByteArrayView v = part.sliced(2);
        std::optional<uint64_t> n;
        switch (part[0]) {
        case 's':
            if (!isId(v))
                return std::nullopt;
            p.seqnumId = v.toByteArray();
            seen |= 1;
            continue;
        case 'b':
            if (!isId(v))
                return std::nullopt;
            p.bootId = v.toByteArray();
            seen |= 2;
            continue;
        case 'i':
            n = hex(v);
            if (n)
                p.seqnum = *n;
            seen |= 4;
            break;
        case 'm':
            n = hex(v);
            if (n)
                p.monotonic = *n;
            seen |= 8;
            break;
        case 't':
            n = hex(v);
            if (n)
                p.realtime = *n;
            seen |= 16;
            break;
        case 'x':
            n = hex(v);
            if (n)
                p.xorHash = *n;
            seen |= 32;
            break;
        default:
            return std::nullopt;
        }
        if (!n)
            return std::nullopt;
    }
    if (seen != 63)
        return std::nullopt;
    return p;
}

QByteArray formatCursor(const CursorParts& p) {
    return "s=" + p.seqnumId + ";i=" + QByteArray::number(qulonglong(p.seqnum), 16) +
           ";b=" + p.bootId + ";m=" + QByteArray::number(qulonglong(p.monotonic), 16) +
           ";t=" + QByteArray::number(qulonglong(p.realtime), 16) +
           ";x=" + QByteArray::number(qulonglong(p.xorHash), 16);
}

static_assert(sizeof(LogStore::Line) == 56, "a line's record is part of the memory budget");

// Filters return line indices as uint32_t.
LogStore::LogStore(size_t maxLines)
    : m_maxLines(std::clamp<size_t>(maxLines, 1, std::numeric_limits<uint32_t>::max())) {}

uint16_t LogStore::cursorBase(const QByteArray& seqnumId, const QByteArray& bootId) {
    // A journal has few (seqnum id, boot id) pairs: one per journal file set and boot.
    for (size_t i = m_cursorBases.size(); i-- > 0;)
        if (m_cursorBases[i].first == seqnumId && m_cursorBases[i].second == bootId)
            return uint16_t(i);
    if (m_cursorBases.size() >= 0xfffe)
        return 0xffff;
    m_cursorBases.emplace_back(seqnumId, bootId);
    return uint16_t(m_cursorBases.size() - 1);
}

uint64_t LogStore::store(QByteArrayView text) {
    const uint32_t n = uint32_t(text.size());
    if (!m_chunks.empty() && m_chunks.back().lines == 0 && n <= kChunkBytes)
        m_chunks.back().used = 0; // every line of the chunk being filled is gone: refill it
    if (m_chunks.empty() || m_chunks.back().used + n > kChunkBytes) {
        Chunk c;
        c.bytes.reset(new char[std::max(kChunkBytes, n)]);
        m_chunks.push_back(std::move(c));
    }
    Chunk& c = m_chunks.back();
    const uint64_t number = m_firstChunk + m_chunks.size() - 1;
    const uint32_t offset = c.used;
    if (n)
        std::memcpy(c.bytes.get() + offset, text.data(), n);
    c.used += n;
    ++c.lines;
    return number << 32 | offset;
}

void LogStore::release(const Line& l) {
    const uint64_t number = l.textPos >> 32;
    Chunk& c = m_chunks[size_t(number - m_firstChunk)];
    if (--c.lines == 0 && number + 1 != m_firstChunk + m_chunks.size())
        c.bytes.reset(); // not the chunk being filled: nothing refers to it any more
    while (!m_chunks.empty() && !m_chunks.front().bytes && m_chunks.size() > 1) {
        m_chunks.pop_front();
        ++m_firstChunk;
    }
}

int64_t LogStore::sortTime(const LogEntry& e) {
    if (e.parts)
        return int64_t(e.parts->realtime);
    if (!e.cursor.isEmpty())
        if (auto parts = parseCursor(e.cursor))
            return int64_t(parts->realtime);
    return e.realtimeUsec;
}

size_t LogStore::mergePoint(const QList<LogEntry>& batch) const {
    if (batch.isEmpty())
        return m_lines.size();
    int64_t first = sortTime(batch.first());
    for (const auto& e : batch)
        first = std::min(first, sortTime(e));
    // insert()'s rule: the batch goes after every line not later than its earliest entry.
    return size_t(std::upper_bound(m_lines.begin(), m_lines.end(), first,
                                   [](int64_t t, const Line& l) { return t < l.realtimeUsec; }) -
                  m_lines.begin());
}

size_t LogStore::insert(const QList<LogEntry>& batch, Evict evict) {
    std::vector<Line> lines;
    lines.reserve(size_t(batch.size()));
    for (const LogEntry& e : batch) {
        Line l{};
        l.realtimeUsec = e.realtimeUsec;
        l.cursorBase = 0xffff;
        if (auto parts = e.parts ? e.parts : parseCursor(e.cursor)) {
            l.seqnum = parts->seqnum;
            l.monotonic = parts->monotonic;
            l.xorHash = parts->xorHash;
            l.realtimeUsec = int64_t(parts->realtime);
            l.cursorBase = cursorBase(parts->seqnumId, parts->bootId);
        }
        qsizetype n = std::min<qsizetype>(e.message.size(), kMaxMessage);
        l.truncated = n < e.message.size();
        if (l.truncated) // not in the middle of a UTF-8 sequence
            while (n > 0 && (uint8_t(e.message[n]) & 0xC0) == 0x80)
                --n;
        l.textPos = store(QByteArrayView(e.message).first(n));
        l.textLength = uint32_t(n);
        l.source = e.source;
        l.priority = uint8_t(e.priority);
        l.stderrStream = e.stderrStream;
        lines.push_back(l);
    }
    const auto earlier = [](const Line& a, const Line& b) {
        return a.realtimeUsec < b.realtimeUsec;
    };
    std::stable_sort(lines.begin(), lines.end(), earlier);
    if (!lines.empty()) {
        // Following appends, history prepends; otherwise only the tail from the batch's first
        // timestamp on is merged (stable: on a tie, what was there stays first).
        if (m_lines.empty() || lines.front().realtimeUsec >= m_lines.back().realtimeUsec) {
            m_lines.insert(m_lines.end(), lines.begin(), lines.end());
        } else if (lines.back().realtimeUsec < m_lines.front().realtimeUsec ||
                   (evict == Evict::Newest &&
                    lines.back().realtimeUsec == m_lines.front().realtimeUsec)) {
            // (History: the entries of the front's microsecond that come now are older.)
            m_lines.insert(m_lines.begin(), lines.begin(), lines.end());
        } else {
            auto from = std::upper_bound(m_lines.begin(), m_lines.end(), lines.front(), earlier);
            std::vector<Line> merged;
            merged.reserve(size_t(m_lines.end() - from) + lines.size());
            std::merge(from, m_lines.end(), lines.begin(), lines.end(), std::back_inserter(merged),
                       earlier);
            m_lines.erase(from, m_lines.end());
            m_lines.insert(m_lines.end(), merged.begin(), merged.end());
        }
    }
    size_t evicted = 0;
    while (m_lines.size() > m_maxLines) {
        if (evict == Evict::Oldest) {
            release(m_lines.front());
            m_lines.pop_front();
        } else {
            release(m_lines.back());
            m_lines.pop_back();
        }
        ++evicted;
    }
    m_evicted += evicted;
    return evicted;
}

void LogStore::clear() {
    m_lines.clear();
    m_chunks.clear();
    m_firstChunk = 0;
    m_cursorBases.clear();
}

QByteArrayView LogStore::message(size_t i) const {
    const Line& l = m_lines[i];
    const Chunk& c = m_chunks[size_t((l.textPos >> 32) - m_firstChunk)];
    return QByteArrayView(c.bytes.get() + uint32_t(l.textPos), l.textLength);
}

QByteArray LogStore::cursor(size_t i) const {
    const Line& l = m_lines[i];
    if (l.cursorBase == 0xffff)
        return {};
    const auto& [seqnumId, bootId] = m_cursorBases[l.cursorBase];
    return formatCursor(
        {seqnumId, bootId, l.seqnum, l.monotonic, uint64_t(l.realtimeUsec), l.xorHash});
}

size_t LogStore::memoryBytes() const {
    size_t bytes = m_lines.size() * sizeof(Line);
    for (const Chunk& c : m_chunks)
        if (c.bytes)
            bytes += std::max(kChunkBytes, c.used);
    for (const auto& [s, b] : m_cursorBases)
        bytes += size_t(s.capacity() + b.capacity()) + sizeof(QByteArray) * 2;
    return bytes;
}

namespace {

// The pane's filter and search use what the agent's grep= uses: PCRE2, JIT-compiled, with a
// match limit, case-insensitive (Unicode-aware); a substring is a literal pattern.
std::shared_ptr<logs::Grep> compileMatcher(const QString& text, bool regex, QString* error) {
    const QByteArray p = text.toUtf8();
    auto g = logs::Grep::compile(std::string_view(p.constData(), size_t(p.size())),
                                 {.caseless = true, .literal = !regex});
    if (!g) {
        if (error)
            *error = QString::fromStdString(g.error().message);
        return nullptr;
    }
    return *g;
}

bool matches(logs::Grep& g, QByteArrayView m) {
    return g.matches(std::string_view(m.data(), size_t(m.size())));
}

} // namespace

std::optional<LineMatcher> LineMatcher::compile(const LogFilter& f, QString* error) {
    LineMatcher m;
    m.m_filter = f;
    if (!f.text.isEmpty()) {
        m.m_grep = compileMatcher(f.text, f.regex, error);
        if (!m.m_grep)
            return std::nullopt;
    }
    return m;
}

bool LineMatcher::passes(const LogStore& store, size_t i) const {
    const LogStore::Line& l = store.line(i);
    if (l.priority > m_filter.maxPriority ||
        (l.stderrStream ? !m_filter.stderrLines : !m_filter.stdoutLines))
        return false;
    return !m_grep || matches(*m_grep, store.message(i)) != m_filter.invert;
}

std::optional<std::vector<uint32_t>> LogStore::filter(const LogFilter& f, QString* error,
                                                      size_t from, size_t to) const {
    const auto matcher = LineMatcher::compile(f, error);
    if (!matcher)
        return std::nullopt;
    to = std::min(to, m_lines.size());
    std::vector<uint32_t> out;
    if (from >= to)
        return out;
    const size_t context = f.context > 0 ? size_t(f.context) : 0;
    if (context == 0) {
        out.reserve(to - from);
        for (size_t i = from; i < to; ++i)
            if (matcher->passes(*this, i))
                out.push_back(uint32_t(i));
        return out;
    }
    // Lines that pass up to `context` beyond the range bring lines inside it.
    const size_t scanFrom = from > context ? from - context : 0;
    const size_t scanTo = std::min(m_lines.size(), to + context);
    size_t next = from; // the first index not yet emitted
    for (size_t i = scanFrom; i < scanTo; ++i) {
        if (!matcher->passes(*this, i))
            continue;
        const size_t lo = std::max({next, from, i > context ? i - context : size_t(0)});
        const size_t hi = std::min(to, i + context + 1);
        for (size_t k = lo; k < hi; ++k)
            out.push_back(uint32_t(k));
        next = std::max(next, hi);
    }
    return out;
}

std::vector<uint32_t> LogStore::search(const QString& text, bool regex,
                                       const std::vector<uint32_t>* within) const {
    std::vector<uint32_t> out;
    auto matcher = text.isEmpty() ? nullptr : compileMatcher(text, regex, nullptr);
    if (!matcher)
        return out;
    if (within) {
        for (uint32_t i : *within)
            if (matches(*matcher, message(i)))
                out.push_back(i);
    } else {
        for (size_t i = 0; i < m_lines.size(); ++i)
            if (matches(*matcher, message(i)))
                out.push_back(uint32_t(i));
    }
    return out;
}

} // namespace day2::client
