#include "metrics/text_file_reader.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace day2::metrics {

TextFileReader::TextFileReader() : m_maxOpen(kMaxOpen) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        m_maxOpen = std::min<size_t>(kMaxOpen, static_cast<size_t>(limit.rlim_cur / 4));
}

TextFileReader::~TextFileReader() {
    for (const auto& [path, fd] : m_open)
        ::close(fd);
}

bool TextFileReader::readAll(int fd, bool positional, std::string_view stopAfter, size_t& size) {
    size = 0;
    // A kept file (positional) is a cgroup or /proc seq_file: it fills a read as far as it has
    // text, so a short read is its end, and the read that would return 0 is saved.
    const bool shortMeansEnd = positional;
    for (;;) {
        if (size == m_buffer.size()) {
            if (m_buffer.size() >= kMaxBytes) {
                m_lastError = EFBIG;
                return false;
            }
            m_buffer.resize(m_buffer.size() * 2);
        }
        const ssize_t n = positional ? ::pread(fd, m_buffer.data() + size, m_buffer.size() - size,
                                               static_cast<off_t>(size))
                                     : ::read(fd, m_buffer.data() + size, m_buffer.size() - size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            m_lastError = errno;
            return false;
        }
        if (n == 0)
            return true;
        const size_t from = size > stopAfter.size() ? size - stopAfter.size() : 0;
        const bool filled = static_cast<size_t>(n) == m_buffer.size() - size;
        size += static_cast<size_t>(n);
        if (shortMeansEnd && !filled)
            return true;
        if (!stopAfter.empty() &&
            std::string_view(m_buffer.data() + from, size - from).find(stopAfter) !=
                std::string_view::npos)
            return true;
    }
}

int TextFileReader::open(const std::string& path) {
    m_lastError = 0;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        m_lastError = errno;
    return fd;
}

std::optional<std::string_view> TextFileReader::read(const std::string& path,
                                                     std::string_view stopAfter) {
    const int fd = open(path);
    if (fd < 0)
        return std::nullopt;
    size_t size = 0;
    const bool ok = readAll(fd, false, stopAfter, size);
    ::close(fd);
    if (!ok)
        return std::nullopt;
    return std::string_view(m_buffer.data(), size);
}

std::optional<std::string_view> TextFileReader::readKeepingOpen(const std::string& path) {
    m_lastError = 0;
    auto it = m_open.find(path);
    if (it != m_open.end()) {
        size_t size = 0;
        if (readAll(it->second, true, {}, size))
            return std::string_view(m_buffer.data(), size);
        ::close(it->second); // gone or broken: once more from the path
        m_open.erase(it);
    }
    if (m_open.size() >= m_maxOpen)
        return read(path);
    const int fd = open(path);
    if (fd < 0)
        return std::nullopt;
    size_t size = 0;
    if (!readAll(fd, true, {}, size)) {
        ::close(fd);
        return std::nullopt;
    }
    m_open.emplace(path, fd);
    return std::string_view(m_buffer.data(), size);
}

void TextFileReader::closeUnder(std::string_view prefix) {
    for (auto it = m_open.lower_bound(prefix);
         it != m_open.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
        ::close(it->second);
        it = m_open.erase(it);
    }
}

} // namespace day2::metrics
