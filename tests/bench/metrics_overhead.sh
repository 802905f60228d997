#!/usr/bin/env bash
# The cost of metrics collection: the agent's CPU time over SECONDS with TASKS running tasks at
# a 1 s interval, against the same agent and the same tasks with metrics off, in the same run.
# Every task is a real container (cgroups, namespaces, a supervisor) running `sleep`, each with
# its own StatsD endpoint when metrics are on; the agent collects the host, every container's
# cgroup files and every task's StatsD flush once a second. The anchor is cAdvisor's published
# 3-15 % of a core at its default 10 s interval; the target is under 1 % of one core.
#
#   tests/bench/metrics_overhead.sh [BUILD_DIR]      (default: build; needs root)
#
# Environment: DAY2_BENCH_TASKS (default 100), DAY2_BENCH_SECONDS (default 60), DAY2_BENCH_PERF=1
# (a perf profile of the agent with metrics on, in WORK/perf.data).
#
# The agent's CPU time is utime + stime of /proc/<pid>/stat (the agent alone: the supervisors
# and tasks are other processes), read at the start and the end of the window. Writes the table
# to stdout and BUILD_DIR/bench/metrics_overhead.md; every process it starts is stopped on exit,
# every container removed.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
TASKS=${DAY2_BENCH_TASKS:-100}
SECONDS_WINDOW=${DAY2_BENCH_SECONDS:-60}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/bench_lib.sh
source "$REPO/tests/bench/bench_lib.sh"
bench_setup metrics_overhead day2-mbench

[[ $EUID -eq 0 ]] || die "needs root (cgroups and namespaces for the tasks)"
for f in "$AGENT" "$BUILD/server/agent/day2-task-supervisor" "$JOURNALD"; do
    [[ -x $f ]] || die "$f is missing (build with: ninja -C $BUILD day2-agent)"
done
command -v curl > /dev/null || die "curl is missing"

extra_cleanup() { remove_task_cgroups; }
bench_begin

ticks() { # utime + stime of a pid, in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

# run NAME ENABLED -> WORK/NAME.cpu holds the agent's CPU seconds over the window
run() {
    local name=$1 enabled=$2 url i
    printf '[tasks]\ncgroup_parent = "%s-%s"\nmax_containers = %d\nkill_grace_seconds = 1\n[metrics]\nenabled = %s\ninterval_seconds = 1\n[auth]\nenabled = false\n' \
        "$CGROUP_PARENT" "$name" $((TASKS + 10)) "$enabled" > "$WORK/agent-$name.toml"
    start_agent "$name" --journal-namespace "$NS" --config "$WORK/agent-$name.toml"
    url=http://127.0.0.1:$AGENT_PORT/system/v1/tasks/v1/
    say "$name: launching $TASKS tasks"
    for ((i = 0; i < TASKS; i++)); do
        curl -sf -X POST "$url" -H 'Content-Type: application/json' -o /dev/null -d \
            "{\"framework_id\":\"bench\",\"framework_name\":\"bench\",\"application_name\":\"/t$i\",\"command\":[\"sleep\",\"100000\"]}" ||
            die "launch $i failed: $(tail -5 "$WORK/agent-$name.log")"
    done
    sleep 3 # past the launches' own work
    local before after
    before=$(ticks "$AGENT_PID")
    say "$name: measuring the agent's CPU for $SECONDS_WINDOW s"
    if [[ -n ${DAY2_BENCH_PERF:-} && $enabled == true ]]; then
        perf record -q -g -p "$AGENT_PID" -o "$WORK/perf.data" -- sleep "$SECONDS_WINDOW" \
            > /dev/null 2>&1 || say "perf record failed"
    else
        sleep "$SECONDS_WINDOW"
    fi
    after=$(ticks "$AGENT_PID")
    calc "($after - $before) / $HZ" > "$WORK/$name.cpu"
    if [[ $enabled == true ]]; then
        curl -sf "http://127.0.0.1:$AGENT_PORT/system/v1/metrics/v0/containers" > "$WORK/$name.containers"
        local n
        n=$(tr ',' '\n' < "$WORK/$name.containers" | grep -c '-' || true)
        ((n == TASKS)) || die "$name: metrics know $n containers, not $TASKS"
    fi
    say "$name: removing the tasks"
    for cid in $(curl -sf "$url" | grep -o '"container_id":"[^"]*"' | cut -d'"' -f4); do
        curl -sf -X DELETE "$url$cid" -o /dev/null || true
    done
    for _ in $(seq 300); do
        curl -sf "$url" | grep -q '"running"' || break
        sleep 0.1
    done
    for cid in $(curl -sf "$url" | grep -o '"container_id":"[^"]*"' | cut -d'"' -f4); do
        curl -sf -X DELETE "$url$cid" -o /dev/null || true
    done
    stop_pid "$AGENT_PID"
}

run off false
run on true
OFF=$(cat "$WORK/off.cpu")
ON=$(cat "$WORK/on.cpu")
PCT_ON=$(calc "100 * $ON / $SECONDS_WINDOW")
PCT_OFF=$(calc "100 * $OFF / $SECONDS_WINDOW")
PCT=$(calc "100 * ($ON - $OFF) / $SECONDS_WINDOW")
MET=$(awk -v p="$PCT" 'BEGIN { print (p < 1) ? "met" : "not met" }')

{
    echo "### Metrics collection overhead ($TASKS tasks, 1 s interval, $SECONDS_WINDOW s)"
    echo
    echo "commit $VERSION, $(nproc) CPUs, load before: $LOAD_BEFORE"
    echo
    echo "| agent | CPU seconds in $SECONDS_WINDOW s | % of one core |"
    echo "|---|---|---|"
    echo "| metrics off | $OFF | $(printf '%.2f' "$PCT_OFF") |"
    echo "| metrics on | $ON | $(printf '%.2f' "$PCT_ON") |"
    echo "| **collection's cost** | $(calc "$ON - $OFF") | **$(printf '%.2f' "$PCT")** (target < 1 %: $MET; cAdvisor 3-15 % at 10 s) |"
} | tee "$REPORT"
