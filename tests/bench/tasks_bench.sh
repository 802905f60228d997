#!/usr/bin/env bash
# The task-logging benchmark: lines per second from a task's stdout into journald, with zero loss,
# for a day2 container (cat FILE launched through the agent's tasks API) against
# - systemd-cat running the same cat FILE (journald's own stdout stream protocol): the anchor;
# - the same systemd-cat in a log scope that gives its lines the same fields as day2's
#   (server/tasks/log_scope.h): journald's cost for these very entries on its fastest path;
# - the same entries encoded in advance and sent by one process as native datagrams: the
#   ceiling of the native transport (tasks.log_transport = "native").
# All write to one private journald namespace, interleaved, ROUNDS times; the median counts.
# A run counts only when journald holds every line of the file exactly once and in order.
#
#   tests/bench/tasks_bench.sh [BUILD_DIR]       (default: build; needs root)
#
# Environment: DAY2_BENCH_LINES (default 1000000), DAY2_BENCH_LINE_BYTES (default 100),
# DAY2_BENCH_ROUNDS (default 3), DAY2_BENCH_JOURNALD_EXTRA (more journald.conf lines, e.g.
# $'ForwardToSyslog=no\n': journald's default forwarding costs it a failed sendmsg per entry here).
#
# systemd-cat has no namespace option: it runs in a private mount namespace (unshare -m) where a
# tmpfs covers /run/systemd and the namespace's socket directory is bound to
# /run/systemd/journal, so its stream reaches the same journald.
#
# Writes the result table to stdout and to BUILD_DIR/bench/tasks_bench.md; raw tool output stays
# in BUILD_DIR/bench/tasks_bench.work/. Every process it starts is stopped on exit.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
LINES=${DAY2_BENCH_LINES:-1000000}
LINE_BYTES=${DAY2_BENCH_LINE_BYTES:-100}
ROUNDS=${DAY2_BENCH_ROUNDS:-3}

AGENT=$BUILD/server/agent/day2-agent
TOOLS=$BUILD/tests/bench
JOURNALD=/lib/systemd/systemd-journald
OUT=$BUILD/bench
WORK=$OUT/tasks_bench.work
REPORT=$OUT/tasks_bench.md

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERSION=$(git -C "$REPO" describe --always --dirty 2> /dev/null || echo unknown)

NS=day2tbench$$
MID=$(cat /etc/machine-id)
JDIR=/var/log/journal/$MID.$NS
CONF=/etc/systemd/journald@$NS.conf
CGROUP_PARENT=day2-bench-$$
STARTED=$(date +%s)
BENCH=tasks_bench
# shellcheck source=tests/bench/bench_lib.sh
source "$REPO/tests/bench/bench_lib.sh"

[[ $EUID -eq 0 ]] || die "needs root (a private journald, cgroups and namespaces)"
for f in "$AGENT" "$BUILD/server/agent/day2-task-supervisor" "$TOOLS/day2-bench-journal-count" \
    "$TOOLS/day2-bench-line-blast" "$TOOLS/day2-bench-journald-keepalive" "$JOURNALD"; do
    [[ -x $f ]] || die "$f is missing (build with: ninja -C $BUILD day2-bench)"
done
for c in systemd-cat unshare curl; do
    command -v "$c" > /dev/null || die "$c is missing"
done

