#include "base/unix_socket.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace day2 {

Result<int> connectUnixSocket(const std::string& path, int type) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path)
        return Error{"path too long"};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error{std::string("socket: ") + std::strerror(errno)};
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        ::close(fd);
        return Error{std::strerror(e)};
    }
    return fd;
}

} // namespace day2
