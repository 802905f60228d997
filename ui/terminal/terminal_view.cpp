#include "terminal/terminal_view.h"

#include <QApplication>
#include <QDateTime>
#include <QFontDatabase>
#include <QFontMetrics>
#include <QKeyEvent>
#include <QPainter>
#include <QResizeEvent>
#include <QScrollBar>

#include <vterm.h>

#include <algorithm>

namespace day2::ui {

namespace {

QColor rgbOf(const VTermScreen* screen, VTermColor c) {
    vterm_screen_convert_color_to_rgb(screen, &c);
    return QColor(c.rgb.red, c.rgb.green, c.rgb.blue);
}

// libvterm's foreground/background of a cell; invalid for the default ones.
QColor colourOf(const VTermScreen* screen, const VTermColor& c, bool fg) {
    if (fg ? VTERM_COLOR_IS_DEFAULT_FG(&c) : VTERM_COLOR_IS_DEFAULT_BG(&c))
        return {};
    return rgbOf(screen, c);
}

// libvterm marks the right half of a wide character with this in chars[0].
constexpr uint32_t kWideRightHalf = uint32_t(-1);

QString textOf(const uint32_t* chars) {
    QString s;
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && chars[i] && chars[i] != kWideRightHalf; ++i)
        s += QString::fromUcs4(reinterpret_cast<const char32_t*>(&chars[i]), 1);
    return s;
}

QString trimmedRight(QString s) {
    while (s.endsWith(QLatin1Char(' ')))
        s.chop(1);
    return s;
}

const QColor kDefaultFg(220, 220, 220);
const QColor kDefaultBg(24, 24, 24);

} // namespace

struct TerminalCallbacks {
    static TerminalView* view(void* user) { return static_cast<TerminalView*>(user); }
    static int damage(VTermRect, void* user) {
        view(user)->m_damaged = true;
        view(user)->scheduleUpdate();
        return 1;
    }
    static int moverect(VTermRect, VTermRect, void* user) {
        // Repainted whole at the next frame (the damage is merged by scroll).
        view(user)->m_damaged = true;
        view(user)->scheduleUpdate();
        return 1;
    }
    static int movecursor(VTermPos pos, VTermPos, int visible, void* user) {
        TerminalView* v = view(user);
        v->m_cursorRow = pos.row;
        v->m_cursorCol = pos.col;
        v->m_cursorVisible = visible != 0;
        v->scheduleUpdate();
        return 1;
    }
    static int settermprop(VTermProp prop, VTermValue* val, void* user) {
        TerminalView* v = view(user);
        switch (prop) {
        case VTERM_PROP_TITLE:
            v->m_title = QString::fromUtf8(val->string);
            emit v->titleChanged(v->m_title);
            return 1;
        case VTERM_PROP_ALTSCREEN:
            v->m_altScreen = val->boolean != 0;
            return 1;
        case VTERM_PROP_CURSORVISIBLE:
            v->m_cursorVisible = val->boolean != 0;
            v->scheduleUpdate();
            return 1;
        default:
            return 0;
        }
    }
    static int bell(void* user) {
        TerminalView* v = view(user);
        v->m_bell = true;
        v->m_bellTimer.start();
        v->viewport()->update();
        return 1;
    }
    static int pushline(int cols, const VTermScreenCell* cells, void* user) {
        TerminalView* v = view(user);
        TerminalView::ScrollbackLine line(size_t(std::max(0, cols)));
        for (int i = 0; i < cols; ++i) {
            auto& c = line[size_t(i)];
            c.ch = cells[i].chars[0];
            c.width = cells[i].width;
            c.fg = colourOf(v->m_screen, cells[i].fg, true);
            c.bg = colourOf(v->m_screen, cells[i].bg, false);
            c.bold = cells[i].attrs.bold;
            c.italic = cells[i].attrs.italic;
            c.underline = cells[i].attrs.underline != 0;
            c.reverse = cells[i].attrs.reverse;
        }
        v->m_scrollback.push_back(std::move(line));
        if (v->m_scrollback.size() > v->m_scrollbackMax)
            v->m_scrollback.pop_front();
        v->updateScrollBar();
        return 1;
    }
    static int popline(int cols, VTermScreenCell* cells, void* user) {
        TerminalView* v = view(user);
        if (v->m_scrollback.empty())
            return 0;
        const TerminalView::ScrollbackLine line = std::move(v->m_scrollback.back());
        v->m_scrollback.pop_back();
        for (int i = 0; i < cols; ++i) {
            VTermScreenCell& c = cells[i];
            c = VTermScreenCell{};
            c.width = 1;
            vterm_color_rgb(&c.fg, 0, 0, 0);
            c.fg.type = VTERM_COLOR_DEFAULT_FG;
            c.bg.type = VTERM_COLOR_DEFAULT_BG;
            if (size_t(i) < line.size()) {
                c.chars[0] = line[size_t(i)].ch;
                c.width = char(line[size_t(i)].width);
            }
        }
        v->updateScrollBar();
        return 1;
    }
    static void output(const char* s, size_t len, void* user) {
        emit view(user)->input(QByteArray(s, qsizetype(len)));
    }
};

