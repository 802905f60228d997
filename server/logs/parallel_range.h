// A range read on two threads. sd-journal reads one entry at a time, and producing a cursor per
// entry costs as much as reading the entry, so one core cannot keep up with a fast client. Two
// workers, each with its own sd-journal handle, split the journal into chunks of a fixed number
// of entries — worker 0 formats chunks 0, 2, 4..., worker 1 chunks 1, 3, 5..., skipping the
// other's — and the io thread writes the chunks in order. Memory is bounded: a worker that is
// ahead of the writer waits once `kMaxBufferedBytes` are buffered.
#pragma once

#include "logs/entry_formatter.h"
#include "logs/journal.h"
#include "logs/log_query.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace day2::logs {

class ParallelRange {
public:
    static constexpr size_t kChunkEntries = 1024;
    static constexpr size_t kPartBytes = 256 * 1024;
    static constexpr size_t kMaxBufferedBytes = 8 * 1024 * 1024;

    struct Part {
        std::string data;
        std::vector<uint32_t> ends; // where each entry ends in `data`
        bool last = false;          // nothing comes after this part
        bool endOfChunk = false;
    };

    // `query` must already sit at `startCursor` (the first entry to read, inclusive); its
    // limit and skips are the caller's business.
    ParallelRange(boost::asio::io_context& io, JournalSource source, LogQuery query,
                  std::string startCursor, Format format);
    ~ParallelRange();
    ParallelRange(const ParallelRange&) = delete;
    ParallelRange& operator=(const ParallelRange&) = delete;

    void start();
    // The next part in journal order; nullopt after a failure (error() says which).
    boost::asio::awaitable<std::optional<Part>> next();
    const std::string& error() const;

private:
    struct State;
    std::shared_ptr<State> m_state;
};

} // namespace day2::logs
