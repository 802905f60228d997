#include "client/api_client.h"

#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkReply>
#include <QSslCertificate>
#include <QSslError>
#include <QStringList>
#include <QTimer>
#include <QVariant>

namespace day2::client {

namespace {

constexpr const char* kTlsErrorsProperty = "day2TlsErrors";

QString certificateName(const QSslCertificate& c) {
    const QStringList cn = c.subjectInfo(QSslCertificate::CommonName);
    const QStringList issuer = c.issuerInfo(QSslCertificate::CommonName);
    return QStringLiteral("certificate '%1' issued by '%2'")
        .arg(cn.isEmpty() ? QStringLiteral("?") : cn.join(QStringLiteral(", ")),
             issuer.isEmpty() ? QStringLiteral("?") : issuer.join(QStringLiteral(", ")));
}

// "HTTP 403 from <url>: <error> (<detail>)", with a hint for 401.
QString httpFailureText(QNetworkReply* reply, const QByteArray& body) {
    QString text = QStringLiteral("HTTP %1 from %2")
                       .arg(httpStatus(reply))
                       .arg(reply->url().toString(QUrl::RemoveQuery | QUrl::RemoveUserInfo));
    const QJsonObject o = QJsonDocument::fromJson(body).object();
    if (o.contains(QStringLiteral("error"))) {
        text += QStringLiteral(": ") + o.value(QStringLiteral("error")).toString();
        const QString detail = o.value(QStringLiteral("detail")).toString();
        if (!detail.isEmpty())
            text += QStringLiteral(" (") + detail + QLatin1Char(')');
    } else {
        const QString reason =
            reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString();
        if (!reason.isEmpty())
            text += QStringLiteral(": ") + reason;
    }
    if (httpStatus(reply) == 401)
        text += QStringLiteral(". The token is missing, expired or not signed by a key the "
                               "agents trust (--token-file FILE or DAY2_TOKEN).");
    return text;
}

} // namespace

QString agentPath(const QString& agentId, const QString& rest) {
    QString r = rest.startsWith(QLatin1Char('/')) ? rest.mid(1) : rest;
    if (agentId.isEmpty())
        return QStringLiteral("/system/v1/") + r;
    return QStringLiteral("/system/v1/agent/") + agentId + QLatin1Char('/') + r;
}

std::optional<QList<AgentInfo>> agentsFromInventory(const QByteArray& body) {
    const QJsonDocument doc = QJsonDocument::fromJson(body);
    if (!doc.isArray())
        return std::nullopt;
    QList<AgentInfo> list;
    for (const auto& v : doc.array()) {
        const QJsonObject o = v.toObject();
        list.append(AgentInfo{o.value(QStringLiteral("agent_id")).toString(),
                              o.value(QStringLiteral("hostname")).toString(),
                              o.value(QStringLiteral("address")).toString(), false});
    }
    return list;
}

AgentInfo agentFromHealth(const QByteArray& body, const QString& address) {
    const QJsonObject o = QJsonDocument::fromJson(body).object();
    return AgentInfo{o.value(QStringLiteral("agent_id")).toString(),
                     o.value(QStringLiteral("hostname")).toString(), address, true};
}

int httpStatus(QNetworkReply* reply) {
    return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
}

void watchTlsErrors(QNetworkReply* reply) {
    QObject::connect(reply, &QNetworkReply::sslErrors, reply,
                     [reply](const QList<QSslError>& errors) {
                         QStringList seen = reply->property(kTlsErrorsProperty).toStringList();
                         for (const auto& e : errors) {
                             QString text = e.errorString();
                             if (!e.certificate().isNull())
                                 text += QStringLiteral(" (") + certificateName(e.certificate()) +
                                         QLatin1Char(')');
                             if (!seen.contains(text))
                                 seen << text;
                         }
                         reply->setProperty(kTlsErrorsProperty, seen);
                         // Not ignored: the handshake fails and the reply ends with the reasons
                         // recorded.
                     });
}

QString describeFailure(QNetworkReply* reply) {
    const QString where = reply->url().toString(QUrl::RemoveQuery | QUrl::RemoveUserInfo);
    const QStringList tls = reply->property(kTlsErrorsProperty).toStringList();
    if (!tls.isEmpty())
        return QStringLiteral("TLS: %1 cannot be trusted: %2. Give the CA that signed it "
                              "(--ca FILE or DAY2_CA).")
            .arg(where, tls.join(QStringLiteral("; ")));
    const int status = httpStatus(reply);
    if (status >= 200 && status < 300 && reply->error() == QNetworkReply::NoError)
        return {};
    if (status >= 300)
        return httpFailureText(reply, reply->isOpen() ? reply->peek(64 * 1024) : QByteArray());
    if (reply->error() == QNetworkReply::OperationCanceledError)
        return QStringLiteral("%1: cancelled").arg(where);
    return QStringLiteral("cannot reach %1: %2").arg(where, reply->errorString());
}

std::optional<QSslConfiguration> tlsFor(const Endpoint& endpoint, QString* error) {
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    if (endpoint.caFile.isEmpty())
        return tls;
    QFile f(endpoint.caFile);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("cannot read the CA file %1: %2")
                         .arg(endpoint.caFile, f.errorString());
        return std::nullopt;
    }
    const QList<QSslCertificate> certs = QSslCertificate::fromData(f.readAll(), QSsl::Pem);
    if (certs.isEmpty()) {
        if (error)
            *error = QStringLiteral("the CA file %1 holds no PEM certificate").arg(endpoint.caFile);
        return std::nullopt;
    }
    tls.addCaCertificates(certs);
    return tls;
}

