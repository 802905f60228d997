// How the console and the CLI talk to day2: Adminrouter's base URL (or one agent's, for tests and
// single-node use), a token, and the CA that signed Adminrouter's certificate. Every request
// carries the token; a TLS error is reported with its reason and never ignored; an HTTP error is
// reported with the agent's own `error` and `detail`.
#pragma once

#include <QByteArray>
#include <QList>
#include <QNetworkAccessManager>
#include <QNetworkRequest>
#include <QObject>
#include <QSslConfiguration>
#include <QString>
#include <QUrl>
#include <QUrlQuery>

#include <optional>
#include <utility>

class QNetworkReply;

namespace day2::client {

struct Endpoint {
    QUrl base;        // "https://adminrouter:8443"; a path prefix, if any, is kept
    QByteArray token; // a JWT; empty when the agent runs with authentication off
    QString caFile;   // PEM file of the CA(s) to trust; empty: the system's
};

// The path of agent `agentId`'s API `rest` (e.g. "logs/v1/range/") through Adminrouter
// ("/system/v1/agent/<id>/<rest>"), or the agent's own path ("/system/v1/<rest>") when
// `agentId` is empty (talking to one agent directly).
QString agentPath(const QString& agentId, const QString& rest);

// An agent as Adminrouter's inventory describes it; `direct` when the client's URL is this
// agent itself (no Adminrouter: its /system/v1/health answered instead).
struct AgentInfo {
    QString id, hostname, address;
    bool direct = false;
    QString path(const QString& rest) const { return agentPath(direct ? QString() : id, rest); }
};
// Where clients find the agents: the inventory; where it is 404, the URL is one agent and its
// health answer names it.
inline const QString kInventoryPath = QStringLiteral("/system/v1/agents");
inline const QString kHealthPath = QStringLiteral("/system/v1/health");
// The inventory's answer; nothing when it is not a JSON array.
std::optional<QList<AgentInfo>> agentsFromInventory(const QByteArray& body);
// The one agent reached directly at `address`, from its health answer.
AgentInfo agentFromHealth(const QByteArray& body, const QString& address);

// Why a finished reply failed, for a person: the TLS errors seen (with the certificate's names),
// the network error, or the HTTP status with the agent's {"error","detail"}. Empty when the
// reply succeeded (2xx).
QString describeFailure(QNetworkReply* reply);
// The HTTP status of a reply (0 when there was none).
int httpStatus(QNetworkReply* reply);

class ApiClient : public QObject {
    Q_OBJECT
public:
    explicit ApiClient(Endpoint endpoint, QObject* parent = nullptr);

    // Loads the CA file. False, with the reason, when it cannot be read or holds no certificate.
    bool init(QString* error);

    const Endpoint& endpoint() const { return m_endpoint; }
    QNetworkAccessManager& network() { return m_network; }

    // A request for `path` (absolute, e.g. agentPath(...)) with the token, the TLS settings and
    // `accept`.
    QNetworkRequest request(const QString& path, const QUrlQuery& query = {},
                            const QByteArray& accept = "application/json") const;
    // Starts a request; the reply's sslErrors are recorded for describeFailure().
    QNetworkReply* send(const QByteArray& verb, const QString& path, const QUrlQuery& query = {},
                        const QByteArray& body = {}, const QByteArray& accept = "application/json",
                        const QByteArray& contentType = {});

    struct Response {
        int status = 0;
        QByteArray body;
        QList<std::pair<QByteArray, QByteArray>> headers;
        QString error; // empty: a 2xx answer
        bool ok() const { return error.isEmpty(); }
        QByteArray header(const QByteArray& name) const;
    };
    // Blocking, for the CLI: runs an event loop until the answer is complete or `timeoutMs`
    // passes (then the error says so).
    Response call(const QByteArray& verb, const QString& path, const QUrlQuery& query = {},
                  const QByteArray& body = {}, const QByteArray& accept = "application/json",
                  int timeoutMs = 30000);

private:
    Endpoint m_endpoint;
    QSslConfiguration m_tls;
    QNetworkAccessManager m_network;
};

// Builds the TLS settings for `endpoint` (its CA file added to the system's). The error says
// what is wrong with the file.
std::optional<QSslConfiguration> tlsFor(const Endpoint& endpoint, QString* error);
// A request as ApiClient::request builds it, for code that owns its own network manager.
QNetworkRequest buildRequest(const Endpoint& endpoint, const QSslConfiguration& tls,
                             const QString& path, const QUrlQuery& query, const QByteArray& accept);
// Records `reply`'s TLS errors for describeFailure() (call right after starting it).
void watchTlsErrors(QNetworkReply* reply);

} // namespace day2::client
