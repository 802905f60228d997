#include "logs/log_reader.h"

#include "base/log.h"
#include "day2/wire/wire.h"
#include "logs/grep.h"

#include <systemd/sd-journal.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace day2::logs {

LogReader::LogReader(JournalSource source, LogQuery query, LogMode mode, Format format)
    : m_source(std::move(source)), m_query(std::move(query)), m_mode(mode), m_format(format) {
    m_reverse = m_mode == LogMode::Range && m_query.readReverse;
}

Result<void> LogReader::openJournal() {
    auto j = Journal::open(m_source);
    if (!j)
        return j.error();
    if (auto r = j->addMatches(m_query); !r)
        return r;
    m_journal = std::move(*j);
    return {};
}

namespace {

// The "s=" (seqnum id) and "i=" (seqnum, hex) parts of a journald cursor.
std::optional<std::pair<std::string_view, uint64_t>> seqnumOf(std::string_view cursor) {
    const auto id = cursorPart(cursor, 's');
    const auto hex = cursorPart(cursor, 'i');
    if (!id || id->empty() || !hex || hex->empty())
        return std::nullopt;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(hex->data(), hex->data() + hex->size(), v, 16);
    if (ec != std::errc() || end != hex->data() + hex->size())
        return std::nullopt;
    return std::make_pair(*id, v);
}

} // namespace

std::optional<uint64_t> LogReader::entriesBetween(std::string_view before, std::string_view after) {
    auto a = seqnumOf(before), b = seqnumOf(after);
    if (!a || !b || a->first != b->first || b->second <= a->second)
        return std::nullopt;
    return b->second - a->second - 1;
}

int LogReader::step() {
    return m_reverse ? sd_journal_previous(m_journal.get()) : sd_journal_next(m_journal.get());
}