namespace {
const VTermScreenCallbacks kCallbacks = {
    TerminalCallbacks::damage,      TerminalCallbacks::moverect, TerminalCallbacks::movecursor,
    TerminalCallbacks::settermprop, TerminalCallbacks::bell,     nullptr,
    TerminalCallbacks::pushline,    TerminalCallbacks::popline};
} // namespace

TerminalView::TerminalView(QWidget* parent, int scrollbackLines)
    : QAbstractScrollArea(parent), m_scrollbackMax(size_t(std::max(0, scrollbackLines))) {
    m_vt = vterm_new(m_rows, m_cols);
    vterm_set_utf8(m_vt, 1);
    vterm_output_set_callback(m_vt, TerminalCallbacks::output, this);
    m_screen = vterm_obtain_screen(m_vt);
    vterm_screen_set_callbacks(m_screen, &kCallbacks, this);
    vterm_screen_set_damage_merge(m_screen, VTERM_DAMAGE_SCROLL);
    vterm_screen_enable_altscreen(m_screen, 1);
    vterm_screen_reset(m_screen, 1);
    // Blues readable on the dark background (libvterm's are xterm's darkest).
    VTermState* state = vterm_obtain_state(m_vt);
    VTermColor blue, brightBlue;
    vterm_color_rgb(&blue, 59, 120, 255);
    vterm_color_rgb(&brightBlue, 97, 155, 255);
    vterm_state_set_palette_color(state, 4, &blue);
    vterm_state_set_palette_color(state, 12, &brightBlue);

    m_font = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_font.setStyleHint(QFont::Monospace);
    const QFontMetrics fm(m_font);
    m_cellW = std::max(1, fm.horizontalAdvance(QLatin1Char('M')));
    m_cellH = std::max(1, fm.height());
    m_ascent = fm.ascent();

    setFocusPolicy(Qt::StrongFocus);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOn);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
    viewport()->setCursor(Qt::IBeamCursor);
    m_frame.setSingleShot(true);
    m_frame.setInterval(16);
    connect(&m_frame, &QTimer::timeout, viewport(), [this] {
        vterm_screen_flush_damage(m_screen);
        viewport()->update();
    });
    m_bellTimer.setSingleShot(true);
    m_bellTimer.setInterval(120);
    connect(&m_bellTimer, &QTimer::timeout, this, [this] {
        m_bell = false;
        viewport()->update();
    });
    updateScrollBar();
}

TerminalView::~TerminalView() {
    vterm_free(m_vt);
}

void TerminalView::feed(const QByteArray& bytes) {
    vterm_input_write(m_vt, bytes.constData(), size_t(bytes.size()));
    scheduleUpdate();
}

void TerminalView::scheduleUpdate() {
    if (!m_frame.isActive())
        m_frame.start();
}

