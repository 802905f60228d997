#!/usr/bin/env bash
# `packaging/demo/cluster` as a user runs it, without a terminal: up with two nodes, every node
# answers through Adminrouter with its sample tasks' lines, status, down, and nothing is left.
#   cluster_smoke.sh BUILD_DIR      (exit 77 = skipped: not root)
set -euo pipefail
build=$(realpath "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "cluster smoke: needs root (network namespaces)"; exit 77; }

. "$(dirname "$0")/demo_cluster_env.sh"
demo_cluster_env d2s 78
trap '"$cluster" down > /dev/null 2>&1 || true' EXIT

fail() { echo "cluster smoke: $*"; exit 1; }
demo_cluster_up "$DAY2_DEMO_DIR.up.log" --nodes 2 --build "$build" || fail "up failed: $(cat "$DAY2_DEMO_DIR.up.log")"
grep -q "URL          https://127.0.0.1:$DAY2_DEMO_PORT" "$DAY2_DEMO_DIR.up.log" || fail "up did not print the URL"
token=$(cat "$DAY2_DEMO_DIR/admin.token")
api() { curl -sS --max-time 10 --cacert "$DAY2_DEMO_DIR/ca.pem" -H "Authorization: Bearer $token" "https://127.0.0.1:$DAY2_DEMO_PORT$1"; }
ids=$(api /system/v1/agents | python3 -c 'import json, sys; print(" ".join(a["agent_id"] for a in json.load(sys.stdin)))')
[ "$(echo "$ids" | wc -w)" = 2 ] || fail "expected 2 agents, got: $ids"
for id in $ids; do
    ok=0
    for _ in $(seq 150); do # 30 s
        api "/system/v1/agent/$id/logs/v1/range/?filter=APPLICATION_NAME:web&skip_prev=1" | grep -q "GET /" && { ok=1; break; }
        sleep 0.2
    done
    [ $ok = 1 ] || fail "no lines of the web sample on $id"
    # The task runs in its node's network namespace.
    api "/system/v1/agent/$id/tasks/v1/" | grep -q '"state":"running"' || fail "no running task on $id"
done
"$cluster" status > /dev/null 2>&1 || fail "status says something is not running"
"$cluster" down > /dev/null 2>&1 || fail "down failed"
trap - EXIT
rm -f "$DAY2_DEMO_DIR.up.log"
[ ! -e "$DAY2_DEMO_DIR" ] || fail "$DAY2_DEMO_DIR is left"
ip link show d2sbr0 > /dev/null 2>&1 && fail "the bridge is left"
ip netns list | grep -q '^d2s-node' && fail "a network namespace is left"
ls /run/systemd | grep -q '^journal\.d2snode' && fail "a journal namespace is left"
ls /sys/fs/cgroup/memory 2> /dev/null | grep -q '^d2s-demo-node' && fail "a cgroup is left"
ls /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd 2> /dev/null |
    grep -Eq '^(day2-)?d2s-demo-node.*\.slice$' && fail "a log scopes' slice is left"
echo "cluster smoke: up, 2 agents through Adminrouter, sample task lines, status, down: ok"
