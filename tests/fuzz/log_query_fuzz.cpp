// Fuzzes everything the agent parses from a request target before reading a journal: the path,
// the query string, and the logs query with its filters, cursor, times and regex.
#include "base/text.h"
#include "http/query.h"
#include "logs/log_query.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // "path?query", as a request target arrives.
    auto q = input.find('?');
    std::string_view path = input.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view{} : input.substr(q + 1);
    if (!path.empty() && path.front() == '/') {
        if (auto segs = day2::http::splitPath(path)) {
            for (const auto& s : *segs)
                if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos)
                    __builtin_trap(); // splitPath promised none of these
        }
    }
    if (auto params = day2::http::parseQueryString(query)) {
        for (auto mode : {day2::logs::LogMode::Range, day2::logs::LogMode::Stream}) {
            auto parsed = day2::logs::parseLogQuery(*params, mode);
            if (parsed) {
                for (const auto& f : parsed->filters)
                    if (!day2::logs::isValidFieldName(f.field))
                        __builtin_trap();
                if (mode == day2::logs::LogMode::Stream && parsed->limit)
                    __builtin_trap();
                if (!parsed->cursor.empty() && !day2::logs::isWellFormedCursor(parsed->cursor))
                    __builtin_trap();
            }
        }
    }
    (void)day2::text::parseTimestampMicros(input);
    (void)day2::text::isValidUtf8(input);
    return 0;
}