void TerminalView::setTerminalSize(int cols, int rows) {
    cols = std::max(2, cols);
    rows = std::max(1, rows);
    if (cols == m_cols && rows == m_rows)
        return;
    m_cols = cols;
    m_rows = rows;
    vterm_set_size(m_vt, rows, cols);
    vterm_screen_flush_damage(m_screen);
    updateScrollBar();
    viewport()->update();
    emit sizeChanged(cols, rows);
}

void TerminalView::recomputeSize() {
    setTerminalSize(viewport()->width() / m_cellW, viewport()->height() / m_cellH);
}

void TerminalView::resizeEvent(QResizeEvent* e) {
    QAbstractScrollArea::resizeEvent(e);
    recomputeSize();
}

void TerminalView::updateScrollBar() {
    QScrollBar* sb = verticalScrollBar();
    const bool atEnd = sb->value() == sb->maximum();
    sb->setRange(0, int(m_scrollback.size()));
    sb->setPageStep(m_rows);
    if (atEnd)
        sb->setValue(sb->maximum());
}

void TerminalView::scrollContentsBy(int, int) {
    viewport()->update();
}

TerminalView::Cell TerminalView::cellAt(int row, int col) const {
    Cell out;
    VTermScreenCell c;
    if (row < 0 || row >= m_rows || col < 0 || col >= m_cols ||
        !vterm_screen_get_cell(m_screen, VTermPos{row, col}, &c))
        return out;
    out.text = textOf(c.chars);
    out.width = c.width;
    out.fg = colourOf(m_screen, c.fg, true);
    out.bg = colourOf(m_screen, c.bg, false);
    out.bold = c.attrs.bold;
    out.italic = c.attrs.italic;
    out.underline = c.attrs.underline != 0;
    out.reverse = c.attrs.reverse;
    return out;
}

QString TerminalView::screenText() const {
    QStringList lines;
    for (int r = 0; r < m_rows; ++r)
        lines.append(trimmedRight(lineText(int(m_scrollback.size()) + r)));
    return lines.join(QLatin1Char('\n'));
}

QString TerminalView::scrollbackLine(int i) const {
    if (i < 0 || size_t(i) >= m_scrollback.size())
        return {};
    return trimmedRight(lineText(i));
}

QPoint TerminalView::cellAtPixel(const QPoint& pos) const {
    const int col = std::clamp(pos.x() / m_cellW, 0, m_cols - 1);
    const int row = std::clamp(pos.y() / m_cellH, 0, m_rows - 1);
    return QPoint(col, verticalScrollBar()->value() + row);
}

QString TerminalView::lineText(int line) const {
    const int sb = int(m_scrollback.size());
    QString s;
    if (line < 0)
        return s;
    if (line < sb) {
        for (const ScrollbackCell& c : m_scrollback[size_t(line)])
            if (c.ch == kWideRightHalf)
                continue;
            else
                s += c.ch ? QString::fromUcs4(&c.ch, 1) : QStringLiteral(" ");
        return s;
    }
    const int row = line - sb;
    for (int c = 0; c < m_cols && row < m_rows; ++c) {
        VTermScreenCell cell;
        if (!vterm_screen_get_cell(m_screen, VTermPos{row, c}, &cell))
            break;
        if (cell.chars[0] == kWideRightHalf)
            continue;
        s += cell.chars[0] ? textOf(cell.chars) : QStringLiteral(" ");
    }
    return s;
}

bool TerminalView::lineFull(int line) const {
    const QString t = lineText(line);
    return !t.isEmpty() && t.back() != QLatin1Char(' ') && t.size() >= m_cols;
}

void TerminalView::select(int fromLine, int fromCol, int toLine, int toCol) {
    QPoint a(fromCol, fromLine), b(toCol, toLine);
    if (b.y() < a.y() || (b.y() == a.y() && b.x() < a.x()))
        std::swap(a, b);
    m_selFrom = a;
    m_selTo = b;
    viewport()->update();
}

