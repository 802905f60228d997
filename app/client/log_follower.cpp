#include "client/log_follower.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QVariant>

#include <algorithm>

namespace day2::client {

namespace {

// Answers a retry cannot change: the request itself is refused, or sent elsewhere.
bool permanent(int status) {
    return (status >= 300 && status < 400) || status == 400 || status == 401 || status == 403 ||
           status == 404 || status == 405 || status == 406 || status == 410 ||
           (status >= 413 && status <= 415);
}

} // namespace

LogFollower::LogFollower(Endpoint endpoint, Options options, QObject* parent)
    : QObject(parent), m_endpoint(std::move(endpoint)), m_options(std::move(options)) {
    m_options.minBackoffMs = std::clamp(m_options.minBackoffMs, 50, 3'600'000);
    m_options.maxBackoffMs = std::clamp(m_options.maxBackoffMs, m_options.minBackoffMs, 3'600'000);
    m_options.stallMs = std::clamp(m_options.stallMs, 1000, 24 * 3'600'000);
    m_options.maxBatch = std::max<qsizetype>(m_options.maxBatch, 1);
    m_retryTimer.setSingleShot(true);
    m_stallTimer.setSingleShot(true);
    m_paceTimer.setSingleShot(true);
    m_paceTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_paceTimer, &QTimer::timeout, this, &LogFollower::onReadyRead);
    connect(&m_retryTimer, &QTimer::timeout, this, &LogFollower::connectNow);
    connect(&m_stallTimer, &QTimer::timeout, this, [this] {
        if (m_reply) {
            m_reply->setProperty("day2Stalled", true);
            m_reply->abort();
        }
    });
}

LogFollower::~LogFollower() {
    stop();
}

void LogFollower::start() {
    QString error;
    auto tls = tlsFor(m_endpoint, &error);
    if (!tls) {
        emit failed(error);
        return;
    }
    m_tls = *tls;
    if (!m_network)
        m_network = std::make_unique<QNetworkAccessManager>();
    m_stopped = false;
    m_backoffMs = 0;
    connectNow();
}

void LogFollower::stop() {
    m_stopped = true;
    m_retryTimer.stop();
    m_stallTimer.stop();
    m_paceTimer.stop();
    dropReply();
}

void LogFollower::dropReply() {
    if (!m_reply)
        return;
    QNetworkReply* r = m_reply;
    m_reply = nullptr;
    r->disconnect(this);
    r->abort();
    r->deleteLater();
}

void LogFollower::connectNow() {
    if (m_stopped)
        return;
    dropReply();
    QNetworkRequest req =
        buildRequest(m_endpoint, m_tls, m_options.path, m_options.query, "text/event-stream");
    // The query's filters stay; Last-Event-ID wins over its position (docs/api.md).
    if (!m_parser.lastEventId().isEmpty())
        req.setRawHeader("Last-Event-ID", m_parser.lastEventId());
    req.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    m_parser.resetStream();
    m_answered = false;
    ++m_generation;
    m_stallMs = m_options.stallMs;
    m_reply = m_network->get(req);
    m_reply->setReadBufferSize(m_options.readBufferBytes);
    watchTlsErrors(m_reply);
    connect(m_reply, &QNetworkReply::readyRead, this, &LogFollower::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &LogFollower::onFinished);
    m_stallTimer.start(m_stallMs);
}

