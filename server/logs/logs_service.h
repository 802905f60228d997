// The Logs section of API.md: range, stream, per-task paths, download and fields, served from
// journald. Handlers are Asio coroutines on the agent's io_context.
#pragma once

#include "base/result.h"
#include "http/response.h"
#include "logs/journal.h"
#include "logs/journal_watcher.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace day2::logs {

struct LogsOptions {
    JournalSource source;
    std::chrono::seconds ssePing{15};
    std::chrono::milliseconds sseRetry{3000};
    JournalWatcher::Options watch;
    // A follower that sent nothing for this long closes its journal until the next change.
    std::chrono::milliseconds followRelease{5000};
    std::string agentId;       // names downloads
    bool parallelRange = true; // large range reads format on two threads
    // For a container this node runs or ran (framework, executor, container): the journald
    // units only its forwarders write as, possibly none; nothing for an unknown container. A
    // per-task path of a known container answers even before its first line, and with units
    // it matches only the entries of those units: a line another process writes with the
    // container's fields is not the container's.
    std::function<std::optional<std::vector<std::string>>(const std::string&, const std::string&,
                                                          const std::string&)>
        containerUnits;
};

// Ends an open stream from outside (the agent's ACL reload took its grant away): the stream
// sends the reason as an SSE comment and ends within a turn of the io thread.
class StreamStop {
public:
    void stop(std::string why) {
        m_reason = std::move(why);
        if (m_wake)
            m_wake();
    }
    const std::string& reason() const { return m_reason; }
    bool stopped() const { return !m_reason.empty(); }
    // Set by the stream while it waits.
    void onStop(std::function<void()> wake) { m_wake = std::move(wake); }

private:
    std::string m_reason;
    std::function<void()> m_wake;
};

class LogsService {
public:
    LogsService(boost::asio::io_context& io, LogsOptions options);
    ~LogsService();

    Result<void> start();
    void stop();
    bool journalHealthy() const;

    // `segments`: the path below /system/v1/logs/v1/, decoded. A stream ends at
    // `authorizedUntil` (the token's end), or when `stop` is told to, with a comment saying why.
    boost::asio::awaitable<void>
    handle(const http::Request& request, const std::vector<std::string>& segments,
           http::ResponseStream& response,
           std::optional<std::chrono::system_clock::time_point> authorizedUntil = {},
           StreamStop* stop = nullptr);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace day2::logs
