// TokenStore where no keyring answers (no D-Bus session here): the token goes to a file that
// only its owner can read, names the URL it belongs to, and is never given to another URL. And
// with a real keyring (gnome-keyring, under tests/app/keyring_test.sh): the token goes there.
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

    // With a Secret Service (tests/app/keyring_test.sh starts gnome-keyring in a private D-Bus
    // session), the token goes to the keyring, no file is written, and each URL has its own.
    void withAKeyringTheTokenGoesThereAndNoFileIsWritten() {
        if (qEnvironmentVariableIsEmpty("DAY2_TEST_KEYRING"))
            QSKIP("no keyring here: tests/app/keyring_test.sh runs this with gnome-keyring");
        QTemporaryDir home;
        qputenv("XDG_CONFIG_HOME", home.path().toLocal8Bit());
        QString warning = "unset";
        QVERIFY(TokenStore::save("https://k:8443", "token-in-keyring", &warning));
        QVERIFY2(warning == "unset" || warning.isEmpty(), qPrintable(warning));
        QVERIFY(!QFile::exists(home.path() + "/day2/console-token"));
        warning.clear();
        QCOMPARE(TokenStore::load("https://k:8443", &warning), QByteArray("token-in-keyring"));
        QVERIFY2(warning.isEmpty(), qPrintable(warning));
        QVERIFY(TokenStore::load("https://other:8443", &warning).isEmpty());
        QVERIFY(TokenStore::save("https://k:8443", "replaced", &warning));
        QCOMPARE(TokenStore::load("https://k:8443", &warning), QByteArray("replaced"));
    }
};

QTEST_GUILESS_MAIN(TokenStoreTest)
#include "token_store_test.moc"
