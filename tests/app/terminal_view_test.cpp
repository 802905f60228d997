// The terminal widget fed escape sequences; what each must do is written from the sequences'
// documented meaning (ECMA-48; xterm's ctlseqs for 256 and 24-bit colours, the alternate screen
// and the title), not from what the widget happened to do.
#include "terminal/terminal_view.h"

#include <QFontDatabase>
#include <QFontMetrics>
#include <QSignalSpy>
#include <QTest>

using day2::ui::TerminalView;

class TerminalViewTest : public QObject {
    Q_OBJECT
private:
    static QString row(const TerminalView& v, int r) { return v.screenText().split('\n').value(r); }

private slots:
    void cursorMovementAndErase() {
        TerminalView v;
        v.setTerminalSize(20, 5);
        // CUP is 1-based: ESC[2;3H puts the cursor on row 2, column 3.
        v.feed("\x1b[2;3Habc");
        QCOMPARE(row(v, 1), QStringLiteral("  abc"));
        QCOMPARE(v.cursorRow(), 1);
        QCOMPARE(v.cursorCol(), 5);
        // CUB 2, then EL 0 erases from the cursor to the end of the line.
        v.feed("\x1b[2D\x1b[K");
        QCOMPARE(row(v, 1), QStringLiteral("  a"));
        // ED 2 erases the whole screen.
        v.feed("\x1b[1;1Htop\x1b[2J");
        QCOMPARE(v.screenText().trimmed(), QString());
    }

    void insertDeleteAndScrollRegion() {
        TerminalView v;
        v.setTerminalSize(10, 5);
        v.feed("abcdef\x1b[1;3H");
        // ICH 2 inserts two blanks at the cursor; DCH 1 deletes one character.
        v.feed("\x1b[2@");
        QCOMPARE(row(v, 0), QStringLiteral("ab  cdef"));
        v.feed("\x1b[1P");
        QCOMPARE(row(v, 0), QStringLiteral("ab cdef"));
        // DECSTBM 2;4: a line feed at the region's bottom scrolls rows 2-4 only.
        v.feed("\x1b[2J\x1b[1;1Hone\x1b[2;1Htwo\x1b[3;1Hthree\x1b[4;1Hfour\x1b[5;1Hfive");
        v.feed("\x1b[2;4r\x1b[4;1H\n");
        QCOMPARE(row(v, 0), QStringLiteral("one"));
        QCOMPARE(row(v, 1), QStringLiteral("three"));
        QCOMPARE(row(v, 2), QStringLiteral("four"));
        QCOMPARE(row(v, 3), QString());
        QCOMPARE(row(v, 4), QStringLiteral("five"));
    }

    void coloursAndAttributes() {
        TerminalView v;
        v.setTerminalSize(20, 3);
        // SGR 31 red (palette), 38;5;196 (256: the cube's pure red), 38;2;1;2;3 (24-bit), 1 bold,
        // 4 underline, 7 reverse, 0 reset.
        v.feed("\x1b[31mA\x1b[38;5;196mB\x1b[38;2;1;2;3mC\x1b[0;1;4;7mD\x1b[0mE");
        const auto a = v.cellAt(0, 0), b = v.cellAt(0, 1), c = v.cellAt(0, 2), d = v.cellAt(0, 3),
                   e = v.cellAt(0, 4);
        QCOMPARE(a.text, QStringLiteral("A"));
        QVERIFY(a.fg.isValid() && a.fg.red() > 100 && a.fg.green() < 100 && a.fg.blue() < 100);
        QCOMPARE(b.fg, QColor(255, 0, 0));
        QCOMPARE(c.fg, QColor(1, 2, 3));
        QVERIFY(d.bold && d.underline && d.reverse);
        QVERIFY(!e.bold && !e.underline && !e.reverse && !e.fg.isValid());
        // Background 48;5;21 (the cube's pure blue).
        v.feed("\x1b[48;5;21mF");
        QCOMPARE(v.cellAt(0, 5).bg, QColor(0, 0, 255));
    }

    void wideCharactersTakeTwoCells() {
        TerminalView v;
        v.setTerminalSize(10, 2);
        v.feed("a\xe6\x97\xa5"
               "b"); // a, 日 (wide), b
        QCOMPARE(v.cellAt(0, 1).text, QString::fromUtf8("\xe6\x97\xa5"));
        QCOMPARE(v.cellAt(0, 1).width, 2);
        QCOMPARE(v.cellAt(0, 3).text, QStringLiteral("b"));
        QCOMPARE(row(v, 0), QString::fromUtf8("a\xe6\x97\xa5"
                                              "b"));
    }

