// The Logs section of docs/api.md: range, stream, per-task paths, download and fields, served from
// journald. Handlers are Asio coroutines on the agent's io_context.
#pragma once

#include "base/result.h"
#include "http/response.h"
#include "http/stream_stop.h"
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

using StreamStop = http::StreamStop;

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
