// The agent's own diagnostics, to stderr (journald adds the timestamp when run as a unit).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace day2::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

void setLevel(Level level);
// The name in front of each message (default day2-agent); a string literal.
void setProgramName(const char* name);
Level level();
bool parseLevel(std::string_view text, Level& out);
void write(Level level, std::string_view message);

template <typename... Args> void at(Level lvl, const Args&... args) {
    if (lvl < level())
        return;
    std::ostringstream out;
    (out << ... << args);
    write(lvl, out.str());
}
template <typename... Args> void debug(const Args&... args) {
    at(Level::Debug, args...);
}
template <typename... Args> void info(const Args&... args) {
    at(Level::Info, args...);
}
template <typename... Args> void warning(const Args&... args) {
    at(Level::Warning, args...);
}
template <typename... Args> void error(const Args&... args) {
    at(Level::Error, args...);
}

} // namespace day2::log
