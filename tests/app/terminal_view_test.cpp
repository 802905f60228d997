// The terminal widget fed escape sequences; what each must do is written from the sequences'
// documented meaning (ECMA-48; xterm's ctlseqs for 256 and 24-bit colours, the alternate screen
// and the title), not from what the widget happened to do.
#include "terminal/terminal_view.h"

#include <QFontDatabase>
#include <QFontMetrics>
#include <QSignalSpy>
#include <QTest>

#include <numeric>

using day2::ui::TerminalView;

namespace {

// The rectangles the widget's viewport paints.
class PaintSpy : public QObject {
public:
    explicit PaintSpy(QWidget* w) { w->installEventFilter(this); }
    QList<QRect> rects;
    bool eventFilter(QObject*, QEvent* e) override {
        if (e->type() == QEvent::Paint)
            rects.append(static_cast<QPaintEvent*>(e)->rect());
        return false;
    }
};

QPoint pixelOf(int col, int row) {
    const QFontMetrics fm(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    return QPoint(col * fm.horizontalAdvance(QLatin1Char('M')) + 2, row * fm.height() + 2);
}

QByteArray sentBy(QSignalSpy& input) {
    QByteArray all;
    for (const auto& a : input)
        all += a[0].toByteArray();
    input.clear();
    return all;
}

} // namespace

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

    void onlyTheDamagedRowsArePainted() {
        TerminalView v;
        v.resize(500, 400);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        const int cellH =
            QFontMetrics(QFontDatabase::systemFont(QFontDatabase::FixedFont)).height();
        // The cursor to row 6 (CUP 6;1), then letters written on that row only.
        v.feed("\x1b[6;1H");
        PaintSpy spy(v.viewport());
        QTest::qWait(100);
        spy.rects.clear();
        v.feed("hello");
        QTRY_VERIFY(!spy.rects.isEmpty());
        QTest::qWait(50);
        const QRect painted = std::accumulate(spy.rects.begin(), spy.rects.end(), QRect(),
                                              [](QRect a, QRect b) { return a | b; });
        QCOMPARE(painted.top(), 5 * cellH);
        QCOMPARE(painted.height(), cellH);
        // A line feed at the bottom scrolls the whole screen: everything is painted.
        spy.rects.clear();
        v.feed(QByteArray("\x1b[") + QByteArray::number(v.rows()) + ";1H\n");
        QTRY_VERIFY(!spy.rects.isEmpty());
        QVERIFY(spy.rects.last().height() >= v.rows() * cellH);
    }

    void largeOutputIsParsedInTurnsAndNothingIsLost() {
        TerminalView v;
        v.setTerminalSize(40, 10);
        QByteArray big;
        for (int i = 0; i < 200000; ++i)
            big += "\x1b[3" + QByteArray::number(i % 8) + "mline " + QByteArray::number(i) +
                   "\x1b[0m\r\n";
        v.feed(big); // several MB: more than one turn's parsing
        QVERIFY(v.pendingBytes() > 0);
        QTRY_COMPARE_WITH_TIMEOUT(v.pendingBytes(), 0, 60000);
        QCOMPARE(row(v, 8), QStringLiteral("line 199999"));
        QCOMPARE(v.scrollbackLine(v.scrollbackCount() - 1), QStringLiteral("line 199990"));
        // Over the bound, the rest is parsed at once: what waits stays under it.
        QByteArray huge;
        while (huge.size() <= 2 * TerminalView::kPendingMax)
            huge += big;
        v.feed(huge);
        QVERIFY(v.pendingBytes() <= TerminalView::kPendingMax);
        v.flush();
        QCOMPARE(v.pendingBytes(), 0);
        QCOMPARE(row(v, 8), QStringLiteral("line 199999"));
    }

    void cursorShapesAndBlink() {
        TerminalView v;
        v.setTerminalSize(20, 5);
        // DECSCUSR (CSI Ps SP q): 2 steady block, 4 steady underline, 5 blinking bar.
        v.feed("\x1b[4 q");
        QCOMPARE(v.cursorShape(), TerminalView::CursorShape::Underline);
        QVERIFY(!v.cursorBlinks());
        v.feed("\x1b[5 q");
        QCOMPARE(v.cursorShape(), TerminalView::CursorShape::Bar);
        QVERIFY(v.cursorBlinks());
        v.feed("\x1b[2 q");
        QCOMPARE(v.cursorShape(), TerminalView::CursorShape::Block);
        QVERIFY(!v.cursorBlinks());
    }

    void theMouseIsReportedWhenTheProgramAsks() {
        TerminalView v;
        v.resize(500, 300);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        QSignalSpy input(&v, &TerminalView::input);
        QTest::mouseClick(v.viewport(), Qt::LeftButton, {}, pixelOf(3, 2));
        QCOMPARE(sentBy(input), QByteArray()); // not asked: the click is a selection's
        // DECSET 1000 (clicks) with 1006 (SGR form: ESC [ < button ; column ; row M, m on
        // release, 1-based).
        v.feed("\x1b[?1000h\x1b[?1006h");
        QCOMPARE(v.mouseMode(), 1);
        QTest::mouseClick(v.viewport(), Qt::LeftButton, {}, pixelOf(3, 2));
        QCOMPARE(sentBy(input), QByteArray("\x1b[<0;4;3M\x1b[<0;4;3m"));
        // Shift+click stays the reader's.
        QTest::mouseClick(v.viewport(), Qt::LeftButton, Qt::ShiftModifier, pixelOf(3, 2));
        QCOMPARE(sentBy(input), QByteArray());
        v.feed("\x1b[?1000l");
        QCOMPARE(v.mouseMode(), 0);
    }

    void searchFindsInTheScrollbackAndScrollsToIt() {
        TerminalView v;
        v.setTerminalSize(30, 10);
        for (int i = 0; i < 300; ++i)
            v.feed(QStringLiteral("item-%1\r\n").arg(i, 3, 10, QChar('0')).toUtf8());
        const int bottom = v.scrollPosition();
        QVERIFY(v.find(QStringLiteral("ITEM-042"))); // case ignored
        QCOMPARE(v.selectedText(), QStringLiteral("item-042"));
        QVERIFY(v.scrollPosition() < bottom);
        QVERIFY(v.scrollPosition() <= 42 && v.scrollPosition() + v.rows() > 42);
        QVERIFY(!v.find(QStringLiteral("ITEM-042"))); // no older one
        QCOMPARE(v.selectedText(), QString());
        // Towards older from the bottom, then newer again.
        // (Line n holds item-n: the first line fed is the oldest kept.)
        QVERIFY(v.find(QStringLiteral("item-01")));
        QCOMPARE(v.selectedText(), QStringLiteral("item-01"));
        QCOMPARE(v.selectionStart(), QPoint(0, 19));
        QVERIFY(v.find(QStringLiteral("item-01")));
        QCOMPARE(v.selectionStart(), QPoint(0, 18));
        QVERIFY(v.find(QStringLiteral("item-01"), false));
        QCOMPARE(v.selectionStart(), QPoint(0, 19));
        QVERIFY(!v.find(QStringLiteral("absent")));
    }
};

QTEST_MAIN(TerminalViewTest)
#include "terminal_view_test.moc"
