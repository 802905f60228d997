#!/usr/bin/python3
# kubectl exec (>= 1.30: WebSocket, v5.channel.k8s.io first), unchanged, against a day2 agent:
# kubectl only knows pods, so a small shim on loopback stands for the API server. It answers the
# discovery and the GET of the pod (kubectl checks that it runs) with minimal answers, and passes
# the exec request on to the agent byte for byte, its path rewritten from the pod's exec to the
# container's
# (/api/v1/namespaces/<ns>/pods/<cid>/exec?... -> /system/v1/exec/v1/containers/<cid>?...).
# Prints one JSON object: each session's stdout, stderr and exit code.
#
#   exec_kubectl.py KUBECTL AGENT_PORT CONTAINER_ID        (exit 77: no kubectl >= 1.30)
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

kubectl, agent_port, cid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    version = json.loads(subprocess.run([kubectl, "version", "--client", "-o", "json"],
                                        capture_output=True, text=True, timeout=30).stdout)
    minor = int(re.match(r"\d+", version["clientVersion"]["minor"]).group(0))
except Exception as e:  # not there, or not a kubectl
    print(f"no kubectl at {kubectl}: {e}")
    sys.exit(77)
if minor < 30:
    print(f"kubectl 1.{minor}: exec over WebSocket needs 1.30 or later")
    sys.exit(77)


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    head = b""
    while b"\r\n\r\n" not in head:
        data = client.recv(65536)
        if not data:
            client.close()
            return
        head += data
    request, rest = head.split(b"\r\n\r\n", 1)
    lines = request.split(b"\r\n")
    method, target, version = lines[0].split(b" ")
    path = target.split(b"?")[0].decode()
    m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)(/exec)?", path)
    if m and not m.group(3) and method == b"GET":
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": m.group(2), "namespace": m.group(1)},
               "spec": {"containers": [{"name": "main", "image": "day2"}]},
               "status": {"phase": "Running"}}
        body = json.dumps(pod).encode()
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        client.close()
        return
    # Discovery, which kubectl asks first: the core group with pods and their exec.
    discovery = {
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                 "serverAddress": "127.0.0.1"}]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
             "verbs": ["get", "list"], "shortNames": ["po"]},
            {"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions",
             "verbs": ["create", "get"]}]},
    }
    if path in discovery and method == b"GET":
        body = json.dumps(discovery[path]).encode()
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        client.close()
        return
    if not m or not m.group(3):
        client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        client.close()
        return
    query = target.split(b"?", 1)[1] if b"?" in target else b""
    new_target = b"/system/v1/exec/v1/containers/" + m.group(2).encode() + b"?" + query
    agent = socket.create_connection(("127.0.0.1", agent_port))
    agent.sendall(b" ".join([method, new_target, version]) + b"\r\n"
                  + b"\r\n".join(lines[1:]) + b"\r\n\r\n" + rest)
    threading.Thread(target=pipe, args=(agent, client), daemon=True).start()
    pipe(client, agent)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(16)
shim_port = server.getsockname()[1]


def accept():
    while True:
        c, _ = server.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()

with tempfile.TemporaryDirectory() as home:
    config = os.path.join(home, "config")
    with open(config, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: day2, cluster: {{server: "http://127.0.0.1:{shim_port}"}}}}]
users: [{{name: day2, user: {{}}}}]
contexts: [{{name: day2, context: {{cluster: day2, user: day2}}}}]
current-context: day2
""")
    # 1.30 has exec over WebSocket behind this switch; 1.31 and later use it by default.
    env = dict(os.environ, KUBECONFIG=config, HOME=home, KUBECTL_REMOTE_COMMAND_WEBSOCKETS="true")

    def run(args, stdin=None):
        p = subprocess.run([kubectl, "exec", *args], input=stdin, capture_output=True,
                           text=True, env=env, timeout=60)
        return {"stdout": p.stdout, "stderr": p.stderr, "code": p.returncode}

    out = {"version": f"1.{minor}",
           "status": run([cid, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]),
           "stdin": run(["-i", cid, "--", "cat"], stdin="hello from kubectl\n")}
print(json.dumps(out))