void TerminalView::clearSelection() {
    m_selFrom = m_selTo = QPoint(-1, -1);
    viewport()->update();
}

bool TerminalView::selected(int line, int col) const {
    if (m_selFrom.y() < 0)
        return false;
    const auto key = [](int l, int c) { return qint64(l) * 100000 + c; };
    return key(line, col) >= key(m_selFrom.y(), m_selFrom.x()) &&
           key(line, col) <= key(m_selTo.y(), m_selTo.x());
}

QString TerminalView::selectedText() const {
    if (m_selFrom.y() < 0)
        return {};
    QString out;
    for (int line = m_selFrom.y(); line <= m_selTo.y(); ++line) {
        const QString t = lineText(line);
        const int from = line == m_selFrom.y() ? m_selFrom.x() : 0;
        const int to = line == m_selTo.y() ? m_selTo.x() : int(t.size()) - 1;
        QString part = t.mid(from, std::max(0, to - from + 1));
        const bool wraps = line < m_selTo.y() && lineFull(line);
        if (!wraps)
            part = trimmedRight(part);
        out += part;
        if (line < m_selTo.y() && !wraps)
            out += QLatin1Char('\n');
    }
    return out;
}

void TerminalView::copySelection(QClipboard::Mode mode) const {
    const QString text = selectedText();
    if (!text.isEmpty() && QApplication::clipboard())
        QApplication::clipboard()->setText(text, mode);
}

void TerminalView::paste(const QString& text) {
    vterm_keyboard_start_paste(m_vt);
    for (char32_t c : text.toUcs4())
        vterm_keyboard_unichar(m_vt, c == U'\n' ? U'\r' : uint32_t(c), VTERM_MOD_NONE);
    vterm_keyboard_end_paste(m_vt);
}

void TerminalView::setFontPointSize(int points) {
    m_font.setPointSize(std::clamp(points, 5, 40));
    const QFontMetrics fm(m_font);
    m_cellW = std::max(1, fm.horizontalAdvance(QLatin1Char('M')));
    m_cellH = std::max(1, fm.height());
    m_ascent = fm.ascent();
    recomputeSize();
    viewport()->update();
}

void TerminalView::mousePressEvent(QMouseEvent* e) {
    if (e->button() == Qt::MiddleButton && QApplication::clipboard()) {
        paste(QApplication::clipboard()->text(QClipboard::Selection));
        return;
    }
    if (e->button() != Qt::LeftButton)
        return;
    const QPoint cell = cellAtPixel(e->position().toPoint());
    if (QDateTime::currentMSecsSinceEpoch() - m_doubleClickAt <
        QApplication::doubleClickInterval()) { // a third click: the line
        select(cell.y(), 0, cell.y(), m_cols - 1);
        copySelection(QClipboard::Selection);
        return;
    }
    m_anchor = cell;
    m_selecting = true;
    clearSelection();
}

void TerminalView::mouseMoveEvent(QMouseEvent* e) {
    if (!m_selecting || !(e->buttons() & Qt::LeftButton))
        return;
    const QPoint cell = cellAtPixel(e->position().toPoint());
    select(m_anchor.y(), m_anchor.x(), cell.y(), cell.x());
}

void TerminalView::mouseReleaseEvent(QMouseEvent* e) {
    if (e->button() == Qt::LeftButton && m_selecting) {
        m_selecting = false;
        copySelection(QClipboard::Selection);
    }
}

void TerminalView::mouseDoubleClickEvent(QMouseEvent* e) {
    if (e->button() != Qt::LeftButton)
        return;
    // The word under the pointer: letters, digits and the characters of paths and options.
    const QPoint cell = cellAtPixel(e->position().toPoint());
    const QString t = lineText(cell.y());
    auto inWord = [&](int i) {
        if (i < 0 || i >= t.size())
            return false;
        const QChar c = t[i];
        return c.isLetterOrNumber() || QStringLiteral("-_./~:@%+").contains(c);
    };
    int a = cell.x(), b = cell.x();
    while (inWord(a - 1))
        --a;
    while (inWord(b + 1))
        ++b;
    if (inWord(cell.x()))
        select(cell.y(), a, cell.y(), b);
    m_selecting = false;
    m_doubleClickAt = QDateTime::currentMSecsSinceEpoch();
    copySelection(QClipboard::Selection);
}

