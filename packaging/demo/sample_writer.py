#!/usr/bin/env python3
"""Sample log lines for the demo.

  sample_writer.py --task web|worker   a task launched through the agent's tasks API: prints to
                                       stdout and stderr (a web server's access log; a worker
                                       with stack traces on stderr) and sends DogStatsD metrics
                                       to STATSD_UDP_HOST:STATSD_UDP_PORT (requests by status,
                                       latency, jobs, queue depth)
  sample_writer.py --task batch        a CPU- and memory-hungry batch job: rounds that grow to
                                       about 160 MiB while busy for a few seconds, then free it
                                       and rest (its charts are saw teeth), with progress lines
  sample_writer.py SOCKET system       a host service (sshd) writing to a journald socket with
                                       the native protocol
"""
import os
import random
import socket
import struct
import sys
import time


def encode(fields):
    out = bytearray()
    for key, value in fields.items():
        data = value.encode() if isinstance(value, str) else value
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


def task_fields(app, container, stream="STDOUT"):
    return {
        "FRAMEWORK_ID": "demo-framework-0001",
        "FRAMEWORK_NAME": "demo",
        "EXECUTOR_ID": app + "-executor",
        "CONTAINER_ID": container,
        "APPLICATION_NAME": app,
        "AGENT_ID": os.environ.get("DAY2_AGENT_ID", "demo-agent"),
        "STREAM": stream,
        "SYSLOG_IDENTIFIER": app,
        "PRIORITY": "6" if stream == "STDOUT" else "3",
    }


class Statsd:
    """The task's own StatsD endpoint, as the agent gives it (nothing when there is none)."""

    def __init__(self):
        host, port = os.environ.get("STATSD_UDP_HOST"), os.environ.get("STATSD_UDP_PORT")
        self.to = (host, int(port)) if host and port else None
        self.sock = socket.socket(socket.AF_INET6 if host and ":" in host else socket.AF_INET,
                                  socket.SOCK_DGRAM)

    def send(self, *lines):
        if self.to:
            try:
                self.sock.sendto("\n".join(lines).encode(), self.to)
            except OSError:
                pass


def run_task(role):
    rnd = random.Random(role)
    statsd = Statsd()
    paths = ["/", "/api/v1/items", "/healthz", "/login", "/static/app.js"]
    n = 0
    queue = 0
    while True:
        n += 1
        if role == "web":
            code = rnd.choice([200, 200, 200, 200, 304, 404, 500])
            path = rnd.choice(paths)
            latency = rnd.lognormvariate(3, 0.6) * (8 if code == 500 else 1)
            print('10.0.0.%d - - "GET %s HTTP/1.1" %d %d' % (
                rnd.randint(2, 250), path, code, rnd.randint(100, 90000)), flush=True)
            if code == 500:
                print("upstream timed out while reading response header", file=sys.stderr,
                      flush=True)
            statsd.send("http.requests:1|c|#status:%d" % code,
                        "http.latency:%.1f|ms|#path:%s" % (latency, path))
            time.sleep(0.2)
        else:
            queue = max(0, queue + rnd.randint(-3, 4))
            if n % 7 == 0:
                print("Traceback (most recent call last):\n"
                      '  File "worker.py", line 42, in process\n'
                      "ValueError: job %d has no payload" % n, file=sys.stderr, flush=True)
                statsd.send("jobs.failed:1|c", "queue.depth:%d|g" % queue)
            else:
                took = rnd.randint(3, 900)
                print("processed job %d in %d ms" % (n, took), flush=True)
                statsd.send("jobs.done:1|c", "jobs.duration:%d|ms" % took,
                            "queue.depth:%d|g" % queue)
            time.sleep(0.7)


def run_batch():
    statsd = Statsd()
    rnd = random.Random("batch")
    round_no = 0
    while True:
        round_no += 1
        held = []
        started = time.time()
        print("batch: round %d starting" % round_no, flush=True)
        for step in range(1, 17):
            held.append(bytearray(os.urandom(1024)) * (10 * 1024))  # 10 MiB, touched
            # Busy for about half of each 0.5 s step.
            until = time.time() + 0.25
            x = 0
            while time.time() < until:
                x = (x * 31 + step) % 1000003
            print("batch: round %d step %d/16, %d MiB held" % (round_no, step, 10 * len(held)),
                  flush=True)
            statsd.send("batch.held_mib:%d|g" % (10 * len(held)), "batch.steps:1|c")
            time.sleep(0.25)
        took = time.time() - started
        if rnd.random() < 0.2:
            print("batch: round %d: 3 records rejected (malformed input)" % round_no,
                  file=sys.stderr, flush=True)
        print("batch: round %d done in %.1f s" % (round_no, took), flush=True)
        statsd.send("batch.rounds:1|c", "batch.round_time:%d|ms" % int(took * 1000),
                    "batch.held_mib:0|g")
        del held
        time.sleep(6)


def main():
    if sys.argv[1] == "--task":
        if sys.argv[2] == "batch":
            run_batch()
        else:
            run_task(sys.argv[2])
        return
    sock_path, role = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rnd = random.Random(role)
    n = 0
    paths = ["/", "/api/v1/items", "/healthz", "/login", "/static/app.js"]
    while True:
        n += 1
        if role == "web":
            f = task_fields("web", "7c6b1e2a-0000-4000-8000-00000000c0de")
            code = rnd.choice([200, 200, 200, 200, 304, 404, 500])
            f["MESSAGE"] = '10.0.0.%d - - "GET %s HTTP/1.1" %d %d' % (
                rnd.randint(2, 250), rnd.choice(paths), code, rnd.randint(100, 90000))
            if code == 500:
                f.update(task_fields("web", f["CONTAINER_ID"], "STDERR"))
                f["MESSAGE"] = "upstream timed out while reading response header"
            delay = 0.2
        elif role == "worker":
            stderr = n % 7 == 0
            f = task_fields("worker", "3f9d2b10-0000-4000-8000-0000000b0b01",
                            "STDERR" if stderr else "STDOUT")
            if stderr:
                f["MESSAGE"] = ("Traceback (most recent call last):\n"
                                '  File "worker.py", line 42, in process\n'
                                "ValueError: job %d has no payload" % n)
            else:
                f["MESSAGE"] = "processed job %d in %d ms" % (n, rnd.randint(3, 900))
            delay = 0.7
        else:
            f = {"SYSLOG_IDENTIFIER": "sshd", "UNIT": "ssh.service",
                 "_SYSTEMD_UNIT": "ssh.service", "PRIORITY": "5",
                 "MESSAGE": "Accepted publickey for operator from 192.0.2.%d port %d ssh2" % (
                     rnd.randint(1, 254), rnd.randint(30000, 60000))}
            delay = 3.0
        try:
            s.sendto(encode(f), sock_path)
        except OSError as e:
            print("sample writer %s: %s" % (role, e), file=sys.stderr)
            time.sleep(1)
        time.sleep(delay)


if __name__ == "__main__":
    main()
