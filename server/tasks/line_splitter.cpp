#include "tasks/line_splitter.h"

#include <cstring>

namespace day2::tasks {

void LineSplitter::feed(std::string_view data, const Emit& emit) {
    while (!data.empty()) {
        const void* nl = std::memchr(data.data(), '\n', data.size());
        const size_t lineLen =
            nl ? static_cast<size_t>(static_cast<const char*>(nl) - data.data()) : data.size();
        // Fast path: a whole line with nothing pending, emitted without copying.
        if (nl && m_pending.empty() && lineLen <= m_maxLine && m_part == 0) {
            emit(LinePiece{data.substr(0, lineLen), 0, false, false});
            data.remove_prefix(lineLen + 1);
            continue;
        }
        const size_t room = m_maxLine - m_pending.size();
        if (lineLen >= room && !(nl && lineLen == room)) {
            // The line outgrows kMaxLine: emit a full part and carry on with the rest.
            m_pending.append(data.substr(0, room));
            data.remove_prefix(room);
            emit(LinePiece{m_pending, ++m_part, true, false});
            m_pending.clear();
            continue;
        }
        m_pending.append(data.substr(0, lineLen));
        if (!nl)
            return;
        data.remove_prefix(lineLen + 1);
        emit(LinePiece{m_pending, m_part ? m_part + 1 : 0, false, false});
        m_pending.clear();
        m_part = 0;
    }
}

void LineSplitter::finish(const Emit& emit) {
    if (!m_pending.empty() || m_part > 0)
        emit(LinePiece{m_pending, m_part ? m_part + 1 : 0, false, true});
    m_pending.clear();
    m_part = 0;
}

} // namespace day2::tasks
