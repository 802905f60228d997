#!/usr/bin/env python3
"""A WebSocket echo server (RFC 6455, standard library only) that stands in for an agent's exec
endpoint in the Adminrouter test, until the agent has one: it answers the upgrade with 101 and
the requested subprotocol, then echoes binary frames.
  ws_echo.py PORT_FILE                 serve on a free loopback port, written to PORT_FILE
  ws_echo.py client HOST:PORT PATH CA  upgrade through TLS, send a frame, print what came back"""
import base64
import hashlib
import os
import socket
import struct
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve(conn):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (l.partition(":") for l in lines[1:] if ":" in l)}
        accept = base64.b64encode(hashlib.sha1(
            (headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n" % accept)
        if "sec-websocket-protocol" in headers:
            reply += "Sec-WebSocket-Protocol: %s\r\n" % headers["sec-websocket-protocol"].split(",")[0]
        reply += "X-Echo-Path: %s\r\n\r\n" % lines[0].split(" ")[1]
        conn.sendall(reply.encode())
        while True:
            b1, b2 = recv_exact(conn, 2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", recv_exact(conn, 2))[0]
            elif n == 127:
                n = struct.unpack(">Q", recv_exact(conn, 8))[0]
            mask = recv_exact(conn, 4) if b2 & 0x80 else b"\0\0\0\0"
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(recv_exact(conn, n)))
            if b1 & 0x0F == 8:
                return
            out = bytes([0x80 | (b1 & 0x0F)])
            out += bytes([len(payload)]) if len(payload) < 126 else bytes([126]) + struct.pack(">H", len(payload))
            conn.sendall(out + payload)
    except (EOFError, OSError, KeyError):
        pass
    finally:
        conn.close()


def client(address, path, ca):
    import ssl
    host, port = address.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection((host, int(port)), timeout=60)
    conn = ctx.wrap_socket(raw, server_hostname=host)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n" % (path, address, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            sys.exit("closed before the upgrade's answer: %r" % head)
        head += chunk
    text, _, rest = head.partition(b"\r\n\r\n")
    print(text.decode("latin-1").split("\r\n")[0])
    for line in text.decode("latin-1").split("\r\n")[1:]:
        if line.lower().startswith(("sec-websocket-protocol", "x-echo-path")):
            print(line)
    payload = b"\x00echo through adminrouter"
    mask = os.urandom(4)
    conn.sendall(bytes([0x82, 0x80 | len(payload)]) + mask +
                 bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))
    data = rest
    while len(data) < 2 + len(payload):
        chunk = conn.recv(4096)
        if not chunk:
            sys.exit("closed before the echo: %r" % data)
        data += chunk
    print("echo:", data[2:2 + len(payload)][1:].decode())


def main():
    if sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    # Whole or not at all: a reader never sees the file empty or half written.
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
