// ExecSession: the exit code a channel-3 status means (what `day2 task exec` exits with), and
// a refusal before the upgrade reported with its status. The sessions themselves run against a
// real cluster in tests/integration/cli_cluster.sh.
#include "client/exec_session.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

using namespace day2::client;

class ExecSessionTest : public QObject {
    Q_OBJECT
private slots:
    void statusToExitCode_data() {
        QTest::addColumn<QByteArray>("status");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("message");
        QTest::newRow("success") << QByteArray(R"({"metadata":{},"status":"Success"})") << 0
                                 << QString();
        QTest::newRow("exit 3")
            << QByteArray(
                   R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})")
            << 3 << QString();
        QTest::newRow("signal")
            << QByteArray(
                   R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"137"}]}})")
            << 137 << QString();
        QTest::newRow("forbidden")
            << QByteArray(
                   R"({"metadata":{},"status":"Failure","message":"the token expired","reason":"Forbidden"})")
            << 1 << QStringLiteral("the token expired");
        QTest::newRow("no cause")
            << QByteArray(R"({"status":"Failure","reason":"NonZeroExitCode","message":"odd"})") << 1
            << QStringLiteral("odd");
        QTest::newRow("not json") << QByteArray("garbage") << 1
                                  << QStringLiteral("the agent sent a status that is not JSON");
    }
    void statusToExitCode() {
        QFETCH(QByteArray, status);
        QFETCH(int, code);
        QFETCH(QString, message);
        QString text;
        QCOMPARE(exitCodeFromStatus(status, &text), code);
        QCOMPARE(text, message);
    }

    // An HTTP server that refuses every request with 403 and a JSON detail: the session's error
    // carries the status and the agent's words (read from the same request without the upgrade).
    void refusalSaysTheAgentsReason() {
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost));
        int requests = 0;
        connect(&server, &QTcpServer::newConnection, this, [&] {
            QTcpSocket* s = server.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s, &requests] {
                if (!s->peek(64 * 1024).contains("\r\n\r\n"))
                    return;
                s->readAll();
                ++requests;
                const QByteArray body =
                    R"({"error":"forbidden","detail":"alice may not create day2:exec:/web"})";
                s->write("HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                         "Connection: close\r\nContent-Length: " +
                         QByteArray::number(body.size()) + "\r\n\r\n" + body);
                s->disconnectFromHost();
            });
        });
        Endpoint ep{
            QUrl(QStringLiteral("http://127.0.0.1:%1").arg(server.serverPort())), "a.b.c", {}};
        ExecSession session(ep, ExecRequest{agentPath({}, QStringLiteral("exec/v1/containers/c1")),
                                            {QStringLiteral("true")}});
        QSignalSpy errors(&session, &ExecSession::error);
        QSignalSpy finished(&session, &ExecSession::finished);
        session.start();
        QVERIFY(errors.wait(30000));
        QCOMPARE(errors.at(0).at(1).toInt(), 403);
        QVERIFY2(errors.at(0).at(0).toString().contains("alice may not create day2:exec:/web"),
                 qPrintable(errors.at(0).at(0).toString()));
        QVERIFY(requests >= 2); // the upgrade, then the same request read for its reason
        QCOMPARE(finished.size(), 0);
    }
};

QTEST_GUILESS_MAIN(ExecSessionTest)
#include "exec_session_test.moc"
