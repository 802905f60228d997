#include "logs/journal.h"

#include "day2/wire/wire.h"

#include <systemd/sd-journal.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace day2::logs {

std::string JournalSource::describe() const {
    if (!directory.empty())
        return "journal directory " + directory;
    if (!nameSpace.empty())
        return "journal namespace " + nameSpace;
    return "system journal";
}

std::string cursorOf(sd_journal* j) {
    std::string out;
    char* c = nullptr;
    if (j && sd_journal_get_cursor(j, &c) >= 0) {
        out = c;
        std::free(c);
    }
    return out;
}

Result<Journal> Journal::open(const JournalSource& source) {
    sd_journal* j = nullptr;
    int r;
    if (!source.directory.empty())
        r = sd_journal_open_directory(&j, source.directory.c_str(), 0);
    else if (!source.nameSpace.empty())
        r = sd_journal_open_namespace(&j, source.nameSpace.c_str(), 0);
    else
        r = sd_journal_open(&j, 0);
    if (r < 0)
        return Error{"cannot open the " + source.describe() + ": " + std::strerror(-r)};
    // Whole field values, however large (the default threshold cuts them at 64 KiB).
    sd_journal_set_data_threshold(j, 0);
    return Journal(j);
}

Journal::Journal(Journal&& other) noexcept : m_j(std::exchange(other.m_j, nullptr)) {}

Journal& Journal::operator=(Journal&& other) noexcept {
    if (this != &other) {
        if (m_j)
            sd_journal_close(m_j);
        m_j = std::exchange(other.m_j, nullptr);
    }
    return *this;
}

Journal::~Journal() {
    if (m_j)
        sd_journal_close(m_j);
}

namespace {
Result<void> addMatch(sd_journal* j, std::string_view field, std::string_view value) {
    std::string m;
    m.reserve(field.size() + 1 + value.size());
    m.append(field).append("=").append(value);
    int r = sd_journal_add_match(j, m.data(), m.size());
    if (r < 0)
        return Error{"journald refused the match " + std::string(field) + ": " + std::strerror(-r)};
    return {};
}
} // namespace

Result<void> Journal::addMatches(const LogQuery& q) {
    // sd-journal's expression: AND of groups (add_conjunction), each an OR of terms
    // (add_disjunction), each an AND of fields where one field given twice is ORed.
    sd_journal_flush_matches(m_j);
    bool groupOpen = false;
    auto nextGroup = [&] {
        if (groupOpen)
            sd_journal_add_conjunction(m_j);
        groupOpen = true;
    };
    if (!q.filters.empty()) {
        nextGroup();
        for (const auto& f : q.filters)
            if (auto r = addMatch(m_j, f.field, f.value); !r)
                return r;
    }
    if (!q.taskMatches.empty()) {
        nextGroup();
        for (const auto& f : q.taskMatches)
            if (auto r = addMatch(m_j, f.field, f.value); !r)
                return r;
    }
    if (!q.unit.empty()) {
        nextGroup();
        if (auto r = addMatch(m_j, wire::kFieldSystemdUnit, q.unit); !r)
            return r;
        sd_journal_add_disjunction(m_j);
        if (auto r = addMatch(m_j, wire::kFieldUnit, q.unit); !r)
            return r;
    }
    if (q.priority) {
        nextGroup();
        for (int p = 0; p <= *q.priority; ++p)
            if (auto r = addMatch(m_j, wire::kFieldPriority, std::to_string(p)); !r)
                return r;
    }
    return {};
}

} // namespace day2::logs
