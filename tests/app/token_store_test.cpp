// TokenStore where no keyring answers (no D-Bus session here): the token goes to a file that
// only its owner can read, names the URL it belongs to, and is never given to another URL.
#include "main_window.h"

#include <QFile>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

using day2::ui::TokenStore;

class TokenStoreTest : public QObject {
    Q_OBJECT
private slots:
    void withoutAKeyringTheTokenGoesToAFileOnlyItsOwnerReads() {
        QTemporaryDir home;
        qputenv("XDG_CONFIG_HOME", home.path().toLocal8Bit());
        qunsetenv("DBUS_SESSION_BUS_ADDRESS");
        QString warning;
        QVERIFY(TokenStore::save("https://a:8443", "token-of-a", &warning));
        QVERIFY2(warning.contains("readable only by you"), qPrintable(warning));
        const QString file = home.path() + "/day2/console-token";
        struct stat st {};
        QCOMPARE(::stat(file.toLocal8Bit().constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
        QCOMPARE(::stat((home.path() + "/day2").toLocal8Bit().constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0700u);
        QCOMPARE(TokenStore::load("https://a:8443", &warning), QByteArray("token-of-a"));
        QVERIFY(TokenStore::load("https://b:8443", &warning).isEmpty()); // another cluster
    }
};

QTEST_GUILESS_MAIN(TokenStoreTest)
#include "token_store_test.moc"
