// Audit lines in journald (docs/security.md): each refused request and each exec session, with
// DAY2_AUDIT=1 and the uid, resource, action, result and source address (and the proxy it came
// through). Sent without blocking:
// when journald's socket is full the line is dropped and counted, never queued without bound.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace day2::auth {

struct AuditEvent {
    std::string uid;      // "-" when unauthenticated
    std::string resource; // "-" when none applies
    std::string action;
    std::string result; // "unauthenticated", "denied", "allowed", ...
    std::string source; // the client's address
    std::string detail; // why, for a person
    // More journald fields, e.g. an exec session's DAY2_EXEC_COMMAND (names as journald takes
    // them: upper case, digits, '_').
    std::vector<std::pair<std::string, std::string>> fields;
    std::string via; // the trusted proxy that forwarded the request (source is then the client)
};

class AuditLog {
public:
    explicit AuditLog(std::string journalSocket);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    void record(const AuditEvent& event);
    uint64_t dropped() const { return m_dropped; }

private:
    std::string m_socket;
    int m_fd = -1;
    uint64_t m_dropped = 0;
};

} // namespace day2::auth
