#include "logs/logs_service.h"

#include "base/log.h"
#include "base/text.h"
#include "day2/wire/wire.h"
#include "logs/gzip_writer.h"
#include "logs/log_query.h"
#include "logs/log_reader.h"
#include "logs/parallel_range.h"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace day2::logs {

namespace asio = boost::asio;
namespace w = day2::wire;
using http::jsonError;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kRangeBatchBytes = 256 * 1024;
constexpr size_t kStreamBatchBytes = 64 * 1024;
constexpr size_t kFieldsMaxValues = 100000;
// Journal entries one turn of the io thread may look at: a grep that rarely matches must not
// keep every other connection waiting while it walks the journal.
constexpr size_t kStepsPerTurn = 8192;
constexpr size_t kFieldsMaxBytes = 64 * 1024 * 1024;

// Picks the response format from Accept; nullopt when nothing acceptable is offered.
std::optional<Format> negotiate(std::optional<std::string_view> accept) {
    if (!accept || accept->empty())
        return Format::Text;
    std::string_view rest = *accept;
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        item = text::trim(item.substr(0, item.find(';')));
        if (text::iequals(item, w::kMediaEventStream))
            return Format::Sse;
        if (text::iequals(item, w::kMediaJson) || text::iequals(item, "application/x-ndjson"))
            return Format::Json;
        if (text::iequals(item, w::kMediaText) || text::iequals(item, "text/*") ||
            text::iequals(item, "*/*"))
            return Format::Text;
    }
    return std::nullopt;
}

std::string_view contentTypeOf(Format f) {
    switch (f) {
    case Format::Text:
        return "text/plain; charset=utf-8";
    case Format::Json:
        return w::kMediaJson;
    case Format::Sse:
        return w::kMediaEventStream;
    }
    return w::kMediaText;
}

} // namespace

struct LogsService::Impl {
    asio::io_context& io;
    LogsOptions options;
    JournalWatcher watcher;
    bool stopped = false;
    bool parallelBusy = false; // one parallel range at a time; others read on the io thread

    Impl(asio::io_context& ctx, LogsOptions opts)
        : io(ctx), options(std::move(opts)), watcher(ctx, options.source, options.watch) {}

    asio::awaitable<void> serveRead(const http::Request& req, http::ResponseStream& rs,
                                    LogMode mode, std::vector<FieldMatch> task, bool download,
                                    std::optional<std::chrono::system_clock::time_point> until,
                                    StreamStop* stop);
    asio::awaitable<void> follow(LogReader& reader, http::ResponseStream& rs, Format format,
                                 std::optional<std::chrono::system_clock::time_point> until,
                                 StreamStop* stop);
    asio::awaitable<bool> writeParallel(http::ResponseStream& rs, LogQuery query,
                                        std::string startCursor, Format format,
                                        std::optional<uint64_t> limit, GzipWriter* gzip);
    asio::awaitable<void> serveFields(const std::string& field, http::ResponseStream& rs);
    Result<bool> taskHasEntries(const std::vector<FieldMatch>& task);
};

LogsService::LogsService(asio::io_context& io, LogsOptions options)
    : m_impl(std::make_unique<Impl>(io, std::move(options))) {}

LogsService::~LogsService() = default;

Result<void> LogsService::start() {
    return m_impl->watcher.start();
}

void LogsService::stop() {
    m_impl->stopped = true;
    m_impl->watcher.stop();
}

bool LogsService::journalHealthy() const {
    return m_impl->watcher.healthy();
}

