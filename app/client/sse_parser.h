// Parses a text/event-stream body as the HTML standard's event-stream interpretation does, fed in
// chunks that may split it anywhere: inside a field, between "\r" and "\n", inside the UTF-8 BOM.
// Lines end at "\r\n", "\n" or "\r"; ":" lines are comments; "data" lines of one event are joined
// with "\n"; the last event id persists from event to event; "retry" takes only digits; an event
// with no data is not dispatched. Pure (no I/O, no QObject): the network reader feeds it, from
// whatever thread parses.
//
// Bounded: a line, or an event's data, longer than `maxLine` bytes puts the parser in an error
// state (the stream is not an event stream we can follow); nothing after it is parsed.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <cstdint>
#include <optional>

namespace day2::client {

struct SseEvent {
    QByteArray type = "message"; // "event:" field, else "message"
    QByteArray data;
    QByteArray lastEventId; // the id in force when the event was dispatched ("" if none yet)
};

class SseParser {
public:
    static constexpr qsizetype kDefaultMaxLine = 16 * 1024 * 1024;

    explicit SseParser(qsizetype maxLine = kDefaultMaxLine) : m_maxLine(maxLine) {}

    // Parses `chunk`; complete events are appended to `out`. False once a line was too long.
    bool feed(QByteArrayView chunk, QList<SseEvent>& out);
    // A new connection (a reconnect) begins: what was left of the last one (a line or an event
    // cut off) is dropped, its "id:" with it, and a BOM is skipped again. lastEventId() and
    // retryMillis() carry over.
    void resetStream();

    // The reconnection time the server asked for with "retry:", in milliseconds.
    std::optional<int64_t> retryMillis() const { return m_retry; }
    // The id to send as Last-Event-ID when reconnecting: the one in force at the last dispatch
    // (an "id:" of an event cut off by a disconnect does not count: that event was not seen).
    const QByteArray& lastEventId() const { return m_lastEventId; }
    // Comment lines seen (": ping" keep-alives among them).
    uint64_t comments() const { return m_comments; }
    bool failed() const { return m_failed; }

private:
    void line(QByteArrayView l, QList<SseEvent>& out);

    qsizetype m_maxLine;
    QByteArray m_line;      // the current line, not yet ended
    bool m_afterCr = false; // the last byte was "\r": a "\n" right after it ends nothing
    bool m_bomChecked = false;
    QByteArray m_bomPrefix; // the first bytes, while they could still be the BOM
    QByteArray m_type;
    QByteArray m_data;
    bool m_hasData = false;
    QByteArray m_idBuffer;    // the last "id:" seen
    QByteArray m_lastEventId; // m_idBuffer at the last dispatch
    std::optional<int64_t> m_retry;
    uint64_t m_comments = 0;
    bool m_failed = false;
};

} // namespace day2::client
