// The local cluster (packaging/demo/cluster: agents in network namespaces behind Adminrouter,
// nginx with TLS on loopback, sample tasks) for the client library's and the console's tests,
// in a directory, subnet and port of its own. Needs root (the network namespaces). A target that
// includes this defines DAY2_SOURCE_DIR and DAY2_BUILD_DIR.
#pragma once

#include "client/api_client.h"

#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

namespace day2::test {

class DemoCluster {
public:
    // `name` (a few letters) names its namespaces; `tag` its directory.
    DemoCluster(const QString& name, const QString& tag) {
        const QString pid = QString::number(::getpid());
        m_env = QProcessEnvironment::systemEnvironment();
        m_dir = QStringLiteral("/tmp/day2-%1-%2").arg(tag, pid);
        m_env.insert("DAY2_DEMO_DIR", m_dir);
        m_env.insert("DAY2_DEMO_NAME", name);
        m_env.insert("DAY2_DEMO_SUBNET", QStringLiteral("10.80.%1").arg(::getpid() % 200 + 20));
    }
    ~DemoCluster() { down(); }
    DemoCluster(const DemoCluster&) = delete;
    DemoCluster& operator=(const DemoCluster&) = delete;

    // `cluster up --nodes n`; its output in `output`. A port free now may be taken before nginx
    // binds it: then once more with another.
    bool up(int nodes, QString* output) {
        for (int attempt = 0; attempt < 2 && !m_up; ++attempt) {
            m_env.insert("DAY2_DEMO_PORT", QString::number(freePort()));
            m_up =
                run({"up", "--nodes", QString::number(nodes), "--build", DAY2_BUILD_DIR}, output);
            if (!output->contains("Address already in use"))
                break;
        }
        return m_up;
    }
    void down() {
        if (m_up)
            run({"down"});
        m_up = false;
    }

    // Adminrouter's address, the admin's token and the cluster's CA.
    client::Endpoint endpoint() const {
        QFile t(m_dir + "/admin.token");
        if (!t.open(QIODevice::ReadOnly))
            return {};
        return client::Endpoint{QUrl("https://127.0.0.1:" + m_env.value("DAY2_DEMO_PORT")),
                                t.readAll().trimmed(), m_dir + "/ca.pem"};
    }

    // The pid and id of the first agent `cluster up` started (its "made" record).
    std::pair<pid_t, QString> firstAgent() const {
        QFile made(m_dir + "/made");
        if (!made.open(QIODevice::ReadOnly))
            return {0, {}};
        pid_t pid = 0;
        QString id;
        for (const QByteArray& line : made.readAll().split('\n')) {
            const auto parts = line.split(' ');
            if (parts.size() != 2)
                continue;
            if (parts[0] == "agent" && pid == 0)
                pid = parts[1].toInt();
            if (parts[0] == "agent_id" && id.isEmpty())
                id = QString::fromLatin1(parts[1]);
        }
        return {pid, id};
    }

private:
    bool run(const QStringList& args, QString* output = nullptr) {
        QProcess p;
        p.setProcessEnvironment(m_env);
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(QStringLiteral(DAY2_SOURCE_DIR "/packaging/demo/cluster"), args);
        const bool ok = p.waitForFinished(180000) && p.exitStatus() == QProcess::NormalExit &&
                        p.exitCode() == 0;
        if (output)
            *output = QString::fromLocal8Bit(p.readAll());
        return ok;
    }

    // A port free on 127.0.0.1 now (the kernel's pick for port 0), for Adminrouter.
    static quint16 freePort() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        quint16 port = 0;
        if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port = ntohs(a.sin_port);
        if (fd >= 0)
            ::close(fd);
        return port;
    }

    QProcessEnvironment m_env;
    QString m_dir;
    bool m_up = false;
};

} // namespace day2::test
