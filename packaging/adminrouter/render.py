#!/usr/bin/env python3
"""Renders Adminrouter's nginx configuration from a cluster inventory.

    render.py INVENTORY.json --out DIR

writes DIR/nginx.conf and DIR/agents.json (the body of GET /system/v1/agents); run nginx with
    nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'

The inventory (JSON):
    {
      "listen": "127.0.0.1:8443",                       # HOST:PORT, TLS only
      "tls": {"certificate": "server.pem", "key": "server.key"},
      "agents_ca": "ca.pem",                            # agents served over https: their CA
      "agents_tls_name": "day2-agent",                  # a DNS name every agent's certificate has
                                                        # (besides its own hostname)
      "agents": [
        {"agent_id": "8a1f...", "hostname": "node-1", "address": "10.0.0.11:61001",
         "scheme": "http"}                              # or "https" (port 61002)
      ]
    }
Relative paths are taken from the inventory's directory. Errors name the field and exit 2.

What the configuration does (docs/api.md, Adminrouter):
- /system/v1/agent/<agent_id>/<rest> goes to that agent's /system/v1/<rest>, path and query as
  the client sent them (still percent-encoded). The agent id is read from the raw request line
  and must be [A-Za-z0-9-]+ and in the inventory, otherwise 404 JSON; a request line with a '.'
  or '..' segment, plain or percent-encoded, is a 400 and reaches no agent.
- GET /system/v1/agents answers the inventory to a valid token only (auth_request to the
  agents' /system/v1/auth/whoami). Every other check is the agents' own.
- Streams are not buffered; reads and writes may stay quiet for 24 h (a quiet follow or shell is
  not cut); WebSocket upgrades pass; request bodies are limited to 1 MiB; the request line and each
  header line to 16 KiB, all headers to 64 KiB (the agent's limits).
- Every error nginx answers itself is JSON {"code","error","detail"} like the agents'
  (NGINX_ERRORS); the agents' own answers, errors included, pass untouched.
"""
import argparse
import ipaddress
import json
import os
import re
import sys

AGENT_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")

# Every status nginx answers by itself on this configuration (nginx 1.22 sources and experiment),
# to the status sent and a sentence for a person (the JSON's detail; its error is REASONS'):
#   400  a malformed request line (a control byte or space in the path, a lowercase method), a path
#        above the root (/../x), a bad, missing or duplicate Host, a bad header line or
#        Content-Length, Content-Length with Transfer-Encoding, a bad chunked body
#   494  a header line over large_client_header_buffers, or all of them over the buffers: sent as
#        400
#   497  plain HTTP to the TLS port: sent as 400
#   403  a method other than GET on /system/v1/agents (limit_except)
#   404  an internal location asked for by a client (/_day2_whoami, /_day2_error/...)
#   405  TRACE and CONNECT
#   412, 416  preconditions and ranges on /system/v1/agents (a static file)
#   413  a body over client_max_body_size (by Content-Length or once chunks pass it)
#   414  a request line over large_client_header_buffers
#   500  a failure of nginx itself (writing a body to a temporary file, ...), and auth_request's
#        answer when no agent answered the token check
#   501  a Transfer-Encoding other than chunked
#   502, 504  an agent refuses, fails or times out
#   505  HTTP/2.0, HTTP/3, ... in the request line
# Never answered at all: 408 (a client too slow: nginx closes the connection) and 499. Not possible
# here: 495, 496, 421 (no client certificates are asked for), 429, 503 (no limit_req or
# limit_conn), 411, 409, 415, 507 (WebDAV, image filter). A directive that adds one adds it here.
# Errors met while reading the request line and headers come before any location is chosen: the
# error pages are set on the server, and a location with an error_page of its own (which inherits
# none of the server's) repeats them (error_pages()). They are internal URIs, /_day2_error/<status>,
# not named locations: nginx refuses a named location to a request whose request line it could not
# parse (it has no URI yet) and answers its own 500 page instead.
NGINX_ERRORS = {
    400: (400, "the request line, path, a header or the body is not valid HTTP/1.1"),
    494: (400, "a request header line is longer than 16 KiB, or all the headers together are too "
               "large (64 KiB at most)"),
    497: (400, "plain HTTP was sent to the HTTPS port: use https://"),
    403: (403, "Adminrouter does not allow this request"),
    404: (404, "Adminrouter serves /system/v1/agents and /system/v1/agent/<agent_id>/..."),
    405: (405, "Adminrouter does not serve TRACE or CONNECT"),
    412: (412, "a precondition of the request (If-Match, If-Unmodified-Since) does not hold"),
    413: (413, "the request body is larger than 1 MiB"),
    414: (414, "the request line (path and query) is longer than 16 KiB"),
    416: (416, "the requested range is not in the content"),
    500: (500, "Adminrouter failed to handle the request (its error log says why)"),
    501: (501, "Transfer-Encoding: chunked is the only transfer coding accepted"),
    502: (502, "no agent answered"),
    504: (504, "no agent answered in time"),
    505: (505, "Adminrouter speaks HTTP/1.x only (HTTP/2 and HTTP/3 are not served)"),
}
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 412: "Precondition Failed", 413: "Payload Too Large",
           414: "URI Too Long", 416: "Range Not Satisfiable", 500: "Internal Server Error",
           501: "Not Implemented", 502: "Bad Gateway", 504: "Gateway Timeout",
           505: "HTTP Version Not Supported"}


