// parseLogEntry(): the logs API's JSON line, read in one pass for the five values the pane
// shows. QJsonDocument builds every field of an entry (a task line has about twenty), which
// made the parse the largest cost of the console's reading thread; this reader decodes only the
// values wanted and steps over the rest, checking the syntax of everything all the same.
#include "client/log_store.h"

#include "day2/wire/wire.h"

#include <cstdlib>
#include <cstring>

namespace day2::client {

namespace {

class JsonReader {
public:
    explicit JsonReader(QByteArrayView text)
        : m_begin(text.data()), m_p(text.data()), m_end(text.data() + text.size()) {}

    const QString& error() const { return m_error; }
    // Says what is wrong where the reader stands (the first problem is kept); false.
    bool fail(const char* what) {
        if (m_error.isEmpty())
            m_error = QStringLiteral("%1 at byte %2").arg(QLatin1String(what)).arg(m_p - m_begin);
        return false;
    }

    void skipSpace() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r'))
            ++m_p;
    }
    bool at(char c) {
        skipSpace();
        return m_p < m_end && *m_p == c;
    }
    bool expect(char c) {
        if (!at(c))
            return fail(c == ':'   ? "expected ':'"
                        : c == '{' ? "expected '{'"
                        : c == '"' ? "expected a string"
                                   : "unexpected character");
        ++m_p;
        return true;
    }
    bool atNumber() {
        skipSpace();
        return m_p < m_end && (*m_p == '-' || isDigit(*m_p));
    }
    bool atEnd() {
        skipSpace();
        return m_p == m_end;
    }

    // A string; decoded into `out` (UTF-8) unless null.
    bool string(QByteArray* out) {
        if (!expect('"'))
            return false;
        const char* run = m_p;
        while (m_p < m_end) {
            const char c = *m_p;
            if (c == '"') {
                if (out)
                    out->append(run, m_p - run);
                ++m_p;
                return true;
            }
            if (uint8_t(c) < 0x20)
                return fail("a control character in a string");
            if (c != '\\') {
                ++m_p;
                continue;
            }
            if (out)
                out->append(run, m_p - run);
            if (++m_p == m_end)
                break;
            const char e = *m_p++;
            char plain = 0;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                plain = e;
                break;
            case 'b':
                plain = '\b';
                break;
            case 'f':
                plain = '\f';
                break;
            case 'n':
                plain = '\n';
                break;
            case 'r':
                plain = '\r';
                break;
            case 't':
                plain = '\t';
                break;
            case 'u': {
                uint32_t cp = 0;
                if (!hex4(&cp))
                    return false;
                if (cp >= 0xD800 && cp <= 0xDBFF) { // a surrogate pair
                    uint32_t low = 0;
                    if (m_end - m_p < 6 || m_p[0] != '\\' || m_p[1] != 'u')
                        return fail("a lone surrogate");
                    m_p += 2;
                    if (!hex4(&low) || low < 0xDC00 || low > 0xDFFF)
                        return fail("a lone surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail("a lone surrogate");
                }
                if (out)
                    appendUtf8(*out, cp);
                break;
            }
            default:
                return fail("an invalid escape");
            }
            if (plain && out)
                out->append(plain);
            run = m_p;
        }
        return fail("an unterminated string");
    }

    // A number, as JSON writes it; its value when `out` is given.
    bool number(double* out) {
        skipSpace();
        const char* start = m_p;
        if (m_p < m_end && *m_p == '-')
            ++m_p;
        if (m_p == m_end || !isDigit(*m_p))
            return fail("expected a value");
        if (*m_p == '0')
            ++m_p;
        else
            while (m_p < m_end && isDigit(*m_p))
                ++m_p;
        if (m_p < m_end && *m_p == '.') {
            ++m_p;
            if (m_p == m_end || !isDigit(*m_p))
                return fail("a malformed number");
            while (m_p < m_end && isDigit(*m_p))
                ++m_p;
        }
        if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
            ++m_p;
            if (m_p < m_end && (*m_p == '+' || *m_p == '-'))
                ++m_p;
            if (m_p == m_end || !isDigit(*m_p))
                return fail("a malformed number");
            while (m_p < m_end && isDigit(*m_p))
                ++m_p;
        }
        if (out) {
            char buf[64];
            const size_t n = size_t(m_p - start);
            if (n >= sizeof buf)
                return fail("a number too long");
            std::memcpy(buf, start, n);
            buf[n] = 0;
            *out = std::strtod(buf, nullptr);
        }
        return true;
    }

    // An object: `member` reads each member's value, given its name (decoded into `key` when
    // not null; else names are only checked).
    template <typename F> bool object(QByteArray* key, F&& member) {
        static const QByteArray none;
        if (!expect('{'))
            return false;
        if (at('}'))
            return expect('}');
        do {
            if (key)
                key->clear();
            if (!string(key) || !expect(':') || !member(key ? *key : none))
                return false;
        } while (comma());
        return expect('}');
    }

    // Any value, checked and not kept. Nesting is limited, as QJsonDocument's is.
    bool skipValue(int depth = 0) {
        if (depth > 64)
            return fail("nested too deeply");
        skipSpace();
        if (m_p == m_end)
            return fail("expected a value");
        switch (*m_p) {
        case '"':
            return string(nullptr);
        case '{':
            return object(nullptr, [&](const QByteArray&) { return skipValue(depth + 1); });
        case '[':
            ++m_p;
            if (at(']')) {
                ++m_p;
                return true;
            }
            do {
                if (!skipValue(depth + 1))
                    return false;
            } while (comma());
            return expect(']');
        case 't':
            return literal("true");
        case 'f':
            return literal("false");
        case 'n':
            return literal("null");
        default:
            return number(nullptr);
        }
    }

