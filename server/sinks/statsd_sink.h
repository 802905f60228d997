// The StatsD sink (docs/api.md, Metrics, Sinks): every datapoint of every source, once an interval,
// as a gauge to a StatsD or DogStatsD server over UDP.
//
// Lines:
//   dogstatsd  name:value|g|#k:v,k:v   the identity tags (in the order given) then the point's
//                                      own (one whose key is an identity tag's is left out);
//                                      no `|#` without tags, a tag without a value as `k`.
//   plain      <agent_id>.<container_id>.name.k_v.k_v:value|g
//                                      the ids present in the identity (a node's message has no
//                                      container_id), then the name, then each of the point's
//                                      tags as one `.key_value` segment; no other identity tag.
// Sanitized: in names, tag keys and values, the characters a StatsD line cannot carry there
// ('|', ':', ',', '#', '@', space, tab, CR, LF) become '_'; a DogStatsD tag value keeps its ':'
// (DogStatsD splits a tag at its first ':', as in image:redis:7). In plain form, '.' inside an
// id, a tag key or a tag value becomes '_' too, so that each is one segment of the name.
// Values: the shortest text that reads back as the same double. A negative value is written as
// `name:0|g` then `name:-v|g` in the same datagram, since StatsD reads a signed gauge as a delta.
// NaN and infinities are left out and counted (`skipped`).
//
// Datagrams: lines joined by '\n', each datagram at most mtu bytes of payload; a line longer
// than that goes alone, whole. Sent without blocking (MSG_DONTWAIT) on a connected UDP socket; a
// datagram the kernel does not take (EAGAIN, ENOBUFS, ECONNREFUSED: nothing listens, as told by
// an earlier datagram's ICMP; any other error) is dropped and counted.
#pragma once

#include "base/result.h"
#include "metrics/datapoint.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace day2::sinks {

struct StatsdSinkOptions {
    std::string address;              // "host:port": IPv4 "127.0.0.1:8125" or IPv6 "[::1]:8125"
    std::string format = "dogstatsd"; // or "plain"
    size_t mtu = 1432;                // payload bytes a datagram (64 to 65507)
};

struct StatsdSinkStats {
    uint64_t datagramsSent = 0;
    uint64_t linesSent = 0;
    uint64_t dropped = 0;      // datagrams the kernel refused
    uint64_t linesDropped = 0; // the lines in them
    uint64_t skipped = 0;      // datapoints with a NaN or infinite value
    std::string lastError;     // why the last datagram was dropped
};

class StatsdSink {
public:
    enum class Format { DogStatsd, Plain };

    // Errors say which setting and why. An address is an IP address; a host name is not resolved.
    static Result<std::unique_ptr<StatsdSink>> create(const StatsdSinkOptions& options);
    ~StatsdSink();
    StatsdSink(const StatsdSink&) = delete;
    StatsdSink& operator=(const StatsdSink&) = delete;

    // Sends every datapoint of one source's batch; never blocks.
    void send(const metrics::Batch& batch, const metrics::Tags& identity);
    const StatsdSinkStats& stats() const { return m_stats; }

private:
    StatsdSink(int fd, Format format, size_t mtu);
    void appendLines(const metrics::Datapoint& point, const metrics::Tags& identity);
    void pack();
    void flush();

    int m_fd;
    Format m_format;
    size_t m_mtu;
    std::string m_prefix;   // the source's: plain, the ids each followed by '.'; dogstatsd, tags
    std::string m_nameTags; // the line's text before ':' (plain) or its tag section (dogstatsd)
    std::string m_entry;    // the line being packed
    std::string m_datagram;
    size_t m_datagramLines = 0;
    int m_lastErrno = 0; // of the last dropped datagram, logged once until another error
    StatsdSinkStats m_stats;
};

} // namespace day2::sinks