def fail(message):
    print("render.py: " + message, file=sys.stderr)
    sys.exit(2)


def nginx_string(value):
    """A double-quoted nginx string; refuses what nginx could read as syntax."""
    if any(c in value for c in '"\\$;{}\n\r') or not value.isprintable():
        fail("value %r holds characters not allowed in the configuration" % value)
    return '"' + value + '"'


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            inv = json.load(f)
    except OSError as e:
        fail("cannot read %s: %s" % (path, e.strerror))
    except ValueError as e:
        fail("%s is not valid JSON: %s" % (path, e))
    if not isinstance(inv, dict):
        fail("%s: expected a JSON object" % path)
    base = os.path.dirname(os.path.abspath(path))

    def file_field(obj, key, where, required=True):
        value = obj.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            fail("%s.%s must be a file name" % (where, key))
        full = value if os.path.isabs(value) else os.path.join(base, value)
        if not os.path.isfile(full):
            fail("%s.%s: %s does not exist" % (where, key, full))
        return full

    plain = inv.get("listen_plain_loopback")
    if plain is not None and (not isinstance(plain, str) or not HOST_PORT.match(plain) or
                              not plain.startswith("127.")):
        fail("listen_plain_loopback must be 127.x.x.x:PORT (plain HTTP is for benchmarks on "
             "loopback only)")
    listen = inv.get("listen", "127.0.0.1:443")
    if not isinstance(listen, str) or not HOST_PORT.match(listen):
        fail("listen must be HOST:PORT (got %r)" % (listen,))
    tls = inv.get("tls")
    if not isinstance(tls, dict):
        fail("tls must be an object {certificate, key}: Adminrouter serves TLS only")
    cert = file_field(tls, "certificate", "tls")
    key = file_field(tls, "key", "tls")
    agents_ca = file_field(inv, "agents_ca", "inventory", required=False)
    agents = inv.get("agents")
    if not isinstance(agents, list) or not agents:
        fail("agents must be a non-empty list")
    seen = set()
    out = []
    for i, a in enumerate(agents, 1):
        where = "agents[%d]" % i
        if not isinstance(a, dict):
            fail(where + " must be an object")
        unknown = set(a) - {"agent_id", "hostname", "address", "scheme"}
        if unknown:
            fail("%s: unknown field(s) %s" % (where, ", ".join(sorted(unknown))))
        agent_id = a.get("agent_id")
        if not isinstance(agent_id, str) or not AGENT_ID.match(agent_id):
            fail("%s.agent_id must be letters, digits and '-' (got %r)" % (where, agent_id))
        if agent_id in seen:
            fail("%s.agent_id %s is listed twice" % (where, agent_id))
        seen.add(agent_id)
        address = a.get("address")
        m = HOST_PORT.match(address) if isinstance(address, str) else None
        if not m or not 0 < int(m.group(2)) < 65536:
            fail("%s.address must be IP:PORT (got %r)" % (where, address))
        # proxy_pass with variables resolves names per request, which needs a resolver: the
        # inventory gives addresses.
        try:
            ipaddress.ip_address(m.group(1).strip("[]"))
        except ValueError:
            fail("%s.address must be an IP address and port, not a name (got %r)" % (where, address))
        scheme = a.get("scheme", "http")
        if scheme not in ("http", "https"):
            fail("%s.scheme must be http or https" % where)
        if scheme == "https" and not agents_ca:
            fail("%s uses https: set agents_ca to verify the agents' certificates" % where)
        hostname = a.get("hostname", agent_id)
        if not isinstance(hostname, str) or not hostname:
            fail("%s.hostname must be a string" % where)
        nginx_string(hostname)
        # nginx checks an upstream certificate against DNS names only: an agent's certificate
        # carries its hostname (and agents_tls_name, for the agents list's check).
        out.append({"agent_id": agent_id, "hostname": hostname, "address": address,
                    "scheme": scheme, "tls_name": hostname})
    schemes = {a["scheme"] for a in out}
    if len(schemes) > 1:
        fail("agents must all use http or all https (the agents list is checked against any of them)")
    tls_name = inv.get("agents_tls_name", "day2-agent")
    if not isinstance(tls_name, str) or not tls_name:
        fail("agents_tls_name must be a name")
    nginx_string(tls_name)
    return {"listen": listen, "cert": cert, "key": key, "agents_ca": agents_ca, "agents": out,
            "tls_name": tls_name, "plain": plain}