    // A string, or the first string of an array of them (a field repeated in one entry); other
    // values are stepped over and give nothing.
    bool firstString(QByteArray* out, bool* found) {
        *found = false;
        if (at('"')) {
            *found = true;
            return string(out);
        }
        if (!at('['))
            return skipValue();
        ++m_p;
        if (at(']')) {
            ++m_p;
            return true;
        }
        bool first = true;
        do {
            if (first && at('"')) {
                *found = true;
                if (!string(out))
                    return false;
            } else if (!skipValue(1)) {
                return false;
            }
            first = false;
        } while (comma());
        return expect(']');
    }

    bool comma() {
        if (at(',')) {
            ++m_p;
            return true;
        }
        return false;
    }

private:
    static bool isDigit(char c) { return c >= '0' && c <= '9'; }
    bool literal(const char* word) {
        const size_t n = std::strlen(word);
        if (size_t(m_end - m_p) < n || std::memcmp(m_p, word, n) != 0)
            return fail("expected a value");
        m_p += n;
        return true;
    }
    bool hex4(uint32_t* v) {
        if (m_end - m_p < 4)
            return fail("a short \\u escape");
        *v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = *m_p++;
            const int d = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
            if (d < 0)
                return fail("a malformed \\u escape");
            *v = *v << 4 | uint32_t(d);
        }
        return true;
    }
    static void appendUtf8(QByteArray& out, uint32_t cp) {
        if (cp < 0x80) {
            out.append(char(cp));
        } else if (cp < 0x800) {
            out.append(char(0xC0 | cp >> 6));
            out.append(char(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.append(char(0xE0 | cp >> 12));
            out.append(char(0x80 | (cp >> 6 & 0x3F)));
            out.append(char(0x80 | (cp & 0x3F)));
        } else {
            out.append(char(0xF0 | cp >> 18));
            out.append(char(0x80 | (cp >> 12 & 0x3F)));
            out.append(char(0x80 | (cp >> 6 & 0x3F)));
            out.append(char(0x80 | (cp & 0x3F)));
        }
    }

    const char* m_begin;
    const char* m_p;
    const char* m_end;
    QString m_error;
};

bool keyIs(const QByteArray& key, std::string_view name) {
    return key.size() == qsizetype(name.size()) &&
           std::memcmp(key.constData(), name.data(), name.size()) == 0;
}

} // namespace

std::optional<LogEntry> parseLogEntry(QByteArrayView json, QString* error) {
    namespace w = day2::wire;
    JsonReader r(json);
    LogEntry e;
    bool haveCursor = false, haveTime = false, haveMessage = false;
    QByteArray messageB64, priority, stream, key, fieldKey;
    bool haveMessageB64 = false;
    // "fields" (base64: "fields_b64"): MESSAGE, PRIORITY and STREAM; the rest is stepped over.
    auto fields = [&](bool base64) {
        return r.object(&fieldKey, [&](const QByteArray& name) {
            bool found = false;
            if (keyIs(name, w::kFieldMessage)) {
                QByteArray v;
                if (!r.firstString(&v, &found))
                    return false;
                if (found && base64 && !haveMessageB64) {
                    messageB64 = v;
                    haveMessageB64 = true;
                } else if (found && !base64 && !haveMessage) {
                    e.message = v;
                    haveMessage = true;
                }
                return true;
            }
            if (!base64 && keyIs(name, w::kFieldPriority)) {
                priority.clear();
                return r.firstString(&priority, &found);
            }
            if (!base64 && keyIs(name, w::kFieldStream)) {
                stream.clear();
                return r.firstString(&stream, &found);
            }
            return r.skipValue(1);
        });
    };
    bool ok = r.object(&key, [&](const QByteArray& name) {
        if (keyIs(name, "fields"))
            return fields(false);
        if (keyIs(name, "fields_b64"))
            return fields(true);
        if (keyIs(name, "cursor")) {
            e.cursor.clear();
            haveCursor = r.at('"');
            return haveCursor ? r.string(&e.cursor) : r.skipValue(1);
        }
        if (keyIs(name, "realtime_timestamp")) {
            double t = 0;
            haveTime = r.atNumber();
            const bool read = haveTime ? r.number(&t) : r.skipValue(1);
            e.realtimeUsec = int64_t(t);
            return read;
        }
        return r.skipValue(1);
    });
    if (ok && !r.atEnd())
        ok = r.fail("text after the entry");
    if (!ok) {
        if (error)
            *error = r.error().isEmpty() ? QStringLiteral("not a JSON object") : r.error();
        return std::nullopt;
    }
    if (!haveCursor || !haveTime) {
        if (error)
            *error = QStringLiteral("an entry needs cursor and realtime_timestamp");
        return std::nullopt;
    }
    e.parts = parseCursor(e.cursor);
    if (!haveMessage && haveMessageB64)
        e.message = QByteArray::fromBase64(messageB64);
    bool okPrio = false;
    const int prio = priority.toInt(&okPrio);
    e.priority = okPrio && prio >= 0 && prio <= 7 ? prio : 6;
    e.stderrStream = stream == "STDERR";
    return e;
}

} // namespace day2::client
