#!/usr/bin/env python3
"""Raw HTTP for the Adminrouter test (standard library only): requests curl will not send (a
control byte in the path, HTTP/2.0 in the request line, plain HTTP to the TLS port), and an agent
that never answers.
  raw_http.py send HOST:PORT CA|plain FILE...  send each file's bytes as they are on a connection
                                              of its own, over TLS checked against CA or plain
                                              TCP; print each answer as it came, to its end (its
                                              Content-Length, or the connection closing), as
                                              "<length>\n<answer>"
  raw_http.py silent PORT_FILE                      accept connections on a free loopback port,
                                                    written to PORT_FILE, and never answer"""
import os
import socket
import ssl
import sys
import time


def send(address, ca, request_file):
    host, port = address.rsplit(":", 1)
    with open(request_file, "rb") as f:
        request = f.read()
    conn = socket.create_connection((host, int(port)), timeout=10)
    if ca != "plain":
        conn = ssl.create_default_context(cafile=ca).wrap_socket(conn, server_hostname=host)
    try:
        conn.sendall(request)
    except OSError:
        pass  # the server may answer and close before it read everything: read its answer
    answer = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chunk = conn.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        answer += chunk
        head, sep, body = answer.partition(b"\r\n\r\n")
        if sep:
            length = [line for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":", 1)[1]):
                break
    conn.close()
    return answer


def silent(port_file):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    held = []
    while True:
        held.append(server.accept()[0])


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "send":
        for name in sys.argv[4:]:
            answer = send(sys.argv[2], sys.argv[3], name)
            sys.stdout.buffer.write(b"%d\n" % len(answer) + answer)
    elif len(sys.argv) == 3 and sys.argv[1] == "silent":
        silent(sys.argv[2])
    else:
        sys.exit(__doc__)