SERVER_TLS = """    server {{
        listen {listen} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers off;
        ssl_session_tickets off;
"""

SERVER_BODY = """
{error_pages}

        if ($day2_dot_segment) {{
            return 400 {err400};
        }}

        location = /system/v1/agents {{
            limit_except GET {{ deny all; }}
            auth_request /_day2_whoami;
{agents_error_pages}
            alias "{run}/agents.json";
            add_header Cache-Control no-cache;
        }}
        location = /_day2_whoami {{
            internal;
            proxy_pass {auth_scheme}://day2_auth/system/v1/auth/whoami;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization $http_authorization;
            proxy_connect_timeout 5s;
            proxy_read_timeout 10s;{auth_tls}
        }}

        location /system/v1/agent/ {{
            if ($day2_upstream = "") {{
                return 404 {err404agent};
            }}
            proxy_pass $day2_scheme://$day2_upstream/system/v1$day2_agent_rest$is_args$args;
            proxy_http_version 1.1;
            proxy_set_header Host $day2_upstream;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $day2_connection;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_buffering off;
            proxy_cache off;
            proxy_connect_timeout 10s;
            proxy_read_timeout 24h;
            proxy_send_timeout 24h;{upstream_tls}
{agent_error_pages}
        }}
        location / {{
            return 404 {err404};
        }}

{error_locations}
    }}
"""


def json_error(status, detail):
    """A `return` text: the JSON error of docs/api.md (detail may name nginx variables)."""
    if any(c in detail for c in "'\\\"\n"):
        raise ValueError("detail %r would need escaping" % detail)
    return ("'{\"code\":%d,\"error\":\"%s\",\"detail\":\"%s\"}\\n'"
            % (status, REASONS[status], detail))


