// The console's terminal widget on libvterm: bytes from a program go in (feed), libvterm keeps
// the screen, and the widget paints what it reports as damaged, at most once a frame. Keys and
// the replies libvterm makes (DA, DSR) come out as `input`; the size in cells goes out as
// `sizeChanged` whenever it changes. 16, 256 and 24-bit colours, bold, italic, underline,
// reverse, wide characters (the right half of one is skipped), the alternate screen, a title
// from OSC 0/2 (`titleChanged`), a visual bell, and a scrollback of lines pushed off the top
// (10,000 by default) shown with the scroll bar, the mouse wheel or Shift+PgUp/PgDn.
//
// TerminalView is the interface the console's terminal pane uses: a distribution's Qt 6
// QTermWidget could stand behind it instead.
#pragma once

#include <QAbstractScrollArea>
#include <QByteArray>
#include <QClipboard>
#include <QColor>
#include <QFont>
#include <QList>
#include <QString>
#include <QTimer>

#include <deque>
#include <vector>

struct VTerm;
struct VTermScreen;

namespace day2::ui {

class TerminalView : public QAbstractScrollArea {
    Q_OBJECT
public:
    explicit TerminalView(QWidget* parent = nullptr, int scrollbackLines = 10000);
    ~TerminalView() override;

    // Output of the program, as it came (any split of escape sequences is fine).
    void feed(const QByteArray& bytes);
    int columns() const { return m_cols; }
    int rows() const { return m_rows; }
    // Sets the size in cells (as a resize of the widget does).
    void setTerminalSize(int cols, int rows);

    // What a cell shows, for tests and snapshots.
    struct Cell {
        QString text; // empty for a blank cell; the left half of a wide character holds it
        int width = 1;
        QColor fg, bg; // invalid: the default colour
        bool bold = false, italic = false, underline = false, reverse = false;
    };
    Cell cellAt(int row, int col) const;
    // The visible screen's text, one line per row (trailing blanks cut).
    QString screenText() const;
    // A scrollback line (0 is the oldest kept), its text.
    QString scrollbackLine(int i) const;
    int scrollbackCount() const { return int(m_scrollback.size()); }
    QString title() const { return m_title; }
    bool altScreen() const { return m_altScreen; }
    int cursorRow() const { return m_cursorRow; }
    int cursorCol() const { return m_cursorCol; }

    // The selection, in lines counted from the oldest scrollback line (the screen's row r is
    // line scrollbackCount() + r) and columns; `to` is included. A row filled to its last column
    // continues on the next one (a wrapped line): their texts join without a line break.
    void select(int fromLine, int fromCol, int toLine, int toCol);
    void clearSelection();
    QString selectedText() const;
    // Text as typed, in bracketed-paste mode when the program asked for it (DECSET 2004).
    void paste(const QString& text);
    int fontPointSize() const { return m_font.pointSize(); }
    void setFontPointSize(int points);

signals:
    void input(const QByteArray& bytes);
    void sizeChanged(int cols, int rows);
    void titleChanged(const QString& title);

protected:
    void paintEvent(QPaintEvent* e) override;
    void resizeEvent(QResizeEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;
    void mousePressEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void mouseReleaseEvent(QMouseEvent* e) override;
    void mouseDoubleClickEvent(QMouseEvent* e) override;
    bool focusNextPrevChild(bool) override { return false; } // Tab goes to the program
    void scrollContentsBy(int dx, int dy) override;

private:
    struct ScrollbackCell {
        char32_t ch = 0;
        int width = 1;
        QColor fg, bg;
        bool bold = false, italic = false, underline = false, reverse = false;
    };
    using ScrollbackLine = std::vector<ScrollbackCell>;

    friend struct TerminalCallbacks; // libvterm's callbacks (terminal_view.cpp)

    void scheduleUpdate();
    QPoint cellAtPixel(const QPoint& pos) const; // (column, line)
    QString lineText(int line) const;            // a line's text, every column (blanks kept)
    bool lineFull(int line) const;
    bool selected(int line, int col) const;
    void copySelection(QClipboard::Mode mode) const;
    void updateScrollBar();
    void recomputeSize();

    VTerm* m_vt = nullptr;
    VTermScreen* m_screen = nullptr;
    int m_cols = 80, m_rows = 24;
    QFont m_font;
    int m_cellW = 8, m_cellH = 16, m_ascent = 12;
    std::deque<ScrollbackLine> m_scrollback;
    size_t m_scrollbackMax;
    int m_cursorRow = 0, m_cursorCol = 0;
    bool m_cursorVisible = true;
    bool m_altScreen = false;
    QString m_title;
    QTimer m_frame;     // coalesces damage into one paint a frame
    QTimer m_bellTimer; // the visual bell's flash
    bool m_bell = false;
    bool m_damaged = false;
    QPoint m_selFrom{-1, -1}, m_selTo{-1, -1}; // (column, line); from <= to
    QPoint m_anchor{-1, -1};
    bool m_selecting = false;
    qint64 m_doubleClickAt = 0; // a press soon after it is a triple click: the line
};

} // namespace day2::ui