QNetworkRequest buildRequest(const Endpoint& endpoint, const QSslConfiguration& tls,
                             const QString& path, const QUrlQuery& query,
                             const QByteArray& accept) {
    QUrl url = endpoint.base;
    QString prefix = url.path();
    while (prefix.endsWith(QLatin1Char('/')))
        prefix.chop(1);
    url.setPath(prefix + path);
    url.setQuery(query);
    QNetworkRequest req(url);
    if (url.scheme() == QLatin1String("https"))
        req.setSslConfiguration(tls);
    if (!endpoint.token.isEmpty())
        req.setRawHeader("Authorization", "Bearer " + endpoint.token);
    req.setRawHeader("Accept", accept);
    req.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                     QNetworkRequest::ManualRedirectPolicy);
    return req;
}

ApiClient::ApiClient(Endpoint endpoint, QObject* parent)
    : QObject(parent), m_endpoint(std::move(endpoint)) {
    m_network.setAutoDeleteReplies(false);
}

bool ApiClient::init(QString* error) {
    auto tls = tlsFor(m_endpoint, error);
    if (!tls)
        return false;
    m_tls = *tls;
    return true;
}

QNetworkRequest ApiClient::request(const QString& path, const QUrlQuery& query,
                                   const QByteArray& accept) const {
    return buildRequest(m_endpoint, m_tls, path, query, accept);
}

QNetworkReply* ApiClient::send(const QByteArray& verb, const QString& path, const QUrlQuery& query,
                               const QByteArray& body, const QByteArray& accept,
                               const QByteArray& contentType) {
    QNetworkRequest req = request(path, query, accept);
    // An agent that accepts the connection and never answers must not hold a caller forever
    // (the cluster model waits for every answer): nothing for 30 s ends the request.
    req.setTransferTimeout(30000);
    if (!contentType.isEmpty())
        req.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    QNetworkReply* reply = body.isEmpty() && verb != "POST" && verb != "PUT"
                               ? m_network.sendCustomRequest(req, verb)
                               : m_network.sendCustomRequest(req, verb, body);
    watchTlsErrors(reply);
    return reply;
}

QByteArray ApiClient::Response::header(const QByteArray& name) const {
    for (const auto& [k, v] : headers)
        if (k.compare(name, Qt::CaseInsensitive) == 0)
            return v;
    return {};
}

ApiClient::Response ApiClient::call(const QByteArray& verb, const QString& path,
                                    const QUrlQuery& query, const QByteArray& body,
                                    const QByteArray& accept, int timeoutMs) {
    QNetworkReply* reply =
        send(verb, path, query, body, accept, body.isEmpty() ? QByteArray() : "application/json");
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    bool timedOut = false;
    connect(&timer, &QTimer::timeout, &loop, [&] {
        timedOut = true;
        reply->abort();
    });
    connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    if (!reply->isFinished())
        loop.exec();
    Response r;
    r.status = httpStatus(reply);
    r.body = reply->readAll();
    for (const auto& [k, v] : reply->rawHeaderPairs())
        r.headers.append({k, v});
    if (timedOut) {
        r.error = QStringLiteral("no answer from %1 within %2 s")
                      .arg(reply->url().toString(QUrl::RemoveQuery))
                      .arg(timeoutMs / 1000);
    } else if (!(r.status >= 200 && r.status < 300 && reply->error() == QNetworkReply::NoError)) {
        // describeFailure() would peek at the body, which readAll() took.
        const QString text =
            r.status >= 300 ? httpFailureText(reply, r.body) : describeFailure(reply);
        r.error = text.isEmpty() ? QStringLiteral("request failed") : text;
    }
    reply->deleteLater();
    return r;
}

} // namespace day2::client