# Named locations for the errors of one location (a request has its URI there): status, detail.
OWN_ERRORS = {
    "@day2_unauthorized": (401, "a valid token is needed: Authorization: Bearer <JWT>"),
    "@day2_agents_get_only": (403, "/system/v1/agents answers GET only"),
    # auth_request answers 500 to anything but 2xx, 401 and 403 from the token check.
    "@day2_token_unchecked": (500, "the token could not be checked: no agent gave an answer to "
                                   "GET /system/v1/auth/whoami"),
    "@day2_agent_down": (502, "agent $day2_agent_id is not answering"),
    "@day2_agent_timeout": (504, "agent $day2_agent_id is not answering (timed out)"),
}
OWN_HEADERS = {"@day2_unauthorized": "add_header WWW-Authenticate 'Bearer realm=\"day2\"' always; "}


def error_pages(indent, own=None):
    """error_page lines sending every status of NGINX_ERRORS to its JSON, or to the named location
    `own` gives for it ({status: name})."""
    own = own or {}
    lines = ["error_page %d = %s;" % (status, own.get(status, "/_day2_error/%d" % status))
             for status in sorted(set(NGINX_ERRORS) | set(own))]
    return "\n".join(indent + line for line in lines)


def error_locations(indent):
    out = []
    for status, (sent, detail) in sorted(NGINX_ERRORS.items()):
        out.append("location = /_day2_error/%d { internal; return %d %s; }"
                   % (status, sent, json_error(sent, detail)))
    for name, (status, detail) in OWN_ERRORS.items():
        out.append("location %s { %sreturn %d %s; }"
                   % (name, OWN_HEADERS.get(name, ""), status, json_error(status, detail)))
    return "\n".join(indent + line for line in out)


