// Tells followers when the journal changed. One per agent: its sd-journal's inotify descriptor
// (sd_journal_get_fd) is watched by Asio; SD_JOURNAL_APPEND wakes the followers and
// SD_JOURNAL_INVALIDATE (files added or removed: rotation, vacuum) also tells them to reopen.
//
// journald itself delays its inotify notice of appended entries by up to 250 ms (it coalesces
// them, POST_CHANGE_TIMER_INTERVAL_USEC), so while someone follows and the journal is busy, the
// watcher also checks the tail every `pollInterval` on an Asio timer; an idle journal costs
// nothing but the descriptor.
#pragma once

#include "base/result.h"
#include "logs/journal.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace day2::logs {

class JournalWatcher {
public:
    struct Options {
        std::chrono::milliseconds pollInterval{2};
        std::chrono::milliseconds busyWindow{2000};
    };

    JournalWatcher(boost::asio::io_context& io, JournalSource source, Options options);
    ~JournalWatcher();

    Result<void> start();
    void stop();
    bool healthy() const { return m_healthy; }
    bool stopped() const { return m_stopped; }

    uint64_t changes() const { return m_changes; }
    uint64_t invalidations() const { return m_invalidations; }

    // A follower's place to sleep: wait() returns when the journal changes, when wake() is
    // called, or after the timeout, whichever is first.
    class Waiter {
    public:
        explicit Waiter(JournalWatcher& watcher);
        ~Waiter();
        Waiter(const Waiter&) = delete;
        Waiter& operator=(const Waiter&) = delete;
        // Returns true when woken, false on timeout.
        boost::asio::awaitable<bool> wait(std::chrono::steady_clock::duration timeout);
        void wake();

    private:
        friend class JournalWatcher;
        JournalWatcher* m_watcher; // null once the watcher is gone (agent shutting down)
        boost::asio::steady_timer m_timer;
        bool m_woken = false;
    };

private:
    void notify(bool invalidated);
    boost::asio::awaitable<void> watchLoop();
    boost::asio::awaitable<void> pollLoop();
    void kickPoll();

    boost::asio::io_context& m_io;
    JournalSource m_source;
    Options m_options;
    Journal m_journal;
    std::unique_ptr<boost::asio::posix::stream_descriptor> m_fd;
    boost::asio::steady_timer m_pollTimer;
    std::vector<Waiter*> m_waiters;
    std::chrono::steady_clock::time_point m_lastChange{};
    uint64_t m_changes = 0;
    uint64_t m_invalidations = 0;
    bool m_healthy = false;
    bool m_stopped = false;
    bool m_polling = false;
};

} // namespace day2::logs
