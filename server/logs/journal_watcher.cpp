#include "logs/journal_watcher.h"

#include "base/log.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cstring>
#include <unistd.h>

namespace day2::logs {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

JournalWatcher::JournalWatcher(asio::io_context& io, JournalSource source, Options options)
    : m_io(io), m_source(std::move(source)), m_options(options), m_pollTimer(io) {}

JournalWatcher::~JournalWatcher() {
    stop();
    // Followers suspended at shutdown are destroyed with the io_context, after this.
    for (Waiter* w : m_waiters)
        w->m_watcher = nullptr;
}

Result<void> JournalWatcher::start() {
    auto j = Journal::open(m_source);
    if (!j)
        return j.error();
    m_journal = std::move(*j);
    int fd = sd_journal_get_fd(m_journal.get());
    if (fd < 0)
        return Error{"cannot watch the " + m_source.describe() + ": " + std::strerror(-fd)};
    // Position at the end; the poll loop only asks "is there anything after this?".
    sd_journal_seek_tail(m_journal.get());
    sd_journal_previous(m_journal.get());
    // The descriptor belongs to sd-journal: hand Asio a duplicate.
    int dupFd = ::dup(fd);
    if (dupFd < 0)
        return Error{std::string("dup: ") + std::strerror(errno)};
    m_fd = std::make_unique<asio::posix::stream_descriptor>(m_io, dupFd);
    m_healthy = true;
    asio::co_spawn(m_io, watchLoop(), asio::detached);
    return {};
}

void JournalWatcher::stop() {
    if (m_stopped)
        return;
    m_stopped = true;
    if (m_fd) {
        error_code ignored;
        m_fd->close(ignored);
    }
    m_pollTimer.cancel();
    for (Waiter* w : m_waiters)
        w->wake();
}

void JournalWatcher::notify(bool invalidated) {
    ++m_changes;
    if (invalidated)
        ++m_invalidations;
    m_lastChange = Clock::now();
    for (Waiter* w : m_waiters)
        w->wake();
    kickPoll();
}

asio::awaitable<void> JournalWatcher::watchLoop() {
    while (!m_stopped) {
        error_code ec;
        co_await m_fd->async_wait(asio::posix::descriptor_base::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (m_stopped)
            break;
        if (ec) {
            log::error("watching the ", m_source.describe(), " failed: ", ec.message());
            m_healthy = false;
            break;
        }
        int r = sd_journal_process(m_journal.get());
        if (r < 0) {
            log::error("sd_journal_process on the ", m_source.describe(), ": ", std::strerror(-r));
            m_healthy = false;
            break;
        }
        if (r == SD_JOURNAL_INVALIDATE) {
            log::debug("journal files changed (rotation or vacuum): followers reopen");
            notify(true);
        } else if (r == SD_JOURNAL_APPEND) {
            notify(false);
        }
    }
}

void JournalWatcher::kickPoll() {
    if (m_polling || m_stopped || m_waiters.empty() || m_options.pollInterval.count() == 0)
        return;
    m_polling = true;
    asio::co_spawn(m_io, pollLoop(), asio::detached);
}

asio::awaitable<void> JournalWatcher::pollLoop() {
    while (!m_stopped && !m_waiters.empty() && Clock::now() - m_lastChange < m_options.busyWindow) {
        m_pollTimer.expires_after(m_options.pollInterval);
        error_code ec;
        co_await m_pollTimer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (m_stopped)
            break;
        int moved = 0;
        int r;
        while ((r = sd_journal_next(m_journal.get())) > 0)
            ++moved;
        if (moved > 0)
            notify(false);
    }
    m_polling = false;
}

JournalWatcher::Waiter::Waiter(JournalWatcher& watcher)
    : m_watcher(&watcher), m_timer(watcher.m_io) {
    m_watcher->m_waiters.push_back(this);
    m_watcher->kickPoll();
}

JournalWatcher::Waiter::~Waiter() {
    if (!m_watcher)
        return;
    auto& v = m_watcher->m_waiters;
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
}

asio::awaitable<bool> JournalWatcher::Waiter::wait(Clock::duration timeout) {
    if (std::exchange(m_woken, false) || !m_watcher || m_watcher->m_stopped)
        co_return true;
    m_timer.expires_after(timeout);
    error_code ec;
    co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return std::exchange(m_woken, false) || ec == asio::error::operation_aborted;
}

void JournalWatcher::Waiter::wake() {
    m_woken = true;
    m_timer.cancel();
}

} // namespace day2::logs
