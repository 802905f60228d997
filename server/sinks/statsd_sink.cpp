#include "sinks/statsd_sink.h"

#include "base/log.h"

#include <day2/wire/wire.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

namespace day2::sinks {

namespace {

constexpr char kWho[] = "StatsD sink: ";
constexpr size_t kMinMtu = 64;
constexpr size_t kMaxMtu = 65507; // the largest UDP payload over IPv4

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

Result<Address> parseAddress(const std::string& text) {
    auto bad = [&](std::string_view why) {
        return Error{std::string(kWho) + "address \"" + text + "\": " + std::string(why)};
    };
    std::string host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string::npos)
            return bad("an IPv6 address needs its closing ']', as in [::1]:8125");
        host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':')
            return bad("no port: host:port, as in [::1]:8125");
        port = std::string_view(text).substr(close + 2);
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string::npos)
            return bad("no port: host:port, as in 127.0.0.1:8125");
        host = text.substr(0, colon);
        if (host.find(':') != std::string::npos)
            return bad("an IPv6 address goes in brackets, as in [::1]:8125");
        port = std::string_view(text).substr(colon + 1);
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535)
        return bad("the port must be a number from 1 to 65535");

    Address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(value));
        a.length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(value));
        a.length = sizeof(sockaddr_in6);
    } else {
        return bad("\"" + host + "\" is not an IPv4 or IPv6 address (host names are not resolved)");
    }
    return a;
}

// What a StatsD line cannot carry inside a name, a tag key or a tag value.
bool forbidden(char c) {
    switch (c) {
    case '|':
    case ':':
    case ',':
    case '#':
    case '@':
    case ' ':
    case '\t':
    case '\r':
    case '\n':
        return true;
    default:
        return false;
    }
}

enum class Part { Name, TagKey, TagValue, Segment };

void appendSanitized(std::string& out, std::string_view text, Part part) {
    for (char c : text) {
        const bool replace = part == Part::TagValue  ? c != ':' && forbidden(c)
                             : part == Part::Segment ? c == '.' || forbidden(c)
                                                     : forbidden(c);
        out += replace ? '_' : c;
    }
}

void appendValue(std::string& out, double value) {
    if (value == 0) { // and -0
        out += '0';
        return;
    }
    char text[32];
    const auto r = std::to_chars(text, text + sizeof text, value);
    out.append(text, r.ptr);
}

const std::string* findTag(const metrics::Tags& tags, std::string_view key) {
    for (const auto& [k, v] : tags)
        if (k == key)
            return &v;
    return nullptr;
}

} // namespace

Result<std::unique_ptr<StatsdSink>> StatsdSink::create(const StatsdSinkOptions& options) {
    Format format;
    if (options.format == "dogstatsd")
        format = Format::DogStatsd;
    else if (options.format == "plain")
        format = Format::Plain;
    else
        return Error{std::string(kWho) + "format \"" + options.format +
                     "\": must be dogstatsd or plain"};
    if (options.mtu < kMinMtu || options.mtu > kMaxMtu)
        return Error{std::string(kWho) + "mtu " + std::to_string(options.mtu) + ": must be from " +
                     std::to_string(kMinMtu) + " to " + std::to_string(kMaxMtu) + " bytes"};
    auto address = parseAddress(options.address);
    if (!address)
        return address.error();

    const int fd =
        ::socket(address->storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error{std::string(kWho) + "socket: " + std::strerror(errno)};
    // Connected: the kernel then tells of an unreachable port (ECONNREFUSED) at a later send.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address->storage), address->length) != 0) {
        const int err = errno;
        ::close(fd);
        return Error{std::string(kWho) + "address \"" + options.address +
                     "\": " + std::strerror(err)};
    }
    return std::unique_ptr<StatsdSink>(new StatsdSink(fd, format, options.mtu));
}

StatsdSink::StatsdSink(int fd, Format format, size_t mtu) : m_fd(fd), m_format(format), m_mtu(mtu) {
    m_datagram.reserve(mtu);
}

StatsdSink::~StatsdSink() {
    ::close(m_fd);
}

