#include "client/sse_parser.h"

namespace day2::client {

namespace {
constexpr char kBom[] = "\xEF\xBB\xBF";
}

void SseParser::resetStream() {
    m_line.clear();
    m_afterCr = false;
    m_bomChecked = false;
    m_bomPrefix.clear();
    m_type.clear();
    m_data.clear();
    m_hasData = false;
    m_idBuffer = m_lastEventId; // an id of the cut event was never dispatched
    m_failed = false;
}

bool SseParser::feed(QByteArrayView chunk, QList<SseEvent>& out) {
    if (m_failed)
        return false;
    if (!m_bomChecked) {
        // One leading BOM is skipped, even when it arrives a byte at a time.
        m_bomPrefix.append(chunk.data(), chunk.size());
        const qsizetype n = std::min<qsizetype>(m_bomPrefix.size(), 3);
        if (QByteArrayView(m_bomPrefix).first(n) != QByteArrayView(kBom, n)) {
            m_bomChecked = true;
        } else if (m_bomPrefix.size() < 3) {
            return true; // could still be the BOM: wait for more
        } else {
            m_bomChecked = true;
            m_bomPrefix.remove(0, 3);
        }
        const QByteArray rest = std::exchange(m_bomPrefix, QByteArray());
        return feed(rest, out);
    }
    const char* p = chunk.data();
    const char* end = p + chunk.size();
    while (p < end) {
        if (m_afterCr && *p == '\n') {
            m_afterCr = false;
            ++p;
            continue;
        }
        m_afterCr = false;
        const char* eol = p;
        while (eol < end && *eol != '\n' && *eol != '\r')
            ++eol;
        const qsizetype piece = eol - p;
        if (m_line.size() + piece > m_maxLine) {
            m_failed = true;
            m_line.clear();
            return false;
        }
        if (eol == end) {
            m_line.append(p, piece);
            break;
        }
        if (m_line.isEmpty()) {
            line(QByteArrayView(p, piece), out);
        } else {
            m_line.append(p, piece);
            line(m_line, out);
            m_line.clear();
        }
        if (m_failed)
            return false;
        m_afterCr = *eol == '\r';
        p = eol + 1;
    }
    return true;
}

void SseParser::line(QByteArrayView l, QList<SseEvent>& out) {
    if (l.isEmpty()) {
        // Dispatch. Without data there is no event, but the id counts and the type is reset.
        m_lastEventId = m_idBuffer;
        if (m_hasData) {
            SseEvent e;
            if (!m_type.isEmpty())
                e.type = m_type;
            e.data = std::move(m_data);
            e.lastEventId = m_lastEventId;
            out.append(std::move(e));
        }
        m_data.clear();
        m_hasData = false;
        m_type.clear();
        return;
    }
    if (l.front() == ':') {
        ++m_comments;
        return;
    }
    const qsizetype colon = l.indexOf(':');
    QByteArrayView name = colon < 0 ? l : l.first(colon);
    QByteArrayView value = colon < 0 ? QByteArrayView() : l.sliced(colon + 1);
    if (!value.isEmpty() && value.front() == ' ')
        value = value.sliced(1);
    if (name == "data") {
        if (m_data.size() + value.size() + 1 > m_maxLine) {
            m_failed = true;
            return;
        }
        if (m_hasData)
            m_data.append('\n');
        m_data.append(value.data(), value.size());
        m_hasData = true;
    } else if (name == "event") {
        m_type = value.toByteArray();
    } else if (name == "id") {
        if (!value.contains('\0'))
            m_idBuffer = value.toByteArray();
    } else if (name == "retry") {
        if (value.isEmpty())
            return;
        int64_t ms = 0;
        for (char c : value) {
            if (c < '0' || c > '9')
                return;
            ms = std::min<int64_t>(ms * 10 + (c - '0'), int64_t{1} << 40); // saturates
        }
        m_retry = ms;
    }
    // Other fields are ignored.
}

} // namespace day2::client