asio::awaitable<void>
LogsService::handle(const http::Request& req, const std::vector<std::string>& seg,
                    http::ResponseStream& rs,
                    std::optional<std::chrono::system_clock::time_point> authorizedUntil,
                    StreamStop* stop) {
    if (req.method != "GET" && req.method != "HEAD") {
        co_await rs.send(jsonError(405, "the logs API answers GET only"));
        co_return;
    }
    const size_t n = seg.size();
    if (n >= 1 && (seg[0] == "range" || seg[0] == "stream")) {
        const LogMode mode = seg[0] == "range" ? LogMode::Range : LogMode::Stream;
        bool download = false;
        std::vector<FieldMatch> task;
        size_t i = 1;
        if (n >= i + 6 && seg[i] == "framework" && seg[i + 2] == "executor" &&
            seg[i + 4] == "container") {
            task = {{std::string(w::kFieldFrameworkId), seg[i + 1]},
                    {std::string(w::kFieldExecutorId), seg[i + 3]},
                    {std::string(w::kFieldContainerId), seg[i + 5]}};
            i += 6;
        }
        if (n == i + 1 && seg[i] == "download" && mode == LogMode::Range) {
            download = true;
            ++i;
        }
        if (n == i) {
            co_await m_impl->serveRead(req, rs, mode, std::move(task), download, authorizedUntil,
                                       stop);
            co_return;
        }
    } else if (n == 2 && seg[0] == "fields") {
        co_await m_impl->serveFields(seg[1], rs);
        co_return;
    }
    co_await rs.send(jsonError(
        404, "no such logs endpoint: " + req.path +
                 " (see range/, stream/, range/download, "
                 "{range,stream}/framework/{fw}/executor/{ex}/container/{cid}, fields/{FIELD})"));
}

Result<bool> LogsService::Impl::taskHasEntries(const std::vector<FieldMatch>& task) {
    auto j = Journal::open(options.source);
    if (!j)
        return j.error();
    LogQuery q;
    q.taskMatches = task;
    if (auto r = j->addMatches(q); !r)
        return r.error();
    sd_journal_seek_head(j->get());
    int r = sd_journal_next(j->get());
    if (r < 0)
        return Error{std::string("reading the journal: ") + std::strerror(-r)};
    return r > 0;
}

