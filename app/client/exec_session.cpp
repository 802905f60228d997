#include "client/exec_session.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QSslError>
#include <QWebSocketHandshakeOptions>

#include <algorithm>

namespace day2::client {

namespace {

constexpr char kStdin = 0, kStdout = 1, kStderr = 2, kStatus = 3, kResize = 4, kClose = '\xff';
const QString kV5 = QStringLiteral("v5.channel.k8s.io");
const QString kV4 = QStringLiteral("v4.channel.k8s.io");

} // namespace

int exitCodeFromStatus(const QByteArray& statusJson, QString* message) {
    const QJsonObject o = QJsonDocument::fromJson(statusJson).object();
    if (o.value("status").toString() == QLatin1String("Success"))
        return 0;
    if (o.value("reason").toString() == QLatin1String("NonZeroExitCode")) {
        for (const auto& c : o.value("details").toObject().value("causes").toArray()) {
            const QJsonObject cause = c.toObject();
            if (cause.value("reason").toString() != QLatin1String("ExitCode"))
                continue;
            bool ok = false;
            const int code = cause.value("message").toString().toInt(&ok);
            if (ok && code > 0 && code < 256)
                return code;
        }
    }
    if (message) {
        *message = o.value("message").toString();
        if (message->isEmpty())
            *message =
                o.isEmpty()
                    ? QStringLiteral("the agent sent a status that is not JSON")
                    : QStringLiteral("the command failed (%1)").arg(o.value("reason").toString());
    }
    return 1;
}

ExecSession::ExecSession(Endpoint endpoint, ExecRequest request, QObject* parent)
    : QObject(parent), m_endpoint(std::move(endpoint)), m_request(std::move(request)) {
    connect(&m_socket, &QWebSocket::connected, this, [this] {
        if (m_socket.subprotocol() != kV5 && m_socket.subprotocol() != kV4) {
            fail(QStringLiteral("the agent chose no subprotocol it was offered (v5 or v4)"), 0);
            m_socket.abort();
        }
    });
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, &ExecSession::onMessage);
    connect(&m_socket, &QWebSocket::textMessageReceived, this,
            [this](const QString& text) { onMessage(text.toUtf8()); });
    connect(&m_socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
            &ExecSession::onSocketError);
    connect(&m_socket, &QWebSocket::disconnected, this, &ExecSession::onDisconnected);
    connect(&m_socket, &QWebSocket::bytesWritten, this, [this](qint64 n) {
        m_unsent = std::max<qint64>(0, m_unsent - n);
        if (m_wasFull && m_unsent <= kStdinLowWater) {
            m_wasFull = false;
            emit stdinWritable();
        }
    });
    connect(&m_socket, &QWebSocket::sslErrors, this, [this](const QList<QSslError>& errors) {
        for (const auto& e : errors) {
            const QString who =
                e.certificate().isNull()
                    ? QString()
                    : QStringLiteral(" (certificate of '%1' issued by '%2')")
                          .arg(e.certificate().subjectInfo(QSslCertificate::CommonName).join(','),
                               e.certificate().issuerInfo(QSslCertificate::CommonName).join(','));
            m_tlsErrors.append(e.errorString() + who);
        }
    });
}

ExecSession::~ExecSession() {
    m_done = true; // no signals from a socket torn down with us
    m_socket.abort();
}

void ExecSession::start() {
    QString why;
    auto tls = tlsFor(m_endpoint, &why);
    if (!tls) {
        fail(why, 0);
        return;
    }
    m_tls = *tls;
    QUrlQuery query;
    for (const auto& arg : m_request.command)
        query.addQueryItem(QStringLiteral("command"), arg);
    if (m_request.stdinOpen)
        query.addQueryItem(QStringLiteral("stdin"), QStringLiteral("1"));
    query.addQueryItem(QStringLiteral("stdout"), QStringLiteral("1"));
    // With a terminal both streams come on stdout; asking for stderr too is what kubectl does.
    query.addQueryItem(QStringLiteral("stderr"), QStringLiteral("1"));
    if (m_request.tty)
        query.addQueryItem(QStringLiteral("tty"), QStringLiteral("1"));
    QNetworkRequest req = buildRequest(m_endpoint, m_tls, m_request.path, query, {});
    QUrl url = req.url();
    url.setScheme(url.scheme() == QLatin1String("https") ? QStringLiteral("wss")
                                                         : QStringLiteral("ws"));
    req.setUrl(url);
    m_socket.setSslConfiguration(m_tls);
    QWebSocketHandshakeOptions options;
    options.setSubprotocols({kV5, kV4});
    m_socket.open(req, options);
}

bool ExecSession::sendChannel(char channel, const QByteArray& bytes) {
    if (!m_ready || m_done)
        return false;
    QByteArray message;
    message.reserve(bytes.size() + 1);
    message.append(channel).append(bytes);
    const qint64 sent = m_socket.sendBinaryMessage(message);
    m_unsent += sent;
    if (m_unsent > kStdinHighWater)
        m_wasFull = true;
    return sent == message.size();
}

