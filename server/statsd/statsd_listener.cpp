#include "statsd/statsd_listener.h"

#include "base/log.h"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cerrno>
#include <cstring>

#include <linux/sock_diag.h>
#include <sys/socket.h>

namespace day2::statsd {

namespace asio = boost::asio;

struct ReceiveBatch::Impl {
    std::vector<char> data = std::vector<char>(kMessages * kBufferBytes);
    std::array<mmsghdr, kMessages> headers{};
    std::array<iovec, kMessages> iov{};

    void reset() {
        for (size_t i = 0; i < kMessages; ++i) {
            iov[i] = {data.data() + i * kBufferBytes, kBufferBytes};
            auto& h = headers[i].msg_hdr;
            h = {};
            h.msg_iov = &iov[i];
            h.msg_iovlen = 1;
            headers[i].msg_len = 0;
        }
    }
};

ReceiveBatch::ReceiveBatch() : impl(std::make_unique<Impl>()) {}
ReceiveBatch::~ReceiveBatch() = default;

StatsdListener::StatsdListener(asio::io_context& io, size_t maxSeries,
                               std::shared_ptr<ReceiveBatch> batch)
    : m_socket(io), m_moderation(io), m_batch(std::move(batch)),
      m_alive(std::make_shared<bool>(true)), m_aggregator(maxSeries) {}

StatsdListener::~StatsdListener() {
    *m_alive = false;
    close();
}

Result<std::unique_ptr<StatsdListener>> StatsdListener::bind(asio::io_context& io,
                                                             const std::string& host, uint16_t port,
                                                             size_t maxSeries,
                                                             std::shared_ptr<ReceiveBatch> batch) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    const std::string where = host + ":" + std::to_string(port);
    if (ec)
        return Error{"StatsD address '" + host + "' is not an IP address"};
    std::unique_ptr<StatsdListener> l(new StatsdListener(io, maxSeries, std::move(batch)));
    const asio::ip::udp::endpoint endpoint(address, port);
    l->m_socket.open(endpoint.protocol(), ec);
    if (!ec)
        l->m_socket.bind(endpoint, ec);
    if (ec)
        return Error{"cannot listen for StatsD on " + where + ": " + ec.message()};
    l->m_socket.non_blocking(true, ec);
    // A burst waits in the kernel while the loop serves others, or while a wake-up is moderated.
    // SO_RCVBUFFORCE passes net.core.rmem_max (root only; others get what it allows).
    const int bufferBytes = 4 * 1024 * 1024;
    if (::setsockopt(l->m_socket.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &bufferBytes,
                     sizeof bufferBytes) != 0)
        (void)::setsockopt(l->m_socket.native_handle(), SOL_SOCKET, SO_RCVBUF, &bufferBytes,
                           sizeof bufferBytes);
    l->m_host = host;
    l->m_port = l->m_socket.local_endpoint(ec).port();
    return l;
}

void StatsdListener::start() {
    wait();
}

void StatsdListener::wait() {
    if (!m_socket.is_open())
        return;
    m_socket.async_wait(
        asio::socket_base::wait_read, [this, alive = m_alive](const boost::system::error_code& ec) {
            if (ec || !*alive)
                return;
            size_t read = 0;
            bool emptied = false;
            for (unsigned i = 0; i < kMaxBatchesPerWake && !emptied; ++i) {
                const size_t n = readBatch();
                read += n;
                emptied = n < ReceiveBatch::kMessages;
            }
            readDrops();
            if (!emptied || read < kModerateFrom) {
                wait();
                return;
            }
            m_moderation.expires_after(kModeration);
            m_moderation.async_wait([this, alive](const boost::system::error_code& e) {
                if (!e && *alive)
                    wait();
            });
        });
}

size_t StatsdListener::readBatch() {
    if (!m_socket.is_open())
        return 0;
    auto& b = *m_batch->impl;
    b.reset();
    const int n = ::recvmmsg(m_socket.native_handle(), b.headers.data(),
                             static_cast<unsigned>(ReceiveBatch::kMessages), MSG_DONTWAIT, nullptr);
    if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            log::warning("StatsD on ", m_host, ":", m_port, ": ", std::strerror(errno));
        return 0;
    }
    // Only what was received: n messages, each msg_len bytes long.
    for (int i = 0; i < n; ++i) {
        const auto& h = b.headers[static_cast<size_t>(i)];
        ++m_stats.datagrams;
        if (h.msg_hdr.msg_flags & MSG_TRUNC) {
            ++m_stats.parseErrors;
            continue;
        }
        ingest({b.data.data() + static_cast<size_t>(i) * ReceiveBatch::kBufferBytes, h.msg_len});
    }
    return static_cast<size_t>(n);
}

void StatsdListener::readDrops() {
    if (!m_socket.is_open())
        return;
    uint32_t info[SK_MEMINFO_VARS] = {};
    socklen_t size = sizeof info;
    if (::getsockopt(m_socket.native_handle(), SOL_SOCKET, SO_MEMINFO, info, &size) != 0 ||
        size <= SK_MEMINFO_DROPS * sizeof(uint32_t))
        return;
    // The socket's running total (wraps at 2^32).
    m_stats.udpDrops += static_cast<uint32_t>(info[SK_MEMINFO_DROPS] - m_lastDropCount);
    m_lastDropCount = info[SK_MEMINFO_DROPS];
}

void StatsdListener::ingest(std::string_view datagram) {
    forEachStatsdLine(datagram, [this](std::string_view line) {
        const StatsdParse p = parseStatsdLine(line);
        if (!p.ok()) {
            ++m_stats.parseErrors;
            return;
        }
        ++m_stats.lines;
        m_aggregator.add(p.line);
    });
}

size_t StatsdListener::drain() {
    size_t total = 0;
    while (size_t n = readBatch()) {
        total += n;
        if (n < ReceiveBatch::kMessages)
            break;
    }
    readDrops();
    return total;
}

void StatsdListener::close() {
    boost::system::error_code ec;
    m_moderation.cancel();
    m_socket.cancel(ec);
    m_socket.close(ec);
}

} // namespace day2::statsd
