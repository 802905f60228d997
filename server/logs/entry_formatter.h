// Writes the journal's current entry in one of the logs API's formats (docs/api.md, "Responses").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sd_journal;

namespace day2::logs {

enum class Format { Text, Json, Sse };

// The fields of one entry, copied out of sd-journal (whose pointers live only until its next call).
struct EntryData {
    std::string arena;
    struct Field {
        uint32_t nameOff, nameLen, valueOff, valueLen;
    };
    std::vector<Field> fields;
    uint64_t realtime = 0;
    uint64_t monotonic = 0;
    std::string cursor;

    std::string_view name(const Field& f) const { return {arena.data() + f.nameOff, f.nameLen}; }
    std::string_view value(const Field& f) const { return {arena.data() + f.valueOff, f.valueLen}; }
    // The first value of `field`, or an empty view.
    std::string_view find(std::string_view field) const;
};

// Reads the current entry's fields, timestamps and (when `withCursor`) cursor. Negative errno on
// failure.
int readEntry(sd_journal* j, EntryData& entry, bool withCursor);

// Appends `entry` in `format`; each format ends the entry with its own terminator.
void appendEntry(std::string& out, const EntryData& entry, Format format);

} // namespace day2::logs
