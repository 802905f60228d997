// How the log pane draws its rows: a delegate that paints only the visible lines (time, source
// chip, ANSI colours, priority colours, context and search marks), and the view, a one-column
// table with fixed row heights, or with wrapped lines the heights of the rows on screen.
#pragma once

#include "log_list_model.h"

#include <QStringList>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTimer>

namespace day2::ui {

// Paints a row: time, a source chip, the message with its ANSI colours, priority colours, a mark
// for stderr, a band for search matches and for reconnect markers.
class LogLineDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    explicit LogLineDelegate(LogListModel* model, QObject* parent = nullptr);
    static constexpr int kMaxWrappedLines = 200; // a wrapped row shows at most this many lines
    void setShowTime(bool on) { m_showTime = on; }
    void setWrap(bool on) { m_wrap = on; }
    // How many lines row `row` takes wrapped at `width` pixels.
    int wrappedLines(int row, int width, const QFontMetrics& fm) const;
    void paint(QPainter* p, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

private:
    // Where the message starts: after the time and the source chip.
    int textLeft(const QFontMetrics& fm, bool marker) const;

    LogListModel* m_model;
    bool m_showTime = true;
    bool m_wrap = false;
    // The source chips' texts, elided once per font and source list.
    mutable QStringList m_chips;
    mutable QStringList m_chipSources;
    mutable QString m_chipFont;
};

// The view: a one-column table with fixed row heights. (A QListView lays out every row again
// whenever rows are added, which costs O(lines) per batch; a table's fixed sections do not.)
// With wrapping on, only the rows on screen are measured and given their heights, after each
// scroll, resize or batch; rows off screen keep the height they had.
class LogView : public QTableView {
    Q_OBJECT
public:
    explicit LogView(QWidget* parent = nullptr);
    void setModel(QAbstractItemModel* model) override;
    void setFont(const QFont& font);
    // Long lines wrap at the view's width (on) or scroll sideways (off).
    void setWrap(bool on);
    bool wrap() const { return m_wrap; }
    // Whether the pane follows: the newest line stays in view as rows grow.
    void setFollowing(bool on) { m_following = on; }

protected:
    void resizeEvent(QResizeEvent* e) override;

private:
    void fitVisibleRows();
    void scheduleFit(); // with wrapping on: fit the rows on screen once events are done
    void resetHeights();

    bool m_wrap = false;
    bool m_following = true;
    int m_fittedWidth = 0;
    QTimer m_fit;
};

} // namespace day2::ui
