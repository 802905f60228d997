#include "logs/log_query.h"

#include "base/text.h"
#include "day2/wire/wire.h"
#include "logs/grep.h"

#include <limits>
#include <set>

namespace day2::logs {

namespace w = day2::wire;

bool isValidFieldName(std::string_view name) {
    if (name.empty() || name.size() > 64 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

namespace {

// Calls `part` with each ";"-separated part of a cursor until it returns false.
template <typename F> bool forEachCursorPart(std::string_view cursor, F part) {
    size_t pos = 0;
    while (pos < cursor.size()) {
        size_t semi = cursor.find(';', pos);
        if (semi == std::string_view::npos)
            semi = cursor.size();
        if (!part(cursor.substr(pos, semi - pos)))
            return false;
        pos = semi + 1;
    }
    return true;
}

} // namespace

std::optional<std::string_view> cursorPart(std::string_view cursor, char key) {
    std::optional<std::string_view> found;
    forEachCursorPart(cursor, [&](std::string_view item) {
        if (item.size() >= 2 && item[0] == key && item[1] == '=')
            found = item.substr(2);
        return !found;
    });
    return found;
}

bool isWellFormedCursor(std::string_view cursor) {
    if (cursor.empty() || cursor.size() > 512)
        return false;
    std::set<char> seen;
    const bool partsOk = forEachCursorPart(cursor, [&](std::string_view item) {
        if (item.size() < 3 || item[1] != '=')
            return false;
        char key = item[0];
        if (std::string_view("sibmtx").find(key) == std::string_view::npos ||
            !seen.insert(key).second)
            return false;
        std::string_view value = item.substr(2);
        // s (seqnum id) and b (boot id) are 128-bit ids; the rest are 64-bit numbers.
        if ((key == 's' || key == 'b') ? value.size() != 32 : value.size() > 16)
            return false;
        for (char c : value)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                return false;
        return true;
    });
    if (!partsOk)
        return false;
    // journald needs either the seqnum pair or the boot id and monotonic time or the realtime.
    return (seen.count('s') && seen.count('i')) || (seen.count('b') && seen.count('m')) ||
           seen.count('t');
}

namespace {

Result<uint64_t> parseCount(std::string_view name, std::string_view value, uint64_t min) {
    auto v = text::parseUnsigned(value);
    if (!v)
        return Error{"parameter '" + std::string(name) + "' must be a whole number " +
                     (min > 0 ? "of at least " + std::to_string(min) : "0 or more") + ", got '" +
                     std::string(value) + "'"};
    if (*v < min)
        return Error{"parameter '" + std::string(name) + "' must be at least " +
                     std::to_string(min)};
    return *v;
}

bool parseBool(std::string_view v, bool& out) {
    if (v == "true" || v == "1" || v == "yes" || v.empty()) {
        out = true;
        return true;
    }
    if (v == "false" || v == "0" || v == "no") {
        out = false;
        return true;
    }
    return false;
}

} // namespace

Result<LogQuery> parseLogQuery(const http::QueryParams& params, LogMode mode) {
    LogQuery q;
    std::set<std::string> seen;
    for (const auto& [key, value] : params) {
        const bool repeatable = key == w::kParamFilter;
        if (!repeatable && !seen.insert(key).second)
            return Error{"parameter '" + key + "' is given more than once"};
        if (key == w::kParamFilter) {
            auto colon = value.find(':');
            if (colon == std::string::npos)
                return Error{"filter '" + value + "' must be FIELD:VALUE"};
            std::string field = value.substr(0, colon);
            if (!isValidFieldName(field))
                return Error{"filter field '" + field +
                             "' is not a journald field name (A-Z, 0-9 and _, not starting with a "
                             "digit, at most 64 characters)"};
            q.filters.push_back({std::move(field), value.substr(colon + 1)});
        } else if (key == w::kParamLimit) {
            if (mode == LogMode::Stream)
                return Error{"parameter 'limit' applies to range reads only; a stream has no end"};
            auto v = parseCount(key, value, 1);
            if (!v)
                return v.error();
            q.limit = *v;
        } else if (key == w::kParamSkipPrev || key == w::kParamSkipNext) {
            auto v = parseCount(key, value, 0);
            if (!v)
                return v.error();
            if (*v > static_cast<uint64_t>(std::numeric_limits<int>::max()))
                return Error{"parameter '" + key + "' is larger than " +
                             std::to_string(std::numeric_limits<int>::max())};
            (key == w::kParamSkipPrev ? q.skipPrev : q.skipNext) = *v;
        } else if (key == w::kParamCursor) {
            if (!isWellFormedCursor(value))
                return Error{"parameter 'cursor' is not a journald cursor: '" +
                             value.substr(0, 80) + "'"};
            q.cursor = value;
        } else if (key == w::kParamReadReverse) {
            if (mode == LogMode::Stream)
                return Error{"parameter 'read_reverse' applies to range reads only"};
            if (!parseBool(value, q.readReverse))
                return Error{"parameter 'read_reverse' must be true or false"};
        } else if (key == w::kParamUnit) {
            if (value.empty() || value.size() > 256)
                return Error{"parameter 'unit' must be a unit name"};
            q.unit = value;
        } else if (key == w::kParamPriority) {
            auto v = text::parseUnsigned(value);
            if (!v || *v > 7)
                return Error{"parameter 'priority' must be 0 (emerg) to 7 (debug), got '" + value +
                             "'"};
            q.priority = static_cast<int>(*v);
        } else if (key == w::kParamSince || key == w::kParamUntil) {
            auto v = text::parseTimestampMicros(value);
            if (!v)
                return Error{"parameter '" + key +
                             "' must be an RFC 3339 time (2026-11-24T18:00:00Z) or microseconds "
                             "since the epoch, got '" +
                             value + "'"};
            (key == w::kParamSince ? q.since : q.until) = *v;
        } else if (key == w::kParamGrep) {
            auto g = Grep::compile(value);
            if (!g)
                return Error{"parameter 'grep': " + g.error().message};
            q.grep = std::move(*g);
            q.grepPattern = value;
        } else {
            return Error{"unknown parameter '" + key.substr(0, 64) + "'"};
        }
    }
    if (q.since && q.until && *q.since > *q.until)
        return Error{"parameter 'since' is after 'until'"};
    return q;
}

} // namespace day2::logs