extra_cleanup() { # task cgroups, and the log scopes' slice with their log-extra-fields files
    for h in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/*/"$CGROUP_PARENT.slice"; do
        [[ -d $h ]] || continue
        for c in "$h"/*/; do rm -f "/run/systemd/units/log-extra-fields:$(basename "$c")"; done
        rmdir "$h"/*/ "$h" 2> /dev/null || true
    done
}
bench_begin

say "writing $LINES lines of $LINE_BYTES bytes"
awk -v n="$LINES" -v w="$LINE_BYTES" 'BEGIN {
    pad = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ";
    while (length(pad) < w) pad = pad pad;
    for (i = 1; i <= n; i++) { s = sprintf("%09d level=info msg=", i); print s substr(pad, 1, w - length(s)) }
}' > "$WORK/lines.txt"
cat "$WORK/lines.txt" > /dev/null

printf '[tasks]\ncgroup_parent = "%s"\n[auth]\nenabled = false\n' "$CGROUP_PARENT" > "$WORK/agent.toml"
start_agent tasks --journal-namespace "$NS" --config "$WORK/agent.toml"
TASKS_URL=http://127.0.0.1:$AGENT_PORT/system/v1/tasks/v1/

now_usec() { echo $(($(date +%s%N) / 1000)); }
# count NAME MATCH START_USEC -> WORK/NAME.out gets "... rate=R"; dies unless every line is
# there once, in order.
count() {
    local out=$WORK/$1.out
    if ! "$TOOLS/day2-bench-journal-count" --namespace "$NS" --match "$2" \
        --lines "$WORK/lines.txt" > "$out" 2> "$WORK/$1.err"; then
        die "$1: journald does not hold every line once and in order: $(cat "$out" "$WORK/$1.err")"
    fi
    local seconds
    seconds=$(calc "($(kv "$out" last_usec) - $3) / 1000000")
    echo "seconds=$seconds rate=$(fmt_int "$(calc "$LINES / $seconds")")" >> "$out"
}

run_day2() {
    local name=day2.$1 app=bench-day2-$1 t0
    t0=$(now_usec)
    curl -sf -X POST "$TASKS_URL" -o "$WORK/$name.launch" -H 'Content-Type: application/json' -d "{\"framework_id\":\"bench\",
        \"framework_name\":\"bench\",\"application_name\":\"$app\",
        \"command\":[\"cat\",\"$WORK/lines.txt\"]}" || die "launch failed: $(cat "$WORK/agent-tasks.log")"
    count "$name" "APPLICATION_NAME=$app" "$t0"
}

run_systemd_cat() {
    local name=systemd-cat.$1 id=bench-cat-$1 t0
    mkdir -p "$WORK/nsbind"
    t0=$(now_usec)
    unshare -m --propagation private sh -c "
        mount --bind /run/systemd/journal.$NS '$WORK/nsbind' &&
        mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal &&
        mount --bind '$WORK/nsbind' /run/systemd/journal &&
        exec systemd-cat -t $id cat '$WORK/lines.txt'" || die "systemd-cat failed"
    count "$name" "SYSLOG_IDENTIFIER=$id" "$t0"
}

# Where journald looks a sender's unit up, as systemd finds it.
if [[ -f /sys/fs/cgroup/cgroup.subtree_control ]]; then TREE=/sys/fs/cgroup
elif [[ -f /sys/fs/cgroup/unified/cgroup.procs ]]; then TREE=/sys/fs/cgroup/unified
else TREE=/sys/fs/cgroup/systemd; fi
HEALTH=$(curl -sf "http://127.0.0.1:$AGENT_PORT/system/v1/health")
AGENT_ID=$(sed -n 's/.*"agent_id":"\([^"]*\)".*/\1/p' <<< "$HEALTH")
# day2's transport, as the agent says (stream unless log scopes cannot be made).
TRANSPORT=$(sed -n 's/.*"task_logs":"\([^"]*\)".*/\1/p' <<< "$HEALTH")
say "day2 sends task lines as: $TRANSPORT"

# extra_fields NAME=value ... -> journald's log-extra-fields format: a 64-bit little-endian
# length, then NAME=value, for each (values under 64 KiB here).
extra_fields() {
    local f n
    for f in "$@"; do
        n=$(LC_ALL=C; echo ${#f})
        printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))\\0\\0\\0\\0\\0\\0%s" "$f"
    done
}

run_systemd_cat_with_fields() {
    local name=systemd-cat-fields.$1 id=bench-catf-$1 t0 cid scope
    cid=$(cat /proc/sys/kernel/random/uuid)
    scope=$TREE/$CGROUP_PARENT.slice/bench-catf-$1.scope
    mkdir -p "$scope" "$WORK/nsbind" /run/systemd/units
    extra_fields STREAM=STDOUT "AGENT_ID=$AGENT_ID" FRAMEWORK_ID=bench FRAMEWORK_NAME=bench \
        "EXECUTOR_ID=$cid" "CONTAINER_ID=$cid" "APPLICATION_NAME=$id" \
        > "/run/systemd/units/log-extra-fields:bench-catf-$1.scope"
    t0=$(now_usec)
    unshare -m --propagation private sh -c "
        echo \$\$ > '$scope/cgroup.procs' &&
        mount --bind /run/systemd/journal.$NS '$WORK/nsbind' &&
        mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal &&
        mount --bind '$WORK/nsbind' /run/systemd/journal &&
        exec systemd-cat -t $id cat '$WORK/lines.txt'" || die "systemd-cat in a log scope failed"
    count "$name" "SYSLOG_IDENTIFIER=$id" "$t0"
    # The fields are there (else this run measured plain systemd-cat again).
    journalctl --namespace="$NS" -n 1 -o export "CONTAINER_ID=$cid" "APPLICATION_NAME=$id" |
        grep -q "^FRAMEWORK_NAME=bench$" || die "$name: journald did not add the log scope's fields"
}

run_ceiling() {
    local name=ceiling.$1 app=bench-ceiling-$1 t0
    t0=$(now_usec)
    "$TOOLS/day2-bench-line-blast" --namespace "$NS" --lines "$WORK/lines.txt" \
        --application "$app" > /dev/null
    count "$name" "APPLICATION_NAME=$app" "$t0"
}

for i in $(seq "$ROUNDS"); do
    run_day2 "$i"
    run_systemd_cat "$i"
    run_systemd_cat_with_fields "$i"
    run_ceiling "$i"
    say "round $i: day2 $(kv "$WORK/day2.$i.out" rate)/s," \
        "systemd-cat $(kv "$WORK/systemd-cat.$i.out" rate)/s," \
        "systemd-cat with day2's fields $(kv "$WORK/systemd-cat-fields.$i.out" rate)/s," \
        "native datagrams $(kv "$WORK/ceiling.$i.out" rate)/s"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

median() { # name -> the median rate of WORK/name.1..ROUNDS
    for i in $(seq "$ROUNDS"); do kv "$WORK/$1.$i.out" rate; done | sort -n |
        awk -v n="$ROUNDS" 'NR == int((n + 1) / 2)'
}
rates() { for i in $(seq "$ROUNDS"); do kv "$WORK/$1.$i.out" rate; done | paste -sd, -; }
DAY2=$(median day2)
CAT=$(median systemd-cat)
CEIL=$(median ceiling)
CATF=$(median systemd-cat-fields)
RATIO=$(calc "$DAY2 / $CAT")
MET=$(awk -v r="$RATIO" 'BEGIN { print (r >= 1) ? "yes" : "no" }')

{
    echo "# day2 task-logging benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $(nproc) CPUs, load average" \
        "before $LOAD_BEFORE / after $LOAD_AFTER; day2 $VERSION from $BUILD."
    echo "$LINES lines of $LINE_BYTES bytes, written by \`cat\` as fast as it can; every run" \
        "checked: each line in the journal once, in order. day2's transport: $TRANSPORT."
    echo
    echo "| measurement | day2 | anchor | ratio | target | met? |"
    echo "|---|---|---|---|---|---|"
    printf '| task stdout → journald, lines/s (day2 container vs systemd-cat) | %s | %s | %.2f× | ≥ 1× | %s |\n' \
        "$DAY2" "$CAT" "$RATIO" "$MET"
    printf '| day2 vs systemd-cat with the same fields (journald'"'"'s ceiling for these entries), lines/s | %s | %s | %.2f× | — | — |\n' \
        "$DAY2" "$CATF" "$(calc "$DAY2 / $CATF")"
    printf '| day2 vs pre-encoded native datagrams (the native transport'"'"'s ceiling), lines/s | %s | %s | %.2f× | — | — |\n' \
        "$DAY2" "$CEIL" "$(calc "$DAY2 / $CEIL")"
    echo
    echo "Rounds (lines/s): day2 $(rates day2); systemd-cat $(rates systemd-cat); systemd-cat with" \
        "day2's fields $(rates systemd-cat-fields); native datagrams $(rates ceiling). The time runs" \
        "from the launch (POST, unshare, first send) to journald's receive timestamp of the last line."
} > "$REPORT"
cat "$REPORT"
say "done in $(($(date +%s) - STARTED)) s; table in $REPORT"
