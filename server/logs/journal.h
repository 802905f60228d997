// An open sd-journal handle (RAII) for the configured journal: the system journal, a journal
// namespace, or a directory of journal files.
#pragma once

#include "base/result.h"
#include "logs/log_query.h"

#include <string>

struct sd_journal;

namespace day2::logs {

struct JournalSource {
    std::string nameSpace; // empty: the system journal
    std::string directory; // non-empty: read the journal files in this directory instead
    std::string describe() const;
};

// The cursor of the entry `j` sits on, or empty when it sits on none.
std::string cursorOf(sd_journal* j);

class Journal {
public:
    static Result<Journal> open(const JournalSource& source);
    Journal() = default; // holds nothing until assigned from open()
    Journal(Journal&& other) noexcept;
    Journal& operator=(Journal&& other) noexcept;
    ~Journal();

    sd_journal* get() const { return m_j; }
    // The query's filters, task path, unit and priority as journald matches.
    Result<void> addMatches(const LogQuery& query);

private:
    explicit Journal(sd_journal* j) : m_j(j) {}
    sd_journal* m_j = nullptr;
};

} // namespace day2::logs
