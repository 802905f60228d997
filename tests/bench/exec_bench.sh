#!/usr/bin/env bash
# The exec benchmark: a real agent and a real container, and in the same run:
# - bulk: `head -c BYTES /dev/zero` through an exec session, directly (ws://) and through
#   Adminrouter (nginx on loopback, TLS: wss://), against the same command run in the container
#   with `nsenter -t <pid> -a` and piped to a reader locally (the anchor);
# - echo: one byte in, the same byte out through `cat`, COUNT times: p50 and p99;
# - start: COUNT sessions of `echo x`, from the upgrade request to the first byte of output.
# Targets (issue): >= 500 MB/s direct, >= 25 % of the local nsenter pipe, echo p99 < 2 ms,
# start p99 < 20 ms. Each measurement is taken ROUNDS times, interleaved; the median counts.
#
#   tests/bench/exec_bench.sh [BUILD_DIR]      (default: build; needs root, nginx, openssl)
#
# Environment: DAY2_BENCH_ROUNDS (3), DAY2_BENCH_EXEC_BYTES (1073741824), DAY2_BENCH_EXEC_COUNT
# (1000). Writes the table to stdout and BUILD_DIR/bench/exec_bench.md; every process it starts
# is stopped on exit, the container removed.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
ROUNDS=${DAY2_BENCH_ROUNDS:-3}
BYTES=${DAY2_BENCH_EXEC_BYTES:-1073741824}
COUNT=${DAY2_BENCH_EXEC_COUNT:-1000}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/bench_lib.sh
source "$REPO/tests/bench/bench_lib.sh"
bench_setup exec_bench day2-xbench
CLIENT=$TOOLS/day2-bench-exec

[[ $EUID -eq 0 ]] || die "needs root (cgroups and namespaces for the task)"
for f in "$AGENT" "$BUILD/server/agent/day2-task-supervisor" "$CLIENT" "$JOURNALD"; do
    [[ -x $f ]] || die "$f is missing (build with: ninja -C $BUILD day2-agent day2-bench-exec)"
done
for c in curl nginx openssl nsenter python3; do
    command -v "$c" > /dev/null || die "$c is missing"
done

extra_cleanup() { remove_task_cgroups; }
bench_begin
printf '[tasks]\ncgroup_parent = "%s"\nkill_grace_seconds = 1\n[auth]\nenabled = false\n' \
    "$CGROUP_PARENT" > "$WORK/agent.toml"
start_agent main --journal-namespace "$NS" --config "$WORK/agent.toml"
API=http://127.0.0.1:$AGENT_PORT/system/v1
AGENT_ID=$(curl -sf "$API/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agent_id"])')
CID=$(curl -sf -X POST "$API/tasks/v1/" -H 'Content-Type: application/json' -d \
    '{"framework_id":"bench","framework_name":"bench","application_name":"/exec","command":["sleep","100000"]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["container_id"])')
INIT=$(curl -sf "$API/tasks/v1/$CID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
say "container $CID (init $INIT)"

say "Adminrouter: a CA, a certificate and nginx on loopback"
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -out ca.pem -days 2 -subj "/CN=day2 bench CA" 2> /dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
        -out server.csr -subj "/CN=127.0.0.1" 2> /dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' > san.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
        -days 2 -extfile san.cnf 2> /dev/null
)
AR_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '{"listen": "127.0.0.1:%s", "tls": {"certificate": "server.pem", "key": "server.key"}, "agents_ca": "ca.pem", "agents": [{"agent_id": "%s", "hostname": "node-0", "address": "127.0.0.1:%s", "scheme": "http"}]}\n' \
    "$AR_PORT" "$AGENT_ID" "$AGENT_PORT" > "$WORK/inventory.json"
python3 "$REPO/packaging/adminrouter/render.py" "$WORK/inventory.json" --out "$WORK/run" > /dev/null
nginx -p "$WORK/run" -c "$WORK/run/nginx.conf" -g 'daemon off;' > "$WORK/nginx.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do
    curl -sf --cacert "$WORK/ca.pem" "https://127.0.0.1:$AR_PORT/system/v1/agent/$AGENT_ID/health" \
        -o /dev/null && break
    sleep 0.1
done

DIRECT=(--port "$AGENT_PORT" --path "/system/v1/exec/v1/containers/$CID")
PROXIED=(--port "$AR_PORT" --path "/system/v1/agent/$AGENT_ID/exec/v1/containers/$CID" --ca "$WORK/ca.pem")

nsenter_mbs() { # the anchor: the same command in the container, piped locally
    local t0 t1
    t0=$(date +%s%N)
    nsenter -t "$INIT" -a head -c "$BYTES" /dev/zero | cat > /dev/null
    t1=$(date +%s%N)
    calc "$BYTES / 1e6 / (($t1 - $t0) / 1e9)"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for ((r = 1; r <= ROUNDS; r++)); do
    say "round $r: bulk"
    "$CLIENT" "${DIRECT[@]}" --mode bulk --bytes "$BYTES" >> "$WORK/bulk-direct.out"
    "$CLIENT" "${PROXIED[@]}" --mode bulk --bytes "$BYTES" >> "$WORK/bulk-proxied.out"
    nsenter_mbs >> "$WORK/bulk-nsenter.out"
    echo >> "$WORK/bulk-nsenter.out"
    say "round $r: echo and start"
    "$CLIENT" "${DIRECT[@]}" --mode echo --count "$COUNT" >> "$WORK/echo-direct.out"
    "$CLIENT" "${PROXIED[@]}" --mode echo --count "$COUNT" >> "$WORK/echo-proxied.out"
    "$CLIENT" "${DIRECT[@]}" --mode start --count "$COUNT" >> "$WORK/start-direct.out"
    "$CLIENT" "${PROXIED[@]}" --mode start --count "$COUNT" >> "$WORK/start-proxied.out"
done
col() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$WORK/$1.out" | median; }
BD=$(col bulk-direct mb_per_s)
BP=$(col bulk-proxied mb_per_s)
BN=$(grep -v '^$' "$WORK/bulk-nsenter.out" | median)
curl -sf -X DELETE "$API/tasks/v1/$CID" -o /dev/null || true

{
    echo "### Exec ($ROUNDS rounds, medians; $BYTES bytes, $COUNT round trips and sessions)"
    echo
    echo "commit $VERSION, $(nproc) CPUs, load before: $LOAD_BEFORE"
    echo
    echo "| measurement | direct (ws://) | through Adminrouter (wss://) | anchor, same run |"
    echo "|---|---|---|---|"
    echo "| bulk, MB/s | $BD ($(calc "100 * $BD / $BN" | xargs printf '%.0f') % of the anchor) | $BP ($(calc "100 * $BP / $BN" | xargs printf '%.0f') %) | nsenter -a, piped locally: $BN |"
    echo "| echo round trip, p50 / p99 µs | $(col echo-direct p50_us) / $(col echo-direct p99_us) | $(col echo-proxied p50_us) / $(col echo-proxied p99_us) | — |"
    echo "| session start to first byte, p50 / p99 µs | $(col start-direct p50_us) / $(col start-direct p99_us) | $(col start-proxied p50_us) / $(col start-proxied p99_us) | — |"
} | tee "$REPORT"
