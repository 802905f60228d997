// The console's terminal widget, offscreen (QT_QPA_PLATFORM=offscreen):
//   throughput  100 MB of `ls --color`-like lines (names between SGR colour changes) reach the
//               widget in 64 KiB pieces, as an exec session's frames do, with the event loop
//               turning between them (the widget parses, scrolls its scrollback and paints at
//               most once a frame); the time until all is parsed and painted. Same run: libvterm
//               alone (a screen, no widget: the ceiling) and a QPlainTextEdit given the same
//               pieces (the naive widget: it shows the escape sequences as text, and keeps 10,000
//               lines like the widget's scrollback).
//   keypress    a key pressed in the widget, its echo fed back at once (as a shell's), until the
//               viewport has painted it: the time from the key event to the paint's end, 300 keys
//               30 ms apart.
// Prints a line per measurement: name, then key=value pairs. For profiling: `widget` runs the
// widget's part alone, DAY2_BENCH_MB=N feeds N MB instead of 100, DAY2_BENCH_SHOT=FILE.png saves
// what the widget shows at the end.
#include "bench_common.h"
#include "terminal/terminal_view.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QKeyEvent>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTest>

#include <vterm.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using day2::ui::TerminalView;

namespace {

const qsizetype kTotal = qEnvironmentVariableIntValue("DAY2_BENCH_MB") > 0
                             ? qsizetype(qEnvironmentVariableIntValue("DAY2_BENCH_MB")) << 20
                             : qsizetype(100) << 20;
constexpr qsizetype kPiece = 64 << 10;

// A MiB of coloured listing lines, different names on each.
QByteArray listing() {
    static const char* colours[] = {"01;34", "01;32", "01;36", "00", "01;31", "01;35", "33"};
    QByteArray out;
    int n = 0;
    while (out.size() < (1 << 20)) {
        QByteArray line;
        for (int k = 0; k < 4; ++k, ++n) {
            line += "\x1b[";
            line += colours[n % 7];
            line += "m";
            line += "file-" + QByteArray::number(n) + (n % 3 ? ".txt" : "");
            line += "\x1b[0m  ";
        }
        out += line + "\r\n";
    }
    return out;
}

double mbPerSecond(qint64 bytes, qint64 ns) {
    return double(bytes) / double(1 << 20) / (double(ns) / 1e9);
}

// The pieces of the 100 MB, in order.
template <typename F> void forEachPiece(const QByteArray& block, F f) {
    for (qsizetype done = 0; done < kTotal;) {
        const qsizetype at = done % block.size();
        const qsizetype n = std::min(kPiece, block.size() - at);
        if (!f(QByteArray::fromRawData(block.constData() + at, n)))
            return;
        done += n;
    }
}

// libvterm alone: a screen with damage merged by scroll, nothing painted.
double libvtermAlone(const QByteArray& block, int rows, int cols) {
    VTerm* vt = vterm_new(rows, cols);
    vterm_set_utf8(vt, 1);
    VTermScreen* screen = vterm_obtain_screen(vt);
    vterm_screen_set_damage_merge(screen, VTERM_DAMAGE_SCROLL);
    vterm_screen_reset(screen, 1);
    QElapsedTimer t;
    t.start();
    forEachPiece(block, [&](const QByteArray& piece) {
        vterm_input_write(vt, piece.constData(), size_t(piece.size()));
        return true;
    });
    vterm_screen_flush_damage(screen);
    const qint64 ns = t.nsecsElapsed();
    vterm_free(vt);
    return mbPerSecond(kTotal, ns);
}

class PaintCounter : public QObject {
public:
    explicit PaintCounter(QWidget* w) { w->installEventFilter(this); }
    int paints = 0;
    qint64 lastEndNs = 0;
    QElapsedTimer clock;
    bool eventFilter(QObject* o, QEvent* e) override {
        if (e->type() != QEvent::Paint)
            return false;
        // The paint itself, then its end noted.
        static_cast<QWidget*>(o)->removeEventFilter(this);
        QCoreApplication::sendEvent(o, e);
        static_cast<QWidget*>(o)->installEventFilter(this);
        ++paints;
        lastEndNs = clock.nsecsElapsed();
        return true;
    }
};

void throughput(bool anchors) {
    const QByteArray block = listing();
    TerminalView view;
    view.resize(820, 520);
    view.show();
    if (!QTest::qWaitForWindowExposed(&view))
        std::fprintf(stderr, "the widget was not exposed\n");
    // (The same screen size: libvterm's scroll moves the whole screen's cells.)
    const double ceiling = anchors ? libvtermAlone(block, view.rows(), view.columns()) : 1;
    PaintCounter paints(view.viewport());
    paints.clock.start(); // the paints' ends are timed from here
    forEachPiece(block, [&](const QByteArray& piece) {
        view.feed(piece);
        QCoreApplication::processEvents(); // input, parsing turns and paints in between
        return true;
    });
    while (view.pendingBytes() > 0)
        QCoreApplication::processEvents();
    QTest::qWait(40); // the last frame's paint
    const double day2 = mbPerSecond(kTotal, paints.lastEndNs);

    if (qEnvironmentVariableIsSet("DAY2_BENCH_SHOT")) // (to look at what was painted)
        view.grab().save(qEnvironmentVariable("DAY2_BENCH_SHOT"));
    if (!anchors) {
        std::printf("widget day2_mb_s=%.1f day2_paints=%d\n", day2, paints.paints);
        return;
    }
    // The naive widget, for at most 60 s (its rate is what was done in that time).
    QPlainTextEdit plain;
    plain.setReadOnly(true);
    plain.setMaximumBlockCount(10000);
    plain.setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    plain.resize(820, 520);
    plain.show();
    if (!QTest::qWaitForWindowExposed(&plain))
        std::fprintf(stderr, "the widget was not exposed\n");
    qint64 plainBytes = 0;
    QElapsedTimer t;
    t.start();
    forEachPiece(block, [&](const QByteArray& piece) {
        plain.moveCursor(QTextCursor::End);
        plain.insertPlainText(QString::fromUtf8(piece));
        plain.verticalScrollBar()->setValue(plain.verticalScrollBar()->maximum());
        QCoreApplication::processEvents();
        plainBytes += piece.size();
        return t.elapsed() < 60000;
    });
    const double naive = mbPerSecond(plainBytes, t.nsecsElapsed());

    std::printf("throughput bytes=%lld day2_mb_s=%.1f libvterm_alone_mb_s=%.1f "
                "ratio_to_libvterm=%.2f day2_paints=%d plaintextedit_mb_s=%.2f "
                "plaintextedit_bytes=%lld ratio_to_plaintextedit=%.1f scrollback=%d "
                "screen=%dx%d\n",
                static_cast<long long>(kTotal), day2, ceiling, day2 / ceiling, paints.paints, naive,
                static_cast<long long>(plainBytes), day2 / naive, view.scrollbackCount(),
                view.columns(), view.rows());
}

void keypress() {
    TerminalView view;
    view.resize(820, 520);
    view.show();
    view.activateWindow();
    view.setFocus();
    if (!QTest::qWaitForWindowExposed(&view))
        std::fprintf(stderr, "the widget was not exposed\n");
    // A screen of text first, and the echo as a shell gives it.
    for (int i = 0; i < 30; ++i)
        view.feed("\x1b[01;34mfile-" + QByteArray::number(i) + "\x1b[0m  other text\r\n");
    QObject::connect(&view, &TerminalView::input, &view,
                     [&view](const QByteArray& bytes) { view.feed(bytes); });
    PaintCounter paints(view.viewport());
    paints.clock.start();
    QTest::qWait(100);
    std::vector<double> latency;
    for (int k = 0; k < 300; ++k) {
        const int before = paints.paints;
        const qint64 start = paints.clock.nsecsElapsed();
        QKeyEvent press(QEvent::KeyPress, Qt::Key_A + (k % 26), Qt::NoModifier,
                        QString(QChar('a' + k % 26)));
        QCoreApplication::sendEvent(&view, &press);
        while (paints.paints == before)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
        latency.push_back(double(paints.lastEndNs - start) / 1e6);
        QTest::qWait(30);
    }
    std::sort(latency.begin(), latency.end());
    std::printf("keypress keys=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", latency.size(),
                day2::bench::percentile(latency, 50), day2::bench::percentile(latency, 99), latency.back());
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const QString what = argc > 1 ? QString::fromUtf8(argv[1]) : QStringLiteral("all");
    if (what == "throughput" || what == "all")
        throughput(true);
    if (what == "widget") // (the widget alone, for profiling)
        throughput(false);
    if (what == "keypress" || what == "all")
        keypress();
    return 0;
}
