#include "auth/audit_log.h"

#include "base/log.h"
#include "logs/journal_writer.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace day2::auth {

AuditLog::AuditLog(std::string journalSocket) : m_socket(std::move(journalSocket)) {
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

AuditLog::~AuditLog() {
    if (m_fd >= 0)
        ::close(m_fd);
}

void AuditLog::record(const AuditEvent& e) {
    std::string payload;
    using logs::JournalWriter;
    const std::string message = "audit: " + e.result + " " + (e.action.empty() ? "-" : e.action) +
                                " on " + (e.resource.empty() ? "-" : e.resource) + " by uid " +
                                (e.uid.empty() ? "-" : e.uid) + " from " + e.source +
                                (e.via.empty() ? "" : " via " + e.via) +
                                (e.detail.empty() ? "" : ": " + e.detail);
    JournalWriter::appendField(payload, "MESSAGE", message);
    JournalWriter::appendField(payload, "PRIORITY", e.result == "allowed" ? "6" : "4");
    JournalWriter::appendField(payload, "SYSLOG_IDENTIFIER", "day2-agent");
    JournalWriter::appendField(payload, "DAY2_AUDIT", "1");
    JournalWriter::appendField(payload, "DAY2_AUDIT_UID", e.uid.empty() ? "-" : e.uid);
    JournalWriter::appendField(payload, "DAY2_AUDIT_RESOURCE",
                               e.resource.empty() ? "-" : e.resource);
    JournalWriter::appendField(payload, "DAY2_AUDIT_ACTION", e.action.empty() ? "-" : e.action);
    JournalWriter::appendField(payload, "DAY2_AUDIT_RESULT", e.result);
    JournalWriter::appendField(payload, "DAY2_AUDIT_SOURCE", e.source);
    if (!e.via.empty())
        JournalWriter::appendField(payload, "DAY2_AUDIT_VIA", e.via);
    for (const auto& [name, value] : e.fields)
        JournalWriter::appendField(payload, name, value);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (m_fd < 0 || m_socket.size() >= sizeof addr.sun_path) {
        ++m_dropped;
        return;
    }
    std::memcpy(addr.sun_path, m_socket.c_str(), m_socket.size() + 1);
    if (::sendto(m_fd, payload.data(), payload.size(), MSG_NOSIGNAL,
                 reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        ++m_dropped;
        // Said once, then every 1,000th time: a flood of refusals must not flood the log too.
        if (m_dropped == 1 || m_dropped % 1000 == 0)
            log::warning("audit line dropped (", std::strerror(errno), "; ", m_dropped,
                         " dropped so far): ", message);
    }
}

} // namespace day2::auth