asio::awaitable<void>
LogsService::Impl::serveRead(const http::Request& req, http::ResponseStream& rs, LogMode mode,
                             std::vector<FieldMatch> task, bool download,
                             std::optional<std::chrono::system_clock::time_point> until,
                             StreamStop* stop) {
    auto params = http::parseQueryString(req.query);
    if (!params) {
        co_await rs.send(jsonError(400, params.error().message));
        co_return;
    }
    auto query = parseLogQuery(*params, mode);
    if (!query) {
        co_await rs.send(jsonError(400, query.error().message));
        co_return;
    }
    auto format = negotiate(req.header("Accept"));
    if (!format || (download && *format == Format::Sse)) {
        co_await rs.send(jsonError(406, "Accept must be text/plain, application/json" +
                                            std::string(download ? "" : " or text/event-stream") +
                                            " (got '" +
                                            std::string(req.header("Accept").value_or("")) + "')"));
        co_return;
    }
    std::string resume;
    if (mode == LogMode::Stream) {
        if (auto id = req.header(w::kHeaderLastEventId); id && !id->empty()) {
            if (!isWellFormedCursor(*id)) {
                co_await rs.send(jsonError(400, "header Last-Event-ID is not a journald cursor"));
                co_return;
            }
            resume = std::string(*id);
        }
    }
    // Only what journald vouches for is a task's line: its forwarder runs as root, so a process
    // of another user that writes the container's fields is not matched (and with log scopes,
    // only the units of the container's own forwarders are).
    if (!task.empty())
        task.push_back({std::string(w::kFieldUid), "0"});
    std::optional<std::vector<std::string>> units;
    if (!task.empty() && options.containerUnits)
        units = options.containerUnits(task[0].value, task[1].value, task[2].value);
    if (units) {
        // Fields of different names are ANDed, the units ORed (journald's match rules).
        for (const auto& unit : *units)
            task.push_back({std::string(w::kFieldSystemdUnit), unit});
        query->taskMatches = std::move(task);
    } else if (!task.empty()) {
        auto has = taskHasEntries(task);
        if (!has) {
            co_await rs.send(jsonError(503, has.error().message));
            co_return;
        }
        if (!*has) {
            co_await rs.send(jsonError(404, "no log entries of container " + task[2].value +
                                                " (framework " + task[0].value + ", executor " +
                                                task[1].value + ") in this node's journal"));
            co_return;
        }
        query->taskMatches = std::move(task);
    }

    const std::optional<uint64_t> limit = query->limit;
    LogQuery parallelQuery;
    const bool parallel = mode == LogMode::Range && req.method != "HEAD" && !parallelBusy &&
                          options.parallelRange &&
                          (!limit || *limit > 4 * ParallelRange::kChunkEntries);
    if (parallel)
        parallelQuery = *query;
    LogReader reader(options.source, std::move(*query), mode, *format);
    if (auto r = reader.start(resume); !r) {
        co_await rs.send(jsonError(r.error().status ? r.error().status : 503, r.error().message));
        co_return;
    }
    http::Headers headers{{std::string(w::kHeaderSkipNext), std::to_string(reader.skippedNext())},
                          {std::string(w::kHeaderSkipPrev), std::to_string(reader.skippedPrev())},
                          {"Cache-Control", "no-cache"}};
    std::string_view contentType = contentTypeOf(*format);
    if (mode == LogMode::Stream) {
        headers.emplace_back(std::string(w::kHeaderAccelBuffering), "no");
        headers.emplace_back(std::string(w::kHeaderPing), std::to_string(options.ssePing.count()));
    }
    if (const auto& resumed = reader.resume(); resumed.kind != LogReader::Resume::None) {
        std::string value = resumed.kind == LogReader::Resume::Exact ? "exact" : "gap";
        if (resumed.mayBeMissing)
            value += "; up-to=" + std::to_string(*resumed.mayBeMissing);
        headers.emplace_back(std::string(w::kHeaderResume), std::move(value));
    }
    std::unique_ptr<GzipWriter> gzip;
    if (download) {
        gzip = std::make_unique<GzipWriter>();
        const std::string name = "day2-" + (options.agentId.empty() ? "agent" : options.agentId) +
                                 "-" +
                                 text::rfc3339Seconds(static_cast<uint64_t>(std::time(nullptr))) +
                                 (*format == Format::Json ? ".json.gz" : ".log.gz");
        headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
        contentType = w::kMediaGzip;
    }
    if (!co_await rs.begin(200, contentType, std::move(headers)))
        co_return;
    if (req.method == "HEAD") {
        co_await rs.end();
        co_return;
    }
    if (mode == LogMode::Stream) {
        co_await follow(reader, rs, *format, until, stop);
        co_return;
    }
    if (parallel) {
        const std::string startCursor = reader.pendingCursor();
        if (!startCursor.empty()) {
            parallelBusy = true;
            bool ok = co_await writeParallel(rs, std::move(parallelQuery), startCursor, *format,
                                             limit, gzip.get());
            parallelBusy = false;
            if (ok)
                co_await rs.end();
            co_return;
        }
    }
    std::string batch;
    std::string compressed;
    batch.reserve(kRangeBatchBytes + 64 * 1024);
    for (;;) {
        batch.clear();
        size_t steps = 0;
        auto status = reader.readSteps(batch, kRangeBatchBytes, kStepsPerTurn, nullptr, steps);
        if (status == LogReader::Status::Failed) {
            // Never end a broken body as if it were complete: drop the connection instead.
            log::error("range read failed: ", reader.error());
            co_return;
        }
        std::string_view out = batch;
        if (gzip) {
            compressed.clear();
            gzip->write(batch, compressed);
            if (status != LogReader::Status::Full)
                gzip->finish(compressed);
            out = compressed;
        }
        if (!out.empty() && !co_await rs.write(out))
            co_return;
        if (status != LogReader::Status::Full)
            break;
        if (out.empty()) {
            co_await asio::post(io, asio::use_awaitable); // let others run
            if (rs.closing())
                co_return;
        }
        if (rs.closing() && stopped)
            co_return; // agent stopping: an unfinished range is not ended as complete
    }
    co_await rs.end();
}

