// The log pane's view: with wrapping on, a long line's row is as tall as its wrapped lines and
// its text is painted on each of them; off again, every row is one line. Context lines of a
// filter are marked as such, with a rule where lines are left out.
#include "log_view.h"

#include <QApplication>
#include <QHeaderView>
#include <QImage>
#include <QScrollBar>
#include <QTest>

using namespace day2;
using client::LogEntry;

namespace {

LogEntry line(int64_t t, const QByteArray& text) {
    LogEntry e;
    e.realtimeUsec = t;
    e.message = text;
    return e;
}

// Whether any pixel in `rect` of `image` differs from the background at its top-left corner.
bool inked(const QImage& image, const QRect& rect) {
    const QRgb bg = image.pixel(rect.topLeft());
    for (int y = rect.top(); y <= rect.bottom(); ++y)
        for (int x = rect.left(); x <= rect.right(); ++x)
            if (image.pixel(x, y) != bg)
                return true;
    return false;
}

} // namespace

class LogViewTest : public QObject {
    Q_OBJECT
private slots:
    void wrappedRowsAreAsTallAsTheirLines() {
        ui::LogListModel model(100);
        model.setSources({"a"});
        model.add({line(1, "short"), line(2, QByteArray(400, 'w')), line(3, "short again")});
        ui::LogView view;
        view.setModel(&model);
        auto* delegate = new ui::LogLineDelegate(&model, &view);
        delegate->setShowTime(false);
        view.setItemDelegate(delegate);
        view.resize(500, 400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const int one = view.rowHeight(0);
        QCOMPARE(view.rowHeight(1), one);

        view.setWrap(true);
        const QFontMetrics fm(view.font());
        const int columns = (view.viewport()->width() - 6) / fm.horizontalAdvance('x');
        const int lines = (400 + columns - 1) / columns;
        QVERIFY(lines >= 4);
        QTRY_COMPARE(view.rowHeight(1), lines * fm.height() + 2);
        QCOMPARE(view.rowHeight(0), one);
        QCOMPARE(view.rowHeight(2), one);
        QCOMPARE(view.horizontalScrollBar()->maximum(), 0); // nothing scrolls sideways
        // The long line's last wrapped line has ink; the row below starts after it.
        const QImage image = view.viewport()->grab().toImage();
        const int y = view.rowViewportPosition(1) + (lines - 1) * fm.height() + 2;
        QVERIFY(inked(image, QRect(6, y, 40, fm.height() - 2)));
        QCOMPARE(view.rowViewportPosition(2), view.rowViewportPosition(1) + view.rowHeight(1));

        // Narrower: measured again.
        view.resize(300, 400);
        QTRY_VERIFY(view.rowHeight(1) > lines * fm.height() + 2);
        view.setWrap(false);
        QCOMPARE(view.rowHeight(1), one);
    }

    void contextLinesAreMarked() {
        ui::LogListModel model(100);
        model.setSources({"a"});
        QList<LogEntry> batch;
        for (int i = 0; i < 20; ++i)
            batch.append(line(i, i == 5 || i == 15 ? "ERROR " + QByteArray::number(i)
                                                   : "ok " + QByteArray::number(i)));
        model.add(batch);
        client::LogFilter f;
        f.text = "ERROR";
        f.context = 1;
        QVERIFY(model.setFilter(f, nullptr));
        QCOMPARE(model.rowCount(), 6); // 4, 5, 6 and 14, 15, 16
        QVERIFY(model.row(0).context);
        QVERIFY(!model.row(1).context);
        QVERIFY(!model.row(1).gapBefore);
        QVERIFY(model.row(3).gapBefore); // 6 → 14
        QVERIFY(model.row(3).context);
    }
};

QTEST_MAIN(LogViewTest)
#include "log_view_test.moc"
