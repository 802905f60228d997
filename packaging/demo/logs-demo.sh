#!/usr/bin/env bash
# `make demo`: a private journald namespace with sample log writers and day2-agent on
# 127.0.0.1:61001. Prints a curl command for every endpoint and stops everything on Ctrl-C.
#   logs-demo.sh [BUILD_DIR]           run until Ctrl-C
#   logs-demo.sh [BUILD_DIR] --smoke   start, check every endpoint answers, stop (used by CTest)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mode=${2:-}
agent_bin="$build/server/agent/day2-agent"
[ -x "$agent_bin" ] || { echo "demo: $agent_bin is not built; run 'make demo' from the top" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (it starts a private systemd-journald namespace)" >&2
  [ "$mode" = "--smoke" ] && exit 77  # CTest: skipped
  exit 1
fi

ns=day2demo
port=${DAY2_DEMO_PORT:-61001}
if [ "$mode" = "--smoke" ]; then ns="day2demo-smoke-$$"; port=0; fi
demo_dir=$(mktemp -d /tmp/day2-demo.XXXXXX)
conf="/etc/systemd/journald@$ns.conf"
machine_id=$(cat /etc/machine-id)
pids=()

cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "/run/systemd/journal.$ns" "/var/log/journal/$machine_id.$ns" "$demo_dir"
  rm -f "$conf"
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
for _ in $(seq 100); do [ -S "/run/systemd/journal.$ns/socket" ] && break; sleep 0.05; done
[ -S "/run/systemd/journal.$ns/socket" ] || { echo "demo: journald did not start" >&2; exit 1; }

for role in web worker system; do
  python3 "$here/sample_writer.py" "/run/systemd/journal.$ns/socket" "$role" &
  pids+=($!)
done

"$agent_bin" --listen "127.0.0.1:$port" --state-dir "$demo_dir/state" \
  --journal-namespace "$ns" 2>"$demo_dir/agent.log" &
pids+=($!)
for _ in $(seq 100); do grep -q " on http://" "$demo_dir/agent.log" && break; sleep 0.05; done
url=$(grep -o "http://[0-9.:]*" "$demo_dir/agent.log" | head -1)
[ -n "$url" ] || { echo "demo: the agent did not start:"; cat "$demo_dir/agent.log"; exit 1; }
sleep 1  # a few sample lines

L="$url/system/v1/logs/v1"
cid=7c6b1e2a-0000-4000-8000-00000000c0de
task="framework/demo-framework-0001/executor/web-executor/container/$cid"
examples=(
  "'$url/system/v1/health'"
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
  code=$(curl -s -o /dev/null -w '%{http_code}' "$L/range/download")
  [ "$code" = 200 ] || { echo "demo smoke: download -> $code"; failed=1; }
  timeout 3 curl -sN -H 'Accept: text/event-stream' "$L/stream/?skip_prev=1" >"$demo_dir/sse" || true
  grep -q '^data: ' "$demo_dir/sse" || { echo "demo smoke: the stream sent nothing"; failed=1; }
  [ $failed -eq 0 ] && echo "demo smoke: every endpoint answered"
  exit $failed
fi

cat <<EOT

day2 logs demo
  journald namespace : $ns (sample writers: web, worker, ssh)
  agent              : $url  (log: $demo_dir/agent.log)

Try:
EOT
for ex in "${examples[@]}"; do echo "  curl $ex"; done
cat <<EOT

  journalctl --namespace=$ns -f      # the same journal, read by journalctl
Press Ctrl-C to stop and remove everything.
EOT
wait "${pids[-1]}"
