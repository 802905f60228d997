#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace day2::log {
namespace {
std::atomic<Level> g_level{Level::Info};
std::mutex g_writeMutex;
const char* g_program = "day2-agent";
} // namespace

void setProgramName(const char* name) {
    g_program = name;
}

void setLevel(Level lvl) {
    g_level = lvl;
}
Level level() {
    return g_level;
}

bool parseLevel(std::string_view text, Level& out) {
    if (text == "debug")
        out = Level::Debug;
    else if (text == "info")
        out = Level::Info;
    else if (text == "warning" || text == "warn")
        out = Level::Warning;
    else if (text == "error")
        out = Level::Error;
    else
        return false;
    return true;
}

void write(Level lvl, std::string_view message) {
    // <N> prefixes are understood by journald's stdout stream (sd-daemon(3)).
    static constexpr const char* kPrefix[] = {"<7>", "<6>", "<4>", "<3>"};
    std::lock_guard lock(g_writeMutex);
    std::fprintf(stderr, "%s%s: %.*s\n", kPrefix[static_cast<int>(lvl)], g_program,
                 static_cast<int>(message.size()), message.data());
}

} // namespace day2::log
