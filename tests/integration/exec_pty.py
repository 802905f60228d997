#!/usr/bin/env python3
"""Drives `day2 task exec -i -t TASK -- sh` through a pty, as a person at a terminal would
(cli_cluster.sh): the size set before it starts and changed during it (SIGWINCH), `stty size`,
an expression, `exit 5`; or (`idle:N`) N seconds without a keystroke, then the expression and
`exit 5`; or (`detach`) Ctrl-P Ctrl-Q; or (`sigterm`) a SIGTERM to day2. Each
time the terminal must be cooked again once day2 is gone. Prints what the terminal showed;
exits with day2's exit code (128 + n for a signal), 100 when an expected answer did not come
within 60 s, 101 when day2 left the terminal raw.
    exec_pty.py DAY2 TASK [shell|idle:N|detach|sigterm]"""
import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

day2, task = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "shell"
master, slave = os.openpty()
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))


def own_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


proc = subprocess.Popen([day2, "task", "exec", "-i", "-t", task, "--", "sh"], stdin=slave,
                        stdout=slave, stderr=slave, preexec_fn=own_terminal, close_fds=True)
os.close(slave)
seen = b""


def read_some(timeout):
    global seen
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            return False
        if not data:
            return False
        seen += data
    return True


def expect(needle, resend=None):
    """Reads until `needle` is on the terminal; `resend` is typed again every 2 s meanwhile."""
    start = len(seen)
    end = time.monotonic() + 60
    last = 0.0
    while needle not in seen[start:]:
        ended = proc.poll() is not None
        if time.monotonic() > end or ended:
            sys.stdout.buffer.write(seen)
            print(f"\nexec_pty: no {needle!r} " +
                  (f"before day2 exited {proc.returncode}" if ended else "within 60 s"), flush=True)
            proc.kill()
            proc.wait()
            sys.exit(100)
        if resend is not None and time.monotonic() - last > 2:
            os.write(master, resend)
            last = time.monotonic()
        if not read_some(0.2):
            time.sleep(0.2)  # the other side closed; proc.poll() says so next round


# The prompt comes once the shell runs (day2 has made the terminal raw by then).
expect(b"$ ")
if mode == "shell":
    # The size it was started with, then a resize during the session.
    expect(b"33 101", resend=b"stty size\r")
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    expect(b"40 120", resend=b"stty size\r")
    # (The answer, not the typed text: the shell echoes "$((6*7))".)
    os.write(master, b"echo $((6*7))\r")
    expect(b"42")
    os.write(master, b"exit 5\r")
elif mode.startswith("idle:"):
    # An idle shell (nothing typed, nothing printed) must outlive every proxy's timeout.
    quiet_until = time.monotonic() + float(mode[5:])
    while time.monotonic() < quiet_until and proc.poll() is None:
        read_some(1)
    os.write(master, b"echo $((6*7))\r")
    expect(b"42")
    os.write(master, b"exit 5\r")
elif mode == "detach":
    os.write(master, b"\x10\x11")
else:
    proc.terminate()
end = time.monotonic() + 60
while proc.poll() is None and time.monotonic() < end:
    read_some(0.2)
while read_some(0.1):
    pass
sys.stdout.buffer.write(seen)
sys.stdout.flush()
if proc.poll() is None:
    proc.kill()
    proc.wait()
    sys.exit(100)
lflag = termios.tcgetattr(master)[3]
if not (lflag & termios.ICANON and lflag & termios.ECHO):
    print("\nexec_pty: day2 left the terminal raw", flush=True)
    sys.exit(101)
sys.exit(128 - proc.returncode if proc.returncode < 0 else proc.returncode)