void TerminalView::paintEvent(QPaintEvent*) {
    QPainter p(viewport());
    p.fillRect(viewport()->rect(), m_bell ? QColor(90, 90, 90) : kDefaultBg);
    // The scroll bar's value: how many scrollback lines are above the screen's top row.
    const int back = int(m_scrollback.size()) - verticalScrollBar()->value();
    QFont bold = m_font;
    bold.setBold(true);
    QFont italic = m_font;
    italic.setItalic(true);
    for (int y = 0; y < m_rows; ++y) {
        const int line = y - back; // < 0: a scrollback line
        for (int x = 0; x < m_cols; ++x) {
            QString text;
            int width = 1;
            QColor fg, bg;
            bool isBold = false, isItalic = false, isUnder = false, isReverse = false;
            if (line < 0) {
                const auto& sb = m_scrollback[m_scrollback.size() + size_t(line)];
                if (size_t(x) >= sb.size())
                    break;
                const ScrollbackCell& c = sb[size_t(x)];
                if (c.ch && c.ch != kWideRightHalf)
                    text = QString::fromUcs4(&c.ch, 1);
                width = c.width;
                fg = c.fg;
                bg = c.bg;
                isBold = c.bold;
                isItalic = c.italic;
                isUnder = c.underline;
                isReverse = c.reverse;
            } else {
                VTermScreenCell c;
                if (!vterm_screen_get_cell(m_screen, VTermPos{line, x}, &c))
                    break;
                text = textOf(c.chars);
                width = c.width;
                fg = colourOf(m_screen, c.fg, true);
                bg = colourOf(m_screen, c.bg, false);
                isBold = c.attrs.bold;
                isItalic = c.attrs.italic;
                isUnder = c.attrs.underline != 0;
                isReverse = c.attrs.reverse;
            }
            if (!fg.isValid())
                fg = kDefaultFg;
            if (!bg.isValid())
                bg = kDefaultBg;
            if (isReverse != selected(verticalScrollBar()->value() + y, x))
                std::swap(fg, bg);
            const QRect cell(x * m_cellW, y * m_cellH, m_cellW * std::max(1, width), m_cellH);
            if (bg != kDefaultBg)
                p.fillRect(cell, bg);
            if (!text.isEmpty() && text != QLatin1String(" ")) {
                p.setFont(isBold ? bold : isItalic ? italic : m_font);
                p.setPen(fg);
                p.drawText(cell.left(), cell.top() + m_ascent, text);
            }
            if (isUnder)
                p.fillRect(QRect(cell.left(), cell.bottom() - 1, cell.width(), 1), fg);
            if (width == 2)
                ++x; // the right half of a wide character
        }
    }
    // The cursor: a block, drawn over the cell (only at the bottom of the scrollback).
    if (m_cursorVisible && back == 0 && hasFocus()) {
        const QRect cell(m_cursorCol * m_cellW, m_cursorRow * m_cellH, m_cellW, m_cellH);
        p.fillRect(cell, QColor(220, 220, 220, 160));
    } else if (m_cursorVisible && back == 0) {
        p.setPen(kDefaultFg);
        p.drawRect(QRect(m_cursorCol * m_cellW, m_cursorRow * m_cellH, m_cellW - 1, m_cellH - 1));
    }
}

