#!/usr/bin/env bash
# day2-console under Xvfb against a local two-node cluster: --snapshot renders the window once
# lines and charts have arrived; the PNG's cluster tree, log pane and metrics pane must not be
# empty (text and lines drawn, not one flat colour), and the summary must count both agents, the
# lines shown and the charts (a line per container, the application being selected), and an exec
# tab in the terminal pane whose command printed 42 and exited 3.
#   console_snapshot.sh BUILD_DIR [OUT.png]     (exit 77 = skipped: not root, or no Xvfb)
set -euo pipefail
build=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "console snapshot: needs root (network namespaces)"; exit 77; }
command -v xvfb-run > /dev/null || { echo "console snapshot: xvfb-run is missing (packaging/deps.sh)"; exit 77; }
[ -x "$build/ui/day2-console" ] || { echo "console snapshot: day2-console is not built"; exit 1; }

. "$(dirname "$0")/demo_cluster_env.sh"
demo_cluster_env d2v 81
scratch=$(mktemp -d)
trap '"$cluster" down > /dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
fail() { echo "console snapshot: $*"; exit 1; }

demo_cluster_up "$scratch/up.log" --nodes 2 --build "$build" || fail "up failed: $(cat "$scratch/up.log")"
png=${2:-$scratch/console.png}
# A running web container for the terminal pane's exec tab (through Adminrouter, as the rest).
cid=$(DAY2_URL=https://127.0.0.1:$DAY2_DEMO_PORT DAY2_CA=$DAY2_DEMO_DIR/ca.pem \
    DAY2_TOKEN=$(cat "$DAY2_DEMO_DIR/admin.token") "$build/app/day2" task list 2> /dev/null |
    awk '/web/ && /running/ {print $1; exit}')
[ -n "$cid" ] || fail "no running web container in 'day2 task list'"
# A fresh HOME: no saved settings or keyring in the way. The console takes its snapshot once a
# screenful of lines (20 at most) and charts with points have arrived; it gives up after --snapshot-timeout seconds,
# generous here so that a slow machine still gets there.
HOME=$scratch XDG_RUNTIME_DIR=$scratch xvfb-run -a -s '-screen 0 1600x1000x24' \
    "$build/ui/day2-console" --snapshot "$png" --snapshot-timeout 120 \
    --connect "https://127.0.0.1:$DAY2_DEMO_PORT" \
    --token-file "$DAY2_DEMO_DIR/admin.token" --ca "$DAY2_DEMO_DIR/ca.pem" --select web \
    --exec "$cid" --exec-command 'ls --color=always /; echo $((6*7)); exit 3' \
    > "$scratch/summary.json" 2> "$scratch/console.err" ||
    fail "day2-console --snapshot failed: $(cat "$scratch/summary.json" "$scratch/console.err")"
python3 - "$png" "$scratch/summary.json" << 'PY' || fail "the snapshot's panes are empty"
import json, struct, sys, zlib

png, summary = sys.argv[1], json.load(open(sys.argv[2]))
assert summary["agents"] == 2, summary
assert summary["containers"] >= 4, summary
assert summary["log_lines"] >= 10, summary
m = summary["metrics"]
assert m["charts"] >= 1 and m["series"] >= 1 and m["points"] >= 1, m
assert m["group_by"] == "agent", m  # an application on both agents: a line per agent
t = summary["terminal"]
assert t["tabs"] == 1 and t["exit_code"] == 3, t
assert "42" in t["screen"].split("\n"), t

# A PNG as Qt writes it: 8-bit RGB or RGBA, not interlaced.
data = open(png, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
rows, prev, at = [], bytearray(stride), 0
for _ in range(h):
    f, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
    at += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line

def region(r):
    colours, inked, total = set(), 0, 0
    for y in range(r["y"], min(h, r["y"] + r["h"])):
        for x in range(r["x"], min(w, r["x"] + r["w"])):
            px = rows[y][x * bpp:x * bpp + 3]
            colours.add(px); total += 1
            inked += px[0] + px[1] + px[2] < 600  # not white-ish: text, marks, selection
    return len(colours), inked / max(total, 1)

for name in ("log_rect", "tree_rect", "metrics_rect", "terminal_rect"):
    n, ink = region(summary[name])
    print(f"{name}: {n} colours, {ink:.1%} inked")
    assert n >= 8 and ink >= 0.005, f"{name} looks empty: {n} colours, {ink:.2%} inked"
PY
echo "console snapshot: 2 agents in the tree, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_lines"])' "$scratch/summary.json") lines in the log pane, $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]; print(m["charts"], "charts of", m["points"], "points")' "$scratch/summary.json"), panes drawn: ok"