void StatsdSink::send(const metrics::Batch& batch, const metrics::Tags& identity) {
    // What every line of this source shares: the ids in front of the name (plain), the identity
    // tags (dogstatsd).
    m_prefix.clear();
    if (m_format == Format::Plain) {
        for (std::string_view id : {wire::kTagAgentId, wire::kTagContainerId}) {
            const std::string* value = findTag(identity, id);
            if (value && !value->empty()) {
                appendSanitized(m_prefix, *value, Part::Segment);
                m_prefix += '.';
            }
        }
    } else {
        for (const auto& [k, v] : identity) {
            if (v.empty())
                continue;
            m_prefix += m_prefix.empty() ? "" : ",";
            appendSanitized(m_prefix, k, Part::TagKey);
            m_prefix += ':';
            appendSanitized(m_prefix, v, Part::TagValue);
        }
    }

    for (const metrics::Datapoint& point : batch.points) {
        if (!std::isfinite(point.value)) {
            ++m_stats.skipped;
            continue;
        }
        appendLines(point, identity);
    }
    flush();
}

void StatsdSink::appendLines(const metrics::Datapoint& point, const metrics::Tags& identity) {
    // m_nameTags: plain, the whole name; dogstatsd, the tag section ("|#..." or nothing).
    m_nameTags.clear();
    if (m_format == Format::Plain) {
        m_nameTags = m_prefix;
        appendSanitized(m_nameTags, point.name, Part::Name);
        for (const auto& [k, v] : point.tags) {
            m_nameTags += '.';
            appendSanitized(m_nameTags, k, Part::Segment);
            m_nameTags += '_';
            appendSanitized(m_nameTags, v, Part::Segment);
        }
    } else {
        m_nameTags = m_prefix;
        for (const auto& [k, v] : point.tags) {
            if (findTag(identity, k))
                continue; // the agent's identity wins, and a tag is never there twice
            m_nameTags += m_nameTags.empty() ? "" : ",";
            appendSanitized(m_nameTags, k, Part::TagKey);
            if (!v.empty()) {
                m_nameTags += ':';
                appendSanitized(m_nameTags, v, Part::TagValue);
            }
        }
        if (!m_nameTags.empty())
            m_nameTags.insert(0, "|#");
    }

    auto line = [&](double value) {
        m_entry.clear();
        if (m_format == Format::Plain) {
            m_entry += m_nameTags;
        } else {
            appendSanitized(m_entry, point.name, Part::Name);
        }
        m_entry += ':';
        appendValue(m_entry, value);
        m_entry += "|g";
        if (m_format == Format::DogStatsd)
            m_entry += m_nameTags;
        pack();
    };
    if (point.value < 0)
        line(0); // StatsD reads "-5|g" as "down by 5": set 0 first
    line(point.value);
}

void StatsdSink::pack() {
    if (!m_datagram.empty() && m_datagram.size() + 1 + m_entry.size() > m_mtu)
        flush();
    if (!m_datagram.empty())
        m_datagram += '\n';
    m_datagram += m_entry;
    ++m_datagramLines;
    if (m_datagram.size() >= m_mtu) // full, or one line longer than the MTU: alone, whole
        flush();
}

void StatsdSink::flush() {
    if (m_datagram.empty())
        return;
    if (::send(m_fd, m_datagram.data(), m_datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
        ++m_stats.datagramsSent;
        m_stats.linesSent += m_datagramLines;
    } else {
        const int err = errno;
        ++m_stats.dropped;
        m_stats.linesDropped += m_datagramLines;
        m_stats.lastError = std::strerror(err);
        // EAGAIN and ENOBUFS: the kernel's buffer is full; ECONNREFUSED: nothing listens there.
        if (err != m_lastErrno)
            log::warning(kWho, "a datagram of ", m_datagramLines, " line(s) was dropped (",
                         m_stats.lastError,
                         "); counted from now on, logged again for another error");
        m_lastErrno = err;
    }
    m_datagram.clear();
    m_datagramLines = 0;
}

} // namespace day2::sinks