def render(inv, out_dir):
    run = os.path.abspath(out_dir)
    nginx_string(run)  # refuses characters nginx would read as syntax
    ids = "\n".join("        %s %s;" % (nginx_string(a["agent_id"]), nginx_string(a["address"]))
                    for a in inv["agents"])
    schemes = "\n".join("        %s %s;" % (nginx_string(a["agent_id"]), a["scheme"])
                        for a in inv["agents"])
    names = "\n".join("        %s %s;" % (nginx_string(a["agent_id"]), nginx_string(a["tls_name"]))
                      for a in inv["agents"])
    auth_servers = "\n".join("        server %s max_fails=1 fail_timeout=5s;" % a["address"]
                             for a in inv["agents"])
    auth_scheme = inv["agents"][0]["scheme"]
    auth_tls = ""
    if auth_scheme == "https":
        # One name for the group: every agent's certificate carries agents_tls_name.
        auth_tls = """
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %s;
            proxy_ssl_name %s;
            proxy_ssl_server_name on;""" % (nginx_string(inv["agents_ca"]), nginx_string(inv["tls_name"]))
    upstream_tls = ""
    if inv["agents_ca"]:
        upstream_tls = """
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %s;
            proxy_ssl_name $day2_agent_tls_name;
            proxy_ssl_server_name on;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;""" % nginx_string(inv["agents_ca"])
    servers = SERVER_TLS + SERVER_BODY
    if inv["plain"]:
        # The same routes without TLS, on loopback: for benchmarks (proxy latency) only.
        servers += "\n    server {{\n        listen %s;\n" % inv["plain"] + SERVER_BODY
    conf = ("""# Adminrouter for day2: generated by packaging/adminrouter/render.py. Do not edit; render again.
worker_processes 1;
pid "{run}/nginx.pid";
error_log "{run}/error.log" warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log "{run}/access.log";
    client_body_temp_path "{run}/tmp/body";
    proxy_temp_path "{run}/tmp/proxy";
    fastcgi_temp_path "{run}/tmp/fastcgi";
    uwsgi_temp_path "{run}/tmp/uwsgi";
    scgi_temp_path "{run}/tmp/scgi";
    server_tokens off;
    # Whatever nginx answers itself is JSON, whatever the path's extension (no types: every
    # answer not an agent's gets the default type).
    types {{ }}
    default_type application/json;
    client_max_body_size 1m;
    # The agent takes a request line or header line of up to 16 KiB and 64 KiB of headers in
    # all: so does nginx (a line cannot span two buffers). Most requests, a token included, fit
    # the first buffer.
    client_header_buffer_size 4k;
    large_client_header_buffers 4 16k;

    map $http_upgrade $day2_connection {{
        default upgrade;
        "" "";
    }}
    # The agent id and the rest of the path, from the request line exactly as sent.
    map $request_uri $day2_agent_id {{
        "~^/system/v1/agent/(?<id>[A-Za-z0-9-]+)(?:/[^?]*)?(?:\\?.*)?$" $id;
        default "";
    }}
    map $request_uri $day2_agent_rest {{
        "~^/system/v1/agent/[A-Za-z0-9-]+(?<rest>/[^?]*)?(?:\\?.*)?$" $rest;
        default "";
    }}
    # '.' or '..' as a path segment, plain or percent-encoded; not asked again on the way to an
    # error page (internal, /_day2_error/...): the error nginx met stands.
    map $request_uri $day2_dot_in_path {{
        "~*^[^?]*/(?:\\.|%2e){{1,2}}(?:/|\\?|$)" 1;
        default 0;
    }}
    map $uri $day2_dot_segment {{
        "~^/_day2_error/" 0;
        default $day2_dot_in_path;
    }}
    map $day2_agent_id $day2_upstream {{
        default "";
{ids}
    }}
    map $day2_agent_id $day2_scheme {{
        default http;
{schemes}
    }}
    map $day2_agent_id $day2_agent_tls_name {{
        default "";
{names}
    }}
    upstream day2_auth {{
{auth_servers}
    }}

{servers}}}
""").replace("{servers}", servers).format(
        run=run, ids=ids, schemes=schemes, names=names, auth_servers=auth_servers,
        auth_scheme=auth_scheme, auth_tls=auth_tls, listen=inv["listen"], cert=nginx_string(inv["cert"]),
        key=nginx_string(inv["key"]), upstream_tls=upstream_tls,
        err400=json_error(400, "dot segments (. and ..) are not allowed in the path"),
        err404agent=json_error(404, "no agent with this id in the cluster "
                                    "(GET /system/v1/agents lists them)"),
        err404=json_error(404, NGINX_ERRORS[404][1]),
        error_pages=error_pages(" " * 8),
        agents_error_pages=error_pages(" " * 12, {401: "@day2_unauthorized",
                                                   403: "@day2_agents_get_only",
                                                   500: "@day2_token_unchecked"}),
        agent_error_pages=error_pages(" " * 12, {502: "@day2_agent_down",
                                                  504: "@day2_agent_timeout"}),
        error_locations=error_locations(" " * 8))
    os.makedirs(os.path.join(run, "tmp"), exist_ok=True)
    # nginx's workers (www-data on Debian) read agents.json.
    os.chmod(run, 0o755)
    with open(os.path.join(run, "nginx.conf"), "w", encoding="utf-8") as f:
        f.write(conf)
    with open(os.path.join(run, "agents.json"), "w", encoding="utf-8") as f:
        json.dump([{"agent_id": a["agent_id"], "hostname": a["hostname"], "address": a["address"]}
                   for a in inv["agents"]], f)
        f.write("\n")
    os.chmod(os.path.join(run, "agents.json"), 0o644)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("inventory", help="the cluster inventory (JSON)")
    p.add_argument("--out", required=True, help="directory for nginx.conf, agents.json, logs")
    args = p.parse_args()
    render(load(args.inventory), args.out)
    print(os.path.join(os.path.abspath(args.out), "nginx.conf"))


if __name__ == "__main__":
    main()
