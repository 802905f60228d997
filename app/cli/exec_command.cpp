#include "cli/exec_command.h"

#include "client/exec_session.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace day2::cli {

namespace {

using client::ExecSession;

constexpr int kError = 1;
constexpr char kCtrlP = '\x10', kCtrlQ = '\x11';

// --- the local terminal -------------------------------------------------------------------
// Raw while a -t session runs; the saved settings are put back on every way out: the normal
// return, atexit, and SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGPIPE (tcsetattr is async-signal-safe).

struct termios savedTermios;
std::atomic<bool> terminalIsRaw{false};
int winchPipe[2] = {-1, -1};

void restoreTerminal() {
    if (terminalIsRaw.exchange(false))
        ::tcsetattr(STDIN_FILENO, TCSADRAIN, &savedTermios);
}

extern "C" void onFatalSignal(int sig) {
    restoreTerminal();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

extern "C" void onWinch(int) {
    const int saved = errno;
    const char b = 0;
    [[maybe_unused]] auto n = ::write(winchPipe[1], &b, 1);
    errno = saved;
}

bool makeRaw() {
    if (::tcgetattr(STDIN_FILENO, &savedTermios) != 0)
        return false;
    static bool hooked = false;
    if (!hooked) {
        hooked = true;
        std::atexit(restoreTerminal);
        struct sigaction sa = {};
        sa.sa_handler = onFatalSignal;
        sigemptyset(&sa.sa_mask);
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE})
            ::sigaction(sig, &sa, nullptr);
    }
    struct termios raw = savedTermios;
    ::cfmakeraw(&raw);
    terminalIsRaw = true;
    return ::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
}

// The size of the terminal on `fd`, when it is one.
bool terminalSize(int fd, int& cols, int& rows) {
    struct winsize ws = {};
    if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
        return false;
    cols = ws.ws_col;
    rows = ws.ws_row;
    return true;
}

void sendSize(ExecSession& session) {
    int cols = 0, rows = 0;
    if (terminalSize(STDIN_FILENO, cols, rows) || terminalSize(STDOUT_FILENO, cols, rows))
        session.resize(cols, rows);
}

// Writes all of `bytes` to `fd`; false when it cannot (a closed pipe).
bool writeAll(int fd, const QByteArray& bytes) {
    const char* p = bytes.constData();
    qsizetype left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, static_cast<size_t>(left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        left -= n;
    }
    return true;
}

void say(const QString& text) {
    // In raw mode a newline does not return the carriage.
    const QByteArray line = "day2: " + text.toLocal8Bit() + (terminalIsRaw ? "\r\n" : "\n");
    writeAll(STDERR_FILENO, line);
}

} // namespace

int runExec(const client::Endpoint& endpoint, const QString& path, const QString& label,
            const ExecOptions& o) {
    client::ExecRequest request;
    request.path = path;
    for (const auto& a : o.command)
        request.command.append(QString::fromStdString(a));
    request.stdinOpen = o.interactive;
    request.tty = o.tty;
    ExecSession session(endpoint, request);

    int exitCode = kError;
    bool detached = false;
    const bool localTerminal = o.tty && o.interactive && ::isatty(STDIN_FILENO);
    if (o.tty && o.interactive && !localTerminal)
        say(QStringLiteral("stdin is not a terminal: its bytes are sent as they are"));

    std::unique_ptr<QSocketNotifier> stdinNotifier, winchNotifier;
    bool heldCtrlP = false; // a Ctrl-P that may begin the detach keys
    bool stdinEnded = false;
    auto readStdin = [&] {
        char buffer[64 * 1024];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        if (n <= 0) {
            stdinEnded = true;
            stdinNotifier->setEnabled(false);
            if (heldCtrlP)
                session.sendStdin(QByteArray(1, kCtrlP));
            session.closeStdin();
            return;
        }
        QByteArray bytes(buffer, n);
        if (localTerminal) {
            // Ctrl-P Ctrl-Q leaves the session, as docker's detach keys.
            QByteArray send;
            for (char c : bytes) {
                if (heldCtrlP) {
                    heldCtrlP = false;
                    if (c == kCtrlQ) {
                        session.sendStdin(send);
                        detached = true;
                        exitCode = 0;
                        QCoreApplication::quit();
                        return;
                    }
                    send.append(kCtrlP);
                }
                if (c == kCtrlP)
                    heldCtrlP = true;
                else
                    send.append(c);
            }
            bytes = send;
        }
        session.sendStdin(bytes);
        if (session.stdinFull())
            stdinNotifier->setEnabled(false); // until the network has taken most of it
    };

    QObject::connect(&session, &ExecSession::ready, [&] {
        if (o.tty) {
            sendSize(session);
            if (localTerminal && ::pipe2(winchPipe, O_CLOEXEC | O_NONBLOCK) == 0) {
                struct sigaction sa = {};
                sa.sa_handler = onWinch;
                sa.sa_flags = SA_RESTART;
                sigemptyset(&sa.sa_mask);
                ::sigaction(SIGWINCH, &sa, nullptr);
                winchNotifier =
                    std::make_unique<QSocketNotifier>(winchPipe[0], QSocketNotifier::Read);
                QObject::connect(winchNotifier.get(), &QSocketNotifier::activated, [&] {
                    char drain[64];
                    while (::read(winchPipe[0], drain, sizeof drain) > 0) {
                    }
                    sendSize(session);
                });
            }
        }
        if (o.interactive) {
            stdinNotifier = std::make_unique<QSocketNotifier>(STDIN_FILENO, QSocketNotifier::Read);
            QObject::connect(stdinNotifier.get(), &QSocketNotifier::activated, readStdin);
            QObject::connect(&session, &ExecSession::stdinWritable, [&] {
                if (!stdinEnded)
                    stdinNotifier->setEnabled(true);
            });
        }
    });
    QObject::connect(
        &session, &ExecSession::output, [&](ExecSession::Stream stream, const QByteArray& bytes) {
            const int fd =
                stream == ExecSession::Stream::Stderr && !o.tty ? STDERR_FILENO : STDOUT_FILENO;
            if (!writeAll(fd, bytes)) {
                session.abort();
                exitCode = kError;
                QCoreApplication::quit();
            }
        });
    QObject::connect(&session, &ExecSession::finished, [&](int code, const QString& message) {
        if (!message.isEmpty())
            say(message);
        exitCode = code;
        QCoreApplication::quit();
    });
    QObject::connect(&session, &ExecSession::error, [&](const QString& text, int status) {
        if (status == 403)
            say(QStringLiteral("you may not exec in %1: %2").arg(label, text));
        else
            say(text);
        exitCode = kError;
        QCoreApplication::quit();
    });

    if (localTerminal && o.tty && !makeRaw()) {
        restoreTerminal();
        say(QStringLiteral("cannot put the terminal in raw mode: %1")
                .arg(QString::fromLocal8Bit(std::strerror(errno))));
        return kError;
    }
    session.start();
    QCoreApplication::exec();
    stdinNotifier.reset();
    if (winchNotifier) {
        ::signal(SIGWINCH, SIG_DFL);
        winchNotifier.reset();
        ::close(winchPipe[0]);
        ::close(winchPipe[1]);
    }
    if (detached) {
        session.abort();
        restoreTerminal();
        say(QStringLiteral("detached from %1 (the agent hangs up the command)").arg(label));
    }
    restoreTerminal();
    return exitCode;
}

} // namespace day2::cli
