#include "logs/journal_writer.h"

#include "base/unix_socket.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace day2::logs {

Result<JournalWriter> JournalWriter::connect(const std::string& socketPath) {
    auto connected = connectUnixSocket(socketPath, SOCK_DGRAM);
    if (!connected)
        return Error{"cannot connect to journald at " + socketPath + ": " +
                     connected.error().message};
    const int fd = *connected;
    // A large send buffer keeps the datagram path for entries up to a few hundred KiB.
    int size = 8 * 1024 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    return JournalWriter(fd, socketPath);
}

JournalWriter::JournalWriter(JournalWriter&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_path(std::move(other.m_path)) {}

JournalWriter& JournalWriter::operator=(JournalWriter&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = std::exchange(other.m_fd, -1);
        m_path = std::move(other.m_path);
    }
    return *this;
}

JournalWriter::~JournalWriter() {
    if (m_fd >= 0)
        ::close(m_fd);
}

void JournalWriter::appendField(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    if (value.find('\n') == std::string_view::npos) {
        out += '=';
        out += value;
    } else {
        // Binary-safe form: NAME\n<little-endian 64-bit length><bytes>
        out += '\n';
        uint64_t n = value.size();
        for (int i = 0; i < 8; ++i)
            out += static_cast<char>((n >> (8 * i)) & 0xFF);
        out += value;
    }
    out += '\n';
}

std::string JournalWriter::encode(const JournalFields& fields) {
    std::string out;
    for (const auto& [name, value] : fields)
        appendField(out, name, value);
    return out;
}

Result<void> JournalWriter::send(const JournalFields& fields) {
    const std::string payload = encode(fields);
    return sendEncoded({payload});
}

Result<void> JournalWriter::sendEncoded(const std::vector<std::string_view>& pieces) {
    iovec iov[16];
    if (pieces.size() > 16)
        return Error{"too many pieces for one journal entry"};
    size_t total = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
        iov[i].iov_base = const_cast<char*>(pieces[i].data());
        iov[i].iov_len = pieces[i].size();
        total += pieces[i].size();
    }
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = pieces.size();
    for (;;) {
        ssize_t n = ::sendmsg(m_fd, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return {};
        if (errno == EINTR)
            continue;
        if (errno == ENOBUFS || errno == EAGAIN) {
            ::usleep(1000); // journald is behind: wait, never drop
            continue;
        }
        if (errno != EMSGSIZE)
            return Error{"sending to journald at " + m_path + ": " + std::strerror(errno)};
        break;
    }
    std::string payload;
    payload.reserve(total);
    for (auto p : pieces)
        payload.append(p);
    // Too large for a datagram: pass a sealed memfd holding the payload.
    int mfd = ::memfd_create("day2-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return Error{std::string("memfd_create: ") + std::strerror(errno)};
    size_t off = 0;
    while (off < payload.size()) {
        ssize_t w = ::write(mfd, payload.data() + off, payload.size() - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            ::close(mfd);
            return Error{std::string("writing the memfd: ") + std::strerror(e)};
        }
        off += static_cast<size_t>(w);
    }
    ::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &mfd, sizeof(int));
    ssize_t n;
    do {
        n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    int e = errno;
    ::close(mfd);
    if (n < 0)
        return Error{"sending a large entry to journald at " + m_path + ": " + std::strerror(e)};
    return {};
}

} // namespace day2::logs