Result<void> LogReader::start(const std::string& resumeAfter) {
    if (auto r = openJournal(); !r)
        return r;
    sd_journal* j = m_journal.get();
    auto fail = [&](const char* what, int r) {
        return Error{std::string(what) + ": " + std::strerror(-r)};
    };
    int r = 0;
    const std::string& cursor = !resumeAfter.empty() ? resumeAfter : m_query.cursor;
    m_anchorCursor = cursor;
    bool fromTail = false;
    if (!cursor.empty()) {
        if ((r = sd_journal_seek_cursor(j, cursor.c_str())) < 0)
            return Error{
                "the cursor is not valid for this journal: " + std::string(std::strerror(-r)), 400};
        r = step();
        if (r < 0)
            return fail("reading the journal", r);
        m_pending = m_started = r > 0;
        // Last-Event-ID: the client has that entry; resume with the one after it. (If it was
        // vacuumed, seek landed on the next entry, which the client has not seen.)
        if (!resumeAfter.empty()) {
            if (m_pending && sd_journal_test_cursor(j, cursor.c_str()) > 0) {
                m_pending = false;
                m_resume = Resume{Resume::Exact, std::nullopt};
            } else {
                m_resume = Resume{Resume::Gap, entriesBetween(cursor, pendingCursor())};
            }
        }
    } else if (m_query.since && !m_reverse) {
        if ((r = sd_journal_seek_realtime_usec(j, *m_query.since)) < 0)
            return fail("seeking to 'since'", r);
        r = step();
        if (r < 0)
            return fail("reading the journal", r);
        m_pending = m_started = r > 0;
    } else if (m_query.until && m_reverse) {
        if ((r = sd_journal_seek_realtime_usec(j, *m_query.until + 1)) < 0)
            return fail("seeking to 'until'", r);
        r = step();
        if (r < 0)
            return fail("reading the journal", r);
        m_pending = m_started = r > 0;
    } else if (m_reverse || m_query.skipPrev > 0 || m_mode == LogMode::Stream) {
        fromTail = true;
        if ((r = sd_journal_seek_tail(j)) < 0)
            return fail("seeking to the tail", r);
        if (m_query.skipPrev > 0) {
            // From the tail, skip_prev=N lands on the N-th entry from the end: "the last N".
            r = sd_journal_previous_skip(j, m_query.skipPrev);
            if (r < 0)
                return fail("skipping back", r);
            m_skippedPrev = static_cast<uint64_t>(r);
            m_pending = m_started = r > 0;
            if (r == 0 && m_mode == LogMode::Stream)
                if (auto a = anchorAtEnd(); !a)
                    return a;
        } else if (m_reverse) {
            r = step();
            if (r < 0)
                return fail("reading the journal", r);
            m_pending = m_started = r > 0;
        } else {
            // A stream from "now".
            if (auto a = anchorAtEnd(); !a)
                return a;
        }
    } else {
        if ((r = sd_journal_seek_head(j)) < 0)
            return fail("seeking to the head", r);
        r = step();
        if (r < 0)
            return fail("reading the journal", r);
        m_pending = m_started = r > 0;
    }

    // A resumed stream continues exactly after Last-Event-ID: the query's skips applied when it
    // first started.
    const bool resuming = !resumeAfter.empty();
    if (m_query.skipNext > 0 && m_pending && !resuming) {
        r = sd_journal_next_skip(j, m_query.skipNext);
        if (r < 0)
            return fail("skipping forward", r);
        m_skippedNext = static_cast<uint64_t>(r);
        // Fewer than asked: the journal ended inside the skipped range, and the entry it
        // stopped on (the last one) is skipped too.
        if (static_cast<uint64_t>(r) < m_query.skipNext) {
            m_pending = false;
            ++m_skippedNext;
        }
    }
    if (m_query.skipPrev > 0 && !fromTail && m_pending && !resuming) {
        r = sd_journal_previous_skip(j, m_query.skipPrev);
        if (r < 0)
            return fail("skipping back", r);
        m_skippedPrev = static_cast<uint64_t>(r);
        // Reading backwards, skipping back is skipping ahead: fewer than asked means the
        // journal's first entry was reached inside the skipped range, and it is skipped too
        // (as skip_next does at the end).
        if (m_reverse && static_cast<uint64_t>(r) < m_query.skipPrev) {
            m_pending = false;
            ++m_skippedPrev;
        }
    }
    if (m_mode == LogMode::Range && !m_pending)
        m_done = true;
    return {};
}

Result<void> LogReader::anchorAtEnd() {
    // sd-journal resolves a bare "tail" position lazily, at the next sd_journal_next(): entries
    // appended in between would be skipped. Pin the position to the journal's last entry,
    // whatever the matches, so that everything after it is read.
    sd_journal* j = m_journal.get();
    sd_journal_flush_matches(j);
    std::string anchor;
    if (sd_journal_seek_tail(j) >= 0 && sd_journal_previous(j) > 0)
        anchor = cursorOf(j);
    m_tailAnchor = anchor;
    if (auto r = m_journal.addMatches(m_query); !r)
        return r;
    m_pending = false;
    m_started = false;
    if (anchor.empty()) {
        sd_journal_seek_head(j); // an empty journal: everything to come is new
        return {};
    }
    return resumeAfter(anchor);
}

LogReader::Status LogReader::read(std::string& out, size_t targetBytes) {
    size_t steps = 0;
    return readSteps(out, targetBytes, SIZE_MAX, nullptr, steps);
}

uint64_t LogReader::skipEntries(uint64_t n) {
    if (n == 0 || m_done || !m_journal.get())
        return 0;
    uint64_t moved = 0;
    if (m_pending) {
        m_pending = false;
        moved = 1;
    }
    if (moved < n) {
        const auto rest = n - moved;
        int r = m_reverse ? sd_journal_previous_skip(m_journal.get(), rest)
                          : sd_journal_next_skip(m_journal.get(), rest);
        if (r > 0) {
            moved += static_cast<uint64_t>(r);
            m_started = true;
        }
    }
    return moved;
}

