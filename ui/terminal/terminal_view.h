// The console's terminal widget on libvterm: bytes from a program go in (feed), libvterm keeps
// the screen, and the widget paints what it reports as damaged, at most once a frame. Keys and
// the replies libvterm makes (DA, DSR) come out as `input`; the size in cells goes out as
// `sizeChanged` whenever it changes. 16, 256 and 24-bit colours, bold, italic, underline,
// reverse, wide characters (the right half of one is skipped), the alternate screen, a title
// from OSC 0/2 (`titleChanged`), a visual bell, cursor shapes and blink, mouse reporting when the
// program asks for it (Shift+mouse still selects), and a scrollback of lines pushed off the top
// (10,000 by default) shown with the scroll bar, the mouse wheel or Shift+PgUp/PgDn, searched
// with Ctrl+Shift+F.
//
// Painting: only the rows libvterm reports damaged (scrolls merged) are repainted, at most once a
// frame; a first change after a quiet frame is painted at once (typing is not delayed).
// Parsing: output is parsed as it comes, up to 8 ms at a time; the rest waits for the next turn
// of the event loop (after input and paints), so that `cat` of a large file keeps the window
// responsive. What waits is bounded (kPendingMax): above it, output is parsed at once (the window
// stalls, no byte is dropped).
//
// TerminalView is the interface the console's terminal pane uses: a distribution's Qt 6
// QTermWidget could stand behind it instead.
#pragma once

#include <QAbstractScrollArea>
#include <QByteArray>
#include <QClipboard>
#include <QColor>
#include <QElapsedTimer>
#include <QFont>
#include <QHash>
#include <QList>
#include <QRawFont>
#include <QString>
#include <QTimer>

#include <algorithm>
#include <vector>

class QLineEdit;
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
    // Parses what waits (tests and snapshots read the screen after it).
    void flush();
    qsizetype pendingBytes() const { return m_pending.size() - m_pendingAt; }
    static constexpr qsizetype kPendingMax = 16 << 20;
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
    enum class CursorShape { Block = 1, Underline, Bar };
    CursorShape cursorShape() const { return m_cursorShape; }
    bool cursorBlinks() const { return m_cursorBlink; }
    // What the program asked the mouse to report: 0 nothing, 1 clicks, 2 drags, 3 every move.
    int mouseMode() const { return m_mouseMode; }
    // The first line of the scrollback shown at the top (scrollbackCount() at the bottom).
    int scrollPosition() const;

    // Looks for `text` (ignoring case) in the scrollback and the screen, from the last match (or
    // the bottom) towards older lines, or newer ones; selects it and scrolls to it. False when it
    // is not there (the selection is then cleared).
    bool find(const QString& text, bool older = true);
    // Shows the search field (Ctrl+Shift+F): Enter finds older, Shift+Enter newer, Esc closes.
    void showSearch();

    // The selection, in lines counted from the oldest scrollback line (the screen's row r is
    // line scrollbackCount() + r) and columns; `to` is included. A row filled to its last column
    // continues on the next one (a wrapped line): their texts join without a line break.
    void select(int fromLine, int fromCol, int toLine, int toCol);
    void clearSelection();
    QString selectedText() const;
    // Where the selection starts: (column, line); (-1, -1) when there is none.
    QPoint selectionStart() const { return m_selFrom; }
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
    void wheelEvent(QWheelEvent* e) override;
    void focusInEvent(QFocusEvent* e) override;
    void focusOutEvent(QFocusEvent* e) override;
    bool eventFilter(QObject* o, QEvent* e) override;        // the search field's Enter and Esc
    bool focusNextPrevChild(bool) override { return false; } // Tab goes to the program
    void scrollContentsBy(int dx, int dy) override;

