// The query of a logs request (docs/api.md, "Logs"), parsed and validated before any journal is read.
#pragma once

#include "base/result.h"
#include "http/query.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::logs {

class Grep;

enum class LogMode { Range, Stream };

struct FieldMatch {
    std::string field;
    std::string value;
};

struct LogQuery {
    std::vector<FieldMatch> filters; // filter=FIELD:VALUE; same field ORed, fields ANDed
    std::vector<FieldMatch>
        taskMatches;               // from a .../framework/{fw}/executor/{ex}/container/{cid} path
    std::optional<uint64_t> limit; // range only
    uint64_t skipPrev = 0;
    uint64_t skipNext = 0;
    std::string cursor;
    bool readReverse = false; // range only
    std::string unit;
    std::optional<int> priority;
    std::optional<uint64_t> since; // µs since the epoch
    std::optional<uint64_t> until;
    std::shared_ptr<Grep> grep; // compiled; not thread-safe
    std::string grepPattern;    // its source, to compile another for another thread
};

// Journald's rules for a field name: [A-Z0-9_], not starting with a digit, at most 64 bytes.
bool isValidFieldName(std::string_view name);

// Checks the shape of a journald cursor ("s=...;i=...;b=...;m=...;t=...;x=...").
bool isWellFormedCursor(std::string_view cursor);
// The value of `key`'s part of a journald cursor ("s=…;i=…;b=…;m=…;t=…;x=…"), if it has one.
std::optional<std::string_view> cursorPart(std::string_view cursor, char key);

// Every error names the parameter and says what is wrong with it.
Result<LogQuery> parseLogQuery(const http::QueryParams& params, LogMode mode);

} // namespace day2::logs
