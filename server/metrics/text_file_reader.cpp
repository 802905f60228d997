#include "metrics/text_file_reader.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace day2::metrics {

std::optional<std::string_view> TextFileReader::read(const std::string& path,
                                                     std::string_view stopAfter) {
    m_lastError = 0;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        m_lastError = errno;
        return std::nullopt;
    }
    size_t size = 0;
    bool ok = true;
    for (;;) {
        if (size == m_buffer.size()) {
            if (m_buffer.size() >= kMaxBytes) {
                m_lastError = EFBIG;
                ok = false;
                break;
            }
            m_buffer.resize(m_buffer.size() * 2);
        }
        const ssize_t n = ::read(fd, m_buffer.data() + size, m_buffer.size() - size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            m_lastError = errno;
            ok = false;
            break;
        }
        if (n == 0)
            break;
        const size_t from = size > stopAfter.size() ? size - stopAfter.size() : 0;
        size += static_cast<size_t>(n);
        if (!stopAfter.empty() &&
            std::string_view(m_buffer.data() + from, size - from).find(stopAfter) !=
                std::string_view::npos)
            break;
    }
    ::close(fd);
    if (!ok)
        return std::nullopt;
    return std::string_view(m_buffer.data(), size);
}

} // namespace day2::metrics