    void theAlternateScreenAndTheTitle() {
        TerminalView v;
        v.setTerminalSize(20, 3);
        QSignalSpy title(&v, &TerminalView::titleChanged);
        v.feed("main");
        // DECSET 1049: the alternate screen (as vim, less and htop use it), cleared; DECRST back.
        v.feed("\x1b[?1049h");
        QVERIFY(v.altScreen());
        QCOMPARE(v.screenText().trimmed(), QString());
        v.feed("full screen");
        v.feed("\x1b[?1049l");
        QVERIFY(!v.altScreen());
        QCOMPARE(row(v, 0), QStringLiteral("main"));
        // OSC 2 sets the title.
        v.feed("\x1b]2;my title\x07");
        QCOMPARE(title.size(), 1);
        QCOMPARE(v.title(), QStringLiteral("my title"));
    }

    void scrollbackKeepsWhatLeftTheTop() {
        TerminalView v(nullptr, 1000);
        v.setTerminalSize(20, 24);
        QByteArray lines;
        for (int i = 0; i < 100; ++i)
            lines += "line " + QByteArray::number(i) + "\r\n";
        v.feed(lines);
        // 100 lines and the cursor's empty line on 24 rows: 77 pushed off the top.
        QCOMPARE(v.scrollbackCount(), 77);
        QCOMPARE(v.scrollbackLine(0), QStringLiteral("line 0"));
        QCOMPARE(v.scrollbackLine(76), QStringLiteral("line 76"));
        QCOMPARE(row(v, 0), QStringLiteral("line 77"));
        // The bound: the oldest go.
        TerminalView small(nullptr, 10);
        small.setTerminalSize(20, 5);
        small.feed(lines);
        QCOMPARE(small.scrollbackCount(), 10);
        QCOMPARE(small.scrollbackLine(9), QStringLiteral("line 95"));
    }

    void repliesAndKeysGoOutAsInput() {
        TerminalView v;
        v.setTerminalSize(20, 5);
        QSignalSpy input(&v, &TerminalView::input);
        // DSR 6: the cursor position report, ESC[row;colR.
        v.feed("\x1b[3;4H\x1b[6n");
        QByteArray all;
        for (const auto& a : input)
            all += a[0].toByteArray();
        QCOMPARE(all, QByteArray("\x1b[3;4R"));
        input.clear();
        QTest::keyClicks(&v, "ls");
        QTest::keyClick(&v, Qt::Key_Return);
        QTest::keyClick(&v, Qt::Key_C, Qt::ControlModifier);
        QTest::keyClick(&v, Qt::Key_Up);
        all.clear();
        for (const auto& a : input)
            all += a[0].toByteArray();
        QCOMPARE(all, QByteArray("ls\r\x03\x1b[A"));
    }

    void selectionJoinsAWrappedLineAndPasteIsBracketedWhenAsked() {
        TerminalView v;
        v.setTerminalSize(20, 5);
        // 30 characters on 20 columns: the line wraps onto the second row.
        v.feed("abcdefghijklmnopqrstuvwxyz0123\r\nnext line");
        QCOMPARE(row(v, 1), QStringLiteral("uvwxyz0123"));
        const int top = v.scrollbackCount(); // the screen's first row
        v.select(top, 0, top + 2, 3);
        QCOMPARE(v.selectedText(), QStringLiteral("abcdefghijklmnopqrstuvwxyz0123\nnext"));
        v.select(top + 1, 2, top + 1, 4);
        QCOMPARE(v.selectedText(), QStringLiteral("wxy"));

        QSignalSpy input(&v, &TerminalView::input);
        auto sent = [&] {
            QByteArray all;
            for (const auto& a : input)
                all += a[0].toByteArray();
            input.clear();
            return all;
        };
        v.paste("ls\necho");
        QCOMPARE(sent(), QByteArray("ls\recho"));
        // DECSET 2004: the program asked for bracketed paste.
        v.feed("\x1b[?2004h");
        v.paste("ls\necho");
        QCOMPARE(sent(), QByteArray("\x1b[200~ls\recho\x1b[201~"));
    }

    void aDoubleClickSelectsAWord() {
        TerminalView v;
        v.resize(400, 200);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.feed("ls /usr/lib/x86_64 -la");
        QTest::qWait(50); // the frame's paint
        // The cell of column 6 (inside "/usr/lib/x86_64") on the first row.
        const QFontMetrics fm(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        const QPoint at(6 * fm.horizontalAdvance(QLatin1Char('M')) + 2, fm.height() / 2);
        QTest::mouseDClick(v.viewport(), Qt::LeftButton, {}, at);
        QCOMPARE(v.selectedText(), QStringLiteral("/usr/lib/x86_64"));
    }

    void itsSizeFollowsTheWidget() {
        TerminalView v;
        QSignalSpy size(&v, &TerminalView::sizeChanged);
        v.resize(400, 300);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        QTRY_VERIFY(!size.isEmpty());
        const int cols = size.last()[0].toInt(), rows = size.last()[1].toInt();
        QCOMPARE(v.columns(), cols);
        QCOMPARE(v.rows(), rows);
        v.resize(600, 300);
        QTRY_VERIFY(v.columns() > cols);
    }
};

QTEST_MAIN(TerminalViewTest)
#include "terminal_view_test.moc"
