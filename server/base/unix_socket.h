// Connecting to a Unix socket by path (journald's native and stdout sockets, for now).
#pragma once

#include "base/result.h"

#include <string>

namespace day2 {

// A new close-on-exec AF_UNIX socket of `type` (SOCK_STREAM, SOCK_DGRAM) connected to `path`.
// The error holds the reason alone ("No such file or directory", "path too long"), for the
// caller to say what it tried to reach.
Result<int> connectUnixSocket(const std::string& path, int type);

} // namespace day2
