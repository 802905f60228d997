#!/usr/bin/python3
# The Kubernetes Python client's own WebSocket exec client (kubernetes.stream.ws_client.WSClient,
# Debian's python3-kubernetes), unchanged, against a day2 agent's exec URL: what it reads from
# stdout and stderr, the exit code it parses from the status channel, a TTY session's output
# after a resize, and stdin sent as text messages (as it sends them).
#
#   exec_python_client.py PORT CONTAINER_ID      (prints one JSON object; exit 77: no module)
import json
import sys
from urllib.parse import urlencode

try:
    from kubernetes.client import Configuration
    from kubernetes.stream.ws_client import WSClient
except ImportError:
    print("the Kubernetes Python client is not installed (Debian: python3-kubernetes)")
    sys.exit(77)

port, cid = sys.argv[1], sys.argv[2]
config = Configuration()
config.host = "http://127.0.0.1:" + port


def session(command, **flags):
    query = [("command", c) for c in command] + [(k, v) for k, v in flags.items()]
    url = "ws://127.0.0.1:%s/system/v1/exec/v1/containers/%s?%s" % (port, cid, urlencode(query))
    return WSClient(config, url, headers=None, capture_all=True)


out = {}
c = session(["sh", "-c", "echo out; echo err >&2; exit 3"], stdout="True", stderr="True")
c.run_forever(timeout=30)
out["stdout"], out["stderr"], out["returncode"] = c.read_stdout(), c.read_stderr(), c.returncode

c = session(["cat"], stdin="True", stdout="True", stderr="True")
c.write_stdin("hello from python\n")
out["echo"] = c.readline_stdout(timeout=30)
c.close()

c = session(["sh"], stdin="True", stdout="True", tty="True")
c.write_channel(4, json.dumps({"Width": 111, "Height": 33}))
c.write_stdin("stty size; exit 0\r")
c.run_forever(timeout=30)
out["tty"], out["tty_returncode"] = c.read_stdout(), c.returncode
print(json.dumps(out))