asio::awaitable<bool> LogsService::Impl::writeParallel(http::ResponseStream& rs, LogQuery query,
                                                       std::string startCursor, Format format,
                                                       std::optional<uint64_t> limit,
                                                       GzipWriter* gzip) {
    ParallelRange pr(io, options.source, std::move(query), std::move(startCursor), format);
    pr.start();
    uint64_t emitted = 0;
    std::string compressed;
    for (;;) {
        auto part = co_await pr.next();
        if (!part) {
            log::error("range read failed: ", pr.error());
            co_return false; // dropped, never ended as if complete
        }
        std::string_view data = part->data;
        bool last = part->last;
        if (limit && emitted + part->ends.size() >= *limit) {
            const size_t take = *limit - emitted;
            data = take ? data.substr(0, part->ends[take - 1]) : std::string_view{};
            last = true;
        }
        emitted += part->ends.size();
        if (gzip) {
            compressed.clear();
            gzip->write(data, compressed);
            if (last)
                gzip->finish(compressed);
            data = compressed;
        }
        if (!data.empty() && !co_await rs.write(data))
            co_return false;
        if (last)
            co_return true;
        if (rs.closing() && stopped)
            co_return false;
    }
}

asio::awaitable<void>
LogsService::Impl::follow(LogReader& reader, http::ResponseStream& rs, Format format,
                          std::optional<std::chrono::system_clock::time_point> authorizedUntil,
                          StreamStop* stop) {
    // The token's end on this clock: the stream may not outlive what authorized it.
    std::optional<Clock::time_point> deadline;
    if (authorizedUntil)
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      *authorizedUntil - std::chrono::system_clock::now());
    JournalWatcher::Waiter waiter(watcher);
    rs.onClosing([&waiter] { waiter.wake(); });
    struct StopWake { // the stop wakes this stream while it waits, and forgets it after
        StreamStop* stop;
        ~StopWake() {
            if (stop)
                stop->onStop(nullptr);
        }
    } stopWake{stop};
    if (stop)
        stop->onStop([&waiter] { waiter.wake(); });
    std::string batch;
    if (format == Format::Sse) {
        batch = "retry: " + std::to_string(options.sseRetry.count()) + "\n\n";
        // An id without data: no event, but the client's Last-Event-ID from the start.
        if (!reader.tailAnchor().empty() && reader.emitted() == 0)
            batch += "id: " + reader.tailAnchor() + "\n\n";
        if (!co_await rs.write(batch))
            co_return;
    }
    uint64_t seenInvalidations = watcher.invalidations();
    auto lastWrite = Clock::now();
    auto lastEntry = Clock::now();
    uint64_t emitted = reader.emitted();
    bool changed = true;
    for (;;) {
        if (rs.closing() || stopped)
            break;
        if (deadline && Clock::now() >= *deadline) {
            if (format == Format::Sse &&
                !co_await rs.write(": the token expired: reconnect with a valid one\n\n"))
                co_return;
            break;
        }
        if (stop && stop->stopped()) {
            if (format == Format::Sse && !co_await rs.write(stop->sseComment()))
                co_return;
            break;
        }
        // A suspended reader reopens only when the journal changed (not for a ping), and then
        // stays open for a full release period, so a busy journal does not make it open and
        // close each time.
        if (changed || !reader.suspended()) {
            if (reader.suspended())
                lastEntry = Clock::now();
            LogReader::Status status;
            do {
                batch.clear();
                size_t steps = 0;
                status = reader.readSteps(batch, kStreamBatchBytes, kStepsPerTurn, nullptr, steps);
                if (status == LogReader::Status::Failed) {
                    log::error("stream read failed: ", reader.error());
                    co_return;
                }
                if (!batch.empty()) {
                    if (!co_await rs.write(batch))
                        co_return;
                    lastWrite = Clock::now();
                } else if (status == LogReader::Status::Full) {
                    co_await asio::post(io, asio::use_awaitable); // let others run
                }
                if (reader.emitted() != emitted) {
                    emitted = reader.emitted();
                    lastEntry = Clock::now();
                }
            } while (status == LogReader::Status::Full && !rs.closing() &&
                     !(stop && stop->stopped()));
            if (status == LogReader::Status::End)
                break; // 'until' reached
            if (watcher.invalidations() != seenInvalidations) {
                // Files were added or removed. What the old handle could still read has been
                // sent; continue from the last entry in a fresh view of the journal.
                seenInvalidations = watcher.invalidations();
                if (auto r = reader.reopen(); !r) {
                    log::error("stream could not reopen the journal: ", r.error().message);
                    co_return;
                }
                changed = true;
                continue;
            }
        }
        seenInvalidations = watcher.invalidations(); // a suspended reader reopens anyway
        // Quiet for a while: let go of the journal files until something changes.
        if (!reader.suspended() && options.followRelease.count() > 0 &&
            Clock::now() - lastEntry >= options.followRelease)
            reader.suspend();
        auto untilPing = options.ssePing - (Clock::now() - lastWrite);
        if (untilPing <= Clock::duration::zero()) {
            if (format == Format::Sse && !co_await rs.write(": ping\n\n"))
                co_return;
            lastWrite = Clock::now();
            changed = false;
            continue;
        }
        Clock::duration timeout = untilPing;
        if (!reader.suspended() && options.followRelease.count() > 0)
            timeout = std::min<Clock::duration>(timeout, options.followRelease -
                                                             (Clock::now() - lastEntry) +
                                                             std::chrono::milliseconds(1));
        if (deadline)
            timeout = std::min<Clock::duration>(timeout, *deadline - Clock::now());
        // Without a working watcher, look again every second.
        if (!watcher.healthy())
            timeout = std::min<Clock::duration>(timeout, std::chrono::seconds(1));
        changed = co_await waiter.wait(timeout) || !watcher.healthy();
    }
    co_await rs.end();
}