void LogFollower::onReadyRead() {
    if (!m_reply)
        return;
    // A handler of a signal below may stop, restart or delete this follower: after each emit,
    // go on only if it is still this connection.
    const QPointer<LogFollower> self(this);
    const uint64_t generation = m_generation;
    auto same = [&] { return self && !m_stopped && m_reply && m_generation == generation; };
    m_stallTimer.start(m_stallMs);
    if (!m_answered) {
        if (httpStatus(m_reply) != 200)
            return; // an error answer: its body is read when it is complete
        m_answered = true;
        ++m_connections;
        bool pingOk = false;
        const int ping = m_reply->rawHeader("X-Journal-Ping").toInt(&pingOk);
        if (pingOk && ping > 0 && ping < 86400)
            m_stallMs = std::max(m_options.stallMs / 4, ping * 2000 + 10000);
        m_stallTimer.start(m_stallMs);
        Resume how = Resume::Fresh;
        qint64 missing = -1;
        if (!m_reply->request().rawHeader("Last-Event-ID").isEmpty()) {
            const QByteArray said = m_reply->rawHeader("X-Journal-Resume");
            if (said == "exact") {
                how = Resume::Exact;
            } else if (said.startsWith("gap")) {
                const qsizetype at = said.indexOf("up-to=");
                bool ok = false;
                const qint64 n = at < 0 ? -1 : said.mid(at + 6).trimmed().toLongLong(&ok);
                missing = ok ? n : -1;
                // Gone from the journal, but nothing lay between it and the next one.
                how = missing == 0 ? Resume::Exact : Resume::Gap;
                if (how == Resume::Exact)
                    missing = -1;
            } else {
                how = Resume::Unknown;
            }
        } else if (m_connections > 1) {
            // Cut off before the agent said where the stream began (an older agent): whatever
            // came meanwhile may be missing.
            how = Resume::Unknown;
        }
        emit connected(how, missing);
        if (!same())
            return;
    }
    QList<SseEvent> parsed;
    QByteArray chunk;
    if (const qint64 pace = m_options.paceBytesPerSecond; pace > 0 && !m_reply->isFinished()) {
        // What the pace allows since the last read (at most 50 ms worth saved up).
        if (!m_paceClock.isValid())
            m_paceClock.start();
        const qint64 now = m_paceClock.nsecsElapsed();
        m_paceBudget = std::min(m_paceBudget + double(now - m_paceLastNs) / 1e9 * double(pace),
                                double(pace) / 20);
        m_paceLastNs = now;
        chunk = m_reply->read(std::min(m_reply->bytesAvailable(), qint64(m_paceBudget)));
        m_paceBudget -= double(chunk.size());
        if (m_reply->bytesAvailable() > 0)
            m_paceTimer.start(5);
    } else {
        chunk = m_reply->readAll();
    }
    if (!m_parser.feed(chunk, parsed)) {
        const QString why = QStringLiteral("the stream from %1 is not an event stream this client "
                                           "can follow (a line over %2 bytes)")
                                .arg(m_reply->url().toString(QUrl::RemoveQuery))
                                .arg(SseParser::kDefaultMaxLine);
        stop();
        emit failed(why);
        return;
    }
    if (!parsed.isEmpty())
        m_backoffMs = 0; // entries flow again: the next drop starts the backoff anew
    QList<QByteArray> batch;
    batch.reserve(std::min<qsizetype>(parsed.size(), m_options.maxBatch));
    for (auto& e : parsed) {
        batch.append(std::move(e.data));
        if (batch.size() >= m_options.maxBatch) {
            emit events(batch);
            if (!same())
                return;
            batch.clear();
        }
    }
    if (!batch.isEmpty())
        emit events(batch);
}

void LogFollower::onFinished() {
    if (!m_reply || m_stopped)
        return;
    m_stallTimer.stop();
    if (m_answered) {
        const QPointer<LogFollower> self(this);
        const uint64_t generation = m_generation;
        onReadyRead(); // whatever arrived with the end
        if (!self || m_stopped || !m_reply || m_generation != generation)
            return;
        const bool stalled = m_reply->property("day2Stalled").toBool();
        if (!stalled && m_reply->error() == QNetworkReply::NoError &&
            m_options.query.hasQueryItem(QStringLiteral("until"))) {
            stop(); // the agent reached `until`: the stream is complete
            emit ended();
            return;
        }
        scheduleRetry(stalled ? QStringLiteral("no data for %1 s").arg(m_stallMs / 1000)
                      : m_reply->error() == QNetworkReply::NoError
                          ? QStringLiteral("the agent ended the stream")
                          : QStringLiteral("the stream broke: ") + m_reply->errorString());
        return;
    }
    const int status = httpStatus(m_reply);
    const QString why = m_reply->property("day2Stalled").toBool()
                            ? QStringLiteral("no answer for %1 s").arg(m_stallMs / 1000)
                            : describeFailure(m_reply);
    const bool tls = why.startsWith(QLatin1String("TLS:"));
    if (permanent(status) || tls) {
        stop();
        emit failed(why);
        return;
    }
    scheduleRetry(why.isEmpty() ? QStringLiteral("the stream ended before it began") : why);
}

void LogFollower::scheduleRetry(const QString& why) {
    dropReply();
    const int64_t doubled = m_backoffMs == 0 ? m_options.minBackoffMs : int64_t(m_backoffMs) * 2;
    m_backoffMs = static_cast<int>(std::min<int64_t>(doubled, m_options.maxBackoffMs));
    int64_t delay = m_backoffMs;
    if (auto retry = m_parser.retryMillis())
        delay = std::max<int64_t>(delay, std::min<int64_t>(*retry, m_options.maxBackoffMs));
    // Up to 20 % more, so that many clients cut off together do not come back together (and
    // never less than the agent's retry:).
    delay += int64_t(QRandomGenerator::global()->bounded(quint32(delay / 5 + 1)));
    const QPointer<LogFollower> self(this);
    emit disconnected(why, int(delay));
    if (self && !m_stopped && !m_reply)
        m_retryTimer.start(int(delay));
}

} // namespace day2::client
