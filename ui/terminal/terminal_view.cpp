#include "terminal/terminal_view.h"

#include <QApplication>
#include <QDateTime>
#include <QFontDatabase>
#include <QFontMetrics>
#include <QGlyphRun>
#include <QKeyEvent>
#include <QLineEdit>
#include <QPainter>
#include <QResizeEvent>
#include <QScrollBar>

#include <vterm.h>

#include <algorithm>
#include <cstring>

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

VTermColor asColour(uint32_t bits) {
    static_assert(sizeof(VTermColor) == sizeof(uint32_t));
    VTermColor c;
    std::memcpy(&c, &bits, sizeof c);
    return c;
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
    static int damage(VTermRect r, void* user) {
        view(user)->markRows(r.start_row, r.end_row);
        view(user)->scheduleUpdate();
        return 1;
    }
    static int moverect(VTermRect dest, VTermRect src, void* user) {
        // (The damage is merged by scroll: a scroll is one move, painted as the rows it spans.)
        view(user)->markRows(std::min(dest.start_row, src.start_row),
                             std::max(dest.end_row, src.end_row));
        view(user)->scheduleUpdate();
        return 1;
    }
    static int movecursor(VTermPos pos, VTermPos old, int visible, void* user) {
        TerminalView* v = view(user);
        v->markRows(old.row, old.row + 1);
        v->markRows(pos.row, pos.row + 1);
        v->m_cursorRow = pos.row;
        v->m_cursorCol = pos.col;
        v->m_cursorVisible = visible != 0;
        v->m_blinkOn = true; // (the blink's timer keeps running)
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
            v->markRows(v->m_cursorRow, v->m_cursorRow + 1);
            v->scheduleUpdate();
            return 1;
        case VTERM_PROP_CURSORSHAPE:
            v->m_cursorShape = val->number == VTERM_PROP_CURSORSHAPE_UNDERLINE
                                   ? TerminalView::CursorShape::Underline
                               : val->number == VTERM_PROP_CURSORSHAPE_BAR_LEFT
                                   ? TerminalView::CursorShape::Bar
                                   : TerminalView::CursorShape::Block;
            v->markRows(v->m_cursorRow, v->m_cursorRow + 1);
            v->scheduleUpdate();
            return 1;
        case VTERM_PROP_CURSORBLINK:
            v->m_cursorBlink = val->boolean != 0;
            v->restartBlink();
            return 1;
        case VTERM_PROP_MOUSE:
            v->m_mouseMode = val->number;
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
        // Kept up to the last cell that shows something (a character or a colour).
        int used = std::max(0, cols);
        while (used > 0 && cells[used - 1].chars[0] == 0 &&
               VTERM_COLOR_IS_DEFAULT_BG(&cells[used - 1].bg) && !cells[used - 1].attrs.reverse)
            --used;
        TerminalView::ScrollbackLine& line = v->m_scrollback.push();
        line.resize(size_t(used));
        for (int i = 0; i < used; ++i) {
            auto& c = line[size_t(i)];
            c.ch = cells[i].chars[0];
            c.width = uint8_t(cells[i].width);
            std::memcpy(&c.fg, &cells[i].fg, sizeof c.fg);
            std::memcpy(&c.bg, &cells[i].bg, sizeof c.bg);
            c.bold = cells[i].attrs.bold;
            c.italic = cells[i].attrs.italic;
            c.underline = cells[i].attrs.underline != 0;
            c.reverse = cells[i].attrs.reverse;
        }
        v->updateScrollBar();
        return 1;
    }
    static int popline(int cols, VTermScreenCell* cells, void* user) {
        TerminalView* v = view(user);
        if (v->m_scrollback.empty())
            return 0;
        const TerminalView::ScrollbackLine line = v->m_scrollback.pop();
        for (int i = 0; i < cols; ++i) {
            VTermScreenCell& c = cells[i];
            c = VTermScreenCell{};
            c.width = 1;
            vterm_color_rgb(&c.fg, 0, 0, 0);
            c.fg.type = VTERM_COLOR_DEFAULT_FG;
            c.bg.type = VTERM_COLOR_DEFAULT_BG;
            if (size_t(i) < line.size()) {
                const auto& from = line[size_t(i)];
                c.chars[0] = from.ch;
                c.width = char(from.width);
                c.fg = asColour(from.fg);
                c.bg = asColour(from.bg);
                c.attrs.bold = from.bold;
                c.attrs.italic = from.italic;
                c.attrs.underline = from.underline ? VTERM_UNDERLINE_SINGLE : VTERM_UNDERLINE_OFF;
                c.attrs.reverse = from.reverse;
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
    : QAbstractScrollArea(parent), m_scrollback(size_t(std::max(0, scrollbackLines))) {
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
    applyFont();

    setFocusPolicy(Qt::StrongFocus);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOn);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    viewport()->setAttribute(Qt::WA_OpaquePaintEvent);
    viewport()->setCursor(Qt::IBeamCursor);
    m_frame.setSingleShot(true);
    connect(&m_frame, &QTimer::timeout, viewport(), [this] {
        vterm_screen_flush_damage(m_screen);
        if (m_dirtyFrom >= m_dirtyTo)
            return;
        if (scrollPosition() == scrollbackCount()) // the screen shown: its damaged rows
            viewport()->update(
                QRect(0, m_dirtyFrom * m_cellH, viewport()->width(),
                      (m_dirtyTo == m_rows ? viewport()->height() : m_dirtyTo * m_cellH) -
                          m_dirtyFrom * m_cellH));
        else
            viewport()->update();
        m_dirtyFrom = m_dirtyTo = 0;
    });
    m_parse.setSingleShot(true);
    m_parse.setInterval(0);
    connect(&m_parse, &QTimer::timeout, this, &TerminalView::parseSome);
    m_blinkTimer.setInterval(530);
    connect(&m_blinkTimer, &QTimer::timeout, this, [this] {
        m_blinkOn = !m_blinkOn;
        markRows(m_cursorRow, m_cursorRow + 1);
        scheduleUpdate();
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

namespace {
constexpr qsizetype kChunk = 64 << 10; // parsed between looks at the clock
constexpr int kParseMs = 8;            // parsed at most at a time
constexpr int kFrameMs = 16;           // a paint at most this often
} // namespace

void TerminalView::parseChunk() {
    const qsizetype n = std::min(kChunk, pendingBytes());
    vterm_input_write(m_vt, m_pending.constData() + m_pendingAt, size_t(n));
    m_pendingAt += n;
}

void TerminalView::feed(const QByteArray& bytes) {
    if (pendingBytes() == 0 && bytes.size() <= kChunk) {
        vterm_input_write(m_vt, bytes.constData(), size_t(bytes.size()));
        scheduleUpdate();
        return;
    }
    if (m_pendingAt > 0 && m_pendingAt >= m_pending.size() / 2) {
        m_pending.remove(0, m_pendingAt);
        m_pendingAt = 0;
    }
    m_pending.append(bytes);
    // Over the bound, parsed now: the window stalls rather than drop output.
    while (pendingBytes() > kPendingMax)
        parseChunk();
    parseSome();
}

void TerminalView::parseSome() {
    QElapsedTimer took;
    took.start();
    while (pendingBytes() > 0 && took.elapsed() < kParseMs)
        parseChunk();
    if (pendingBytes() == 0) {
        m_pending.clear();
        m_pendingAt = 0;
    } else if (!m_parse.isActive()) {
        m_parse.start(); // the rest after what else waits in the event loop
    }
    scheduleUpdate();
}

void TerminalView::flush() {
    while (pendingBytes() > 0)
        parseSome();
    m_parse.stop();
    vterm_screen_flush_damage(m_screen);
}

void TerminalView::markRows(int from, int to) {
    from = std::clamp(from, 0, m_rows);
    to = std::clamp(to, 0, m_rows);
    if (from >= to)
        return;
    if (m_dirtyFrom >= m_dirtyTo) {
        m_dirtyFrom = from;
        m_dirtyTo = to;
    } else {
        m_dirtyFrom = std::min(m_dirtyFrom, from);
        m_dirtyTo = std::max(m_dirtyTo, to);
    }
}

void TerminalView::scheduleUpdate() {
    if (m_frame.isActive())
        return;
    // At most a paint a frame; after a quiet frame, at once.
    const qint64 since = m_sincePaint.isValid() ? m_sincePaint.elapsed() : kFrameMs;
    m_frame.start(int(std::clamp<qint64>(kFrameMs - since, 0, kFrameMs)));
}

void TerminalView::restartBlink() {
    m_blinkOn = true;
    if (m_cursorBlink && hasFocus())
        m_blinkTimer.start();
    else
        m_blinkTimer.stop();
}

void TerminalView::focusInEvent(QFocusEvent* e) {
    QAbstractScrollArea::focusInEvent(e);
    restartBlink();
    viewport()->update();
}

void TerminalView::focusOutEvent(QFocusEvent* e) {
    QAbstractScrollArea::focusOutEvent(e);
    restartBlink();
    viewport()->update();
}

int TerminalView::scrollPosition() const {
    return verticalScrollBar()->value();
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
    m_followingOutput = atEnd;
    sb->setRange(0, int(m_scrollback.size()));
    sb->setPageStep(m_rows);
    if (atEnd)
        sb->setValue(sb->maximum());
    m_followingOutput = false;
}

void TerminalView::scrollContentsBy(int, int) {
    // Following the output, the screen is shown as it was: its damage is painted at the frame.
    if (!m_followingOutput)
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

bool TerminalView::find(const QString& text, bool older) {
    if (text.isEmpty())
        return false;
    const int total = scrollbackCount() + m_rows;
    // From the last match, or from the bottom (towards older) or the top (towards newer).
    int line = m_found.y() >= 0 ? m_found.y() : older ? total - 1 : 0;
    int from = m_found.y() >= 0 ? m_found.x() : -1;
    for (int n = 0; n <= total; ++n) {
        const QString t = lineText(line);
        qsizetype at = -1;
        if (older)
            at = from < 0   ? t.lastIndexOf(text, -1, Qt::CaseInsensitive)
                 : from > 0 ? t.lastIndexOf(text, from - 1, Qt::CaseInsensitive)
                            : -1;
        else
            at = t.indexOf(text, from < 0 ? 0 : from + 1, Qt::CaseInsensitive);
        if (at >= 0) {
            m_found = QPoint(int(at), line);
            select(line, int(at), line, int(at + text.size() - 1));
            // Shown: the line on screen (near the middle when it has to scroll).
            QScrollBar* sb = verticalScrollBar();
            if (line < sb->value() || line >= sb->value() + m_rows)
                sb->setValue(line - m_rows / 2);
            return true;
        }
        line += older ? -1 : 1;
        from = -1;
        if (line < 0 || line >= total)
            break;
    }
    m_found = QPoint(-1, -1);
    clearSelection();
    return false;
}

void TerminalView::showSearch() {
    if (!m_search) {
        m_search = new QLineEdit(viewport());
        m_search->setObjectName(QStringLiteral("terminal-search"));
        m_search->setPlaceholderText(tr("Find in scrollback (Enter: older, Shift+Enter: newer)"));
        m_search->setClearButtonEnabled(true);
        m_search->installEventFilter(this);
        connect(m_search, &QLineEdit::textEdited, this, [this] {
            m_found = QPoint(-1, -1); // a new search starts at the bottom
            const bool hit = find(m_search->text());
            m_search->setStyleSheet(hit || m_search->text().isEmpty()
                                        ? QString()
                                        : QStringLiteral("background: #5a2020;"));
        });
    }
    m_search->resize(std::min(360, viewport()->width()), m_search->sizeHint().height());
    m_search->move(viewport()->width() - m_search->width(), 0);
    m_search->show();
    m_search->setFocus();
    m_search->selectAll();
}

bool TerminalView::eventFilter(QObject* o, QEvent* e) {
    if (o == m_search && e->type() == QEvent::KeyPress) {
        auto* k = static_cast<QKeyEvent*>(e);
        if (k->key() == Qt::Key_Escape) {
            m_search->hide();
            m_found = QPoint(-1, -1);
            setFocus();
            return true;
        }
        if (k->key() == Qt::Key_Return || k->key() == Qt::Key_Enter) {
            const bool hit = find(m_search->text(), !(k->modifiers() & Qt::ShiftModifier));
            m_search->setStyleSheet(hit ? QString() : QStringLiteral("background: #5a2020;"));
            return true;
        }
    }
    return QAbstractScrollArea::eventFilter(o, e);
}

void TerminalView::applyFont() {
    const QFontMetrics fm(m_font);
    m_cellW = std::max(1, fm.horizontalAdvance(QLatin1Char('M')));
    m_cellH = std::max(1, fm.height());
    m_ascent = fm.ascent();
    m_fonts[0] = m_font;
    m_fonts[1] = m_font;
    m_fonts[1].setBold(true);
    m_fonts[2] = m_font;
    m_fonts[2].setItalic(true);
    for (int i = 0; i < 3; ++i) {
        m_raw[i] = QRawFont::fromFont(m_fonts[i]);
        m_glyphs[i].clear();
    }
}

void TerminalView::setFontPointSize(int points) {
    m_font.setPointSize(std::clamp(points, 5, 40));
    applyFont();
    recomputeSize();
    viewport()->update();
}

namespace {
VTermModifier modifiersOf(Qt::KeyboardModifiers m) {
    int mod = VTERM_MOD_NONE;
    if (m & Qt::ShiftModifier)
        mod |= VTERM_MOD_SHIFT;
    if (m & Qt::AltModifier)
        mod |= VTERM_MOD_ALT;
    if (m & Qt::ControlModifier)
        mod |= VTERM_MOD_CTRL;
    return VTermModifier(mod);
}
} // namespace

bool TerminalView::mouseToProgram(const QPointF& pos, Qt::KeyboardModifiers modifiers) {
    // Shift+mouse selects, as in xterm; scrolled back, the mouse is the reader's.
    if (m_mouseMode == VTERM_PROP_MOUSE_NONE || (modifiers & Qt::ShiftModifier) ||
        scrollPosition() != scrollbackCount())
        return false;
    const QPoint cell = cellAtPixel(pos.toPoint()); // (column, line): the screen's row below
    vterm_mouse_move(m_vt, cell.y() - scrollPosition(), cell.x(), modifiersOf(modifiers));
    return true;
}

bool TerminalView::reportMouse(QMouseEvent* e, bool pressed) {
    if (!mouseToProgram(e->position(), e->modifiers()))
        return false;
    const int button = e->button() == Qt::LeftButton     ? 1
                       : e->button() == Qt::MiddleButton ? 2
                       : e->button() == Qt::RightButton  ? 3
                                                         : 0;
    if (button && e->type() != QEvent::MouseMove)
        vterm_mouse_button(m_vt, button, pressed, modifiersOf(e->modifiers()));
    return true;
}

void TerminalView::wheelEvent(QWheelEvent* e) {
    if (e->angleDelta().y() != 0 && mouseToProgram(e->position(), e->modifiers())) {
        vterm_mouse_button(m_vt, e->angleDelta().y() > 0 ? 4 : 5, true,
                           modifiersOf(e->modifiers()));
        return;
    }
    QAbstractScrollArea::wheelEvent(e);
}

void TerminalView::mousePressEvent(QMouseEvent* e) {
    if (reportMouse(e, true))
        return;
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
    if (!m_selecting && ((m_mouseMode == VTERM_PROP_MOUSE_DRAG && e->buttons() != Qt::NoButton) ||
                         m_mouseMode == VTERM_PROP_MOUSE_MOVE)) {
        reportMouse(e, false);
        return;
    }
    if (!m_selecting || !(e->buttons() & Qt::LeftButton))
        return;
    const QPoint cell = cellAtPixel(e->position().toPoint());
    select(m_anchor.y(), m_anchor.x(), cell.y(), cell.x());
}

void TerminalView::mouseReleaseEvent(QMouseEvent* e) {
    if (!m_selecting && reportMouse(e, false))
        return;
    if (e->button() == Qt::LeftButton && m_selecting) {
        m_selecting = false;
        copySelection(QClipboard::Selection);
    }
}

void TerminalView::mouseDoubleClickEvent(QMouseEvent* e) {
    if (reportMouse(e, true)) // (a second press, for the program)
        return;
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

quint32 TerminalView::glyphFor(int style, char32_t ch) {
    auto& cache = m_glyphs[style];
    const auto it = cache.constFind(ch);
    if (it != cache.constEnd())
        return *it;
    quint32 glyph = 0;
    if (m_raw[style].isValid()) {
        const QList<quint32> g = m_raw[style].glyphIndexesForString(QString::fromUcs4(&ch, 1));
        glyph = g.size() == 1 ? g[0] : 0;
    }
    if (cache.size() > 4096)
        cache.clear(); // (bounded: a screen never needs that many)
    cache.insert(ch, glyph);
    return glyph;
}

void TerminalView::paintEvent(QPaintEvent* e) {
    m_sincePaint.restart();
    QPainter p(viewport());
    p.fillRect(e->rect(), m_bell ? QColor(90, 90, 90) : kDefaultBg);
    // Only the rows asked for (the damaged ones, usually).
    const int firstRow = std::max(0, e->rect().top() / m_cellH);
    const int lastRow = std::min(m_rows - 1, e->rect().bottom() / m_cellH);
    // The scroll bar's value: how many scrollback lines are above the screen's top row.
    const int back = int(m_scrollback.size()) - verticalScrollBar()->value();
    struct PaintCell {
        char32_t ch = 0; // one code point (the common case), else `text`
        QString text;    // a character with combining marks
        int width = 1;
        QColor fg, bg;
        int style = 0; // 0 regular, 1 bold, 2 italic
        bool underline = false;
    };
    std::vector<PaintCell> cells;
    QList<quint32> glyphs;
    QList<QPointF> positions;
    for (int y = firstRow; y <= lastRow; ++y) {
        const int line = y - back; // < 0: a scrollback line
        cells.clear();
        for (int x = 0; x < m_cols; ++x) {
            PaintCell pc;
            bool reverse = false;
            if (line < 0) {
                const auto& sb = m_scrollback[m_scrollback.size() + size_t(line)];
                if (size_t(x) >= sb.size())
                    break;
                const ScrollbackCell& c = sb[size_t(x)];
                pc.ch = c.ch == kWideRightHalf ? 0 : c.ch;
                pc.width = c.width;
                pc.fg = colourOf(m_screen, asColour(c.fg), true);
                pc.bg = colourOf(m_screen, asColour(c.bg), false);
                pc.style = c.bold ? 1 : c.italic ? 2 : 0;
                pc.underline = c.underline;
                reverse = c.reverse;
            } else {
                VTermScreenCell c;
                if (!vterm_screen_get_cell(m_screen, VTermPos{line, x}, &c))
                    break;
                if (c.chars[0] != kWideRightHalf) {
                    if (c.chars[1])
                        pc.text = textOf(c.chars);
                    else
                        pc.ch = c.chars[0];
                }
                pc.width = c.width;
                pc.fg = colourOf(m_screen, c.fg, true);
                pc.bg = colourOf(m_screen, c.bg, false);
                pc.style = c.attrs.bold ? 1 : c.attrs.italic ? 2 : 0;
                pc.underline = c.attrs.underline != 0;
                reverse = c.attrs.reverse;
            }
            if (!pc.fg.isValid())
                pc.fg = kDefaultFg;
            if (!pc.bg.isValid())
                pc.bg = kDefaultBg;
            if (reverse != selected(verticalScrollBar()->value() + y, x))
                std::swap(pc.fg, pc.bg);
            cells.push_back(std::move(pc));
            if (cells.back().width == 2) {
                cells.push_back(PaintCell{0, {}, 0, cells.back().fg, cells.back().bg, 0, false});
                ++x; // the right half of a wide character
            }
        }
        const int top = y * m_cellH;
        // Backgrounds, a rectangle for each run of one colour.
        for (size_t i = 0; i < cells.size();) {
            size_t j = i + 1;
            while (j < cells.size() && cells[j].bg == cells[i].bg)
                ++j;
            if (cells[i].bg != kDefaultBg)
                p.fillRect(QRect(int(i) * m_cellW, top, int(j - i) * m_cellW, m_cellH),
                           cells[i].bg);
            i = j;
        }
        // Characters: a glyph run for each run of one colour and style (each glyph at its
        // cell); what the font has no single glyph for is drawn as text (Qt finds a font).
        for (size_t i = 0; i < cells.size();) {
            const PaintCell& c = cells[i];
            if (c.underline)
                p.fillRect(
                    QRect(int(i) * m_cellW, top + m_cellH - 2, m_cellW * std::max(1, c.width), 1),
                    c.fg);
            const bool blank = c.text.isEmpty() && (c.ch == 0 || c.ch == U' ');
            const quint32 glyph = blank || !c.text.isEmpty() ? 0 : glyphFor(c.style, c.ch);
            if (blank) {
                ++i;
                continue;
            }
            if (!glyph || c.width != 1) {
                p.setFont(m_fonts[c.style]);
                p.setPen(c.fg);
                p.drawText(int(i) * m_cellW, top + m_ascent,
                           c.text.isEmpty() ? QString::fromUcs4(&c.ch, 1) : c.text);
                ++i;
                continue;
            }
            glyphs.clear();
            positions.clear();
            size_t j = i;
            for (; j < cells.size(); ++j) {
                const PaintCell& d = cells[j];
                if (d.fg != c.fg || d.style != c.style || d.width != 1 || !d.text.isEmpty() ||
                    d.ch == 0)
                    break;
                if (d.underline && j > i)
                    break;
                const quint32 g = d.ch == U' ' ? glyphFor(d.style, U' ') : glyphFor(d.style, d.ch);
                if (!g)
                    break;
                glyphs.append(g);
                positions.append(QPointF(double(j) * m_cellW, 0));
            }
            QGlyphRun run;
            run.setRawFont(m_raw[c.style]);
            run.setGlyphIndexes(glyphs);
            run.setPositions(positions);
            p.setPen(c.fg);
            p.drawGlyphRun(QPointF(0, top + m_ascent), run);
            i = j;
        }
    }
    // The cursor, over the cell (only at the bottom of the scrollback): its shape when the
    // widget has the focus (off in a blink's dark half), a hollow block when not.
    if (!m_cursorVisible || back != 0)
        return;
    const QRect cell(m_cursorCol * m_cellW, m_cursorRow * m_cellH, m_cellW, m_cellH);
    const QColor colour(220, 220, 220, 160);
    if (!hasFocus()) {
        p.setPen(kDefaultFg);
        p.drawRect(cell.adjusted(0, 0, -1, -1));
    } else if (m_blinkOn || !m_cursorBlink) {
        switch (m_cursorShape) {
        case CursorShape::Block:
            p.fillRect(cell, colour);
            break;
        case CursorShape::Underline:
            p.fillRect(QRect(cell.left(), cell.bottom() - 1, cell.width(), 2), kDefaultFg);
            break;
        case CursorShape::Bar:
            p.fillRect(QRect(cell.left(), cell.top(), 2, cell.height()), kDefaultFg);
            break;
        }
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
    if (e->modifiers() == ctrlShift && e->key() == Qt::Key_F) {
        showSearch();
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
    const VTermModifier m = modifiersOf(e->modifiers());
    const int mod = m;
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
    restartBlink();
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
