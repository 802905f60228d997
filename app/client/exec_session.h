// A command inside a running container, over the agent's exec WebSocket (Kubernetes
// remotecommand, v5.channel.k8s.io or v4.channel.k8s.io; README "Exec in brief"), reached with
// the ApiClient's base URL, TLS settings and token. Serves `day2 task exec` and the console's
// terminal pane; Qt Core/Network/WebSockets, no widgets.
#pragma once

#include "client/api_client.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QWebSocket>

class QNetworkAccessManager;

namespace day2::client {

// What to run, and where: `path` is agentPath(<agent>, "exec/v1/containers/<cid>").
struct ExecRequest {
    QString path;
    QStringList command; // argv, at least one
    bool stdinOpen = false;
    bool tty = false;
};

// The exit code a channel-3 status means: Success 0; NonZeroExitCode its cause's code; any
// other Failure 1 with the status's message (in `message`). Pure, for the tests.
int exitCodeFromStatus(const QByteArray& statusJson, QString* message);

class ExecSession : public QObject {
    Q_OBJECT
public:
    enum class Stream { Stdout, Stderr };

    ExecSession(Endpoint endpoint, ExecRequest request, QObject* parent = nullptr);
    ~ExecSession() override;

    // Opens the WebSocket, offering v5 then v4. The outcome arrives as ready() then output()
    // and finished(), or error().
    void start();
    // Bytes for the process's stdin (dropped before ready() and after finished()). The socket
    // buffers what the network has not taken: a sender stops while stdinFull() and goes on at
    // stdinWritable(), so that a slow agent slows the sender, not this process's memory.
    void sendStdin(const QByteArray& bytes);
    bool stdinFull() const { return m_unsent > kStdinHighWater; }
    // The end of stdin: [255, 0] on v5; v4 has no way to say it (nothing is sent).
    void closeStdin();
    // The terminal's size (a tty session).
    void resize(int cols, int rows);
    // Ends the session from this side (the agent then hangs up the process).
    void abort();

    // "v5.channel.k8s.io" or "v4.channel.k8s.io" once connected.
    QString protocol() const { return m_socket.subprotocol(); }

signals:
    void ready();
    // What was buffered has gone down to a low mark after stdinFull().
    void stdinWritable();
    void output(day2::client::ExecSession::Stream stream, const QByteArray& bytes);
    // The command ended: its exit code (128 + n for a signal), and for a Failure that is not an
    // exit code, the agent's message.
    void finished(int exitCode, const QString& message);
    // The session could not start or broke off: the reason for a person, and the HTTP status
    // when the agent refused the upgrade (0 otherwise).
    void error(const QString& text, int httpStatus);

private:
    void onMessage(const QByteArray& message);
    void onSocketError(QAbstractSocket::SocketError code);
    void onDisconnected();
    void explainRefusal(int status, const QString& qtText);
    void fail(const QString& text, int status);
    bool sendChannel(char channel, const QByteArray& bytes);

    Endpoint m_endpoint;
    ExecRequest m_request;
    QSslConfiguration m_tls;
    QWebSocket m_socket;
    QNetworkAccessManager* m_network = nullptr; // only to read a refusal's reason
    QStringList m_tlsErrors;
    bool m_ready = false;
    bool m_done = false; // finished() or error() emitted
    bool m_stdinClosed = false;
    static constexpr qint64 kStdinHighWater = 1 << 20, kStdinLowWater = 256 << 10;
    qint64 m_unsent = 0; // bytes handed to the socket and not yet written (frames included)
    bool m_wasFull = false;
};

} // namespace day2::client