void TerminalView::keyPressEvent(QKeyEvent* e) {
    // Shift+PgUp/PgDn scroll the scrollback; everything else goes to the program.
    QScrollBar* sb = verticalScrollBar();
    if (e->modifiers() == Qt::ShiftModifier &&
        (e->key() == Qt::Key_PageUp || e->key() == Qt::Key_PageDown)) {
        sb->setValue(sb->value() + (e->key() == Qt::Key_PageUp ? -m_rows : m_rows));
        return;
    }
    const auto ctrlShift = Qt::ControlModifier | Qt::ShiftModifier;
    if (e->modifiers() == ctrlShift && e->key() == Qt::Key_C) {
        copySelection(QClipboard::Clipboard);
        return;
    }
    if (e->modifiers() == ctrlShift && e->key() == Qt::Key_V) {
        if (QApplication::clipboard())
            paste(QApplication::clipboard()->text(QClipboard::Clipboard));
        return;
    }
    if ((e->modifiers() & Qt::ControlModifier) &&
        (e->key() == Qt::Key_Plus || e->key() == Qt::Key_Equal || e->key() == Qt::Key_Minus)) {
        setFontPointSize(m_font.pointSize() + (e->key() == Qt::Key_Minus ? -1 : 1));
        return;
    }
    int mod = VTERM_MOD_NONE;
    if (e->modifiers() & Qt::ShiftModifier)
        mod |= VTERM_MOD_SHIFT;
    if (e->modifiers() & Qt::AltModifier)
        mod |= VTERM_MOD_ALT;
    if (e->modifiers() & Qt::ControlModifier)
        mod |= VTERM_MOD_CTRL;
    const auto m = VTermModifier(mod);
    VTermKey key = VTERM_KEY_NONE;
    switch (e->key()) {
    case Qt::Key_Return:
    case Qt::Key_Enter:
        key = VTERM_KEY_ENTER;
        break;
    case Qt::Key_Tab:
    case Qt::Key_Backtab:
        key = VTERM_KEY_TAB;
        break;
    case Qt::Key_Backspace:
        key = VTERM_KEY_BACKSPACE;
        break;
    case Qt::Key_Escape:
        key = VTERM_KEY_ESCAPE;
        break;
    case Qt::Key_Up:
        key = VTERM_KEY_UP;
        break;
    case Qt::Key_Down:
        key = VTERM_KEY_DOWN;
        break;
    case Qt::Key_Left:
        key = VTERM_KEY_LEFT;
        break;
    case Qt::Key_Right:
        key = VTERM_KEY_RIGHT;
        break;
    case Qt::Key_Insert:
        key = VTERM_KEY_INS;
        break;
    case Qt::Key_Delete:
        key = VTERM_KEY_DEL;
        break;
    case Qt::Key_Home:
        key = VTERM_KEY_HOME;
        break;
    case Qt::Key_End:
        key = VTERM_KEY_END;
        break;
    case Qt::Key_PageUp:
        key = VTERM_KEY_PAGEUP;
        break;
    case Qt::Key_PageDown:
        key = VTERM_KEY_PAGEDOWN;
        break;
    default:
        if (e->key() >= Qt::Key_F1 && e->key() <= Qt::Key_F12)
            key = VTermKey(VTERM_KEY_FUNCTION_0 + 1 + (e->key() - Qt::Key_F1));
        break;
    }
    sb->setValue(sb->maximum()); // typing shows the present
    if (key != VTERM_KEY_NONE) {
        vterm_keyboard_key(m_vt, key, m);
        return;
    }
    // Ctrl+letter: the letter with the Ctrl modifier (libvterm makes the control character).
    if ((e->modifiers() & Qt::ControlModifier) && e->key() >= Qt::Key_A && e->key() <= Qt::Key_Z) {
        vterm_keyboard_unichar(m_vt, uint32_t('a' + (e->key() - Qt::Key_A)), m);
        return;
    }
    const QString text = e->text();
    if (text.isEmpty())
        return;
    // Shift is in the character already.
    const auto withoutShift = VTermModifier(mod & ~VTERM_MOD_SHIFT);
    for (char32_t c : text.toUcs4())
        if (c >= 0x20 || c == 0x7f)
            vterm_keyboard_unichar(m_vt, uint32_t(c), withoutShift);
        else
            emit input(QByteArray(1, char(c))); // a control character the platform made
}

} // namespace day2::ui