private:
    // A cell pushed off the top, as libvterm gave it (colours converted when painted), 16 bytes.
    struct ScrollbackCell {
        char32_t ch = 0;
        uint32_t fg = 0, bg = 0; // libvterm's VTermColor, its 4 bytes
        uint8_t width = 1;
        bool bold : 1 = false, italic : 1 = false, underline : 1 = false, reverse : 1 = false;
    };
    using ScrollbackLine = std::vector<ScrollbackCell>;
    // The scrollback: at most `max` lines in a ring, the oldest line's storage reused for the
    // newest once full (no allocation a line in a flood).
    class LineRing {
    public:
        explicit LineRing(size_t max) : m_max(max) {}
        size_t size() const { return m_count; }
        bool empty() const { return m_count == 0; }
        const ScrollbackLine& operator[](size_t i) const {
            return m_lines[(m_head + i) % m_lines.size()];
        }
        // A line added at the end, to be filled (the oldest line dropped when full).
        ScrollbackLine& push() {
            if (m_max == 0) {
                m_lines.resize(1);
                return m_lines[0];
            }
            if (m_count < m_lines.size())
                return m_lines[(m_head + m_count++) % m_lines.size()];
            if (m_lines.size() < m_max) {
                std::rotate(m_lines.begin(), m_lines.begin() + long(m_head), m_lines.end());
                m_head = 0;
                ++m_count;
                return m_lines.emplace_back();
            }
            ScrollbackLine& reused = m_lines[m_head];
            m_head = (m_head + 1) % m_lines.size();
            return reused;
        }
        // The newest line, taken out.
        ScrollbackLine pop() {
            --m_count;
            return std::move(m_lines[(m_head + m_count) % m_lines.size()]);
        }

    private:
        std::vector<ScrollbackLine> m_lines;
        size_t m_head = 0, m_count = 0, m_max;
    };

    friend struct TerminalCallbacks; // libvterm's callbacks (terminal_view.cpp)

    void scheduleUpdate();
    void markRows(int from, int to); // screen rows [from, to) need painting
    void parseSome();
    void parseChunk(); // what waits, a chunk of it
    bool reportMouse(QMouseEvent* e, bool pressed); // true when the program took it
    // Whether the program takes the mouse now; if so, its pointer moved to the cell at `pos`.
    bool mouseToProgram(const QPointF& pos, Qt::KeyboardModifiers modifiers);
    void restartBlink();
    void applyFont(); // the cell size, the styles' fonts and raw fonts from m_font
    quint32 glyphFor(int style, char32_t ch);    // 0: no single glyph in the raw font
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
    QFont m_fonts[3];  // regular, bold, italic
    QRawFont m_raw[3]; // the same, for glyph runs
    QHash<char32_t, quint32> m_glyphs[3];
    int m_cellW = 8, m_cellH = 16, m_ascent = 12;
    LineRing m_scrollback;
    int m_cursorRow = 0, m_cursorCol = 0;
    bool m_cursorVisible = true;
    bool m_altScreen = false;
    QString m_title;
    QTimer m_frame; // coalesces damage into one paint a frame
    QElapsedTimer m_sincePaint;
    bool m_followingOutput = false;     // the scroll bar moved by output at the bottom
    int m_dirtyFrom = 0, m_dirtyTo = 0; // screen rows damaged since the last paint
    QByteArray m_pending;               // output waiting to be parsed, from m_pendingAt
    qsizetype m_pendingAt = 0;
    QTimer m_parse;
    CursorShape m_cursorShape = CursorShape::Block;
    bool m_cursorBlink = false, m_blinkOn = true;
    QTimer m_blinkTimer;
    int m_mouseMode = 0;
    QLineEdit* m_search = nullptr;
    QPoint m_found{-1, -1}; // (column, line) of the last match
    QTimer m_bellTimer;     // the visual bell's flash
    bool m_bell = false;
    QPoint m_selFrom{-1, -1}, m_selTo{-1, -1}; // (column, line); from <= to
    QPoint m_anchor{-1, -1};
    bool m_selecting = false;
    qint64 m_doubleClickAt = 0; // a press soon after it is a triple click: the line
};

} // namespace day2::ui
