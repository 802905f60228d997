// Reads the entries a logs query asks for, batch by batch: positioning (cursor, skips, since,
// tail), direction, limit, time bounds and grep; and, for a stream, reopening after journald
// rotated or vacuumed files without a gap or a duplicate.
#pragma once

#include "base/result.h"
#include "logs/entry_formatter.h"
#include "logs/journal.h"
#include "logs/log_query.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace day2::logs {

class LogReader {
public:
    LogReader(JournalSource source, LogQuery query, LogMode mode, Format format);

    // Opens the journal, applies the matches and seeks. For a stream, `resumeAfter` (the
    // Last-Event-ID) wins over the query's position: reading resumes right after that entry.
    Result<void> start(const std::string& resumeAfter = {});

    // How a stream resumed after Last-Event-ID: `Exact` when the journal still has that entry
    // (nothing was missed), `Gap` when it is gone (vacuumed, or the journal was replaced): then
    // `mayBeMissing` is how many journal entries lay between it and the first one sent, when
    // the cursors tell (an upper bound: not all of them need have matched the query).
    struct Resume {
        enum Kind { None, Exact, Gap } kind = None;
        std::optional<uint64_t> mayBeMissing;
    };
    const Resume& resume() const { return m_resume; }
    // Journal entries strictly between two cursors, from their sequence numbers; none when
    // the cursors come from different sequences or are not in order.
    static std::optional<uint64_t> entriesBetween(std::string_view before, std::string_view after);

    // A stream that starts from now: the journal's last entry when it started, after which
    // everything is new ("" for an empty journal or another start). Sent as the first SSE id,
    // so that a client cut off before any entry arrived resumes from there.
    const std::string& tailAnchor() const { return m_tailAnchor; }

    uint64_t skippedNext() const { return m_skippedNext; }
    uint64_t skippedPrev() const { return m_skippedPrev; }

    enum class Status {
        Full,  // `out` reached the size asked for; call again
        Idle,  // nothing more for now (stream: wait for the journal to change)
        End,   // the read is complete (limit, until, end of a range)
        Failed // a journal error; error() says which
    };
    // Appends formatted entries to `out` until it holds at least `targetBytes`.
    Status read(std::string& out, size_t targetBytes);
    // The same, looking at no more than `maxSteps` journal entries (counted in `steps`, emitted
    // or not), recording where each emitted entry ends in `out` when `ends` is given. The
    // parallel range reader cuts the journal into chunks of a fixed number of entries with it.
    Status readSteps(std::string& out, size_t targetBytes, size_t maxSteps,
                     std::vector<uint32_t>* ends, size_t& steps);
    // Moves past `n` journal entries without reading them; returns how many there were.
    uint64_t skipEntries(uint64_t n);
    // The cursor of the entry the next read() starts with, or empty when there is none.
    std::string pendingCursor() const;
    const std::string& error() const { return m_error; }
    uint64_t emitted() const { return m_emitted; }

    // After journald added or removed files: reopen and continue after the last entry read.
    Result<void> reopen();
    // Closes the journal (its files stay unmapped) but keeps the position; the next read()
    // reopens it. An idle follower costs a cursor, not a set of mapped journal files.
    void suspend();
    bool suspended() const { return !m_journal.get(); }

private:
    int step();
    Result<void> anchorAtEnd();
    Result<void> resumeAfter(const std::string& cursor);
    Result<void> openJournal();

    JournalSource m_source;
    LogQuery m_query;
    LogMode m_mode;
    Format m_format;
    Journal m_journal;
    EntryData m_entry;
    std::string m_anchorCursor; // the cursor the read started from, if any
    std::string m_tailAnchor;
    std::string m_error;
    uint64_t m_skippedNext = 0;
    uint64_t m_skippedPrev = 0;
    uint64_t m_emitted = 0;
    Resume m_resume;
    bool m_pending = false; // the journal sits on an entry not yet looked at
    bool m_started = false; // the journal has a current entry at all
    bool m_reverse = false;
    bool m_done = false;
};

} // namespace day2::logs
