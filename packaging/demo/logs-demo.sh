#!/usr/bin/env bash
# `make demo`: a private journald namespace, day2-agent on 127.0.0.1:61001 running two sample
# tasks (a web server and a worker, launched through the tasks API, in containers), and a host
# service writing to the journal. Prints a curl command for every endpoint; Ctrl-C stops the
# tasks and removes everything it created.
#   logs-demo.sh [BUILD_DIR]           run until Ctrl-C
#   logs-demo.sh [BUILD_DIR] --smoke   start, check every endpoint answers, stop (used by CTest)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mode=${2:-}
agent_bin="$build/server/agent/day2-agent"
[ -x "$agent_bin" ] || { echo "demo: $agent_bin is not built; run 'make demo' from the top" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (a private systemd-journald namespace, cgroups and namespaces)" >&2
  [ "$mode" = "--smoke" ] && exit 77  # CTest: skipped
  exit 1
fi

ns=day2demo
port=${DAY2_DEMO_PORT:-61001}
if [ "$mode" = "--smoke" ]; then ns="day2demo-smoke-$$"; port=0; fi
demo_dir=$(mktemp -d /tmp/day2-demo.XXXXXX)
chmod 711 "$demo_dir"  # the sample tasks run as nobody and reach their sandboxes below
conf="/etc/systemd/journald@$ns.conf"
machine_id=$(cat /etc/machine-id)
pids=()
tasks_url=
cids=()
cgroup_parent="day2demo-$$"

# Stops the sample tasks (SIGTERM, then SIGKILL after 2 s) and removes them and their cgroups.
stop_tasks() {
  [ -n "$tasks_url" ] && [ ${#cids[@]} -gt 0 ] || return 0
  for cid in "${cids[@]}"; do curl -s -o /dev/null -X DELETE "$tasks_url$cid" || true; done
  for cid in "${cids[@]}"; do
    for _ in $(seq 300); do
      curl -s "$tasks_url$cid" | grep -q '"state":"running"' || break
      sleep 0.1
    done
    curl -s -o /dev/null -X DELETE "$tasks_url$cid" || true
  done
}

cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  stop_tasks
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "/run/systemd/journal.$ns" "/var/log/journal/$machine_id.$ns" "$demo_dir"
  rm -f "$conf"
  for h in /sys/fs/cgroup/*/"$cgroup_parent" /sys/fs/cgroup/*/"$cgroup_parent.slice"; do
    [ -d "$h" ] || continue
    for c in "$h"/*/; do rm -f "/run/systemd/units/log-extra-fields:$(basename "$c")"; done
    rmdir "$h"/*/ "$h" 2>/dev/null || true
  done
  echo "demo: stopped; namespace $ns and $demo_dir removed"
}
trap cleanup EXIT INT TERM

if [ -S "/run/systemd/journal.$ns/socket" ]; then
  echo "demo: journal namespace $ns is already in use (another demo running?)" >&2
  trap - EXIT; rm -rf "$demo_dir"; exit 1
fi

mkdir -p /etc/systemd
printf '[Journal]\nRateLimitBurst=0\nStorage=persistent\n' > "$conf"
/lib/systemd/systemd-journald "$ns" >"$demo_dir/journald.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do [ -S "/run/systemd/journal.$ns/socket" ] && break; sleep 0.05; done
[ -S "/run/systemd/journal.$ns/socket" ] || { echo "demo: journald did not start" >&2; exit 1; }

python3 "$here/sample_writer.py" "/run/systemd/journal.$ns/socket" system &
pids+=($!)

# Authentication off in this single-node demo (the agent says so in its log and in /health);
# the cluster demo behind Adminrouter uses tokens.
printf '[tasks]\ncgroup_parent = "%s"\nkill_grace_seconds = 2\n[auth]\nenabled = false\n' \
  "$cgroup_parent" > "$demo_dir/agent.toml"
"$agent_bin" --listen "127.0.0.1:$port" --state-dir "$demo_dir/state" \
  --journal-namespace "$ns" --config "$demo_dir/agent.toml" 2>"$demo_dir/agent.log" &
pids+=($!)
for _ in $(seq 1200); do # a minute at most, unless it exits
  grep -q " on http://" "$demo_dir/agent.log" && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.05
done
url=$(grep -o "http://[0-9.:]*" "$demo_dir/agent.log" | head -1)
[ -n "$url" ] || { echo "demo: the agent did not start:"; cat "$demo_dir/agent.log"; exit 1; }

tasks_url="$url/system/v1/tasks/v1/"
for app in web worker; do
  body="{\"framework_id\": \"demo-framework-0001\", \"framework_name\": \"demo\",
         \"application_name\": \"$app\", \"executor_id\": \"$app-executor\",
         \"command\": [\"python3\", \"$here/sample_writer.py\", \"--task\", \"$app\"],
         \"resources\": {\"cpus\": 0.2, \"mem_mb\": 64}}"
  reply=$(curl -s -H 'Content-Type: application/json' -d "$body" "$tasks_url")
  cid=$(printf '%s' "$reply" | python3 -c 'import json, sys; print(json.load(sys.stdin)["container_id"])') ||
    { echo "demo: launching $app failed: $reply" >&2; exit 1; }
  cids+=("$cid")
done
L="$url/system/v1/logs/v1"
cid=${cids[0]}
task="framework/demo-framework-0001/executor/web-executor/container/$cid"
# A few sample lines (the web task's first within 30 s, however busy the machine).
for _ in $(seq 150); do
  [ -n "$(curl -s "$L/range/$task?limit=1")" ] && break
  sleep 0.2
done
examples=(
  "'$url/system/v1/health'"
  "'$tasks_url'"
  "'$tasks_url$cid'"
  "'$L/range/?skip_prev=10'"
  "-H 'Accept: application/json' '$L/range/?limit=2'"
  "'$L/range/?filter=APPLICATION_NAME:worker&filter=STREAM:STDERR'"
  "'$L/range/?unit=ssh.service&priority=5'"
  "'$L/range/?grep=%20(404|500)%20&skip_prev=20'"
  "'$L/range/$task?skip_prev=5'"
  "-N -H 'Accept: text/event-stream' '$L/stream/?skip_prev=3'"
  "-N '$L/stream/$task'"
  "-OJ '$L/range/download'"
  "'$L/fields/APPLICATION_NAME'"
)

if [ "$mode" = "--smoke" ]; then
  failed=0
  for ex in "${examples[@]}"; do
    case "$ex" in *stream*|*-OJ*) continue ;; esac
    # shellcheck disable=SC2086
    code=$(eval curl -s -o /dev/null -w '%{http_code}' $ex)
    if [ "$code" != 200 ]; then echo "demo smoke: $ex -> $code"; failed=1; fi
  done
  lines=$(curl -s "$L/range/$task" | wc -l)
  [ "$lines" -gt 0 ] || { echo "demo smoke: no task lines"; failed=1; }
  running=$(curl -s "$tasks_url" | { grep -o '"state":"running"' || true; } | wc -l)
  [ "$running" = 2 ] || { echo "demo smoke: $running of 2 sample tasks running"; failed=1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$L/range/download")
  [ "$code" = 200 ] || { echo "demo smoke: download -> $code"; failed=1; }
  # The stream's first event (the newest entry, then what comes), within 30 s.
  curl -sN -H 'Accept: text/event-stream' "$L/stream/?skip_prev=1" >"$demo_dir/sse" &
  sse=$!
  for _ in $(seq 150); do grep -q '^data: ' "$demo_dir/sse" && break; sleep 0.2; done
  kill "$sse" 2>/dev/null || true
  wait "$sse" 2>/dev/null || true
  grep -q '^data: ' "$demo_dir/sse" || { echo "demo smoke: the stream sent nothing"; failed=1; }
  [ $failed -eq 0 ] && echo "demo smoke: every endpoint answered"
  exit $failed
fi

cat <<EOT

day2 logs demo
  journald namespace : $ns (host service: ssh)
  agent              : $url  (log: $demo_dir/agent.log)
  tasks              : web ${cids[0]}
                       worker ${cids[1]}

Try:
EOT
for ex in "${examples[@]}"; do echo "  curl $ex"; done
cat <<EOT

  curl --json '{"framework_id": "me", "framework_name": "adhoc", "application_name": "hello",
            "shell": "while true; do date; sleep 1; done"}' $tasks_url
  curl -X DELETE $tasks_url<container id>
  journalctl --namespace=$ns -f      # the same journal, read by journalctl
Press Ctrl-C to stop and remove everything.
EOT
wait "${pids[-1]}"