void ExecSession::sendStdin(const QByteArray& bytes) {
    if (!m_stdinClosed && !bytes.isEmpty())
        sendChannel(kStdin, bytes);
}

void ExecSession::closeStdin() {
    if (m_stdinClosed)
        return;
    m_stdinClosed = true;
    if (m_socket.subprotocol() == kV5)
        sendChannel(kClose, QByteArray(1, kStdin));
}

void ExecSession::resize(int cols, int rows) {
    if (cols <= 0 || rows <= 0)
        return;
    sendChannel(kResize, QJsonDocument(QJsonObject{{"Width", cols}, {"Height", rows}})
                             .toJson(QJsonDocument::Compact));
}

void ExecSession::abort() {
    m_done = true;
    m_socket.close(QWebSocketProtocol::CloseCodeNormal);
}

void ExecSession::onMessage(const QByteArray& message) {
    if (m_done || message.isEmpty())
        return;
    const char channel = message.front();
    const QByteArray bytes = message.mid(1);
    if (!m_ready) {
        // The first message (empty, on the first output channel) says the process runs.
        m_ready = true;
        emit ready();
        if (bytes.isEmpty())
            return;
    }
    switch (channel) {
    case kStdout:
        emit output(Stream::Stdout, bytes);
        break;
    case kStderr:
        emit output(Stream::Stderr, bytes);
        break;
    case kStatus: {
        QString text;
        const int code = exitCodeFromStatus(bytes, &text);
        m_done = true;
        emit finished(code, text);
        m_socket.close(QWebSocketProtocol::CloseCodeNormal);
        break;
    }
    default:
        break; // nothing else flows from the agent
    }
}

void ExecSession::onSocketError(QAbstractSocket::SocketError) {
    if (m_done)
        return;
    const QString where = m_socket.requestUrl().toString(QUrl::RemoveQuery | QUrl::RemoveUserInfo);
    if (!m_tlsErrors.isEmpty()) {
        fail(QStringLiteral("TLS: %1 cannot be trusted: %2. Give the CA that signed it "
                            "(--ca FILE or DAY2_CA).")
                 .arg(where, m_tlsErrors.join(QStringLiteral("; "))),
             0);
        return;
    }
    // Qt says only "Unhandled http status code: 403 (Forbidden)" for an upgrade refused.
    static const QRegularExpression kStatusText(QStringLiteral("status code: (\\d+)( \\(.*\\))?"));
    const auto m = kStatusText.match(m_socket.errorString());
    if (!m_ready && m.hasMatch()) {
        explainRefusal(m.captured(1).toInt(),
                       QStringLiteral("HTTP ") + m.captured(1) + m.captured(2));
        return;
    }
    fail(QStringLiteral("%1: %2").arg(where, m_socket.errorString()), 0);
}

// The agent's JSON reason ({"error","detail"}) is in the refusal's body, which QWebSocket does
// not expose: the same request without the upgrade is refused for the same reason (401, 403,
// 404, 409, 400 are checked before the upgrade), and that answer is read whole.
void ExecSession::explainRefusal(int status, const QString& qtText) {
    if (!m_network) {
        m_network = new QNetworkAccessManager(this);
        m_network->setAutoDeleteReplies(true);
    }
    QNetworkRequest req = buildRequest(m_endpoint, m_tls, m_request.path,
                                       QUrlQuery(m_socket.requestUrl()), "application/json");
    req.setTransferTimeout(10000);
    QNetworkReply* reply = m_network->get(req);
    watchTlsErrors(reply);
    connect(reply, &QNetworkReply::finished, this, [this, reply, status, qtText] {
        const int again = httpStatus(reply);
        const QString text = describeFailure(reply);
        // 400 "exec is a WebSocket" means the request itself was fine (a 503, or a refusal
        // that has passed): Qt's words then.
        if (again == status && !text.isEmpty())
            fail(text, status);
        else
            fail(QStringLiteral("%1: the upgrade was refused: %2")
                     .arg(m_socket.requestUrl().toString(QUrl::RemoveQuery | QUrl::RemoveUserInfo),
                          qtText),
                 status);
    });
}

void ExecSession::onDisconnected() {
    if (m_done || m_network)
        return; // finished, or a refusal being explained
    fail(QStringLiteral("the connection closed before the command's status (%1%2)")
             .arg(int(m_socket.closeCode()))
             .arg(m_socket.closeReason().isEmpty() ? QString()
                                                   : QStringLiteral(": ") + m_socket.closeReason()),
         0);
}

void ExecSession::fail(const QString& text, int status) {
    if (m_done)
        return;
    m_done = true;
    emit error(text, status);
}

} // namespace day2::client
