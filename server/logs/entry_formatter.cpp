#include "logs/entry_formatter.h"

#include "base/text.h"
#include "day2/wire/wire.h"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace day2::logs {

namespace w = day2::wire;

std::string_view EntryData::find(std::string_view field) const {
    for (const auto& f : fields)
        if (name(f) == field)
            return value(f);
    return {};
}

int readEntry(sd_journal* j, EntryData& e, bool withCursor) {
    e.arena.clear();
    e.fields.clear();
    const void* data;
    size_t len;
    int r;
    sd_journal_restart_data(j);
    // _available_: a field that cannot be read (corrupt, unknown compression) is left out
    // instead of failing the whole entry.
    while ((r = sd_journal_enumerate_available_data(j, &data, &len)) > 0) {
        const char* p = static_cast<const char*>(data);
        const void* eq = std::memchr(p, '=', len);
        if (!eq)
            continue; // not a field; journald never writes such items
        auto nameLen = static_cast<uint32_t>(static_cast<const char*>(eq) - p);
        auto off = static_cast<uint32_t>(e.arena.size());
        e.arena.append(p, len);
        e.fields.push_back(
            {off, nameLen, off + nameLen + 1, static_cast<uint32_t>(len - nameLen - 1)});
    }
    if (r < 0)
        return r;
    if ((r = sd_journal_get_realtime_usec(j, &e.realtime)) < 0)
        return r;
    sd_id128_t boot;
    if (sd_journal_get_monotonic_usec(j, &e.monotonic, &boot) < 0)
        e.monotonic = 0;
    if (withCursor) {
        char* c = nullptr;
        if ((r = sd_journal_get_cursor(j, &c)) < 0)
            return r;
        e.cursor.assign(c);
        std::free(c);
    }
    return 0;
}

namespace {

void appendNumber(std::string& out, uint64_t v) {
    char buf[24];
    char* end = buf + sizeof buf;
    char* p = end;
    do {
        *--p = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    out.append(p, static_cast<size_t>(end - p));
}

void appendJsonString(std::string& out, std::string_view s) {
    out += '"';
    text::appendJsonEscaped(out, s);
    out += '"';
}

// Does any field name occur twice? A 1024-bit filter of name hashes answers "no" for nearly every
// entry in O(n); only a filter hit pays for the exact comparison.
bool hasRepeatedName(const EntryData& e) {
    const size_t n = e.fields.size();
    if (n < 2)
        return false;
    uint64_t bits[16] = {};
    bool maybe = false;
    for (const auto& f : e.fields) {
        uint32_t h = 2166136261u;
        for (char c : e.name(f))
            h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
        h &= 1023;
        const uint64_t bit = uint64_t{1} << (h & 63);
        if (bits[h >> 6] & bit) {
            maybe = true;
            break;
        }
        bits[h >> 6] |= bit;
    }
    if (!maybe)
        return false;
    for (size_t i = 0; i < n; ++i)
        for (size_t k = i + 1; k < n; ++k)
            if (e.name(e.fields[i]) == e.name(e.fields[k]))
                return true;
    return false;
}

void appendJsonObject(std::string& out, const EntryData& e) {
    const size_t n = e.fields.size();
    // Which values are not UTF-8 (they go to fields_b64), and is any field repeated?
    bool anyBinary = false;
    thread_local std::vector<uint8_t> binary;
    binary.assign(n, 0);
    for (size_t i = 0; i < n; ++i)
        if (!text::isValidUtf8(e.value(e.fields[i]))) {
            binary[i] = 1;
            anyBinary = true;
        }
    const bool repeated = hasRepeatedName(e);

    // A field given more than once keeps every value, as a JSON array (journalctl -o json does
    // the same).
    auto emitGroup = [&](bool wantBinary) {
        bool first = true;
        for (size_t i = 0; i < n; ++i) {
            if (bool(binary[i]) != wantBinary)
                continue;
            std::string_view nm = e.name(e.fields[i]);
            size_t count = 1;
            if (repeated) {
                bool seenBefore = false;
                for (size_t k = 0; k < i && !seenBefore; ++k)
                    seenBefore = bool(binary[k]) == wantBinary && e.name(e.fields[k]) == nm;
                if (seenBefore)
                    continue;
                count = 0;
                for (size_t k = i; k < n; ++k)
                    count += bool(binary[k]) == wantBinary && e.name(e.fields[k]) == nm;
            }
            // Field names are [A-Z0-9_] (journald refuses others): nothing to escape.
            if (!first)
                out += ',';
            first = false;
            out += '"';
            out.append(nm);
            out.append("\":", 2);
            auto emitValue = [&](size_t k) {
                if (wantBinary) {
                    out += '"';
                    text::appendBase64(out, e.value(e.fields[k]));
                    out += '"';
                } else {
                    appendJsonString(out, e.value(e.fields[k]));
                }
            };
            if (count == 1) {
                emitValue(i);
            } else {
                out += '[';
                bool firstValue = true;
                for (size_t k = i; k < n; ++k) {
                    if (bool(binary[k]) != wantBinary || e.name(e.fields[k]) != nm)
                        continue;
                    if (!firstValue)
                        out += ',';
                    firstValue = false;
                    emitValue(k);
                }
                out += ']';
            }
        }
    };

    out += "{\"";
    out += w::kEntryFields;
    out += "\":{";
    emitGroup(false);
    out += '}';
    if (anyBinary) {
        out += ",\"";
        out += w::kEntryFieldsB64;
        out += "\":{";
        emitGroup(true);
        out += '}';
    }
    out += ",\"";
    out += w::kEntryCursor;
    out += "\":";
    appendJsonString(out, e.cursor);
    out += ",\"";
    out += w::kEntryMonotonic;
    out += "\":";
    appendNumber(out, e.monotonic);
    out += ",\"";
    out += w::kEntryRealtime;
    out += "\":";
    appendNumber(out, e.realtime);
    out += '}';
}

void appendText(std::string& out, const EntryData& e) {
    std::string_view ident = e.find(w::kFieldSyslogIdentifier);
    if (ident.empty())
        ident = e.find("_COMM");
    if (ident.empty())
        ident = "unknown";
    std::string_view pid = e.find(w::kFieldPid);
    std::string_view message = e.find(w::kFieldMessage);
    const size_t lineStart = out.size();
    text::appendRfc3339Micros(out, e.realtime);
    out += ' ';
    out.append(ident);
    if (!pid.empty()) {
        out += '[';
        out.append(pid);
        out += ']';
    }
    out += ": ";
    const size_t indent = out.size() - lineStart;
    // Continuation lines of a multi-line message are indented under the first, as journalctl does.
    size_t pos = 0;
    while (true) {
        size_t nl = message.find('\n', pos);
        if (nl == std::string_view::npos) {
            out.append(message.substr(pos));
            break;
        }
        out.append(message.substr(pos, nl - pos));
        out += '\n';
        out.append(indent, ' ');
        pos = nl + 1;
    }
    out += '\n';
}

} // namespace

void appendEntry(std::string& out, const EntryData& e, Format format) {
    switch (format) {
    case Format::Text:
        appendText(out, e);
        break;
    case Format::Json:
        appendJsonObject(out, e);
        out += '\n';
        break;
    case Format::Sse:
        out += "id: ";
        out += e.cursor;
        out += "\ndata: ";
        appendJsonObject(out, e);
        out += "\n\n";
        break;
    }
}

} // namespace day2::logs
