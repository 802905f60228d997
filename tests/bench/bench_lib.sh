# Shared by the benchmark scripts (logs_bench.sh, tasks_bench.sh, ...): messages, processes that
# are stopped by pid on exit, small arithmetic helpers, a private journald namespace and the agent
# on a free loopback port. The caller sets BENCH (its name), STARTED, WORK, TOOLS, AGENT,
# JOURNALD, NS and CONF before using them, or has bench_setup set them.

# bench_setup NAME NS_PREFIX: the usual paths and names for benchmark NAME, from BUILD and REPO:
# AGENT, TOOLS, JOURNALD, OUT, WORK (OUT/NAME.work), REPORT (OUT/NAME.md), VERSION, NS (a journal
# namespace NS_PREFIX<pid>), MID, JDIR, CONF, CGROUP_PARENT, STARTED and BENCH.
bench_setup() {
    BENCH=$1
    AGENT=$BUILD/server/agent/day2-agent
    TOOLS=$BUILD/tests/bench
    JOURNALD=/lib/systemd/systemd-journald
    OUT=$BUILD/bench
    WORK=$OUT/$BENCH.work
    REPORT=$OUT/$BENCH.md
    VERSION=$(git -C "$REPO" describe --always --dirty 2> /dev/null || echo unknown)
    NS=${2//-/}$$
    MID=$(cat /etc/machine-id)
    JDIR=/var/log/journal/$MID.$NS
    CONF=/etc/systemd/journald@$NS.conf
    CGROUP_PARENT=$2-$$
    STARTED=$(date +%s)
}

# bench_begin: stops everything on exit (cleanup), a fresh WORK, LOAD_BEFORE noted, and the
# journald namespace started.
bench_begin() {
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    rm -rf "$WORK"
    mkdir -p "$WORK" "$OUT"
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    say "starting journald namespace $NS"
    start_journald
}

# Removes what the agent's tasks left under CGROUP_PARENT (the cgroups of every hierarchy and
# their log scopes' extra fields): for a script's extra_cleanup.
remove_task_cgroups() {
    for h in /sys/fs/cgroup/*/"$CGROUP_PARENT"* /sys/fs/cgroup/*/"$CGROUP_PARENT"*.slice; do
        [[ -d $h ]] || continue
        for c in "$h"/*/; do rm -f "/run/systemd/units/log-extra-fields:$(basename "$c")"; done
        rmdir "$h"/*/ "$h" 2> /dev/null || true
    done
}

say() { printf '[%s %4ds] %s\n' "$BENCH" $(($(date +%s) - STARTED)) "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# --- processes: everything started here is stopped on exit, newest first, by pid -------------
PIDS=()
stop_pid() {
    local pid=$1
    kill -0 "$pid" 2> /dev/null || return 0
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2> /dev/null; then
        say "pid $pid ignored SIGTERM for 5 s: SIGKILL"
        kill -KILL "$pid" 2> /dev/null || true
    fi
    wait "$pid" 2> /dev/null || true
}
# Stops everything started, newest first.
stop_all() {
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[i]}"
    done
}

# Key=value fields of a tool's output line.
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -n 1; }
# Arithmetic with awk: calc 'expression'.
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
fmt_int() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

# Starts an agent on a free loopback port (port 0); sets AGENT_PID and AGENT_PORT from its
# "serving ... on http://127.0.0.1:PORT" line.
start_agent() {
    local name=$1
    shift
    local log=$WORK/agent-$name.log
    mkdir -p "$WORK/state-$name"
    # The benchmarks measure the APIs, not token checks: authentication off unless configured.
    if [[ " $* " != *" --config "* ]]; then
        printf '[auth]\nenabled = false\n' > "$WORK/agent-$name.toml"
        set -- "$@" --config "$WORK/agent-$name.toml"
    fi
    "$AGENT" --listen 127.0.0.1:0 --state-dir "$WORK/state-$name" "$@" 2> "$log" &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
    AGENT_PORT=
    for _ in $(seq 100); do
        kill -0 "$AGENT_PID" 2> /dev/null || die "the agent ($name) exited: $(cat "$log")"
        AGENT_PORT=$(sed -n 's|.* on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log")
        [[ -n $AGENT_PORT ]] && return 0
        sleep 0.1
    done
    die "the agent ($name) did not start listening: $(cat "$log")"
}

# The EXIT trap: stops everything started, runs the script's extra_cleanup if it has one, and
# removes the namespace's configuration and files (MID, JDIR).
cleanup() {
    local rc=$?
    set +e
    stop_all
    if declare -F extra_cleanup > /dev/null; then extra_cleanup; fi
    rm -f "$CONF"
    rm -rf "/run/systemd/journal.$NS" "$JDIR" "/run/log/journal/$MID.$NS"
    ((rc == 0)) || say "failed (exit $rc); tool output is in $WORK"
}

# Starts journald for namespace NS (no rate limit, persistent storage) and holds a stdout stream
# open on it, so that it does not exit when idle.
start_journald() {
    mkdir -p /etc/systemd
    printf '[Journal]\nRateLimitBurst=0\nStorage=persistent\n%s' "${DAY2_BENCH_JOURNALD_EXTRA:-}" > "$CONF"
    "$JOURNALD" "$NS" > "$WORK/journald.log" 2>&1 &
    JOURNALD_PID=$!
    PIDS+=("$JOURNALD_PID")
    "$TOOLS/day2-bench-journald-keepalive" --namespace "$NS" > "$WORK/keepalive.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 100); do
        grep -q connected "$WORK/keepalive.log" 2> /dev/null && break
        kill -0 "$JOURNALD_PID" 2> /dev/null || die "journald exited: $(cat "$WORK/journald.log")"
        sleep 0.1
    done
    grep -q connected "$WORK/keepalive.log" || die "journald did not open its sockets"
}