LogReader::Status LogReader::readSteps(std::string& out, size_t targetBytes, size_t maxSteps,
                                       std::vector<uint32_t>* ends, size_t& steps) {
    if (m_done)
        return Status::End;
    if (!m_journal.get()) {
        if (auto r = reopen(); !r) {
            m_error = r.error().message;
            return Status::Failed;
        }
    }
    sd_journal* j = m_journal.get();
    const bool needCursor = m_format != Format::Text || m_mode == LogMode::Stream;
    while (out.size() < targetBytes) {
        if (m_query.limit && m_emitted >= *m_query.limit) {
            m_done = true;
            return Status::End;
        }
        if (steps >= maxSteps)
            return Status::Full;
        ++steps;
        if (!m_pending) {
            int r = step();
            if (r < 0) {
                m_error = std::string("reading the journal: ") + std::strerror(-r);
                return Status::Failed;
            }
            if (r == 0) {
                if (m_mode == LogMode::Range) {
                    m_done = true;
                    return Status::End;
                }
                return Status::Idle;
            }
            m_started = true;
        }
        m_pending = false;
        uint64_t realtime = 0;
        if (m_query.since || m_query.until) {
            if (sd_journal_get_realtime_usec(j, &realtime) < 0)
                continue;
            const bool beforeSince = m_query.since && realtime < *m_query.since;
            const bool afterUntil = m_query.until && realtime > *m_query.until;
            if ((!m_reverse && afterUntil) || (m_reverse && beforeSince)) {
                m_done = true;
                return Status::End;
            }
            if (beforeSince || afterUntil)
                continue;
        }
        if (m_query.grep) {
            const void* data;
            size_t len;
            if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0)
                continue;
            std::string_view msg(static_cast<const char*>(data) + 8, len - 8);
            if (!m_query.grep->matches(msg))
                continue;
        }
        int r = readEntry(j, m_entry, needCursor);
        if (r < 0) {
            m_error = std::string("reading an entry: ") + std::strerror(-r);
            return Status::Failed;
        }
        appendEntry(out, m_entry, m_format);
        if (ends)
            ends->push_back(static_cast<uint32_t>(out.size()));
        ++m_emitted;
    }
    return Status::Full;
}

std::string LogReader::pendingCursor() const {
    return m_pending && !m_done ? cursorOf(m_journal.get()) : std::string();
}

void LogReader::suspend() {
    if (!m_journal.get())
        return;
    if (m_started)
        if (auto c = cursorOf(m_journal.get()); !c.empty())
            m_anchorCursor = std::move(c);
    m_journal = Journal();
    m_started = false;
    m_pending = false;
    log::debug("follower released its journal at ",
               m_anchorCursor.empty() ? "(head)" : m_anchorCursor);
}

Result<void> LogReader::reopen() {
    std::string cursor = m_anchorCursor;
    if (m_started && m_journal.get())
        if (auto c = cursorOf(m_journal.get()); !c.empty())
            cursor = std::move(c);
    if (auto r = openJournal(); !r)
        return r;
    sd_journal* j = m_journal.get();
    m_started = false;
    if (cursor.empty()) {
        // Nothing matched before and there was no cursor: everything that matches now is new.
        sd_journal_seek_head(j);
        m_pending = false;
        return {};
    }
    return resumeAfter(cursor);
}

Result<void> LogReader::resumeAfter(const std::string& cursor) {
    // Sits on the first entry after `cursor`: if the journal still has the cursor's entry (and
    // it matches), it is skipped; if not (vacuumed, or it never matched), whatever seek landed
    // on comes after it and is read next.
    sd_journal* j = m_journal.get();
    m_anchorCursor = cursor;
    int r = sd_journal_seek_cursor(j, cursor.c_str());
    if (r < 0)
        return Error{std::string("seeking to ") + cursor + ": " + std::strerror(-r)};
    r = sd_journal_next(j);
    if (r < 0)
        return Error{std::string("reading the journal: ") + std::strerror(-r)};
    m_started = r > 0;
    m_pending = r > 0 && sd_journal_test_cursor(j, cursor.c_str()) <= 0;
    return {};
}

} // namespace day2::logs
