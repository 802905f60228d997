#include "logs/parallel_range.h"

#include "logs/grep.h"
#include "logs/log_reader.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace day2::logs {

namespace asio = boost::asio;

struct ParallelRange::State : std::enable_shared_from_this<ParallelRange::State> {
    asio::io_context& io;
    JournalSource source;
    LogQuery query;
    std::string startCursor;
    Format format;

    std::mutex mutex;
    std::condition_variable space;
    std::map<std::pair<uint64_t, uint64_t>, Part> ready; // (chunk, part) -> part
    size_t bufferedBytes = 0;
    uint64_t nextChunk = 0; // what the writer waits for
    uint64_t nextPart = 0;
    std::optional<uint64_t> endChunk; // a worker saw the journal end inside this chunk
    bool stop = false;
    std::string error;

    // io thread only
    asio::steady_timer wake;
    bool woken = false;
    std::thread workers[2];

    State(asio::io_context& ctx, JournalSource src, LogQuery q, std::string cursor, Format f)
        : io(ctx), source(std::move(src)), query(std::move(q)), startCursor(std::move(cursor)),
          format(f), wake(ctx) {}

    void notifyWriter() {
        asio::post(io, [self = shared_from_this()] {
            self->woken = true;
            self->wake.cancel();
        });
    }

    void fail(std::string what) {
        {
            std::lock_guard lock(mutex);
            if (error.empty())
                error = std::move(what);
            stop = true;
        }
        space.notify_all();
        notifyWriter();
    }

    // Hands a part to the writer; a worker ahead of the writer waits while too much is buffered.
    bool push(uint64_t chunk, uint64_t part, Part p) {
        std::unique_lock lock(mutex);
        space.wait(lock,
                   [&] { return stop || chunk == nextChunk || bufferedBytes < kMaxBufferedBytes; });
        if (stop)
            return false;
        bufferedBytes += p.data.size();
        ready.emplace(std::make_pair(chunk, part), std::move(p));
        lock.unlock();
        notifyWriter();
        return true;
    }

    // A worker's skip ran out of entries inside `chunk` (the other worker's): the read ends
    // with that chunk, even if the other worker, seeing entries appended since, filled it.
    void endsIn(uint64_t chunk) {
        {
            std::lock_guard lock(mutex);
            if (!endChunk || chunk < *endChunk)
                endChunk = chunk;
        }
        notifyWriter();
    }

    void work(unsigned w) {
        LogQuery q = query;
        q.limit.reset();
        q.skipNext = q.skipPrev = 0;
        q.cursor = startCursor;
        if (!q.grepPattern.empty()) {
            auto g = Grep::compile(q.grepPattern);
            if (!g)
                return fail(g.error().message);
            q.grep = std::move(*g);
        }
        LogReader reader(source, std::move(q), LogMode::Range, format);
        if (auto r = reader.start(); !r)
            return fail(r.error().message);
        if (w == 1 && reader.skipEntries(kChunkEntries) < kChunkEntries)
            return endsIn(0);
        for (uint64_t chunk = w;; chunk += 2) {
            size_t steps = 0;
            uint64_t part = 0;
            LogReader::Status status;
            for (;;) {
                Part p;
                p.data.reserve(kPartBytes + 64 * 1024);
                status = reader.readSteps(p.data, kPartBytes, kChunkEntries, &p.ends, steps);
                if (status == LogReader::Status::Failed)
                    return fail(reader.error());
                p.last = status == LogReader::Status::End;
                p.endOfChunk = status != LogReader::Status::Full || steps >= kChunkEntries;
                const bool chunkDone = p.endOfChunk;
                if (!push(chunk, part++, std::move(p)))
                    return;
                if (chunkDone)
                    break;
            }
            if (status == LogReader::Status::End)
                return;
            if (reader.skipEntries(kChunkEntries) < kChunkEntries)
                return endsIn(chunk + 1);
        }
    }
};

ParallelRange::ParallelRange(asio::io_context& io, JournalSource source, LogQuery query,
                             std::string startCursor, Format format)
    : m_state(std::make_shared<State>(io, std::move(source), std::move(query),
                                      std::move(startCursor), format)) {}

ParallelRange::~ParallelRange() {
    {
        std::lock_guard lock(m_state->mutex);
        m_state->stop = true;
    }
    m_state->space.notify_all();
    for (auto& t : m_state->workers)
        if (t.joinable())
            t.join();
}

void ParallelRange::start() {
    for (unsigned w = 0; w < 2; ++w)
        m_state->workers[w] = std::thread([s = m_state, w] { s->work(w); });
}

const std::string& ParallelRange::error() const {
    return m_state->error;
}

asio::awaitable<std::optional<ParallelRange::Part>> ParallelRange::next() {
    auto& s = *m_state;
    for (;;) {
        {
            std::unique_lock lock(s.mutex);
            if (!s.error.empty())
                co_return std::nullopt;
            if (s.endChunk && s.nextChunk > *s.endChunk) {
                Part end;
                end.last = true;
                co_return end;
            }
            auto it = s.ready.find({s.nextChunk, s.nextPart});
            if (it != s.ready.end()) {
                Part p = std::move(it->second);
                s.ready.erase(it);
                s.bufferedBytes -= p.data.size();
                if (p.endOfChunk) {
                    ++s.nextChunk;
                    s.nextPart = 0;
                } else {
                    ++s.nextPart;
                }
                lock.unlock();
                s.space.notify_all();
                co_return p;
            }
        }
        if (!std::exchange(s.woken, false)) {
            s.wake.expires_after(std::chrono::seconds(5));
            boost::system::error_code ec;
            co_await s.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            s.woken = false;
        }
    }
}

} // namespace day2::logs