asio::awaitable<void> LogsService::Impl::serveFields(const std::string& field,
                                                     http::ResponseStream& rs) {
    if (!isValidFieldName(field)) {
        co_await rs.send(jsonError(400, "'" + field.substr(0, 80) +
                                            "' is not a journald field name (A-Z, 0-9 and _)"));
        co_return;
    }
    auto j = Journal::open(options.source);
    if (!j) {
        co_await rs.send(jsonError(503, j.error().message));
        co_return;
    }
    int r = sd_journal_query_unique(j->get(), field.c_str());
    if (r < 0) {
        co_await rs.send(
            jsonError(500, std::string("sd_journal_query_unique: ") + std::strerror(-r)));
        co_return;
    }
    std::set<std::string> values;
    size_t bytes = 0;
    const void* data;
    size_t len;
    const size_t prefix = field.size() + 1;
    while ((r = sd_journal_enumerate_unique(j->get(), &data, &len)) > 0) {
        if (len < prefix)
            continue;
        std::string v(static_cast<const char*>(data) + prefix, len - prefix);
        bytes += v.size();
        values.insert(std::move(v));
        if (values.size() > kFieldsMaxValues || bytes > kFieldsMaxBytes) {
            co_await rs.send(jsonError(
                413, "field " + field + " has more than " + std::to_string(kFieldsMaxValues) +
                         " distinct values or 64 MiB of them; read them with range/ and a filter"));
            co_return;
        }
    }
    if (r < 0) {
        co_await rs.send(jsonError(500, std::string("enumerating values: ") + std::strerror(-r)));
        co_return;
    }
    http::Response resp;
    resp.headers.emplace_back("Cache-Control", "no-cache");
    resp.body = "[";
    bool first = true;
    for (const auto& v : values) {
        if (!first)
            resp.body += ',';
        first = false;
        resp.body += '"';
        if (text::isValidUtf8(v))
            text::appendJsonEscaped(resp.body, v);
        else
            // Not text: the raw bytes as base64 behind a marker a client can recognise.
            text::appendJsonEscaped(resp.body, "base64:"), text::appendBase64(resp.body, v);
        resp.body += '"';
    }
    resp.body += "]\n";
    co_await rs.send(std::move(resp));
}

} // namespace day2::logs
